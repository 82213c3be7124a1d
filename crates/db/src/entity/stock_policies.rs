//! `stock_policies`: a variant's backorder policy and low-stock threshold (no row: backorders denied).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: Uuid,
    pub allow_backorder: bool,
    pub backorder_limit: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// When more is expected, and how much is on its way.
    pub restock_expected_at: Option<DateTimeUtc>,
    pub incoming: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
