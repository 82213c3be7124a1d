//! `payment_events`: every verified gateway event, unique by provider and event id so a
//! replay changes nothing; `outcome` says what it did (applied, ignored, deferred).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub event_id: String,
    pub kind: String,
    pub payment_id: Option<Uuid>,
    pub outcome: String,
    pub payload: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
