//! Payments: paying for orders and giving money back.
//!
//! Gateways sit behind one [`PaymentProvider`] trait: Stripe (PaymentIntents), PayPal
//! (Orders v2) and Razorpay (Orders), each a real HTTP client of the provider's documented
//! API with a configurable base URL, and `manual`, the built-in provider with its hosted
//! test page. Card data never reaches this server: each gateway collects it on its own
//! page or in its own browser script (PCI DSS SAQ A).
//!
//! The flow ([`Payments`], `service/` by use case): an attempt per payment opened at
//! checkout and settled exactly once (webhook, the shopper's return checked with the
//! gateway, or the test page); webhooks recorded once by event id; refunds that never
//! exceed what was captured; the sweep that expires unpaid orders.
//!
//! Owns: `payments`, `payment_events`, `refunds`, `payment_gateways` (sealed keys).
//! May call: `core`, `db`, `auth`, `web`, `orders` (a settled payment makes its order
//! paid; a refund moves its money status) and `inventory` (refunds restock). Orders runs
//! [`PaymentHooks`] inside its transitions.
//! Events: publishes `order.paid` and `refund.created`; consumes none.

mod hooks;
mod http_client;
pub mod manual;
pub mod paypal;
pub mod razorpay;
mod registry;
mod routes;
mod service;
pub mod signature;
mod state;
mod status;
pub mod stripe;
mod views;

use async_trait::async_trait;
use emporium_core::id::{OrderId, PaymentId, RefundId};
use http::HeaderMap;
use serde::Serialize;
use uuid::Uuid;

pub use emporium_core::{from_decimal, to_decimal};
pub use hooks::PaymentHooks;
pub use registry::{GatewayBody, GatewayView, Gateways};
pub use routes::router;
pub use service::{ManualOutcome, Opened, RefundBody, gateway_error};
pub use state::Payments;
pub use status::PaymentStatus;
pub use views::{OrderPaymentsView, PaymentView, RefundView};

/// Every provider name a checkout may ask for.
pub const PROVIDERS: [&str; 4] = ["manual", "stripe", "paypal", "razorpay"];

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Waiting for the shopper (a card to enter, an approval to give, a 3-D Secure step).
    RequiresAction,
    /// Approved by the shopper but not yet captured (PayPal, authorised Razorpay).
    Authorized,
    Succeeded,
    Failed,
    Cancelled,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresAction => "requires_action",
            Self::Authorized => "authorized",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a gateway is asked to open a payment for. The amount always comes from the
/// order as the server priced it, never from the client.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub amount: i64,
    pub currency: emporium_core::Currency,
    pub email: String,
    /// Sent as the gateway's idempotency key: a retried checkout opens the same payment.
    pub idempotency_key: String,
    /// Where the gateway sends the shopper back (PayPal) and after which the server
    /// checks the payment with the gateway.
    pub return_url: String,
    pub cancel_url: String,
}

/// A payment opened at a gateway.
#[derive(Debug, Clone)]
pub struct Session {
    /// The gateway's id for it (PaymentIntent, PayPal order, Razorpay order).
    pub provider_ref: String,
    pub state: PaymentState,
    /// What the shopper's browser needs and may see: a client secret for Stripe.js, an
    /// approval link, a Razorpay Checkout order id with the public key id.
    pub client: serde_json::Value,
    /// A page to send the shopper to, when the gateway hosts one.
    pub redirect_url: Option<String>,
}

/// A payment's state as the gateway reports it.
#[derive(Debug, Clone)]
pub struct RemotePayment {
    pub state: PaymentState,
    /// Minor units captured so far.
    pub captured: i64,
    pub capture_ref: Option<String>,
    pub failure: Option<String>,
}

/// What the shopper's browser brought back from the gateway (Razorpay's signed ids).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({
    "razorpay_payment_id": "pay_eBXCJiJXQn6HSW",
    "razorpay_order_id": "order_K1xnDWiVf5zfJm",
    "razorpay_signature": "db03255108e139526d85f5f43bb5b78cb05559300ba0f56b8f1d1b319db4704e"
})))]
pub struct ConfirmParams {
    pub razorpay_payment_id: Option<String>,
    pub razorpay_order_id: Option<String>,
    pub razorpay_signature: Option<String>,
}

/// A refund to make at the gateway.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub refund_id: RefundId,
    pub provider_ref: String,
    pub capture_ref: Option<String>,
    pub amount: i64,
    pub currency: emporium_core::Currency,
    /// Our refund id: a retried refund is made once.
    pub idempotency_key: String,
}

/// Where a refund stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Succeeded,
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RemoteRefund {
    pub provider_ref: String,
    pub state: RefundState,
}

/// A refund a gateway tells us about (ours, confirmed, or one made in its dashboard).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RefundNotice {
    pub provider_ref: String,
    pub amount: i64,
    pub state: RefundState,
    /// Our refund id, when we made it (sent to the gateway as metadata).
    pub refund_id: Option<Uuid>,
}

/// What a verified webhook event means for a payment.
#[derive(Debug, Clone)]
pub enum WebhookAction {
    /// Money was captured.
    Paid {
        provider_ref: Option<String>,
        capture_ref: Option<String>,
        amount: i64,
    },
    /// The shopper approved; the payment still needs capturing (PayPal).
    Approved { provider_ref: String },
    Failed {
        provider_ref: Option<String>,
        capture_ref: Option<String>,
        reason: String,
    },
    /// Refunds of a payment, named by its gateway id or its capture.
    Refunded {
        provider_ref: Option<String>,
        capture_ref: Option<String>,
        refunds: Vec<RefundNotice>,
    },
    /// An event we do not act on; acknowledged all the same.
    Ignored,
}

/// A webhook whose signature checked out.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// The gateway's event id: a replay carries the same one.
    pub id: String,
    pub kind: String,
    pub action: WebhookAction,
}

/// A gateway call that did not give an answer we can use.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Network failure, timeout, or the gateway's own 5xx: worth retrying.
    #[error("the payment gateway could not be reached: {0}")]
    Unavailable(String),
    /// The gateway refused the request (a decline, an invalid amount).
    #[error("the payment gateway refused: {0}")]
    Refused(String),
    /// The gateway answered something we do not understand.
    #[error("the payment gateway answered unexpectedly: {0}")]
    Protocol(String),
    /// What the shopper's browser brought back is not signed by the gateway.
    #[error("{0}")]
    Forged(&'static str),
    /// This provider does not do that.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook signature is invalid: {0}")]
    BadSignature(&'static str),
    #[error("webhook body is malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// One payment gateway.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;

    /// Opens a payment for an order.
    async fn create_session(&self, request: &SessionRequest) -> Result<Session, GatewayError>;

    /// The payment's current state at the gateway.
    async fn fetch(&self, provider_ref: &str) -> Result<RemotePayment, GatewayError>;

    /// Captures an approved payment (PayPal orders; Razorpay authorisations).
    async fn capture(
        &self,
        provider_ref: &str,
        amount: i64,
        currency: emporium_core::Currency,
        idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError>;

    /// Gives up an unpaid payment so it can no longer be paid.
    async fn cancel(&self, provider_ref: &str) -> Result<(), GatewayError>;

    /// Refunds all or part of a captured payment.
    async fn refund(&self, request: &RefundRequest) -> Result<RemoteRefund, GatewayError>;

    /// Checks a webhook's signature (`now` in Unix seconds) and reads the event.
    async fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookEvent, WebhookError>;

    /// The shopper came back from the gateway: what does the gateway say now? Never
    /// trusts the browser: each provider checks with its gateway.
    async fn confirm(
        &self,
        provider_ref: &str,
        _params: &ConfirmParams,
        amount: i64,
        currency: emporium_core::Currency,
        idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        let remote = self.fetch(provider_ref).await?;
        if remote.state == PaymentState::Authorized {
            return self
                .capture(provider_ref, amount, currency, idempotency_key)
                .await;
        }
        Ok(remote)
    }
}
