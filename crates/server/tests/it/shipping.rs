//! Shipping: the customer's address book, shipping zones and rates of every kind, carrier
//! quotes with a fallback to table rates, and shipments with tracking.

use emporium_testkit::{Session, TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

async fn as_user(
    app: &TestApp,
    user: &Session,
    method: Method,
    path: impl AsRef<str>,
    body: Option<Value>,
) -> reqwest::Response {
    app.call(
        method,
        path.as_ref(),
        Some(&user.access_token),
        body.as_ref(),
    )
    .await
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_address_book_checks_addresses_and_keeps_one_default_of_each_kind() {
    let app = TestApp::spawn().await;
    let ada = app.customer().await;
    let home = json_of(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "label": "Home", "name": "Ada Lovelace", "line1": "1 Market St", "city": "San Francisco",
            "region": "CA", "postal_code": "94105", "country": "us"}))).await,
        201,
    )
    .await;
    assert_eq!(home["country"], "US");
    assert_eq!(
        (
            home["default_shipping"].clone(),
            home["default_billing"].clone()
        ),
        (json!(true), json!(true))
    );

    // Checked per country, with every wrong field named.
    let bad = problem(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "name": "Ada", "line1": "1 Main St", "city": "Austin", "postal_code": "7870", "country": "US"}))).await,
        422,
    )
    .await;
    let named = fields(&bad);
    assert!(
        named.contains(&"region".to_string()) && named.contains(&"postal_code".to_string()),
        "{named:?}"
    );
    let missing = problem(
        as_user(
            &app,
            &ada,
            Method::POST,
            "/api/v1/me/addresses",
            Some(json!({"label": "x"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&missing), vec!["name", "line1", "city", "country"]);
    let unknown = problem(
        as_user(
            &app,
            &ada,
            Method::POST,
            "/api/v1/me/addresses",
            Some(json!({"street": "x"})),
        )
        .await,
        422,
    )
    .await;
    assert!(unknown["detail"].is_string());
    let gb = problem(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "name": "Ada", "line1": "10 Downing St", "city": "London", "postal_code": "12345", "country": "GB"}))).await,
        422,
    )
    .await;
    assert_eq!(fields(&gb), vec!["postal_code"]);

    let office = json_of(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "label": "Office", "name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin",
            "postal_code": "10117", "country": "DE", "default_shipping": true}))).await,
        201,
    )
    .await;
    let id = office["id"].as_str().expect("id").to_string();
    let list = json_of(
        as_user(&app, &ada, Method::GET, "/api/v1/me/addresses", None).await,
        200,
    )
    .await;
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert_eq!(
        list[0]["id"], office["id"],
        "the default shipping address comes first"
    );
    assert_eq!(list[0]["default_shipping"], true);
    assert_eq!(list[1]["default_shipping"], false);
    assert_eq!(list[1]["default_billing"], true);

    // A partial change is checked whole.
    let moved = json_of(
        as_user(
            &app,
            &ada,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"line1": "Pariser Platz 1"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["line1"], "Pariser Platz 1");
    assert_eq!(moved["city"], "Berlin");
    let one = json_of(
        as_user(
            &app,
            &ada,
            Method::GET,
            &format!("/api/v1/me/addresses/{id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(one, moved, "one address reads as it was saved");
    let wrong = problem(
        as_user(
            &app,
            &ada,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"postal_code": "ABCDE"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), vec!["postal_code"]);

    // Nobody else sees or touches it.
    let grace = app.customer().await;
    assert_eq!(
        as_user(
            &app,
            &grace,
            Method::GET,
            &format!("/api/v1/me/addresses/{id}"),
            None
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        as_user(
            &app,
            &grace,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"city": "Bonn"}))
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        as_user(
            &app,
            &grace,
            Method::DELETE,
            &format!("/api/v1/me/addresses/{id}"),
            None
        )
        .await
        .status(),
        404
    );
    assert!(
        json_of(
            as_user(&app, &grace, Method::GET, "/api/v1/me/addresses", None).await,
            200
        )
        .await
        .as_array()
        .expect("list")
        .is_empty()
    );
    assert_eq!(app.get("/api/v1/me/addresses").await.status(), 401);

    // Deleting the default passes it on.
    assert_eq!(
        as_user(
            &app,
            &ada,
            Method::DELETE,
            &format!("/api/v1/me/addresses/{id}"),
            None
        )
        .await
        .status(),
        204
    );
    let list = json_of(
        as_user(&app, &ada, Method::GET, "/api/v1/me/addresses", None).await,
        200,
    )
    .await;
    assert_eq!(list.as_array().expect("list").len(), 1);
    assert_eq!(list[0]["default_shipping"], true);
}

async fn paid_order(
    app: &TestApp,
    admin: &Session,
    sizes: &[&str],
    quantity: i64,
) -> (Value, String) {
    let product = app.product(admin, "Canvas Tote", sizes, 3000, 20).await;
    let cart = app.guest_cart().await;
    for variant in &product.variants {
        json_of(app.add_to_cart(&cart, variant, quantity).await, 200).await;
    }
    let placed = json_of(
        app.checkout(&cart, &format!("ship-{}", cart.id), "US")
            .await,
        201,
    )
    .await;
    let id = placed["order"]["id"].as_str().expect("id").to_string();
    json_of(
        as_user(
            app,
            admin,
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transitions"),
            Some(json!({"to": "paid", "reason": "test"})),
        )
        .await,
        200,
    )
    .await;
    let token = placed["order_token"].as_str().expect("token").to_string();
    (placed["order"].clone(), token)
}

const TRACKING_SECRET: &str = "tracking-secret";

#[tokio::test]
async fn a_partial_shipment_then_the_rest_then_delivery() {
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(|config| {
            config.shipping.tracking_webhook_secret = Some(TRACKING_SECRET.into());
        }),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (order, token) = paid_order(&app, &admin, &["S", "M"], 2).await;
    let id = order["id"].as_str().expect("id");
    let (first, second) = (
        order["lines"][0]["id"].as_str().expect("line").to_string(),
        order["lines"][1]["id"].as_str().expect("line").to_string(),
    );
    let ship = |body: Value| {
        as_user(
            &app,
            &admin,
            Method::POST,
            format!("/api/v1/admin/orders/{id}/shipments"),
            Some(body),
        )
    };

    // Bad parcels are field errors.
    let bad = problem(ship(json!({"carrier": "", "tracking_number": "1Z999", "lines": [{"line_id": first, "quantity": 3}]})).await, 422).await;
    assert_eq!(fields(&bad), vec!["carrier", "lines[0].quantity"]);

    // One unit of the first line.
    let parcel = json_of(ship(json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456784", "lines": [{"line_id": first, "quantity": 1}]})).await, 201).await;
    assert_eq!(parcel["carrier"], "ups");
    assert_eq!(
        parcel["tracking_url"],
        "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    );
    assert_eq!(parcel["status"], "label_created");
    let seen = json_of(
        app.get(&format!("/api/v1/orders/{id}?token={token}")).await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "processing");
    assert_eq!(
        seen["shipments"][0]["tracking_number"],
        "1Z999AA10123456784"
    );

    // The rest: what is left of both lines.
    let rest = json_of(
        ship(json!({"carrier": "fedex", "tracking_number": "794644790138"})).await,
        201,
    )
    .await;
    assert_eq!(
        rest["lines"],
        json!([{"line_id": first, "quantity": 1}, {"line_id": second, "quantity": 2}])
    );
    assert_eq!(
        rest["tracking_url"],
        "https://www.fedex.com/fedextrack/?trknbr=794644790138"
    );
    let seen = json_of(
        app.get(&format!("/api/v1/orders/{id}?token={token}")).await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "shipped");
    assert_eq!(seen["shipments"].as_array().expect("shipments").len(), 2);
    assert_eq!(
        problem(
            ship(json!({"carrier": "dhl", "tracking_number": "x"})).await,
            409
        )
        .await["code"],
        "invalid_transition"
    );

    // Staff move the first parcel along; it never goes backwards.
    let track = |shipment: &str, body: Value| {
        as_user(
            &app,
            &admin,
            Method::POST,
            format!("/api/v1/admin/shipments/{shipment}/events"),
            Some(body),
        )
    };
    let first_parcel = parcel["id"].as_str().expect("id");
    json_of(
        track(
            first_parcel,
            json!({"status": "in_transit", "note": "Left Oakland"}),
        )
        .await,
        200,
    )
    .await;
    let delivered = json_of(
        track(first_parcel, json!({"status": "delivered"})).await,
        200,
    )
    .await;
    assert_eq!(delivered["status"], "delivered");
    let late = json_of(
        track(
            first_parcel,
            json!({"status": "in_transit", "occurred_at": "2026-11-01T10:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(late["status"], "delivered");
    assert_eq!(late["events"].as_array().expect("events").len(), 4);
    assert_eq!(
        problem(
            track(first_parcel, json!({"status": "teleported"})).await,
            422
        )
        .await["errors"][0]["field"],
        "status"
    );
    // One parcel of two delivered: the order is not yet.
    assert_eq!(
        json_of(
            app.get(&format!("/api/v1/orders/{id}?token={token}")).await,
            200
        )
        .await["status"],
        "shipped"
    );

    // The carrier reports the second one, signed.
    let body =
        json!({"tracking_number": "794644790138", "status": "delivered", "note": "Front porch"})
            .to_string();
    let send = |signature: String, body: String| {
        app.request(Method::POST, "/api/v1/webhooks/carriers/fedex")
            .header("x-emporium-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let forged = send("00".repeat(32), body.clone()).await.expect("sent");
    assert_eq!(problem(forged, 400).await["code"], "invalid_signature");
    let signed = emporium_testkit::gateways::hmac_hex(TRACKING_SECRET, body.as_bytes());
    let receipt = json_of(send(signed, body).await.expect("sent"), 200).await;
    assert_eq!(receipt["outcome"], "applied");
    let seen = json_of(
        app.get(&format!("/api/v1/orders/{id}?token={token}")).await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "delivered");
    assert_eq!(
        seen["shipments"][1]["events"]
            .as_array()
            .expect("events")
            .last()
            .expect("event")["source"],
        "carrier"
    );
    // A parcel we never sent is acknowledged and ignored.
    let stray = json!({"tracking_number": "nope", "status": "delivered"}).to_string();
    let receipt = json_of(
        send(
            emporium_testkit::gateways::hmac_hex(TRACKING_SECRET, stray.as_bytes()),
            stray,
        )
        .await
        .expect("sent"),
        200,
    )
    .await;
    assert_eq!(receipt["outcome"], "ignored");

    app.drain_outbox().await;
    let shipped_mails = app
        .smtp
        .mails_to("buyer@example.com")
        .iter()
        .filter(|m| m.subject().contains("on its way"))
        .count();
    assert_eq!(shipped_mails, 2);
}

#[tokio::test]
async fn an_unpaid_order_cannot_ship() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Cap", &["one"], 1500, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "cap", "US").await, 201).await;
    let id = placed["order"]["id"].as_str().expect("id");
    let refused = problem(
        as_user(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/shipments"),
            Some(json!({"carrier": "ups", "tracking_number": "1Z"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "invalid_transition");
    // Without a secret configured, tracking webhooks do not exist.
    let response = app
        .request(Method::POST, "/api/v1/webhooks/carriers/ups")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
}

/// A product whose one variant weighs `grams` and costs 25.00 USD, with stock.
async fn weighed_product(app: &TestApp, admin: &Session, grams: i64) -> String {
    let slug = format!("parcel-{}", uuid::Uuid::now_v7().simple());
    let product = app
        .published_product(admin, &json!({
            "slug": slug,
            "translations": {"en": {"title": "Parcel", "description": "Heavy."}},
            "options": [{"name": "size", "values": ["one"]}],
            "variants": [{"sku": slug, "options": {"size": "one"}, "weight_grams": grams, "prices": {"USD": {"amount": 2500}}}],
        }))
        .await;
    let variant = product["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_string();
    app.adjust_stock(admin, &variant, 100).await;
    variant
}

async fn zone(app: &TestApp, admin: &Session, name: &str, countries: Value) -> String {
    json_of(
        as_user(
            app,
            admin,
            Method::POST,
            "/api/v1/admin/shipping-zones",
            Some(json!({"name": name, "countries": countries})),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .expect("zone id")
        .to_string()
}

/// Every zone with its methods, as staff list them.
async fn zone_list(app: &TestApp, admin: &Session) -> Value {
    json_of(
        as_user(
            app,
            admin,
            Method::GET,
            "/api/v1/admin/shipping-zones",
            None,
        )
        .await,
        200,
    )
    .await
}

async fn method(app: &TestApp, admin: &Session, zone: &str, body: Value) -> String {
    json_of(
        as_user(
            app,
            admin,
            Method::POST,
            format!("/api/v1/admin/shipping-zones/{zone}/methods"),
            Some(body),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .expect("method id")
        .to_string()
}

fn us_address(region: &str, postal: &str) -> Value {
    json!({"name": "Ada", "line1": "1 Main St", "city": "Springfield", "region": region, "postal_code": postal, "country": "US"})
}

async fn options(app: &TestApp, cart: &emporium_testkit::GuestCart) -> Vec<Value> {
    json_of(
        app.cart_call(
            cart,
            Method::GET,
            &format!("/api/v1/carts/{}/shipping-options", cart.id),
            None,
        )
        .await,
        200,
    )
    .await
    .as_array()
    .expect("options")
    .clone()
}

fn price_of(options: &[Value], id: &str) -> Option<i64> {
    options
        .iter()
        .find(|o| o["id"] == id)
        .and_then(|o| o["price"]["amount"].as_i64())
}

async fn set_address(app: &TestApp, cart: &emporium_testkit::GuestCart, address: Value) {
    json_of(app.set_shipping_address(cart, &address).await, 200).await;
}

#[tokio::test]
async fn zones_price_every_kind_of_rate() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let us = zone(&app, &admin, "United States", json!(["US"])).await;
    let flat = method(&app, &admin, &us, json!({"name": "Standard", "kind": "flat", "rates": {"kind": "flat", "amount": 700}, "min_days": 3, "max_days": 5})).await;
    let by_weight = method(
        &app,
        &admin,
        &us,
        json!({"name": "Economy", "kind": "weight", "rates": {"kind": "weight", "tiers": [
        {"up_to_grams": 1000, "amount": 500}, {"up_to_grams": 5000, "amount": 1200}]}}),
    )
    .await;
    let by_total = method(
        &app,
        &admin,
        &us,
        json!({"name": "Saver", "kind": "subtotal", "rates": {"kind": "subtotal", "tiers": [
        {"from": 0, "amount": 900}, {"from": 10000, "amount": 300}]}}),
    )
    .await;
    let express = method(&app, &admin, &us, json!({"name": "Express", "kind": "flat", "rates": {"kind": "flat", "amount": 1500}, "free_over": 20000})).await;

    let variant = weighed_product(&app, &admin, 400).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &variant, 2).await, 200).await; // 800 g, 50.00
    // No address yet: nothing to quote, and shipping is counted later.
    assert!(options(&app, &cart).await.is_empty());
    set_address(&app, &cart, us_address("NY", "10001")).await;
    let listed = options(&app, &cart).await;
    assert_eq!(listed.len(), 4);
    assert_eq!(
        [&flat, &by_weight, &by_total, &express].map(|id| price_of(&listed, id)),
        [Some(700), Some(500), Some(900), Some(1500)]
    );
    assert_eq!(
        (listed[0]["min_days"].clone(), listed[0]["max_days"].clone()),
        (json!(3), json!(5))
    );
    assert!(listed.iter().all(|o| o["source"] == "table"));
    // With no choice made, the cart counts the first method.
    let view = json_of(
        app.cart_call(
            &cart,
            Method::GET,
            &format!("/api/v1/carts/{}", cart.id),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(view["totals"]["shipping"]["amount"], 700);

    json_of(app.add_to_cart(&cart, &variant, 2).await, 200).await; // 1600 g, 100.00
    let listed = options(&app, &cart).await;
    assert_eq!(
        [&by_weight, &by_total].map(|id| price_of(&listed, id)),
        [Some(1200), Some(300)]
    );
    json_of(app.add_to_cart(&cart, &variant, 4).await, 200).await; // 3200 g, 200.00: express is free
    let listed = options(&app, &cart).await;
    assert_eq!(price_of(&listed, &express), Some(0));
    json_of(app.add_to_cart(&cart, &variant, 5).await, 200).await; // 5200 g: too heavy for Economy
    let listed = options(&app, &cart).await;
    assert_eq!(price_of(&listed, &by_weight), None);
    assert_eq!(listed.len(), 3);

    // The choice prices the cart and the order.
    let bad = problem(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-option", cart.id),
            Some(&json!({"id": by_weight})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "id");
    let chosen = json_of(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-option", cart.id),
            Some(&json!({"id": by_total})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(chosen["totals"]["shipping"]["amount"], 300);
    // Asking checkout for a method that cannot take the parcel is a field error.
    let refused = problem(
        app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", "too-heavy")
            .json(
                &json!({"email": "z@example.com", "shipping_address": us_address("NY", "10001"),
                "shipping_option_id": by_weight, "payment_provider": "manual"}),
            )
            .send()
            .await
            .expect("sent"),
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "shipping_option_id");
    let placed = json_of(
        app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", "zones")
            .json(&json!({"email": "z@example.com", "shipping_address": us_address("NY", "10001"), "payment_provider": "manual"}))
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    assert_eq!(placed["order"]["totals"]["shipping"]["amount"], 300);
    assert_eq!(placed["order"]["shipping_option"], by_total);

    // A region's zone wins over its country's.
    let california = zone(&app, &admin, "California", json!(["us-ca"])).await;
    let local = method(
        &app,
        &admin,
        &california,
        json!({"name": "Local courier", "kind": "flat", "rates": {"kind": "flat", "amount": 100}}),
    )
    .await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &variant, 1).await, 200).await;
    set_address(&app, &cart, us_address("CA", "94105")).await;
    let listed = options(&app, &cart).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(price_of(&listed, &local), Some(100));

    // Nowhere covers Britain: no options, and checkout says so.
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &variant, 1).await, 200).await;
    let gb = json!({"name": "Ada", "line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA", "country": "GB"});
    set_address(&app, &cart, gb.clone()).await;
    assert!(options(&app, &cart).await.is_empty());
    let refused = problem(
        app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", "gb")
            .json(&json!({"email": "z@example.com", "shipping_address": gb, "payment_provider": "manual"}))
            .send()
            .await
            .expect("sent"),
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "shipping_address.country");
}

#[tokio::test]
async fn bad_zones_and_methods_are_field_errors() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bad = problem(
        as_user(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/shipping-zones",
            Some(json!({"name": "", "countries": ["USA", "US-"]})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&bad), vec!["name", "countries[0]", "countries[1]"]);
    let us = zone(&app, &admin, "US", json!(["US"])).await;
    let bad = problem(
        as_user(&app, &admin, Method::POST, format!("/api/v1/admin/shipping-zones/{us}/methods"), Some(json!({
            "name": "Heavy", "kind": "weight", "rates": {"kind": "weight", "tiers": [{"up_to_grams": null, "amount": 1}, {"up_to_grams": 10, "amount": -5}]},
            "min_days": 5, "max_days": 2}))).await,
        422,
    )
    .await;
    let named = fields(&bad);
    assert!(
        named.contains(&"rates.tiers".to_string())
            && named.contains(&"rates.tiers[1].amount".to_string())
            && named.contains(&"max_days".to_string()),
        "{named:?}"
    );
    let bad = problem(
        as_user(&app, &admin, Method::POST, format!("/api/v1/admin/shipping-zones/{us}/methods"), Some(json!({
            "name": "Courier", "kind": "carrier", "rates": {"kind": "flat", "amount": 100}, "carrier": "pigeon"}))).await,
        422,
    )
    .await;
    assert_eq!(fields(&bad), vec!["carrier"]);
    let mismatch = problem(
        as_user(&app, &admin, Method::POST, format!("/api/v1/admin/shipping-zones/{us}/methods"), Some(json!({
            "name": "Flat", "kind": "flat", "rates": {"kind": "subtotal", "tiers": [{"from": 0, "amount": 1}]}}))).await,
        422,
    )
    .await;
    assert_eq!(fields(&mismatch), vec!["rates.kind"]);
    let missing = as_user(
        &app,
        &admin,
        Method::POST,
        format!(
            "/api/v1/admin/shipping-zones/{}/methods",
            uuid::Uuid::now_v7()
        ),
        Some(json!({
        "name": "Flat", "kind": "flat", "rates": {"kind": "flat", "amount": 1}})),
    )
    .await;
    assert_eq!(missing.status(), 404);
    // Changing one field keeps the rest.
    let id = method(&app, &admin, &us, json!({"name": "Flat", "kind": "flat", "rates": {"kind": "flat", "amount": 400}, "free_over": 5000})).await;
    let changed = json_of(
        as_user(
            &app,
            &admin,
            Method::PATCH,
            format!("/api/v1/admin/shipping-methods/{id}"),
            Some(json!({"name": "Ground"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            changed["name"].clone(),
            changed["free_over"].clone(),
            changed["rates"]["amount"].clone()
        ),
        (json!("Ground"), json!(5000), json!(400))
    );
    let cleared = json_of(
        as_user(
            &app,
            &admin,
            Method::PATCH,
            format!("/api/v1/admin/shipping-methods/{id}"),
            Some(json!({"free_over": null})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cleared["free_over"], Value::Null);
    let zones = zone_list(&app, &admin).await;
    assert_eq!(zones[0]["methods"][0]["name"], "Ground");
    assert_eq!(
        as_user(
            &app,
            &admin,
            Method::DELETE,
            format!("/api/v1/admin/shipping-zones/{us}"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        as_user(
            &app,
            &admin,
            Method::DELETE,
            format!("/api/v1/admin/shipping-methods/{id}"),
            None
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn carriers_quote_live_and_fall_back_to_the_table_when_slow_or_down() {
    use emporium_testkit::carriers::*;
    let ups = FakeCarrier::ups("23.45").await;
    let fedex = FakeCarrier::fedex("18.20").await;
    let dhl = FakeCarrier::dhl("31.00").await;
    let (ups_base, fedex_base, dhl_base) = (ups.base(), fedex.base(), dhl.base());
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(move |config| {
            let s = &mut config.shipping;
            s.carrier_timeout_ms = 400;
            s.ups_client_id = Some(UPS_CLIENT_ID.into());
            s.ups_client_secret = Some(UPS_CLIENT_SECRET.into());
            s.ups_account_number = Some("A1B2C3".into());
            s.ups_api_base = ups_base;
            s.fedex_client_id = Some(FEDEX_CLIENT_ID.into());
            s.fedex_client_secret = Some(FEDEX_CLIENT_SECRET.into());
            s.fedex_account_number = Some("740561073".into());
            s.fedex_api_base = fedex_base;
            s.dhl_username = Some(DHL_USERNAME.into());
            s.dhl_password = Some(DHL_PASSWORD.into());
            s.dhl_account_number = Some("123456789".into());
            s.dhl_api_base = dhl_base;
        }),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let us = zone(&app, &admin, "US", json!(["US"])).await;
    let by_ups = method(&app, &admin, &us, json!({"name": "UPS Ground", "kind": "carrier", "carrier": "ups", "service": "03", "rates": {"kind": "flat", "amount": 1999}})).await;
    let by_fedex = method(&app, &admin, &us, json!({"name": "FedEx Ground", "kind": "carrier", "carrier": "fedex", "rates": {"kind": "flat", "amount": 1888}})).await;
    let by_dhl = method(&app, &admin, &us, json!({"name": "DHL Express", "kind": "carrier", "carrier": "dhl", "service": "P", "rates": {"kind": "flat", "amount": 2999}})).await;
    let variant = weighed_product(&app, &admin, 1250).await;

    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &variant, 2).await, 200).await;
    set_address(&app, &cart, us_address("NY", "10001")).await;
    let listed = options(&app, &cart).await;
    assert_eq!(
        [&by_ups, &by_fedex, &by_dhl].map(|id| price_of(&listed, id)),
        [Some(2345), Some(1820), Some(3100)]
    );
    assert!(
        listed.iter().all(|o| o["source"] == "carrier"),
        "{listed:?}"
    );
    assert_eq!(listed[0]["min_days"], 3);
    // What each carrier was sent.
    let rate = &ups.rate_requests()[0];
    let shipment = &rate.json()["RateRequest"]["Shipment"];
    assert_eq!(shipment["Package"]["PackageWeight"]["Weight"], "2.50");
    assert_eq!(shipment["ShipTo"]["Address"]["PostalCode"], "10001");
    assert_eq!(shipment["Shipper"]["ShipperNumber"], "A1B2C3");
    assert_eq!(
        fedex.rate_requests()[0].json()["accountNumber"]["value"],
        "740561073"
    );
    let query = dhl.rate_requests()[0].query_fields();
    assert_eq!(
        (
            query["weight"].as_str(),
            query["destinationCountryCode"].as_str()
        ),
        ("2.50", "US")
    );

    // Asked again for the same cart and address: from the cache.
    options(&app, &cart).await;
    assert_eq!(
        (
            ups.rate_requests().len(),
            fedex.rate_requests().len(),
            dhl.rate_requests().len()
        ),
        (1, 1, 1)
    );

    // The shopper picks UPS: checkout charges that quote without asking UPS again.
    let chosen = json_of(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-option", cart.id),
            Some(&json!({"id": by_ups})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(chosen["totals"]["shipping"]["amount"], 2345);
    let placed = json_of(
        app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", "ups")
            .json(&json!({"email": "c@example.com", "shipping_address": us_address("NY", "10001"), "payment_provider": "manual"}))
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    assert_eq!(placed["order"]["totals"]["shipping"]["amount"], 2345);
    assert_eq!(ups.rate_requests().len(), 1);
    assert_eq!(ups.tokens_issued(), 1);

    // UPS turns slow and FedEx fails: within the timeout, their table rates stand in.
    ups.set_delay(std::time::Duration::from_secs(3));
    fedex.set_failing(true);
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &variant, 1).await, 200).await;
    set_address(&app, &cart, us_address("NY", "10001")).await;
    let started = std::time::Instant::now();
    let listed = options(&app, &cart).await;
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_millis(1500),
        "waited {waited:?}"
    );
    assert_eq!(
        [&by_ups, &by_fedex, &by_dhl].map(|id| price_of(&listed, id)),
        [Some(1999), Some(1888), Some(3100)]
    );
    let sources: Vec<&str> = listed.iter().filter_map(|o| o["source"].as_str()).collect();
    assert_eq!(sources, vec!["table", "table", "carrier"]);
    // A fallback-priced choice checks out at the table rate.
    json_of(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-option", cart.id),
            Some(&json!({"id": by_fedex})),
        )
        .await,
        200,
    )
    .await;
    let view = json_of(
        app.cart_call(
            &cart,
            Method::GET,
            &format!("/api/v1/carts/{}", cart.id),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(view["totals"]["shipping"]["amount"], 1888);
}

#[tokio::test]
async fn overlapping_zones_follow_one_rule_and_the_list_shows_who_serves_what() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let us = zone(&app, &admin, "United States", json!(["US"])).await;
    method(
        &app,
        &admin,
        &us,
        json!({"name": "Standard", "kind": "flat", "rates": {"kind": "flat", "amount": 700}}),
    )
    .await;
    // A second zone for the same country, still being set up: it hides nothing.
    let draft = zone(&app, &admin, "US draft", json!(["US"])).await;
    let product = app.product(&admin, "Zone Cup", &["one"], 1000, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    json_of(
        app.set_shipping_address(&cart, &emporium_testkit::address("US"))
            .await,
        200,
    )
    .await;
    let names = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .filter_map(|o| o["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names(options(&app, &cart).await), ["Standard"]);
    // Given a method, the newer zone still loses to the older one at the same position,
    // and says so in the list.
    method(
        &app,
        &admin,
        &draft,
        json!({"name": "Draft rate", "kind": "flat", "rates": {"kind": "flat", "amount": 100}}),
    )
    .await;
    assert_eq!(names(options(&app, &cart).await), ["Standard"]);
    let zones = zone_list(&app, &admin).await;
    let draft_view = zones
        .as_array()
        .expect("zones")
        .iter()
        .find(|z| z["id"] == draft.as_str())
        .expect("draft zone");
    assert_eq!(
        draft_view["served_elsewhere"],
        json!([{"code": "US", "zone_id": us}])
    );
    // The most specific code wins: California ships by its own zone.
    let ca = zone(&app, &admin, "California", json!(["US-CA"])).await;
    method(
        &app,
        &admin,
        &ca,
        json!({"name": "Courier", "kind": "flat", "rates": {"kind": "flat", "amount": 300}}),
    )
    .await;
    assert_eq!(names(options(&app, &cart).await), ["Courier"]);

    // Made-up codes are refused wherever a place is named.
    for countries in [json!(["ZZ"]), json!(["US-QQ"])] {
        let refused = problem(
            as_user(
                &app,
                &admin,
                Method::POST,
                "/api/v1/admin/shipping-zones",
                Some(json!({"name": "Nowhere", "countries": countries})),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields(&refused), ["countries[0]"]);
    }
    for (body, field) in [
        (
            json!({"country": "ZZ", "rate": "5", "name": "x"}),
            "country",
        ),
        (
            json!({"country": "US", "region": "QQ", "rate": "5", "name": "x"}),
            "region",
        ),
    ] {
        let refused = problem(
            as_user(
                &app,
                &admin,
                Method::PUT,
                "/api/v1/admin/tax-rates",
                Some(body),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields(&refused), [field]);
    }
    let mut bad = emporium_testkit::address("US");
    bad["region"] = json!("QQ");
    let refused = problem(app.set_shipping_address(&cart, &bad).await, 422).await;
    assert_eq!(fields(&refused), ["shipping_address.region"]);
}
