//! Local payment gateways for tests, each speaking its provider's documented wire format:
//! Stripe (form-encoded PaymentIntents and Refunds, bearer secret key, `Idempotency-Key`
//! replays), PayPal (OAuth2 client credentials, Orders v2, capture refunds,
//! verify-webhook-signature) and Razorpay (Basic auth, Orders, payments, refunds with
//! `X-Refund-Idempotency`). Every request is recorded so tests can check what was sent,
//! and each fake signs webhooks the way its provider does.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const STRIPE_SECRET_KEY: &str = "sk_test_emporium";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_emporium_test";
pub const PAYPAL_CLIENT_ID: &str = "paypal-client";
pub const PAYPAL_CLIENT_SECRET: &str = "paypal-secret";
pub const PAYPAL_WEBHOOK_ID: &str = "WH-EMPORIUM";
/// The transmission signature the fake PayPal accepts as genuine.
pub const PAYPAL_GOOD_SIGNATURE: &str = "genuine-paypal-signature";
pub const RAZORPAY_KEY_ID: &str = "rzp_test_emporium";
pub const RAZORPAY_KEY_SECRET: &str = "rzp_secret_emporium";
pub const RAZORPAY_WEBHOOK_SECRET: &str = "rzp_webhook_emporium";

/// Hex HMAC-SHA256, as Stripe and Razorpay sign.
pub fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `Stripe-Signature` header for `body` at `t`, one `v1` per secret (several while a
/// secret is rolled), as Stripe documents.
pub fn stripe_signature(body: &str, t: i64, secrets: &[&str]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(&format!(
            ",v1={}",
            hmac_hex(secret, format!("{t}.{body}").as_bytes())
        ));
    }
    header
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as form fields (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    /// The query string as fields.
    pub fn query_fields(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

type Handler<S> = fn(&mut S, &Recorded, &str) -> (u16, Value);

struct Shared<S> {
    state: S,
    requests: Vec<Recorded>,
    base: String,
    handler: Handler<S>,
    /// How long to wait before answering (a slow service).
    delay: std::time::Duration,
}

/// A running fake; stops when dropped.
pub struct Fake<S: Send + 'static> {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared<S>>>,
    task: tokio::task::JoinHandle<()>,
}

impl<S: Send + 'static> Drop for Fake<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn dispatch<S: Send + 'static>(
    State(shared): State<Arc<Mutex<Shared<S>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, reply, delay) = {
        let mut shared = shared.lock().expect("lock");
        shared.requests.push(recorded.clone());
        let base = shared.base.clone();
        let handler = shared.handler;
        let (status, reply) = handler(&mut shared.state, &recorded, &base);
        (status, reply, shared.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(reply),
    )
        .into_response()
}

impl<S: Send + 'static> Fake<S> {
    pub(crate) async fn start(state: S, handler: Handler<S>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a fake gateway");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared {
            state,
            requests: Vec::new(),
            base: format!("http://{addr}"),
            handler,
            delay: std::time::Duration::ZERO,
        }));
        let app = Router::new()
            .fallback(dispatch::<S>)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The API base URL to configure.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().expect("lock").requests.clone()
    }

    /// Requests to `method path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Answers every request after `delay` from now on.
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.shared.lock().expect("lock").delay = delay;
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut S) -> T) -> T {
        f(&mut self.shared.lock().expect("lock").state)
    }
}

pub(crate) fn error(status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"message": message, "description": message}}),
    )
}

// ---------------------------------------------------------------------------- Stripe

#[derive(Default)]
pub struct StripeState {
    intents: HashMap<String, Value>,
    replies: HashMap<String, (u16, Value)>,
    refunded: HashMap<String, i64>,
    next: u32,
}

pub type FakeStripe = Fake<StripeState>;

impl FakeStripe {
    pub async fn start_stripe() -> Self {
        Fake::start(StripeState::default(), stripe_handler).await
    }

    /// The PaymentIntent as the fake holds it.
    pub fn intent(&self, id: &str) -> Value {
        self.with(|s| s.intents.get(id).cloned().unwrap_or(Value::Null))
    }

    /// The shopper paid in Stripe.js: the intent succeeded and its charge exists.
    pub fn succeed(&self, id: &str) -> Value {
        self.with(|s| {
            let intent = s.intents.get_mut(id).expect("known intent");
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
            intent["latest_charge"] = json!(format!("ch_{}", &id[3..]));
            intent.clone()
        })
    }

    /// The card was declined.
    pub fn decline(&self, id: &str) -> Value {
        self.with(|s| {
            let intent = s.intents.get_mut(id).expect("known intent");
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] =
                json!({"code": "card_declined", "message": "Your card was declined."});
            intent.clone()
        })
    }
}

fn stripe_handler(s: &mut StripeState, r: &Recorded, _base: &str) -> (u16, Value) {
    if r.header("authorization") != Some(&format!("Bearer {STRIPE_SECRET_KEY}")) {
        return error(401, "Invalid API Key provided");
    }
    if r.method == "POST" {
        if !r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
            && !r.body.is_empty()
        {
            return error(400, "Stripe takes form-encoded bodies");
        }
        // Stripe answers a repeated key with the first response.
        if let Some(key) = r.header("idempotency-key")
            && let Some(reply) = s.replies.get(key)
        {
            return reply.clone();
        }
    }
    let form = r.form();
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let reply = match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => {
            s.next += 1;
            let id = format!("pi_{:04}", s.next);
            let Some(amount) = form.get("amount").and_then(|a| a.parse::<i64>().ok()) else {
                return error(400, "Missing required param: amount.");
            };
            let intent = json!({
                "id": id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": 0,
                "currency": form.get("currency"),
                "client_secret": format!("{id}_secret_{}", s.next),
                "status": "requires_payment_method",
                "latest_charge": null,
                "last_payment_error": null,
                "metadata": {
                    "order_id": form.get("metadata[order_id]"),
                    "payment_id": form.get("metadata[payment_id]"),
                },
            });
            s.intents.insert(id, intent.clone());
            (200, intent)
        }
        ("GET", ["v1", "payment_intents", id]) => match s.intents.get(*id) {
            Some(intent) => (200, intent.clone()),
            None => error(404, "No such payment_intent"),
        },
        ("POST", ["v1", "payment_intents", id, "cancel"]) => match s.intents.get_mut(*id) {
            Some(intent) if intent["status"] == "succeeded" => error(
                400,
                "You cannot cancel this PaymentIntent because it has a status of succeeded.",
            ),
            Some(intent) => {
                intent["status"] = json!("canceled");
                (200, intent.clone())
            }
            None => error(404, "No such payment_intent"),
        },
        ("POST", ["v1", "refunds"]) => {
            let pi = form.get("payment_intent").cloned().unwrap_or_default();
            let Some(intent) = s.intents.get(&pi).cloned() else {
                return error(404, "No such payment_intent");
            };
            let amount = form
                .get("amount")
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or(intent["amount_received"].as_i64().unwrap_or(0));
            let done = s.refunded.get(&pi).copied().unwrap_or(0);
            if amount + done > intent["amount_received"].as_i64().unwrap_or(0) {
                return error(
                    400,
                    "Refund amount is greater than unrefunded amount on charge",
                );
            }
            s.refunded.insert(pi.clone(), amount + done);
            s.next += 1;
            (
                200,
                json!({
                    "id": format!("re_{:04}", s.next),
                    "object": "refund",
                    "amount": amount,
                    "payment_intent": pi,
                    "charge": intent["latest_charge"],
                    "status": "succeeded",
                    "metadata": {"refund_id": form.get("metadata[refund_id]")},
                }),
            )
        }
        _ => error(404, "Unrecognized request URL"),
    };
    if r.method == "POST"
        && let Some(key) = r.header("idempotency-key")
    {
        s.replies.insert(key.to_string(), reply.clone());
    }
    reply
}

// ---------------------------------------------------------------------------- PayPal

#[derive(Default)]
pub struct PayPalState {
    orders: HashMap<String, Value>,
    refunded: HashMap<String, i64>,
    replies: HashMap<String, (u16, Value)>,
    decline: Vec<String>,
    pub tokens_issued: u32,
    next: u32,
}

pub type FakePayPal = Fake<PayPalState>;

impl FakePayPal {
    pub async fn start_paypal() -> Self {
        Fake::start(PayPalState::default(), paypal_handler).await
    }

    /// The buyer approved the order on PayPal's page.
    pub fn approve(&self, id: &str) {
        self.with(|s| {
            if let Some(order) = s.orders.get_mut(id) {
                order["status"] = json!("APPROVED");
            }
        });
    }

    /// The next capture of `id` is declined.
    pub fn decline_capture(&self, id: &str) {
        self.with(|s| s.decline.push(id.to_string()));
    }

    pub fn tokens_issued(&self) -> u32 {
        self.with(|s| s.tokens_issued)
    }

    pub fn order(&self, id: &str) -> Value {
        self.with(|s| s.orders.get(id).cloned().unwrap_or(Value::Null))
    }
}

fn paypal_error(status: u16, issue: &str) -> (u16, Value) {
    (
        status,
        json!({"name": "UNPROCESSABLE_ENTITY", "message": issue, "details": [{"issue": issue, "description": issue}]}),
    )
}

fn paypal_handler(s: &mut PayPalState, r: &Recorded, base: &str) -> (u16, Value) {
    if r.path == "/v1/oauth2/token" {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{PAYPAL_CLIENT_ID}:{PAYPAL_CLIENT_SECRET}"));
        if r.header("authorization") != Some(&format!("Basic {expected}"))
            || r.form().get("grant_type").map(String::as_str) != Some("client_credentials")
        {
            return (
                401,
                json!({"error": "invalid_client", "error_description": "Client Authentication failed"}),
            );
        }
        s.tokens_issued += 1;
        return (
            200,
            json!({"access_token": format!("A21AA-token-{}", s.tokens_issued), "token_type": "Bearer", "expires_in": 32400}),
        );
    }
    if !r
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer A21AA-token-"))
    {
        return (
            401,
            json!({"name": "AUTHENTICATION_FAILURE", "message": "no token"}),
        );
    }
    if r.method == "POST"
        && let Some(key) = r.header("paypal-request-id")
        && let Some(reply) = s.replies.get(key)
    {
        return reply.clone();
    }
    let body = r.json();
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let reply = match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["v2", "checkout", "orders"]) => {
            s.next += 1;
            let id = format!("PPORDER{:04}", s.next);
            let unit = body["purchase_units"][0].clone();
            let order = json!({
                "id": id,
                "status": "CREATED",
                "purchase_units": [{"reference_id": unit["reference_id"], "custom_id": unit["custom_id"], "amount": unit["amount"]}],
                "links": [
                    {"rel": "self", "href": format!("{base}/v2/checkout/orders/{id}"), "method": "GET"},
                    {"rel": "approve", "href": format!("{base}/checkoutnow?token={id}"), "method": "GET"},
                ],
            });
            s.orders.insert(id, order.clone());
            (201, order)
        }
        ("GET", ["v2", "checkout", "orders", id]) => match s.orders.get(*id) {
            Some(order) => (200, order.clone()),
            None => paypal_error(404, "RESOURCE_NOT_FOUND"),
        },
        ("POST", ["v2", "checkout", "orders", id, "capture"]) => {
            let declined = s.decline.contains(&id.to_string());
            s.next += 1;
            let capture_id = format!("CAPTURE{:04}", s.next);
            let Some(order) = s.orders.get_mut(*id) else {
                return paypal_error(404, "RESOURCE_NOT_FOUND");
            };
            match order["status"].as_str() {
                Some("APPROVED") => {}
                Some("COMPLETED") => return paypal_error(422, "ORDER_ALREADY_CAPTURED"),
                _ => return paypal_error(422, "ORDER_NOT_APPROVED"),
            }
            let amount = order["purchase_units"][0]["amount"].clone();
            order["status"] = json!(if declined { "APPROVED" } else { "COMPLETED" });
            order["purchase_units"][0]["payments"] = json!({"captures": [{
                "id": capture_id,
                "status": if declined { "DECLINED" } else { "COMPLETED" },
                "amount": amount,
            }]});
            (201, order.clone())
        }
        ("POST", ["v2", "payments", "captures", capture, "refund"]) => {
            let Some(order) = s.orders.values().find(|o| {
                o["purchase_units"][0]["payments"]["captures"][0]["id"].as_str() == Some(capture)
            }) else {
                return paypal_error(404, "RESOURCE_NOT_FOUND");
            };
            let currency = order["purchase_units"][0]["amount"]["currency_code"]
                .as_str()
                .unwrap_or("USD")
                .to_string();
            let captured = emporium_payments_amount(&order["purchase_units"][0]["amount"]["value"]);
            let wanted = emporium_payments_amount(&body["amount"]["value"]);
            let done = s.refunded.get(*capture).copied().unwrap_or(0);
            if wanted + done > captured {
                return paypal_error(422, "REFUND_AMOUNT_EXCEEDED");
            }
            s.refunded.insert(capture.to_string(), wanted + done);
            s.next += 1;
            (
                201,
                json!({
                    "id": format!("REFUND{:04}", s.next),
                    "status": "COMPLETED",
                    "amount": {"currency_code": currency, "value": body["amount"]["value"]},
                    "custom_id": body["custom_id"],
                    "links": [{"rel": "up", "href": format!("{base}/v2/payments/captures/{capture}")}],
                }),
            )
        }
        ("POST", ["v1", "notifications", "verify-webhook-signature"]) => {
            let genuine = body["transmission_sig"] == PAYPAL_GOOD_SIGNATURE
                && body["webhook_id"] == PAYPAL_WEBHOOK_ID
                && body["webhook_event"].is_object();
            (
                200,
                json!({"verification_status": if genuine { "SUCCESS" } else { "FAILURE" }}),
            )
        }
        _ => paypal_error(404, "NOT_FOUND"),
    };
    if r.method == "POST"
        && let Some(key) = r.header("paypal-request-id")
    {
        s.replies.insert(key.to_string(), reply.clone());
    }
    reply
}

/// "12.34" as cents (the fake only deals in two-decimal currencies).
fn emporium_payments_amount(value: &Value) -> i64 {
    let text = value.as_str().unwrap_or("0");
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    whole.parse::<i64>().unwrap_or(0) * 100 + format!("{frac:0<2}")[..2].parse::<i64>().unwrap_or(0)
}

// -------------------------------------------------------------------------- Razorpay

#[derive(Default)]
pub struct RazorpayState {
    orders: HashMap<String, Value>,
    payments: HashMap<String, Value>,
    refunds: HashMap<String, (u16, Value)>,
    next: u32,
}

pub type FakeRazorpay = Fake<RazorpayState>;

impl FakeRazorpay {
    pub async fn start_razorpay() -> Self {
        Fake::start(RazorpayState::default(), razorpay_handler).await
    }

    /// The shopper paid `order_id` in Razorpay Checkout: a payment in `status`
    /// (`captured`, `authorized`, `failed`); answers its id and the signature Checkout
    /// hands the browser.
    pub fn pay(&self, order_id: &str, status: &str) -> (String, String) {
        self.with(|s| {
            s.next += 1;
            let id = format!("pay_{:04}", s.next);
            let amount = s.orders.get(order_id).map(|o| o["amount"].clone()).unwrap_or(json!(0));
            s.payments.insert(
                id.clone(),
                json!({"id": id, "entity": "payment", "order_id": order_id, "amount": amount, "currency": "INR", "status": status}),
            );
            let signature = hmac_hex(RAZORPAY_KEY_SECRET, format!("{order_id}|{id}").as_bytes());
            (id, signature)
        })
    }

    pub fn payment(&self, id: &str) -> Value {
        self.with(|s| s.payments.get(id).cloned().unwrap_or(Value::Null))
    }
}

fn razorpay_handler(s: &mut RazorpayState, r: &Recorded, _base: &str) -> (u16, Value) {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{RAZORPAY_KEY_ID}:{RAZORPAY_KEY_SECRET}"));
    if r.header("authorization") != Some(&format!("Basic {expected}")) {
        return (
            401,
            json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
        );
    }
    let body = r.json();
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "orders"]) => {
            s.next += 1;
            let id = format!("order_{:04}", s.next);
            let order = json!({
                "id": id, "entity": "order", "amount": body["amount"], "currency": body["currency"],
                "receipt": body["receipt"], "notes": body["notes"], "status": "created",
            });
            s.orders.insert(id, order.clone());
            (200, order)
        }
        ("GET", ["v1", "orders", id, "payments"]) => {
            let items: Vec<Value> = s
                .payments
                .values()
                .filter(|p| p["order_id"].as_str() == Some(id))
                .cloned()
                .collect();
            (
                200,
                json!({"entity": "collection", "count": items.len(), "items": items}),
            )
        }
        ("GET", ["v1", "payments", id]) => match s.payments.get(*id) {
            Some(p) => (200, p.clone()),
            None => error(400, "The id provided does not exist"),
        },
        ("POST", ["v1", "payments", id, "capture"]) => match s.payments.get_mut(*id) {
            Some(p) if p["status"] == "authorized" && p["amount"] == body["amount"] => {
                p["status"] = json!("captured");
                (200, p.clone())
            }
            Some(_) => error(400, "This payment has already been captured"),
            None => error(400, "The id provided does not exist"),
        },
        ("POST", ["v1", "payments", id, "refund"]) => {
            if let Some(key) = r.header("x-refund-idempotency")
                && let Some(reply) = s.refunds.get(key)
            {
                return reply.clone();
            }
            let Some(payment) = s.payments.get_mut(*id) else {
                return error(400, "The id provided does not exist");
            };
            let refunded = payment["amount_refunded"].as_i64().unwrap_or(0);
            let amount = body["amount"].as_i64().unwrap_or(0);
            if payment["status"] != "captured"
                || refunded + amount > payment["amount"].as_i64().unwrap_or(0)
            {
                return error(
                    400,
                    "The refund amount provided is greater than amount captured",
                );
            }
            payment["amount_refunded"] = json!(refunded + amount);
            s.next += 1;
            let reply = (
                200,
                json!({"id": format!("rfnd_{:04}", s.next), "entity": "refund", "amount": amount,
                       "payment_id": id, "notes": body["notes"], "status": "processed"}),
            );
            if let Some(key) = r.header("x-refund-idempotency") {
                s.refunds.insert(key.to_string(), reply.clone());
            }
            reply
        }
        _ => error(404, "The requested URL was not found on the server."),
    }
}
