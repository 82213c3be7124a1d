//! `stock_ledger`: one row per stock change; the sums per variant and location equal the levels.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub variant_id: Uuid,
    pub location_id: Uuid,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: String,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
