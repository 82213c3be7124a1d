//! Payments: the built-in provider's hosted test page (success, decline, authentication),
//! Stripe, PayPal and Razorpay against local servers speaking their wire formats (paid
//! flow, decline, signed webhooks, replays, out-of-order events, partial and full
//! refunds, over-refunds), gateway keys sealed at rest, and the expiry of unpaid orders.

use emporium_testkit::gateways::*;
use emporium_testkit::{Session, TestApp, TestOptions, address, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

/// What a test bought: 2 units at 25.00 USD plus 5.00 shipping = 55.00 USD.
struct Bought {
    order: Value,
    payment: Value,
    variant: String,
    token: String,
}

impl Bought {
    fn order_id(&self) -> &str {
        self.order["id"].as_str().expect("order id")
    }
    fn payment_id(&self) -> &str {
        self.payment["id"].as_str().expect("payment id")
    }
    fn access(&self) -> &str {
        self.payment["access"].as_str().expect("payment access")
    }
}

const TOTAL: i64 = 5500;

async fn buy(app: &TestApp, admin: &Session, provider: &str) -> Bought {
    let product = app.product(admin, "Wool Scarf", &["one"], 2500, 10).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 2).await, 200).await;
    let placed = json_of(
        app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", format!("buy-{}", cart.id))
            .json(&json!({"email": "payer@example.com", "shipping_address": address("US"), "payment_provider": provider}))
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    assert_eq!(placed["order"]["totals"]["total"]["amount"], TOTAL);
    assert_eq!(placed["payment"]["provider"], provider);
    assert_eq!(placed["payment"]["amount"]["amount"], TOTAL);
    Bought {
        order: placed["order"].clone(),
        payment: placed["payment"].clone(),
        variant: product.variants[0].clone(),
        token: placed["order_token"]
            .as_str()
            .expect("guest token")
            .to_string(),
    }
}

async fn order_of(app: &TestApp, bought: &Bought) -> Value {
    json_of(
        app.get(&format!(
            "/api/v1/orders/{}?token={}",
            bought.order_id(),
            bought.token
        ))
        .await,
        200,
    )
    .await
}

async fn payment_of(app: &TestApp, bought: &Bought) -> Value {
    json_of(
        app.get(&format!(
            "/api/v1/payments/{}?access={}",
            bought.payment_id(),
            bought.access()
        ))
        .await,
        200,
    )
    .await
}

async fn level(app: &TestApp, admin: &Session, variant: &str) -> (i64, i64) {
    let stock = app.stock(admin, variant).await;
    let level = &stock["levels"][0];
    (
        level["on_hand"].as_i64().expect("on hand"),
        level["reserved"].as_i64().expect("reserved"),
    )
}

async fn pay_card(app: &TestApp, bought: &Bought, card: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/payments/{}/pay", bought.payment_id()),
    )
    .form(&[("access", bought.access()), ("card_number", card)])
    .send()
    .await
    .expect("sent")
}

async fn refund(
    app: &TestApp,
    admin: &Session,
    order: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/admin/orders/{order}/refunds"),
    )
    .bearer_auth(&admin.access_token)
    .header("idempotency-key", key)
    .json(&body)
    .send()
    .await
    .expect("sent")
}

async fn webhook(
    app: &TestApp,
    provider: &str,
    headers: &[(&str, String)],
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .request(
            Method::POST,
            &format!("/api/v1/webhooks/payments/{provider}"),
        )
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("sent")
}

fn events_to(order: &Value, status: &str) -> usize {
    order["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["to"] == status)
        .count()
}

#[tokio::test]
async fn the_test_page_takes_a_test_card_and_the_order_is_paid_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "manual").await;
    assert_eq!(bought.payment["status"], "requires_action");
    let page_url = bought.payment["redirect_url"]
        .as_str()
        .expect("hosted page");
    assert!(page_url.contains(&format!(
        "/api/v1/payments/{}/pay?access=",
        bought.payment_id()
    )));
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 2));

    // The page is served by the node itself.
    let page = app.client.get(page_url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("55.00 USD") && html.contains("4242 4242 4242 4242"),
        "{html}"
    );

    // Not a test card: refused without being kept anywhere.
    let refused = problem(pay_card(&app, &bought, "4111 1111 1111 1111").await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "card_number");
    // A wrong secret sees nothing.
    let stranger = app
        .get(&format!(
            "/api/v1/payments/{}?access=guess",
            bought.payment_id()
        ))
        .await;
    assert_eq!(stranger.status(), 404);

    let paid = pay_card(&app, &bought, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 200);
    let payment = payment_of(&app, &bought).await;
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["captured"]["amount"], TOTAL);
    assert!(
        payment.get("access").is_none(),
        "the secret is shown only at checkout"
    );
    let order = order_of(&app, &bought).await;
    assert_eq!(order["status"], "paid");
    // Stock left the shelf exactly once.
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));

    // Paying again changes nothing.
    let again = problem(pay_card(&app, &bought, "4242424242424242").await, 409).await;
    assert_eq!(again["code"], "already_paid");
    assert_eq!(events_to(&order_of(&app, &bought).await, "paid"), 1);
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));

    app.drain_outbox().await;
    let mails = app.smtp.mails_to("payer@example.com");
    let receipt = mails
        .iter()
        .find(|m| m.subject().starts_with("Payment received"))
        .expect("payment email");
    assert!(receipt.text().contains("55.00 USD"), "{}", receipt.text());
}

#[tokio::test]
async fn a_declined_card_can_be_retried_and_authentication_can_pass_or_fail() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "manual").await;

    let declined = pay_card(&app, &bought, "4000000000000002").await;
    assert_eq!(declined.status(), 402);
    assert!(
        declined
            .text()
            .await
            .expect("html")
            .contains("card_declined")
    );
    let payment = payment_of(&app, &bought).await;
    assert_eq!(payment["status"], "failed");
    assert_eq!(payment["failure"], "card_declined");
    // The order stays payable and its stock stays reserved until it expires.
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 2));

    // A card that asks for authentication, which the shopper fails.
    assert_eq!(
        pay_card(&app, &bought, "4000002760003184").await.status(),
        200
    );
    assert_eq!(payment_of(&app, &bought).await["status"], "authenticating");
    let authenticate = |outcome: &'static str| {
        app.request(
            Method::POST,
            &format!("/api/v1/payments/{}/authenticate", bought.payment_id()),
        )
        .form(&[("access", bought.access()), ("outcome", outcome)])
        .send()
    };
    assert_eq!(authenticate("fail").await.expect("sent").status(), 402);
    assert_eq!(payment_of(&app, &bought).await["status"], "failed");
    // Authenticating when nothing asks for it is a conflict.
    assert_eq!(authenticate("approve").await.expect("sent").status(), 409);

    // Again, and this time it passes.
    assert_eq!(
        pay_card(&app, &bought, "4000 0027 6000 3184")
            .await
            .status(),
        200
    );
    assert_eq!(authenticate("approve").await.expect("sent").status(), 200);
    assert_eq!(payment_of(&app, &bought).await["status"], "succeeded");
    assert_eq!(order_of(&app, &bought).await["status"], "paid");
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));
}

#[tokio::test]
async fn an_unpaid_order_expires_and_gives_its_stock_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "manual").await;
    let payments = app.state().payments.clone();
    let now = chrono::Utc::now().timestamp_millis();

    // Not yet.
    assert_eq!(payments.expire_unpaid(now).await.expect("sweep"), 0);
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 2));

    let later = now + 31 * 60 * 1000;
    assert_eq!(payments.expire_unpaid(later).await.expect("sweep"), 1);
    assert_eq!(payments.expire_unpaid(later).await.expect("sweep"), 0);
    let order = order_of(&app, &bought).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 0));
    assert_eq!(payment_of(&app, &bought).await["status"], "expired");
    let closed = problem(pay_card(&app, &bought, "4242424242424242").await, 409).await;
    assert_eq!(closed["code"], "payment_closed");
}

#[tokio::test]
async fn a_provider_that_is_not_enabled_is_refused_at_checkout() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Hat", &["one"], 1000, 3).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let response = app
        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", "stripe-off")
        .json(&json!({"email": "a@example.com", "shipping_address": address("US"), "payment_provider": "stripe"}))
        .send()
        .await
        .expect("sent");
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "payment_provider");
    // Nothing was reserved.
    assert_eq!(level(&app, &admin, &product.variants[0]).await, (3, 0));
}

async fn stripe_app(stripe: &FakeStripe) -> TestApp {
    let base = stripe.base();
    TestApp::spawn_with(TestOptions {
        configure: Box::new(move |config| {
            config.payments.stripe_secret_key = Some(STRIPE_SECRET_KEY.into());
            config.payments.stripe_webhook_secret = Some(STRIPE_WEBHOOK_SECRET.into());
            config.payments.stripe_api_base = base;
        }),
        ..TestOptions::default()
    })
    .await
}

fn stripe_event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}).to_string()
}

async fn stripe_webhook(app: &TestApp, body: &str, t: i64, secrets: &[&str]) -> reqwest::Response {
    webhook(
        app,
        "stripe",
        &[("stripe-signature", stripe_signature(body, t, secrets))],
        body,
    )
    .await
}

#[tokio::test]
async fn stripe_payment_intent_webhooks_and_refunds() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "stripe").await;

    // The intent was created the way Stripe documents it.
    let created = stripe.requests_to("POST", "/v1/payment_intents");
    assert_eq!(created.len(), 1);
    let sent = &created[0];
    assert!(
        sent.header("content-type")
            .expect("type")
            .starts_with("application/x-www-form-urlencoded")
    );
    assert!(
        sent.header("idempotency-key")
            .is_some_and(|k| k.len() >= 16)
    );
    let form = sent.form();
    assert_eq!(
        form["amount"],
        TOTAL.to_string(),
        "amount from the order, never the client"
    );
    assert_eq!(form["currency"], "usd");
    assert_eq!(form["metadata[order_id]"], bought.order_id());
    let intent_id = bought.payment["provider_ref"]
        .as_str()
        .expect("intent id")
        .to_string();
    assert_eq!(
        bought.payment["client"]["client_secret"],
        stripe.intent(&intent_id)["client_secret"]
    );

    // The shopper pays in Stripe.js; Stripe tells us.
    let intent = stripe.succeed(&intent_id);
    let body = stripe_event("evt_paid_1", "payment_intent.succeeded", intent);
    let now = chrono::Utc::now().timestamp();
    let receipt = json_of(
        stripe_webhook(&app, &body, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "applied");
    assert_eq!(order_of(&app, &bought).await["status"], "paid");
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));

    // A replay is acknowledged and changes nothing.
    let again = json_of(
        stripe_webhook(&app, &body, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(again["outcome"], "duplicate");
    // The shopper's return confirms against Stripe, without a second change either.
    let confirmed = json_of(
        app.request(
            Method::POST,
            &format!(
                "/api/v1/payments/{}/confirm?access={}",
                bought.payment_id(),
                bought.access()
            ),
        )
        .send()
        .await
        .expect("sent"),
        200,
    )
    .await;
    assert_eq!(confirmed["status"], "succeeded");
    let order = order_of(&app, &bought).await;
    assert_eq!(events_to(&order, "paid"), 1);
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));

    // A partial refund by line value, with restock.
    let line = order["lines"][0]["id"].as_str().expect("line id");
    let partial = json_of(
        refund(&app, &admin, bought.order_id(), "refund-1",
            json!({"lines": [{"line_id": line, "quantity": 1}], "restock": true, "reason": "one was damaged"})).await,
        201,
    )
    .await;
    assert_eq!(partial["amount"]["amount"], 2500);
    assert_eq!(partial["status"], "succeeded");
    let sent = stripe.requests_to("POST", "/v1/refunds");
    assert_eq!(sent.len(), 1);
    let form = sent[0].form();
    assert_eq!(form["payment_intent"], intent_id);
    assert_eq!(form["amount"], "2500");
    assert_eq!(
        form["metadata[refund_id]"],
        partial["id"].as_str().expect("id")
    );
    assert_eq!(sent[0].header("idempotency-key"), partial["id"].as_str());
    let order = order_of(&app, &bought).await;
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(
        order["status"], "paid",
        "a partial refund leaves the order open"
    );
    assert_eq!(
        level(&app, &admin, &bought.variant).await,
        (9, 0),
        "one unit restocked"
    );

    // The same key again: the first answer, and no second refund at Stripe.
    let replay = json_of(
        refund(&app, &admin, bought.order_id(), "refund-1",
            json!({"lines": [{"line_id": line, "quantity": 1}], "restock": true, "reason": "one was damaged"})).await,
        201,
    )
    .await;
    assert_eq!(replay, partial);
    assert_eq!(stripe.requests_to("POST", "/v1/refunds").len(), 1);

    // More than is left is refused before Stripe is asked.
    let over = problem(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "refund-2",
            json!({"amount": 3001}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(over["code"], "refund_exceeds_captured");
    assert_eq!(stripe.requests_to("POST", "/v1/refunds").len(), 1);

    // The rest.
    let rest = json_of(
        refund(&app, &admin, bought.order_id(), "refund-3", json!({})).await,
        201,
    )
    .await;
    assert_eq!(rest["amount"]["amount"], 3000);
    assert_eq!(order_of(&app, &bought).await["status"], "refunded");
    let nothing = problem(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "refund-4",
            json!({"amount": 1}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(nothing["code"], "refund_exceeds_captured");

    // Stripe's charge.refunded for our own refunds changes no totals.
    let charge = json!({"id": format!("ch_{}", &intent_id[3..]), "object": "charge", "payment_intent": intent_id,
    "amount_refunded": TOTAL, "refunds": {"data": [
        {"id": partial["provider_ref"], "amount": 2500, "status": "succeeded", "metadata": {"refund_id": partial["id"]}},
        {"id": rest["provider_ref"], "amount": 3000, "status": "succeeded", "metadata": {"refund_id": rest["id"]}},
    ]}});
    let body = stripe_event("evt_refunded_1", "charge.refunded", charge);
    json_of(
        stripe_webhook(&app, &body, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    let payments = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/orders/{}/payments", bought.order_id()),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(payments["payments"][0]["refunded"]["amount"], TOTAL);
    assert_eq!(payments["refunds"].as_array().expect("refunds").len(), 2);

    app.drain_outbox().await;
    let refunds: Vec<_> = app
        .smtp
        .mails_to("payer@example.com")
        .into_iter()
        .filter(|m| m.subject().starts_with("A refund"))
        .collect();
    assert_eq!(refunds.len(), 2);
}

#[tokio::test]
async fn stripe_webhooks_must_be_signed_recent_and_may_carry_two_signatures() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "stripe").await;
    let intent_id = bought.payment["provider_ref"]
        .as_str()
        .expect("intent")
        .to_string();
    let body = stripe_event(
        "evt_sig",
        "payment_intent.succeeded",
        stripe.succeed(&intent_id),
    );
    let now = chrono::Utc::now().timestamp();

    let forged = problem(
        stripe_webhook(&app, &body, now, &["whsec_attacker"]).await,
        400,
    )
    .await;
    assert_eq!(forged["code"], "invalid_signature");
    let unsigned = problem(webhook(&app, "stripe", &[], &body).await, 400).await;
    assert_eq!(unsigned["code"], "invalid_signature");
    let stale = problem(
        stripe_webhook(&app, &body, now - 301, &[STRIPE_WEBHOOK_SECRET]).await,
        400,
    )
    .await;
    assert!(
        stale["detail"]
            .as_str()
            .expect("detail")
            .contains("tolerance"),
        "{stale}"
    );
    let tampered = body.replace("evt_sig", "evt_sig2");
    let header = stripe_signature(&body, now, &[STRIPE_WEBHOOK_SECRET]);
    assert_eq!(
        webhook(&app, "stripe", &[("stripe-signature", header)], &tampered)
            .await
            .status(),
        400
    );
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");

    // While a secret is rolled, Stripe signs with both; one match is enough.
    let receipt = json_of(
        stripe_webhook(&app, &body, now, &["whsec_previous", STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "applied");
    assert_eq!(order_of(&app, &bought).await["status"], "paid");

    // An event for a payment we never made is acknowledged and ignored.
    let stray = stripe_event(
        "evt_stray",
        "payment_intent.succeeded",
        json!({"id": "pi_unknown", "amount_received": 100, "latest_charge": "ch_x"}),
    );
    let receipt = json_of(
        stripe_webhook(&app, &stray, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "ignored");
    // An unknown gateway is 404.
    assert_eq!(webhook(&app, "bitpay", &[], "{}").await.status(), 404);
}

#[tokio::test]
async fn stripe_events_out_of_order_and_a_decline() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "stripe").await;
    let intent_id = bought.payment["provider_ref"]
        .as_str()
        .expect("intent")
        .to_string();
    let now = chrono::Utc::now().timestamp();

    // A decline first: recorded, the order stays payable.
    let declined = stripe.decline(&intent_id);
    let body = stripe_event("evt_failed", "payment_intent.payment_failed", declined);
    json_of(
        stripe_webhook(&app, &body, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    let payment = payment_of(&app, &bought).await;
    assert_eq!(payment["status"], "failed");
    assert_eq!(payment["failure"], "Your card was declined.");
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");

    // Then a second card works, but a refund made in Stripe's dashboard arrives before
    // the payment's own event.
    let paid = stripe.succeed(&intent_id);
    let charge = json!({"id": paid["latest_charge"], "object": "charge", "payment_intent": intent_id,
        "amount_refunded": 1000, "refunds": {"data": [{"id": "re_dashboard", "amount": 1000, "status": "succeeded", "metadata": {}}]}});
    let early = stripe_event("evt_refund_early", "charge.refunded", charge);
    let receipt = json_of(
        stripe_webhook(&app, &early, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "deferred");
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");

    let late = stripe_event("evt_paid_late", "payment_intent.succeeded", paid);
    json_of(
        stripe_webhook(&app, &late, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    let order = order_of(&app, &bought).await;
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(order["status"], "paid");
    assert_eq!(events_to(&order, "paid"), 1);
    let payment = payment_of(&app, &bought).await;
    assert_eq!(payment["captured"]["amount"], TOTAL);
    assert_eq!(payment["refunded"]["amount"], 1000);
    // The early event replayed changes nothing more.
    let replay = json_of(
        stripe_webhook(&app, &early, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    assert_eq!(replay["outcome"], "duplicate");
    assert_eq!(payment_of(&app, &bought).await["refunded"]["amount"], 1000);
    // What is left can still be refunded from the admin API, and no more.
    let over = problem(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "r-over",
            json!({"amount": 4501}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(over["code"], "refund_exceeds_captured");
    json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "r-rest",
            json!({"amount": 4500}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(order_of(&app, &bought).await["status"], "refunded");
}

#[tokio::test]
async fn an_expired_stripe_order_is_cancelled_at_stripe_too() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let unpaid = buy(&app, &admin, "stripe").await;
    let paid_late = buy(&app, &admin, "stripe").await;
    // One was paid at Stripe, but its webhook never came.
    stripe.succeed(paid_late.payment["provider_ref"].as_str().expect("intent"));

    let later = chrono::Utc::now().timestamp_millis() + 31 * 60 * 1000;
    let expired = app
        .state()
        .payments
        .expire_unpaid(later)
        .await
        .expect("sweep");
    assert_eq!(expired, 1);
    assert_eq!(order_of(&app, &unpaid).await["status"], "cancelled");
    assert_eq!(level(&app, &admin, &unpaid.variant).await, (10, 0));
    let intent = unpaid.payment["provider_ref"].as_str().expect("intent");
    assert_eq!(stripe.intent(intent)["status"], "canceled");
    assert_eq!(
        stripe
            .requests_to("POST", &format!("/v1/payment_intents/{intent}/cancel"))
            .len(),
        1
    );
    // The sweep asked Stripe first and found the other one paid.
    assert_eq!(order_of(&app, &paid_late).await["status"], "paid");
    assert_eq!(level(&app, &admin, &paid_late.variant).await, (8, 0));
}

async fn paypal_app(paypal: &FakePayPal) -> TestApp {
    let base = paypal.base();
    TestApp::spawn_with(TestOptions {
        configure: Box::new(move |config| {
            config.payments.paypal_client_id = Some(PAYPAL_CLIENT_ID.into());
            config.payments.paypal_client_secret = Some(PAYPAL_CLIENT_SECRET.into());
            config.payments.paypal_webhook_id = Some(PAYPAL_WEBHOOK_ID.into());
            config.payments.paypal_api_base = base;
        }),
        ..TestOptions::default()
    })
    .await
}

fn paypal_headers(signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("paypal-auth-algo", "SHA256withRSA".into()),
        (
            "paypal-cert-url",
            "https://api.paypal.com/v1/notifications/certs/CERT-1".into(),
        ),
        ("paypal-transmission-id", uuid::Uuid::now_v7().to_string()),
        ("paypal-transmission-sig", signature.into()),
        ("paypal-transmission-time", chrono::Utc::now().to_rfc3339()),
    ]
}

#[tokio::test]
async fn paypal_orders_are_approved_captured_verified_and_refunded() {
    let paypal = FakePayPal::start_paypal().await;
    let app = paypal_app(&paypal).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "paypal").await;

    let order_ref = bought.payment["provider_ref"]
        .as_str()
        .expect("paypal order")
        .to_string();
    let approve = bought.payment["redirect_url"]
        .as_str()
        .expect("approval link");
    assert!(approve.ends_with(&format!("/checkoutnow?token={order_ref}")));
    let created = paypal.requests_to("POST", "/v2/checkout/orders");
    assert!(created[0].header("paypal-request-id").is_some());
    let unit = &created[0].json()["purchase_units"][0];
    assert_eq!(
        unit["amount"],
        json!({"currency_code": "USD", "value": "55.00"})
    );
    assert_eq!(unit["reference_id"], bought.order_id());

    // Back before approving: nothing is captured.
    let back = format!(
        "/api/v1/payments/{}/return?access={}",
        bought.payment_id(),
        bought.access()
    );
    let early = json_of(app.get(&back).await, 200).await;
    assert_eq!(early["status"], "requires_action");
    // The buyer approves at PayPal and comes back: the server captures.
    paypal.approve(&order_ref);
    let returned = json_of(app.get(&back).await, 200).await;
    assert_eq!(returned["status"], "succeeded");
    assert_eq!(returned["captured"]["amount"], TOTAL);
    assert_eq!(order_of(&app, &bought).await["status"], "paid");
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));
    // One OAuth token served every call.
    assert_eq!(paypal.tokens_issued(), 1);

    // PayPal's capture event: verified through PayPal, with the event sent back as is.
    let capture_id =
        paypal.order(&order_ref)["purchase_units"][0]["payments"]["captures"][0]["id"].clone();
    let event = json!({"id": "WH-EVT-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {
        "id": capture_id, "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "55.00"},
        "supplementary_data": {"related_ids": {"order_id": order_ref}}}})
    .to_string();
    let receipt = json_of(
        webhook(
            &app,
            "paypal",
            &paypal_headers(PAYPAL_GOOD_SIGNATURE),
            &event,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "applied");
    let verify = paypal.requests_to("POST", "/v1/notifications/verify-webhook-signature");
    assert_eq!(
        verify[0].json()["webhook_event"],
        serde_json::from_str::<Value>(&event).expect("json")
    );
    assert_eq!(verify[0].json()["webhook_id"], PAYPAL_WEBHOOK_ID);
    assert_eq!(events_to(&order_of(&app, &bought).await, "paid"), 1);
    let replay = json_of(
        webhook(
            &app,
            "paypal",
            &paypal_headers(PAYPAL_GOOD_SIGNATURE),
            &event,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replay["outcome"], "duplicate");
    let forged = problem(
        webhook(
            &app,
            "paypal",
            &paypal_headers("forged"),
            &event.replace("WH-EVT-1", "WH-EVT-2"),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(forged["code"], "invalid_signature");

    // Refunds go against the capture, in PayPal's decimal amounts.
    let partial = json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "pp-1",
            json!({"amount": 1234}),
        )
        .await,
        201,
    )
    .await;
    let sent = paypal.requests_to(
        "POST",
        &format!(
            "/v2/payments/captures/{}/refund",
            capture_id.as_str().expect("id")
        ),
    );
    assert_eq!(
        sent[0].json()["amount"],
        json!({"currency_code": "USD", "value": "12.34"})
    );
    assert_eq!(sent[0].header("paypal-request-id"), partial["id"].as_str());
    let order = order_of(&app, &bought).await;
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(
        order["status"], "paid",
        "a partial refund leaves the order open"
    );
    json_of(
        refund(&app, &admin, bought.order_id(), "pp-2", json!({})).await,
        201,
    )
    .await;
    assert_eq!(order_of(&app, &bought).await["status"], "refunded");
    assert_eq!(paypal.tokens_issued(), 1);
}

#[tokio::test]
async fn a_declined_paypal_capture_leaves_the_order_unpaid() {
    let paypal = FakePayPal::start_paypal().await;
    let app = paypal_app(&paypal).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "paypal").await;
    let order_ref = bought.payment["provider_ref"]
        .as_str()
        .expect("paypal order")
        .to_string();
    paypal.approve(&order_ref);
    paypal.decline_capture(&order_ref);
    // The approval arrives as a webhook; the server captures and is declined.
    let event = json!({"id": "WH-APPROVED", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": order_ref}}).to_string();
    json_of(
        webhook(
            &app,
            "paypal",
            &paypal_headers(PAYPAL_GOOD_SIGNATURE),
            &event,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(payment_of(&app, &bought).await["status"], "failed");
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 2));
}

async fn razorpay_app(razorpay: &FakeRazorpay) -> TestApp {
    let base = razorpay.base();
    TestApp::spawn_with(TestOptions {
        configure: Box::new(move |config| {
            config.payments.razorpay_key_id = Some(RAZORPAY_KEY_ID.into());
            config.payments.razorpay_key_secret = Some(RAZORPAY_KEY_SECRET.into());
            config.payments.razorpay_webhook_secret = Some(RAZORPAY_WEBHOOK_SECRET.into());
            config.payments.razorpay_api_base = base;
        }),
        ..TestOptions::default()
    })
    .await
}

#[tokio::test]
async fn razorpay_checkout_signatures_webhooks_and_refunds() {
    let razorpay = FakeRazorpay::start_razorpay().await;
    let app = razorpay_app(&razorpay).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "razorpay").await;
    let order_ref = bought.payment["provider_ref"]
        .as_str()
        .expect("razorpay order")
        .to_string();
    assert_eq!(bought.payment["client"]["key_id"], RAZORPAY_KEY_ID);
    assert_eq!(bought.payment["client"]["order_id"], order_ref);
    let created = razorpay.requests_to("POST", "/v1/orders");
    assert_eq!(created[0].json()["amount"], TOTAL);
    assert_eq!(created[0].json()["currency"], "USD");

    // Razorpay Checkout hands the browser signed ids; a forged signature is refused.
    let (payment_id, signature) = razorpay.pay(&order_ref, "authorized");
    let confirm = |sig: String| {
        app.request(
            Method::POST,
            &format!("/api/v1/payments/{}/confirm?access={}", bought.payment_id(), bought.access()),
        )
        .json(&json!({"razorpay_order_id": order_ref, "razorpay_payment_id": payment_id, "razorpay_signature": sig}))
        .send()
    };
    let forged = problem(confirm("0".repeat(64)).await.expect("sent"), 400).await;
    assert_eq!(forged["code"], "invalid_signature");
    assert_eq!(order_of(&app, &bought).await["status"], "pending_payment");
    // The genuine one: the server checks the payment with Razorpay and captures it.
    let confirmed = json_of(confirm(signature).await.expect("sent"), 200).await;
    assert_eq!(confirmed["status"], "succeeded");
    assert_eq!(razorpay.payment(&payment_id)["status"], "captured");
    let capture = razorpay.requests_to("POST", &format!("/v1/payments/{payment_id}/capture"));
    assert_eq!(capture[0].json()["amount"], TOTAL);
    assert_eq!(order_of(&app, &bought).await["status"], "paid");

    // payment.captured arrives afterwards: signed over the body, applied once.
    let event =
        json!({"entity": "event", "event": "payment.captured", "payload": {"payment": {"entity":
        {"id": payment_id, "order_id": order_ref, "amount": TOTAL, "status": "captured"}}}})
        .to_string();
    let signed = |body: &str| {
        vec![
            (
                "x-razorpay-signature",
                hmac_hex(RAZORPAY_WEBHOOK_SECRET, body.as_bytes()),
            ),
            ("x-razorpay-event-id", "evt_rzp_1".to_string()),
        ]
    };
    json_of(
        webhook(&app, "razorpay", &signed(&event), &event).await,
        200,
    )
    .await;
    let replay = json_of(
        webhook(&app, "razorpay", &signed(&event), &event).await,
        200,
    )
    .await;
    assert_eq!(replay["outcome"], "duplicate");
    assert_eq!(events_to(&order_of(&app, &bought).await, "paid"), 1);
    let bad = vec![("x-razorpay-signature", hmac_hex("wrong", event.as_bytes()))];
    assert_eq!(
        problem(webhook(&app, "razorpay", &bad, &event).await, 400).await["code"],
        "invalid_signature"
    );

    // Refunds carry Razorpay's idempotency header.
    let partial = json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "rz-1",
            json!({"amount": 500}),
        )
        .await,
        201,
    )
    .await;
    let sent = razorpay.requests_to("POST", &format!("/v1/payments/{payment_id}/refund"));
    assert_eq!(sent[0].json()["amount"], 500);
    assert_eq!(
        sent[0].header("x-refund-idempotency"),
        partial["id"].as_str()
    );
    let order = order_of(&app, &bought).await;
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(
        order["status"], "paid",
        "a partial refund leaves the order open"
    );
    let over = problem(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "rz-2",
            json!({"amount": TOTAL}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(over["code"], "refund_exceeds_captured");
    json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "rz-3",
            json!({"amount": TOTAL - 500, "restock": true}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(order_of(&app, &bought).await["status"], "refunded");
    assert_eq!(
        level(&app, &admin, &bought.variant).await,
        (10, 0),
        "everything restocked"
    );
}

#[tokio::test]
async fn gateway_keys_set_by_staff_are_sealed_and_never_shown() {
    let stripe = FakeStripe::start_stripe().await;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let path = "/api/v1/admin/payment-gateways/stripe";
    // Enabling without a key names what is missing.
    let missing = problem(
        app.call(
            Method::PUT,
            path,
            Some(&admin.access_token),
            Some(&json!({"enabled": true})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "secret_key");
    let response = app
        .call(Method::PUT, path, Some(&admin.access_token), Some(&json!({
            "enabled": true, "secret_key": STRIPE_SECRET_KEY, "webhook_secret": STRIPE_WEBHOOK_SECRET,
            "api_base": stripe.base(),
        })))
        .await;
    let text = response.text().await.expect("body");
    assert!(
        !text.contains(STRIPE_SECRET_KEY) && !text.contains(STRIPE_WEBHOOK_SECRET),
        "{text}"
    );
    let listed = app
        .call(
            Method::GET,
            "/api/v1/admin/payment-gateways",
            Some(&admin.access_token),
            None,
        )
        .await
        .text()
        .await
        .expect("body");
    assert!(!listed.contains(STRIPE_SECRET_KEY), "{listed}");
    let listed: Value = serde_json::from_str(&listed).expect("json");
    let stripe_view = listed
        .as_array()
        .expect("list")
        .iter()
        .find(|g| g["provider"] == "stripe")
        .expect("stripe")
        .clone();
    assert_eq!(stripe_view["enabled"], true);
    assert_eq!(stripe_view["source"], "settings");
    assert_eq!(
        stripe_view["secrets_set"],
        json!(["secret_key", "webhook_secret"])
    );

    // At rest the secrets are sealed.
    use sea_orm::EntityTrait;
    let row = emporium_db::entity::payment_gateways::Entity::find_by_id("stripe".to_string())
        .one(app.db().writer())
        .await
        .expect("query")
        .expect("row");
    assert!(!row.sealed_secrets.contains(STRIPE_SECRET_KEY));
    assert!(!row.sealed_secrets.is_empty());

    // And the gateway works from them.
    let bought = buy(&app, &admin, "stripe").await;
    assert_eq!(stripe.requests_to("POST", "/v1/payment_intents").len(), 1);
    assert!(bought.payment["client"]["client_secret"].is_string());

    // Switched off without resending the keys: checkout refuses it, the keys stay.
    app.call(
        Method::PUT,
        path,
        Some(&admin.access_token),
        Some(&json!({"enabled": false})),
    )
    .await;
    let product = app.product(&admin, "Mug", &["one"], 900, 2).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let refused = app
        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", "off")
        .json(&json!({"email": "a@example.com", "shipping_address": address("US"), "payment_provider": "stripe"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 422);
    let enabled = json_of(
        app.call(
            Method::PUT,
            path,
            Some(&admin.access_token),
            Some(&json!({"enabled": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        enabled["secrets_set"],
        json!(["secret_key", "webhook_secret"])
    );
    // Only staff with the settings permission may touch them.
    let clerk = app.staff(&["orders.read"]).await;
    assert_eq!(
        app.call(
            Method::GET,
            "/api/v1/admin/payment-gateways",
            Some(&clerk.access_token),
            None
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn staff_marking_a_manual_order_paid_lets_it_be_refunded() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "manual").await;
    // Nothing captured yet: nothing to refund.
    let early = problem(
        refund(&app, &admin, bought.order_id(), "early", json!({})).await,
        409,
    )
    .await;
    assert_eq!(early["code"], "nothing_captured");
    let paid = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/orders/{}/transitions", bought.order_id()),
            Some(&admin.access_token),
            Some(&json!({"to": "paid", "reason": "bank transfer"})),
        )
        .await;
    assert_eq!(paid.status(), 200);
    assert_eq!(payment_of(&app, &bought).await["status"], "succeeded");
    let body = json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "all",
            json!({"reason": "changed mind"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(body["amount"]["amount"], TOTAL);
    assert_eq!(order_of(&app, &bought).await["status"], "refunded");
    // Bad refund bodies are field errors.
    let bad = problem(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "bad",
            json!({"amount": -5, "lines": [{"line_id": uuid::Uuid::now_v7(), "quantity": 0}]}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"amount") && fields.contains(&"lines[0].quantity"),
        "{fields:?}"
    );
    // Without the refund permission: 403.
    let clerk = app.staff(&["orders.write"]).await;
    let denied = app
        .request(
            Method::POST,
            &format!("/api/v1/admin/orders/{}/refunds", bought.order_id()),
        )
        .bearer_auth(&clerk.access_token)
        .header("idempotency-key", "x")
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(denied.status(), 403);
}

#[tokio::test]
async fn many_deliveries_of_one_payment_pay_the_order_exactly_once() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "stripe").await;
    let intent = stripe.succeed(bought.payment["provider_ref"].as_str().expect("intent"));
    let now = chrono::Utc::now().timestamp();
    // Stripe may send the same news as several events, and the shopper's return races
    // them: 12 events (each sent twice) and 6 confirmations at once.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let body = stripe_event(
            &format!("evt_race_{}", i / 2),
            "payment_intent.succeeded",
            intent.clone(),
        );
        let header = stripe_signature(&body, now, &[STRIPE_WEBHOOK_SECRET]);
        let request = app
            .request(Method::POST, "/api/v1/webhooks/payments/stripe")
            .header("stripe-signature", header)
            .body(body);
        tasks.push(tokio::spawn(async move {
            request.send().await.expect("sent").status().as_u16()
        }));
    }
    for _ in 0..6 {
        let request = app.request(
            Method::POST,
            &format!(
                "/api/v1/payments/{}/confirm?access={}",
                bought.payment_id(),
                bought.access()
            ),
        );
        tasks.push(tokio::spawn(async move {
            request.send().await.expect("sent").status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("joined"), 200);
    }
    let order = order_of(&app, &bought).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(events_to(&order, "paid"), 1);
    assert_eq!(level(&app, &admin, &bought.variant).await, (8, 0));
    app.drain_outbox().await;
    let receipts = app
        .smtp
        .mails_to("payer@example.com")
        .into_iter()
        .filter(|m| m.subject().starts_with("Payment received"))
        .count();
    assert_eq!(receipts, 1);
}

#[tokio::test]
async fn a_payment_after_cancellation_is_flagged_and_can_be_refunded() {
    let stripe = FakeStripe::start_stripe().await;
    let app = stripe_app(&stripe).await;
    let admin = app.admin().await;
    let bought = buy(&app, &admin, "stripe").await;
    let cancelled = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/orders/{}/cancel?token={}",
                bought.order_id(),
                bought.token
            ),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(cancelled.status(), 200);
    assert_eq!(payment_of(&app, &bought).await["status"], "cancelled");
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 0));

    // The shopper's card went through at Stripe all the same.
    let intent = stripe.succeed(bought.payment["provider_ref"].as_str().expect("intent"));
    let body = stripe_event("evt_late", "payment_intent.succeeded", intent);
    let now = chrono::Utc::now().timestamp();
    json_of(
        stripe_webhook(&app, &body, now, &[STRIPE_WEBHOOK_SECRET]).await,
        200,
    )
    .await;
    let payment = payment_of(&app, &bought).await;
    assert_eq!(payment["status"], "succeeded");
    assert!(
        payment["failure"]
            .as_str()
            .expect("flag")
            .contains("refund it"),
        "{payment}"
    );
    // The order stays cancelled and its stock stays on the shelf.
    assert_eq!(order_of(&app, &bought).await["status"], "cancelled");
    assert_eq!(level(&app, &admin, &bought.variant).await, (10, 0));

    let refunded = json_of(
        refund(
            &app,
            &admin,
            bought.order_id(),
            "late",
            json!({"reason": "paid after cancelling"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(refunded["amount"]["amount"], TOTAL);
    assert_eq!(order_of(&app, &bought).await["status"], "cancelled");
    assert_eq!(
        level(&app, &admin, &bought.variant).await,
        (10, 0),
        "nothing restocked twice"
    );
}
