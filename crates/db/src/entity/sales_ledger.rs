//! `sales_ledger`: one row per order placed, payment taken, refund made or order cancelled, in minor units of `currency`; written in the change's transaction, `rolled_up` once analytics counted it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_ledger")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    /// `order`, `payment`, `refund`, `cancellation`.
    pub kind: String,
    /// The refund or payment the row records.
    pub ref_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    pub currency: String,
    pub rate_e9: i64,
    pub gross: i64,
    pub discounts: i64,
    pub returns: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub units: i32,
    pub units_returned: i32,
    pub country: Option<String>,
    /// `new` or `returning`.
    pub customer_type: String,
    /// A hash of the account id (or a guest's email), never the person.
    pub customer_key: String,
    pub provider: Option<String>,
    pub reason: Option<String>,
    pub rolled_up: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
