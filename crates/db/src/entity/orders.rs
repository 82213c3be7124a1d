//! `orders`: a placed order with its totals (minor units of `currency`) and addresses (JSON).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: i64,
    pub customer_id: Option<Uuid>,
    pub cart_id: Uuid,
    pub email: String,
    pub status: String,
    pub currency: String,
    pub lang: String,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_inclusive: bool,
    pub shipping_address: String,
    pub billing_address: String,
    pub shipping_option: Option<String>,
    pub payment_provider: String,
    pub access_hash: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// Some line was ordered beyond stock.
    pub backordered: bool,
    /// `unpaid`, `paid`, `partially_refunded`, `refunded`.
    pub payment_status: String,
    /// `unfulfilled`, `partially_shipped`, `shipped`, `delivered`, `returned`.
    pub fulfillment_status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
