//! `carts`: a shopper's cart: a guest's (found by its token's hash) or a customer's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "carts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub token_hash: Option<String>,
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub lang: String,
    pub email: Option<String>,
    pub shipping_address: Option<String>,
    pub billing_address: Option<String>,
    pub shipping_option: Option<String>,
    /// A carrier's quote for the chosen option, and what it was quoted for.
    pub shipping_quote: Option<i64>,
    pub shipping_quote_key: Option<String>,
    pub status: String,
    pub order_id: Option<Uuid>,
    pub recovery_hash: Option<String>,
    /// The coupon codes entered, upper case, as a JSON array.
    pub coupons: Option<String>,
    pub last_active_at: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
