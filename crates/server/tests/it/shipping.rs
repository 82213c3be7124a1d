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
