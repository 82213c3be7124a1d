//! Razorpay: Orders (Razorpay Checkout in the shopper's browser pays them and hands back
//! ids signed with our key secret), payments captured automatically or by us, refunds
//! with `X-Refund-Idempotency`, and webhooks signed by `X-Razorpay-Signature` (HMAC-SHA256
//! of the body). Requests use HTTP Basic with the key id and secret.

use async_trait::async_trait;
use emporium_core::Currency;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::http_client::{send, text};
use crate::signature::verify_hex_hmac;
use crate::*;

#[derive(Clone)]
pub struct RazorpayKeys {
    pub key_id: String,
    pub key_secret: SecretString,
    pub webhook_secret: Option<SecretString>,
    /// `https://api.razorpay.com`, or a local server in tests.
    pub api_base: String,
}

pub struct Razorpay {
    keys: RazorpayKeys,
    http: reqwest::Client,
}

impl Razorpay {
    pub fn new(keys: RazorpayKeys, http: reqwest::Client) -> Self {
        Self { keys, http }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(
                method,
                format!("{}{path}", self.keys.api_base.trim_end_matches('/')),
            )
            .basic_auth(
                &self.keys.key_id,
                Some(self.keys.key_secret.expose_secret()),
            )
    }

    fn remote(payment: &Value) -> RemotePayment {
        let state = match payment["status"].as_str() {
            Some("captured") => PaymentState::Succeeded,
            Some("authorized") => PaymentState::Authorized,
            Some("failed") => PaymentState::Failed,
            Some("refunded") => PaymentState::Succeeded,
            _ => PaymentState::RequiresAction,
        };
        RemotePayment {
            state,
            captured: if state == PaymentState::Succeeded {
                payment["amount"].as_i64().unwrap_or(0)
            } else {
                0
            },
            capture_ref: payment["id"].as_str().map(str::to_string),
            failure: payment["error_description"].as_str().map(str::to_string),
        }
    }

    async fn payment(&self, payment_id: &str) -> Result<Value, GatewayError> {
        send(
            "razorpay",
            self.request(reqwest::Method::GET, &format!("/v1/payments/{payment_id}")),
        )
        .await
    }

    async fn capture_payment(
        &self,
        payment: &Value,
        currency: Currency,
    ) -> Result<RemotePayment, GatewayError> {
        let id = text(payment, &["id"])?;
        let captured = send(
            "razorpay",
            self.request(reqwest::Method::POST, &format!("/v1/payments/{id}/capture"))
                .json(&json!({
                    "amount": payment["amount"].as_i64().unwrap_or(0),
                    "currency": currency.code(),
                })),
        )
        .await?;
        Ok(Self::remote(&captured))
    }
}

fn refund_state(status: &str) -> RefundState {
    match status {
        "processed" => RefundState::Succeeded,
        "failed" => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

#[async_trait]
impl PaymentProvider for Razorpay {
    fn name(&self) -> &'static str {
        "razorpay"
    }

    async fn create_session(&self, request: &SessionRequest) -> Result<Session, GatewayError> {
        let order = send(
            "razorpay",
            self.request(reqwest::Method::POST, "/v1/orders")
                .json(&json!({
                    "amount": request.amount,
                    "currency": request.currency.code(),
                    "receipt": request.order_id.to_string(),
                    "notes": {
                        "order_id": request.order_id.to_string(),
                        "payment_id": request.payment_id.to_string(),
                    },
                })),
        )
        .await?;
        let id = text(&order, &["id"])?.to_string();
        Ok(Session {
            provider_ref: id.clone(),
            state: PaymentState::RequiresAction,
            client: json!({
                "key_id": self.keys.key_id,
                "order_id": id,
                "amount": request.amount,
                "currency": request.currency.code(),
            }),
            redirect_url: None,
        })
    }

    async fn fetch(&self, provider_ref: &str) -> Result<RemotePayment, GatewayError> {
        let payments = send(
            "razorpay",
            self.request(
                reqwest::Method::GET,
                &format!("/v1/orders/{provider_ref}/payments"),
            ),
        )
        .await?;
        let items: Vec<RemotePayment> = payments["items"]
            .as_array()
            .map(|items| items.iter().map(Self::remote).collect())
            .unwrap_or_default();
        // The best attempt speaks for the order: one captured payment means paid.
        let rank = |s: PaymentState| match s {
            PaymentState::Succeeded => 4,
            PaymentState::Authorized => 3,
            PaymentState::RequiresAction => 2,
            PaymentState::Failed => 1,
            PaymentState::Cancelled => 0,
        };
        Ok(items
            .into_iter()
            .max_by_key(|p| rank(p.state))
            .unwrap_or(RemotePayment {
                state: PaymentState::RequiresAction,
                captured: 0,
                capture_ref: None,
                failure: None,
            }))
    }

    async fn capture(
        &self,
        provider_ref: &str,
        _amount: i64,
        currency: Currency,
        _idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        let remote = self.fetch(provider_ref).await?;
        match (remote.state, &remote.capture_ref) {
            (PaymentState::Authorized, Some(id)) => {
                let payment = self.payment(id).await?;
                self.capture_payment(&payment, currency).await
            }
            _ => Ok(remote),
        }
    }

    async fn cancel(&self, _provider_ref: &str) -> Result<(), GatewayError> {
        // Razorpay orders cannot be cancelled; an unpaid one simply stays unpaid, and a
        // late payment on it is refunded by staff.
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RemoteRefund, GatewayError> {
        let payment = request
            .capture_ref
            .as_deref()
            .ok_or(GatewayError::Unsupported(
                "this payment has no Razorpay payment to refund",
            ))?;
        let refund = send(
            "razorpay",
            self.request(
                reqwest::Method::POST,
                &format!("/v1/payments/{payment}/refund"),
            )
            .header("X-Refund-Idempotency", &request.idempotency_key)
            .json(&json!({
                "amount": request.amount,
                "notes": {"refund_id": request.refund_id.to_string()},
            })),
        )
        .await?;
        Ok(RemoteRefund {
            provider_ref: text(&refund, &["id"])?.to_string(),
            state: refund_state(text(&refund, &["status"])?),
        })
    }

    async fn confirm(
        &self,
        provider_ref: &str,
        params: &ConfirmParams,
        _amount: i64,
        currency: Currency,
        _idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        let (Some(order), Some(payment_id), Some(signature)) = (
            params.razorpay_order_id.as_deref(),
            params.razorpay_payment_id.as_deref(),
            params.razorpay_signature.as_deref(),
        ) else {
            return self.fetch(provider_ref).await;
        };
        let message = format!("{order}|{payment_id}");
        if order != provider_ref
            || !verify_hex_hmac(
                self.keys.key_secret.expose_secret(),
                message.as_bytes(),
                signature,
            )
        {
            return Err(GatewayError::Forged(
                "the Razorpay payment signature does not match",
            ));
        }
        // The signature proves Checkout saw the payment; its state comes from the API.
        let payment = self.payment(payment_id).await?;
        if payment["order_id"].as_str() != Some(provider_ref) {
            return Err(GatewayError::Forged(
                "the Razorpay payment belongs to another order",
            ));
        }
        match payment["status"].as_str() {
            Some("authorized") => self.capture_payment(&payment, currency).await,
            _ => Ok(Self::remote(&payment)),
        }
    }

    async fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        let secret = self
            .keys
            .webhook_secret
            .as_ref()
            .ok_or(WebhookError::BadSignature(
                "no webhook secret is configured",
            ))?;
        let signature = headers
            .get("x-razorpay-signature")
            .and_then(|v| v.to_str().ok())
            .ok_or(WebhookError::BadSignature("no X-Razorpay-Signature header"))?;
        if !verify_hex_hmac(secret.expose_secret(), body, signature) {
            return Err(WebhookError::BadSignature("the signature does not match"));
        }
        let event: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        // Razorpay names each event in a header; a body without one is named by its hash,
        // so the same delivery twice is still one event.
        let id = headers
            .get("x-razorpay-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| {
                Sha256::digest(body)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            });
        let kind = event["event"].as_str().unwrap_or_default().to_string();
        let payment = &event["payload"]["payment"]["entity"];
        let own = |v: &Value| v.as_str().map(str::to_string);
        let action = match kind.as_str() {
            "payment.captured" | "order.paid" => WebhookAction::Paid {
                provider_ref: own(&payment["order_id"])
                    .or_else(|| own(&event["payload"]["order"]["entity"]["id"])),
                capture_ref: own(&payment["id"]),
                amount: payment["amount"].as_i64().unwrap_or(0),
            },
            "payment.authorized" => match own(&payment["order_id"]) {
                Some(provider_ref) => WebhookAction::Approved { provider_ref },
                None => WebhookAction::Ignored,
            },
            "payment.failed" => WebhookAction::Failed {
                provider_ref: own(&payment["order_id"]),
                capture_ref: own(&payment["id"]),
                reason: payment["error_description"]
                    .as_str()
                    .unwrap_or("payment failed")
                    .to_string(),
            },
            "refund.processed" | "refund.failed" | "refund.created" => {
                let refund = &event["payload"]["refund"]["entity"];
                WebhookAction::Refunded {
                    provider_ref: None,
                    capture_ref: own(&refund["payment_id"]),
                    refunds: own(&refund["id"])
                        .map(|provider_ref| RefundNotice {
                            provider_ref,
                            amount: refund["amount"].as_i64().unwrap_or(0),
                            state: refund_state(refund["status"].as_str().unwrap_or("")),
                            refund_id: refund["notes"]["refund_id"]
                                .as_str()
                                .and_then(|s| Uuid::parse_str(s).ok()),
                        })
                        .into_iter()
                        .collect(),
                }
            }
            _ => WebhookAction::Ignored,
        };
        Ok(WebhookEvent { id, kind, action })
    }
}
