//! `manual`: the built-in provider of the embedded default. The shopper pays on a page
//! this node hosts (served by the checkout crate), where documented test card numbers
//! decide the outcome, so a shop and its tests can run the whole flow with no gateway
//! account. It is a test provider: any other card number is refused unread.

use async_trait::async_trait;
use emporium_core::Currency;
use http::HeaderMap;
use serde_json::json;

use crate::*;

/// What a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    Succeeds,
    /// Declined by the "issuer" with this reason.
    Declined(&'static str),
    /// Asks for an extra authentication step (3-D Secure-like) first.
    Authenticates,
}

/// The documented test numbers (the same ones Stripe publishes, so storefront developers
/// know them already).
pub const TEST_CARDS: [(&str, TestCard); 5] = [
    ("4242424242424242", TestCard::Succeeds),
    ("5555555555554444", TestCard::Succeeds),
    ("4000000000000002", TestCard::Declined("card_declined")),
    ("4000000000009995", TestCard::Declined("insufficient_funds")),
    ("4000002760003184", TestCard::Authenticates),
];

/// The test card with this number (spaces and dashes ignored), if it is one.
pub fn test_card(number: &str) -> Option<TestCard> {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    TEST_CARDS
        .iter()
        .find(|(n, _)| *n == digits)
        .map(|(_, card)| *card)
}

pub struct Manual;

#[async_trait]
impl PaymentProvider for Manual {
    fn name(&self) -> &'static str {
        "manual"
    }

    async fn create_session(&self, request: &SessionRequest) -> Result<Session, GatewayError> {
        Ok(Session {
            provider_ref: format!("manual_{}", request.payment_id.uuid().simple()),
            state: PaymentState::RequiresAction,
            client: json!({}),
            redirect_url: None,
        })
    }

    async fn fetch(&self, _provider_ref: &str) -> Result<RemotePayment, GatewayError> {
        Err(GatewayError::Unsupported(
            "manual payments are decided on the hosted page",
        ))
    }

    async fn capture(
        &self,
        _provider_ref: &str,
        _amount: i64,
        _currency: Currency,
        _idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        Err(GatewayError::Unsupported(
            "manual payments are captured on the hosted page",
        ))
    }

    async fn cancel(&self, _provider_ref: &str) -> Result<(), GatewayError> {
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RemoteRefund, GatewayError> {
        Ok(RemoteRefund {
            provider_ref: format!("manual_re_{}", request.refund_id.uuid().simple()),
            state: RefundState::Succeeded,
        })
    }

    async fn verify_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        Err(WebhookError::BadSignature(
            "the manual provider sends no webhooks",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_are_recognised_with_spacing() {
        assert_eq!(test_card("4242 4242 4242 4242"), Some(TestCard::Succeeds));
        assert_eq!(
            test_card("4000-0000-0000-0002"),
            Some(TestCard::Declined("card_declined"))
        );
        assert_eq!(test_card("4000002760003184"), Some(TestCard::Authenticates));
        assert_eq!(test_card("4111111111111111"), None);
    }
}
