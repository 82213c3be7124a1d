//! PayPal: Orders v2 (create with intent CAPTURE, the shopper approves on PayPal's page,
//! then we capture), refunds of captures, an OAuth2 client-credentials token cached until
//! shortly before it expires, and webhooks verified by PayPal's own
//! verify-webhook-signature call. Every POST carries `PayPal-Request-Id` for idempotency.

use async_trait::async_trait;
use base64::Engine;
use emporium_core::Currency;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::http_client::{send, text};
use crate::*;
use emporium_core::{from_decimal, to_decimal};

#[derive(Clone)]
pub struct PayPalKeys {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The id PayPal gave the webhook endpoint; needed to verify events.
    pub webhook_id: Option<String>,
    /// `https://api-m.paypal.com` (live), `https://api-m.sandbox.paypal.com`, or a local
    /// server in tests.
    pub api_base: String,
    pub tolerance_secs: i64,
}

pub struct PayPal {
    keys: PayPalKeys,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

impl PayPal {
    pub fn new(keys: PayPalKeys, http: reqwest::Client) -> Self {
        Self {
            keys,
            http,
            token: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.keys.api_base.trim_end_matches('/'))
    }

    /// A bearer token, fetched once and reused until a minute before it expires.
    async fn token(&self) -> Result<String, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.keys.client_id,
            self.keys.client_secret.expose_secret()
        ));
        let body = send(
            "paypal",
            self.http
                .post(self.url("/v1/oauth2/token"))
                .header("Authorization", format!("Basic {basic}"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await?;
        let token = text(&body, &["access_token"])?.to_string();
        let lifetime = body["expires_in"].as_u64().unwrap_or(300);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, GatewayError> {
        Ok(self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.token().await?))
    }

    fn remote(order: &Value) -> Result<RemotePayment, GatewayError> {
        let capture = &order["purchase_units"][0]["payments"]["captures"][0];
        let captured = capture["status"].as_str() == Some("COMPLETED");
        let state = match (text(order, &["status"])?, capture["status"].as_str()) {
            (_, Some("DECLINED" | "FAILED")) => PaymentState::Failed,
            ("COMPLETED", _) if captured => PaymentState::Succeeded,
            ("APPROVED", _) => PaymentState::Authorized,
            ("VOIDED", _) => PaymentState::Cancelled,
            _ => PaymentState::RequiresAction,
        };
        let amount = if captured {
            amount_of(&capture["amount"]).unwrap_or(0)
        } else {
            0
        };
        Ok(RemotePayment {
            state,
            captured: amount,
            capture_ref: capture["id"].as_str().map(str::to_string),
            failure: (state == PaymentState::Failed).then(|| "the capture was declined".into()),
        })
    }
}

/// `{"currency_code": "USD", "value": "12.34"}` in minor units.
fn amount_of(amount: &Value) -> Option<i64> {
    let currency = Currency::parse(amount["currency_code"].as_str()?)?;
    from_decimal(amount["value"].as_str()?, currency)
}

fn refund_state(status: &str) -> RefundState {
    match status {
        "COMPLETED" => RefundState::Succeeded,
        "CANCELLED" | "FAILED" => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

#[async_trait]
impl PaymentProvider for PayPal {
    fn name(&self) -> &'static str {
        "paypal"
    }

    async fn create_session(&self, request: &SessionRequest) -> Result<Session, GatewayError> {
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": request.order_id.to_string(),
                "custom_id": request.payment_id.to_string(),
                "amount": {
                    "currency_code": request.currency.code(),
                    "value": to_decimal(request.amount, request.currency),
                },
            }],
            "application_context": {
                "return_url": request.return_url,
                "cancel_url": request.cancel_url,
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
            },
        });
        let order = send(
            "paypal",
            self.authed(reqwest::Method::POST, "/v2/checkout/orders")
                .await?
                .header("PayPal-Request-Id", &request.idempotency_key)
                .json(&body),
        )
        .await?;
        let id = text(&order, &["id"])?.to_string();
        let approve = order["links"]
            .as_array()
            .and_then(|links| {
                links
                    .iter()
                    .find(|l| matches!(l["rel"].as_str(), Some("approve" | "payer-action")))
            })
            .and_then(|l| l["href"].as_str())
            .map(str::to_string);
        Ok(Session {
            provider_ref: id.clone(),
            state: PaymentState::RequiresAction,
            client: json!({"order_id": id, "approve_url": approve}),
            redirect_url: approve,
        })
    }

    async fn fetch(&self, provider_ref: &str) -> Result<RemotePayment, GatewayError> {
        let order = send(
            "paypal",
            self.authed(
                reqwest::Method::GET,
                &format!("/v2/checkout/orders/{provider_ref}"),
            )
            .await?,
        )
        .await?;
        Self::remote(&order)
    }

    async fn capture(
        &self,
        provider_ref: &str,
        _amount: i64,
        _currency: Currency,
        idempotency_key: &str,
    ) -> Result<RemotePayment, GatewayError> {
        let result = send(
            "paypal",
            self.authed(
                reqwest::Method::POST,
                &format!("/v2/checkout/orders/{provider_ref}/capture"),
            )
            .await?
            .header("PayPal-Request-Id", idempotency_key)
            .json(&json!({})),
        )
        .await;
        match result {
            Ok(order) => Self::remote(&order),
            // Captured already (by a webhook or another node): read it back.
            Err(GatewayError::Refused(_)) => self.fetch(provider_ref).await,
            Err(e) => Err(e),
        }
    }

    async fn cancel(&self, _provider_ref: &str) -> Result<(), GatewayError> {
        // An uncaptured PayPal order cannot be cancelled by API; it lapses by itself and
        // our order no longer accepts its capture.
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RemoteRefund, GatewayError> {
        let capture = request
            .capture_ref
            .as_deref()
            .ok_or(GatewayError::Unsupported(
                "this payment has no capture to refund",
            ))?;
        let refund = send(
            "paypal",
            self.authed(
                reqwest::Method::POST,
                &format!("/v2/payments/captures/{capture}/refund"),
            )
            .await?
            .header("PayPal-Request-Id", &request.idempotency_key)
            .json(&json!({
                "amount": {
                    "currency_code": request.currency.code(),
                    "value": to_decimal(request.amount, request.currency),
                },
                "custom_id": request.refund_id.to_string(),
            })),
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
        let webhook_id = self
            .keys
            .webhook_id
            .as_deref()
            .ok_or(WebhookError::BadSignature("no webhook id is configured"))?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or(WebhookError::BadSignature(
                    "missing PayPal transmission headers",
                ))
        };
        let (algo, cert, id, sig, time) = (
            header("paypal-auth-algo")?,
            header("paypal-cert-url")?,
            header("paypal-transmission-id")?,
            header("paypal-transmission-sig")?,
            header("paypal-transmission-time")?,
        );
        let sent = chrono::DateTime::parse_from_rfc3339(&time)
            .map_err(|_| WebhookError::BadSignature("malformed transmission time"))?;
        if (now - sent.timestamp()).abs() > self.keys.tolerance_secs {
            return Err(WebhookError::BadSignature(
                "transmission time outside the tolerance",
            ));
        }
        let event: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        // The event goes back byte for byte: PayPal's signature covers the body as sent.
        let raw = std::str::from_utf8(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let quoted = |s: &str| Value::from(s).to_string();
        let request = format!(
            r#"{{"auth_algo":{},"cert_url":{},"transmission_id":{},"transmission_sig":{},"transmission_time":{},"webhook_id":{},"webhook_event":{raw}}}"#,
            quoted(&algo),
            quoted(&cert),
            quoted(&id),
            quoted(&sig),
            quoted(&time),
            quoted(webhook_id),
        );
        let verdict = send(
            "paypal",
            self.authed(
                reqwest::Method::POST,
                "/v1/notifications/verify-webhook-signature",
            )
            .await?
            .header("Content-Type", "application/json")
            .body(request),
        )
        .await?;
        if verdict["verification_status"].as_str() != Some("SUCCESS") {
            return Err(WebhookError::BadSignature(
                "PayPal did not verify the signature",
            ));
        }
        let event_id = event["id"]
            .as_str()
            .ok_or_else(|| WebhookError::Malformed("no event id".into()))?
            .to_string();
        let kind = event["event_type"].as_str().unwrap_or_default().to_string();
        let resource = &event["resource"];
        let own = |v: &Value| v.as_str().map(str::to_string);
        let action = match kind.as_str() {
            "CHECKOUT.ORDER.APPROVED" => match own(&resource["id"]) {
                Some(provider_ref) => WebhookAction::Approved { provider_ref },
                None => WebhookAction::Ignored,
            },
            "PAYMENT.CAPTURE.COMPLETED" => WebhookAction::Paid {
                provider_ref: own(&resource["supplementary_data"]["related_ids"]["order_id"]),
                capture_ref: own(&resource["id"]),
                amount: amount_of(&resource["amount"]).unwrap_or(0),
            },
            "PAYMENT.CAPTURE.DENIED" => WebhookAction::Failed {
                provider_ref: own(&resource["supplementary_data"]["related_ids"]["order_id"]),
                capture_ref: own(&resource["id"]),
                reason: "the capture was denied".into(),
            },
            "PAYMENT.CAPTURE.REFUNDED" => {
                // The refund links "up" to the capture it came from.
                let capture_ref = resource["links"].as_array().and_then(|links| {
                    links
                        .iter()
                        .find(|l| l["rel"].as_str() == Some("up"))
                        .and_then(|l| l["href"].as_str())
                        .and_then(|href| href.rsplit('/').next())
                        .map(str::to_string)
                });
                let notice = own(&resource["id"]).map(|provider_ref| RefundNotice {
                    provider_ref,
                    amount: amount_of(&resource["amount"]).unwrap_or(0),
                    state: refund_state(resource["status"].as_str().unwrap_or("")),
                    refund_id: resource["custom_id"]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok()),
                });
                WebhookAction::Refunded {
                    provider_ref: None,
                    capture_ref,
                    refunds: notice.into_iter().collect(),
                }
            }
            _ => WebhookAction::Ignored,
        };
        Ok(WebhookEvent {
            id: event_id,
            kind,
            action,
        })
    }
}
