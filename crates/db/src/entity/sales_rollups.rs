//! `sales_rollups`: the ledger summed per dimension (`all`, `hour`, `product`, `variant`, `country`, `coupon`, `customer_type`, `provider`), currency and local day; rebuilt from the ledger by `emporium reports rebuild`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_rollups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub dim: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub label: String,
    pub orders: i64,
    pub cancelled: i64,
    pub units: i64,
    pub units_returned: i64,
    pub gross: i64,
    pub discounts: i64,
    pub returns: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    /// Payments taken (a count).
    pub payments: i64,
    pub paid: i64,
    pub refunded: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
