//! Stripe: PaymentIntents with automatic capture (the shopper confirms in Stripe.js with
//! the client secret), Refunds, and webhooks signed with `Stripe-Signature`. Requests are
//! form-encoded with a secret key as bearer token and an `Idempotency-Key` on every POST.

use async_trait::async_trait;
use emporium_core::Currency;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::http_client::{send, text};
use crate::signature::{SignatureError, verify_stripe};
use crate::*;

/// A Stripe account's keys.
#[derive(Clone)]
pub struct StripeKeys {
    pub secret_key: SecretString,
    pub webhook_secret: Option<SecretString>,
    /// `https://api.stripe.com`, or a local server in tests.
    pub api_base: String,
    pub tolerance_secs: i64,
}

pub struct Stripe {
    keys: StripeKeys,
    http: reqwest::Client,
}

impl Stripe {
    pub fn new(keys: StripeKeys, http: reqwest::Client) -> Self {
        Self { keys, http }
    }

    fn post(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!(
                "{}{path}",
                self.keys.api_base.trim_end_matches('/')
            ))
            .bearer_auth(self.keys.secret_key.expose_secret())
            .header("Idempotency-Key", key)
    }

    fn remote(intent: &Value) -> Result<RemotePayment, GatewayError> {
        let state = match text(intent, &["status"])? {
            "succeeded" => PaymentState::Succeeded,
            "requires_capture" => PaymentState::Authorized,
            "canceled" => PaymentState::Cancelled,
            // requires_payment_method after an attempt means the card was declined.
            "requires_payment_method" if !intent["last_payment_error"].is_null() => {
                PaymentState::Failed
            }
            _ => PaymentState::RequiresAction,
        };
        Ok(RemotePayment {
            state,
            captured: intent["amount_received"].as_i64().unwrap_or(0),
            capture_ref: intent["latest_charge"].as_str().map(str::to_string),
            failure: intent["last_payment_error"]["message"]
                .as_str()
                .map(str::to_string),
        })
    }
}

fn refund_state(status: &str) -> RefundState {
    match status {
        "succeeded" => RefundState::Succeeded,
        "failed" | "canceled" => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

#[async_trait]
impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_session(&self, request: &SessionRequest) -> Result<Session, GatewayError> {
        let amount = request.amount.to_string();
        let currency = request.currency.code().to_ascii_lowercase();
        let order_id = request.order_id.to_string();
        let payment_id = request.payment_id.to_string();
        let form = [
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("automatic_payment_methods[enabled]", "true"),
            ("receipt_email", request.email.as_str()),
            ("metadata[order_id]", order_id.as_str()),
            ("metadata[payment_id]", payment_id.as_str()),
        ];
        let intent = send(
            "stripe",
            self.post("/v1/payment_intents", &request.idempotency_key)
                .form(&form),
        )
        .await?;
        let id = text(&intent, &["id"])?.to_string();
        let client_secret = text(&intent, &["client_secret"])?.to_string();
        Ok(Session {
            provider_ref: id.clone(),
            state: Self::remote(&intent)?.state,
            client: json!({"payment_intent": id, "client_secret": client_secret}),
            redirect_url: None,
        })
    }

    async fn fetch(&self, provider_ref: &str) -> Result<RemotePayment, GatewayError> {
        let intent = send(
            "stripe",
            self.http
                .get(format!(
                    "{}/v1/payment_intents/{provider_ref}",
                    self.keys.api_base.trim_end_matches('/')
                ))
                .bearer_auth(self.keys.secret_key.expose_secret()),
        )
        .await?;
        Self::remote(&intent)
    }

    async fn capture(
        &self,
        provider_ref: &str,
        _amount: i64,
        _currency: Currency,
        idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        let intent = send(
            "stripe",
            self.post(
                &format!("/v1/payment_intents/{provider_ref}/capture"),
                idempotency_key,
            ),
        )
        .await?;
        Self::remote(&intent)
    }

    async fn cancel(&self, provider_ref: &str) -> Result<(), GatewayError> {
        send(
            "stripe",
            self.post(
                &format!("/v1/payment_intents/{provider_ref}/cancel"),
                &format!("cancel-{provider_ref}"),
            )
            .form(&[("cancellation_reason", "abandoned")]),
        )
        .await?;
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RemoteRefund, GatewayError> {
        let amount = request.amount.to_string();
        let refund_id = request.refund_id.to_string();
        let refund = send(
            "stripe",
            self.post("/v1/refunds", &request.idempotency_key).form(&[
                ("payment_intent", request.provider_ref.as_str()),
                ("amount", amount.as_str()),
                ("metadata[refund_id]", refund_id.as_str()),
            ]),
        )
        .await?;
        Ok(RemoteRefund {
            provider_ref: text(&refund, &["id"])?.to_string(),
            state: refund_state(text(&refund, &["status"])?),
        })
    }

    async fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        let secret = self
            .keys
            .webhook_secret
            .as_ref()
            .ok_or(WebhookError::BadSignature(
                "no webhook secret is configured",
            ))?;
        let header = headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok())
            .ok_or(WebhookError::BadSignature("no Stripe-Signature header"))?;
        verify_stripe(
            header,
            body,
            secret.expose_secret(),
            now,
            self.keys.tolerance_secs,
        )
        .map_err(|e| {
            WebhookError::BadSignature(match e {
                SignatureError::Malformed => "malformed Stripe-Signature header",
                SignatureError::Expired => "timestamp outside the tolerance",
                SignatureError::Mismatch => "no signature matches",
            })
        })?;
        let event: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let id = event["id"]
            .as_str()
            .ok_or_else(|| WebhookError::Malformed("no event id".into()))?
            .to_string();
        let kind = event["type"].as_str().unwrap_or_default().to_string();
        let object = &event["data"]["object"];
        let own = |v: &Value| v.as_str().map(str::to_string);
        let action = match kind.as_str() {
            "payment_intent.succeeded" => WebhookAction::Paid {
                provider_ref: own(&object["id"]),
                capture_ref: own(&object["latest_charge"]),
                amount: object["amount_received"].as_i64().unwrap_or(0),
            },
            "payment_intent.payment_failed" => WebhookAction::Failed {
                provider_ref: own(&object["id"]),
                capture_ref: None,
                reason: object["last_payment_error"]["message"]
                    .as_str()
                    .unwrap_or("payment failed")
                    .to_string(),
            },
            "charge.refunded" => WebhookAction::Refunded {
                provider_ref: own(&object["payment_intent"]),
                capture_ref: own(&object["id"]),
                refunds: object["refunds"]["data"]
                    .as_array()
                    .map(|refunds| {
                        refunds
                            .iter()
                            .filter_map(|r| {
                                Some(RefundNotice {
                                    provider_ref: r["id"].as_str()?.to_string(),
                                    amount: r["amount"].as_i64()?,
                                    state: refund_state(r["status"].as_str().unwrap_or("")),
                                    refund_id: r["metadata"]["refund_id"]
                                        .as_str()
                                        .and_then(|s| Uuid::parse_str(s).ok()),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            _ => WebhookAction::Ignored,
        };
        Ok(WebhookEvent { id, kind, action })
    }
}
