//! `payment_gateways`: keys staff set for a gateway. `settings` is plain JSON (API base,
//! public ids); `sealed_secrets` is JSON sealed with the master key (AES-256-GCM).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_gateways")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    pub enabled: bool,
    pub settings: String,
    pub sealed_secrets: String,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
