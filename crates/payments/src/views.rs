//! Wire shapes of payments: an attempt, a refund, an order's payments.

use emporium_core::Money;
use emporium_core::order_line::LineQuantity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A payment attempt: the session a checkout opened, and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider: String,
    /// `requires_action`, `authenticating`, `authorized`, `succeeded`, `failed`,
    /// `cancelled` or `expired`.
    pub status: String,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    /// A page to send the shopper to (the hosted test page, PayPal's approval page).
    pub redirect_url: Option<String>,
    /// What the gateway's browser script needs: Stripe's `client_secret`, Razorpay's
    /// `key_id` and `order_id`. Never a secret of the shop's.
    #[schema(value_type = Object)]
    pub client: serde_json::Value,
    /// The secret that opens this payment's pages (`?access=`); shown only at checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    pub failure: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Money given back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub amount: Money,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub restock: bool,
    pub lines: Vec<LineQuantity>,
    pub provider_ref: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An order's payments and refunds (staff).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPaymentsView {
    pub payments: Vec<PaymentView>,
    pub refunds: Vec<RefundView>,
}
