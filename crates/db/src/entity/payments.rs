//! `payments`: one attempt to pay an order with a provider, with what it captured and
//! what has been refunded from it (minor units of `currency`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub captured: i64,
    /// Refunded or being refunded: a refund reserves its amount here before the gateway
    /// is called, so two refunds can never exceed what was captured.
    pub refunded: i64,
    /// The gateway's object: a PaymentIntent, a PayPal order, a Razorpay order.
    pub provider_ref: Option<String>,
    /// What the money moved under: a charge, a PayPal capture, a Razorpay payment.
    pub capture_ref: Option<String>,
    /// JSON the shopper's browser needs (a client secret, an approval link).
    pub session: String,
    pub access_hash: String,
    pub failure: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
