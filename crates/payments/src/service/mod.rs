//! The payment flow, one file per use case: attempts (open, settle, the manual test
//! page), gateway webhooks, refunds, and the expiry of unpaid orders.

mod attempts;
mod expiry;
mod refunds;
mod webhooks;

use emporium_core::AppError;
use emporium_core::error::ErrorCode;
use emporium_core::id::PaymentId;
use serde::{Deserialize, Serialize};

use crate::{GatewayError, RefundNotice, Session};

pub use refunds::RefundBody;
pub(crate) use refunds::shift_refunded;

/// What a gateway error means to the caller.
pub fn gateway_error(err: GatewayError) -> AppError {
    match err {
        GatewayError::Unavailable(detail) => AppError::Unavailable {
            detail: format!("the payment gateway is unavailable ({detail}); try again"),
            retry_after_secs: 5,
        },
        GatewayError::Refused(detail) => AppError::bad_gateway(ErrorCode::GatewayRefused, detail),
        GatewayError::Protocol(detail) => AppError::bad_gateway(ErrorCode::GatewayError, detail),
        GatewayError::Forged(detail) => AppError::bad_request(ErrorCode::InvalidSignature, detail),
        GatewayError::Unsupported(detail) => AppError::conflict(ErrorCode::Unsupported, detail),
    }
}

/// A session opened for a checkout, before its order is written.
pub struct Opened {
    pub id: PaymentId,
    pub access: String,
    pub provider: String,
    pub session: Session,
    /// The total the gateway was asked for; the order must come to the same.
    pub amount: Option<i64>,
}

/// What the stored event payload keeps besides the raw body: the refunds of an event
/// deferred until its payment succeeds.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredEvent {
    body: String,
    #[serde(default)]
    refunds: Vec<RefundNotice>,
}

/// What the manual provider's page shows after a card is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualOutcome {
    Paid,
    Declined(&'static str),
    Authenticate,
}
