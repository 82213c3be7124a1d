//! Carts, tax, checkout and orders: cart CRUD, merge at sign-in, recovery, totals with
//! tax inclusive and exclusive, idempotent checkout, the order state machine, privacy of
//! orders, the confirmation email, and no overselling under 300 concurrent checkouts.

use emporium_testkit::{GuestCart, Session, TestApp, TestOptions, address, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

async fn cart_of(app: &TestApp, cart: &GuestCart) -> Value {
    json_of(
        app.cart_call(
            cart,
            Method::GET,
            &format!("/api/v1/carts/{}", cart.id),
            None,
        )
        .await,
        200,
    )
    .await
}

async fn set_tax(app: &TestApp, admin: &Session, body: Value) {
    let response = app
        .call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&body),
        )
        .await;
    json_of(response, 200).await;
}

async fn transition(app: &TestApp, admin: &Session, order: &str, to: &str) -> reqwest::Response {
    app.call(
        Method::POST,
        &format!("/api/v1/admin/orders/{order}/transitions"),
        Some(&admin.access_token),
        Some(&json!({"to": to, "reason": "test"})),
    )
    .await
}

#[tokio::test]
async fn guest_cart_lines_add_up_change_and_go() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Linen Shirt", &["S", "M"], 2500, 5)
        .await;
    let cart = app.guest_cart().await;

    json_of(app.add_to_cart(&cart, &shirt.variants[0], 1).await, 200).await;
    let view = json_of(app.add_to_cart(&cart, &shirt.variants[0], 2).await, 200).await;
    let lines = view["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "the same variant adds to its line");
    assert_eq!(lines[0]["quantity"], 3);
    assert_eq!(
        lines[0]["unit_price"],
        json!({"amount": 2500, "currency": "USD"})
    );
    assert_eq!(lines[0]["total"]["amount"], 7500);
    assert_eq!(view["totals"]["subtotal"]["amount"], 7500);
    assert_eq!(view["totals"]["shipping"]["amount"], 500);
    assert_eq!(view["totals"]["total"]["amount"], 8000);
    assert!(
        view["token"].is_null(),
        "the token is shown only when issued"
    );

    // More than the stock: 409 naming what is left.
    let body = problem(app.add_to_cart(&cart, &shirt.variants[0], 3).await, 409).await;
    assert_eq!(body["code"], "insufficient_stock");
    // Bad quantities and unknown variants: 422.
    problem(app.add_to_cart(&cart, &shirt.variants[1], 0).await, 422).await;
    let body = problem(
        app.add_to_cart(&cart, &uuid::Uuid::now_v7().to_string(), 1)
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "variant_id");

    let line = lines[0]["id"].as_str().expect("line id");
    let path = format!("/api/v1/carts/{}/items/{line}", cart.id);
    let view = json_of(
        app.cart_call(&cart, Method::PATCH, &path, Some(&json!({"quantity": 1})))
            .await,
        200,
    )
    .await;
    assert_eq!(view["lines"][0]["quantity"], 1);
    let view = json_of(app.cart_call(&cart, Method::DELETE, &path, None).await, 200).await;
    assert!(view["lines"].as_array().expect("lines").is_empty());
    assert_eq!(
        view["totals"]["total"]["amount"], 0,
        "no shipping on an empty cart"
    );

    // Without the token, or with another's, the cart does not exist.
    let response = app.get(&format!("/api/v1/carts/{}", cart.id)).await;
    problem(response, 404).await;
    let other = app.guest_cart().await;
    let stranger = GuestCart {
        id: cart.id.clone(),
        token: other.token,
    };
    problem(
        app.cart_call(
            &stranger,
            Method::GET,
            &format!("/api/v1/carts/{}", cart.id),
            None,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn unpublished_or_sold_out_lines_are_flagged_not_dropped() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let cap = app.product(&admin, "Wool Cap", &["one"], 1500, 2).await;
    let scarf = app.product(&admin, "Silk Scarf", &["one"], 3000, 1).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &cap.variants[0], 2).await, 200).await;
    json_of(app.add_to_cart(&cart, &scarf.variants[0], 1).await, 200).await;

    let response = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/products/{}/unpublish", cap.id),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    app.adjust_stock(&admin, &scarf.variants[0], -1).await;

    let view = cart_of(&app, &cart).await;
    let lines = view["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["available"], false);
    assert_eq!(lines[0]["problem"], "unavailable");
    assert_eq!(lines[1]["problem"], "out_of_stock");
    assert_eq!(
        view["totals"]["subtotal"]["amount"], 3000,
        "unavailable lines are not charged"
    );

    let body = problem(app.checkout(&cart, "k1", "US").await, 409).await;
    assert_eq!(body["code"], "lines_unavailable");
    assert_eq!(body["errors"][0]["field"], "lines[0]");
}

#[tokio::test]
async fn a_guest_cart_merges_into_the_customers_at_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tee = app.product(&admin, "Basic Tee", &["S", "M"], 1000, 4).await;
    let customer = app.customer().await;

    // The customer's own cart, from another device.
    let mine = json_of(
        app.call(
            Method::GET,
            "/api/v1/cart",
            Some(&customer.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let mine_id = mine["id"].as_str().expect("id").to_string();
    let response = app
        .call(
            Method::POST,
            &format!("/api/v1/carts/{mine_id}/items"),
            Some(&customer.access_token),
            Some(&json!({"variant_id": tee.variants[0], "quantity": 3})),
        )
        .await;
    json_of(response, 200).await;

    // As a guest they add more of the same and another size.
    let guest = app.guest_cart().await;
    json_of(app.add_to_cart(&guest, &tee.variants[0], 3).await, 200).await;
    json_of(app.add_to_cart(&guest, &tee.variants[1], 1).await, 200).await;

    // Signing in with the guest token merges: 3 + 3 capped by the 4 in stock.
    let merged = json_of(
        app.request(Method::GET, "/api/v1/cart")
            .bearer_auth(&customer.access_token)
            .header("x-cart-token", &guest.token)
            .send()
            .await
            .expect("sent"),
        200,
    )
    .await;
    assert_eq!(merged["id"], mine_id.as_str());
    let quantities: Vec<(String, i64)> = merged["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["variant_id"].as_str().unwrap_or("").to_string(),
                l["quantity"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        quantities,
        vec![(tee.variants[0].clone(), 4), (tee.variants[1].clone(), 1)]
    );
    // The guest cart is closed.
    let body = problem(app.add_to_cart(&guest, &tee.variants[1], 1).await, 409).await;
    assert_eq!(body["code"], "cart_not_active");

    // The cart survives logout and a new login.
    let again = app.login(&customer.email, &customer.password).await;
    let later = json_of(
        app.call(Method::GET, "/api/v1/cart", Some(&again.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(later["id"], mine_id.as_str());
    assert_eq!(later["lines"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn totals_add_tax_on_top_rounded_per_line() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    set_tax(
        &app,
        &admin,
        json!({"country": "US", "rate": "6", "name": "US"}),
    )
    .await;
    set_tax(
        &app,
        &admin,
        json!({"country": "US", "region": "CA", "rate": "7.25", "name": "California"}),
    )
    .await;
    let pen = app.product(&admin, "Ink Pen", &["blue"], 333, 10).await;
    let pad = app.product(&admin, "Note Pad", &["A5"], 199, 10).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &pen.variants[0], 3).await, 200).await;
    json_of(app.add_to_cart(&cart, &pad.variants[0], 1).await, 200).await;

    let before = cart_of(&app, &cart).await;
    assert_eq!(
        before["totals"]["tax"]["amount"], 0,
        "no address, no default tax country"
    );

    let response = app.set_shipping_address(&cart, &address("US")).await;
    let view = json_of(response, 200).await;
    // California 7.25%: 9.99 -> 0.724275 -> 0.72; 1.99 -> 0.144275 -> 0.14.
    assert_eq!(view["lines"][0]["tax"]["amount"], 72);
    assert_eq!(view["lines"][1]["tax"]["amount"], 14);
    let t = &view["totals"];
    assert_eq!(t["subtotal"]["amount"], 1198);
    assert_eq!(t["tax"]["amount"], 86);
    assert_eq!(t["shipping"]["amount"], 500);
    assert_eq!(t["total"]["amount"], 1198 + 86 + 500);
    assert_eq!(view["tax_inclusive"], false);

    // The order carries the same figures.
    let placed = json_of(app.checkout(&cart, "tax-1", "US").await, 201).await;
    assert_eq!(placed["order"]["totals"], view["totals"]);
    assert_eq!(placed["order"]["lines"][0]["tax"]["amount"], 72);

    // Bad rates are 422.
    let response = app
        .call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&json!({"country": "US", "rate": "-3", "name": "x"})),
        )
        .await;
    problem(response, 422).await;
}

#[tokio::test]
async fn totals_with_tax_included_in_prices() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| {
            c.checkout.prices_include_tax = true;
            c.checkout.default_tax_country = Some("DE".into());
            c.checkout.free_shipping_over = Some(5000);
        }),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    set_tax(
        &app,
        &admin,
        json!({"country": "DE", "rate": "19", "name": "MwSt"}),
    )
    .await;
    let mug = app.product(&admin, "Stone Mug", &["one"], 1999, 10).await;
    let cart = app.guest_cart().await;
    let view = json_of(app.add_to_cart(&cart, &mug.variants[0], 1).await, 200).await;
    // 19.99 including 19%: net 16.798.. -> 16.80, tax 3.19.
    assert_eq!(view["tax_inclusive"], true);
    assert_eq!(view["lines"][0]["tax"]["amount"], 319);
    assert_eq!(view["totals"]["subtotal"]["amount"], 1999);
    assert_eq!(
        view["totals"]["total"]["amount"],
        1999 + 500,
        "tax is inside the price"
    );

    // Three mugs pass the free-shipping threshold.
    let line = view["lines"][0]["id"].as_str().expect("line");
    let response = app
        .cart_call(
            &cart,
            Method::PATCH,
            &format!("/api/v1/carts/{}/items/{line}", cart.id),
            Some(&json!({"quantity": 3})),
        )
        .await;
    let view = json_of(response, 200).await;
    assert_eq!(
        view["lines"][0]["tax"]["amount"], 958,
        "tax of 59.97 rounded once: 9.575 -> 9.58"
    );
    assert_eq!(view["totals"]["shipping"]["amount"], 0);
    assert_eq!(view["totals"]["total"]["amount"], 5997);
}

#[tokio::test]
async fn checkout_is_idempotent_and_reserves_stock_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk Lamp", &["black"], 4500, 3).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &lamp.variants[0], 2).await, 200).await;

    // No key: 400.
    let response = app
        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .json(&json!({"email": "a@example.com", "shipping_address": address("US"), "payment_provider": "manual"}))
        .send()
        .await
        .expect("sent");
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "idempotency_key_required");

    // Invalid body: 422 with fields, and nothing happens.
    let response = app
        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", "bad-body")
        .json(&json!({"email": "nope", "shipping_address": {"name": "A", "line1": "x", "city": "y", "country": "US", "postal_code": "1"}, "payment_provider": "cash"}))
        .send()
        .await
        .expect("sent");
    let body = problem(response, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&"email"), "{fields:?}");
    assert!(
        fields.contains(&"shipping_address.postal_code"),
        "{fields:?}"
    );
    assert!(fields.contains(&"shipping_address.region"), "{fields:?}");
    assert!(fields.contains(&"payment_provider"), "{fields:?}");

    let first = json_of(app.checkout(&cart, "order-1", "US").await, 201).await;
    let order = &first["order"];
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["lines"][0]["quantity"], 2);
    assert_eq!(
        order["lines"][0]["sku"],
        format!("{}-black", lamp.slug).as_str()
    );
    assert_eq!(order["lines"][0]["options"], json!({"size": "black"}));
    assert_eq!(first["payment"]["provider"], "manual");
    assert!(order["number"].as_i64().expect("number") > 1000);

    // The same key and body: the same order, byte for byte.
    let again = json_of(app.checkout(&cart, "order-1", "US").await, 201).await;
    assert_eq!(again, first);
    // The same key with another body: 409.
    let body = problem(app.checkout(&cart, "order-1", "DE").await, 409).await;
    assert_eq!(body["code"], "idempotency_conflict");
    // Another key on the converted cart: 409, no second order.
    let body = problem(app.checkout(&cart, "order-2", "US").await, 409).await;
    assert_eq!(body["code"], "cart_not_active");

    let stock = app.stock(&admin, &lamp.variants[0]).await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    let list = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/orders",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn out_of_stock_checkout_is_409_naming_the_lines() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let boots = app
        .product(&admin, "Rain Boots", &["40", "41"], 6000, 2)
        .await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &boots.variants[0], 1).await, 200).await;
    json_of(app.add_to_cart(&cart, &boots.variants[1], 2).await, 200).await;
    // Someone else buys the last 41s first.
    let rival = app.guest_cart().await;
    json_of(app.add_to_cart(&rival, &boots.variants[1], 2).await, 200).await;
    json_of(app.checkout(&rival, "rival", "US").await, 201).await;

    let body = problem(app.checkout(&cart, "mine", "US").await, 409).await;
    assert_eq!(body["code"], "out_of_stock");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["field"], "lines[1]");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("2 wanted, 0 left")
    );
    // Nothing was kept: the 40s are still all there and the cart can be fixed and retried.
    let stock = app.stock(&admin, &boots.variants[0]).await;
    assert_eq!(stock["reserved"], 0);
    let view = cart_of(&app, &cart).await;
    assert_eq!(view["status"], "active");
}

#[tokio::test]
async fn backorders_follow_the_variant_policy() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let kettle = app.product(&admin, "Kettle", &["steel"], 3900, 1).await;
    let variant = &kettle.variants[0];
    let cart = app.guest_cart().await;
    problem(app.add_to_cart(&cart, variant, 3).await, 409).await;

    let response = app
        .call(
            Method::PUT,
            &format!("/api/v1/admin/inventory/{variant}/policy"),
            Some(&admin.access_token),
            Some(&json!({"allow_backorder": true, "backorder_limit": 2})),
        )
        .await;
    json_of(response, 200).await;
    json_of(app.add_to_cart(&cart, variant, 3).await, 200).await;
    problem(app.add_to_cart(&cart, variant, 1).await, 409).await;
    let placed = json_of(app.checkout(&cart, "bo", "US").await, 201).await;
    assert_eq!(placed["order"]["lines"][0]["backordered"], 2);
    let stock = app.stock(&admin, variant).await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(1), Some(3))
    );
    // The limit is used up.
    let next = app.guest_cart().await;
    problem(app.add_to_cart(&next, variant, 1).await, 409).await;
}

#[tokio::test]
async fn every_illegal_transition_is_409_and_each_move_is_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let vase = app.product(&admin, "Glass Vase", &["one"], 2000, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &vase.variants[0], 2).await, 200).await;
    let placed = json_of(app.checkout(&cart, "sm", "US").await, 201).await;
    let order = placed["order"]["id"].as_str().expect("id").to_string();

    let all = [
        "pending_payment",
        "paid",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
        "refunded",
        "return_requested",
        "returned",
    ];
    let path = [
        "paid",
        "processing",
        "shipped",
        "delivered",
        "return_requested",
        "returned",
    ];
    let mut current = "pending_payment";
    for next in path {
        for to in all {
            let allowed = match current {
                "pending_payment" => ["paid", "cancelled"].contains(&to),
                "paid" => ["processing", "shipped", "cancelled"].contains(&to),
                "processing" => ["shipped", "cancelled"].contains(&to),
                "shipped" => ["delivered", "return_requested"].contains(&to),
                "delivered" => ["return_requested"].contains(&to),
                "return_requested" => ["returned", "delivered"].contains(&to),
                _ => false,
            };
            if !allowed {
                let body = problem(transition(&app, &admin, &order, to).await, 409).await;
                assert_eq!(body["code"], "invalid_transition", "{current} -> {to}");
            }
        }
        json_of(transition(&app, &admin, &order, next).await, 200).await;
        current = next;
        if next == "paid" {
            let stock = app.stock(&admin, &vase.variants[0]).await;
            assert_eq!(
                (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
                (Some(3), Some(0)),
                "payment commits the reservation"
            );
        }
    }
    let view = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/orders/{order}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let events: Vec<&str> = view["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["to"].as_str())
        .collect();
    assert_eq!(
        events,
        [
            "pending_payment",
            "paid",
            "processing",
            "shipped",
            "delivered",
            "return_requested",
            "returned"
        ]
    );
    assert_eq!(view["events"][1]["reason"], "test");
    // An unknown status is 422, an unknown order 404.
    problem(transition(&app, &admin, &order, "teleported").await, 422).await;
    problem(
        transition(&app, &admin, &uuid::Uuid::now_v7().to_string(), "paid").await,
        404,
    )
    .await;

    // Transitions need the orders.write permission.
    let reader = app.staff(&["orders.read"]).await;
    let response = transition(&app, &reader, &order, "delivered").await;
    problem(response, 403).await;
}

#[tokio::test]
async fn customers_see_only_their_orders_and_can_cancel_before_shipping() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bag = app.product(&admin, "Tote Bag", &["one"], 1800, 10).await;
    let alice = app.customer().await;
    let bob = app.customer().await;

    let cart = json_of(
        app.call(
            Method::POST,
            "/api/v1/carts",
            Some(&alice.access_token),
            None,
        )
        .await,
        201,
    )
    .await;
    let cart_id = cart["id"].as_str().expect("id");
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/carts/{cart_id}/items"),
            Some(&alice.access_token),
            Some(&json!({"variant_id": bag.variants[0], "quantity": 2})),
        )
        .await,
        200,
    )
    .await;
    let response = app
        .request(Method::POST, &format!("/api/v1/carts/{cart_id}/checkout"))
        .bearer_auth(&alice.access_token)
        .header("idempotency-key", "alice-1")
        .json(&json!({"email": alice.email, "shipping_address": address("DE"), "payment_provider": "manual"}))
        .send()
        .await
        .expect("sent");
    let placed = json_of(response, 201).await;
    assert!(
        placed["order_token"].is_null(),
        "customers use their account, not a link"
    );
    let order = placed["order"]["id"]
        .as_str()
        .expect("order id")
        .to_string();

    let mine = json_of(
        app.call(
            Method::GET,
            "/api/v1/orders",
            Some(&alice.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(mine["data"][0]["id"], order.as_str());
    let theirs = json_of(
        app.call(Method::GET, "/api/v1/orders", Some(&bob.access_token), None)
            .await,
        200,
    )
    .await;
    assert!(theirs["data"].as_array().expect("data").is_empty());
    let path = format!("/api/v1/orders/{order}");
    problem(
        app.call(Method::GET, &path, Some(&bob.access_token), None)
            .await,
        404,
    )
    .await;
    problem(
        app.call(
            Method::POST,
            &format!("{path}/cancel"),
            Some(&bob.access_token),
            None,
        )
        .await,
        404,
    )
    .await;
    problem(app.get(&path).await, 401).await;
    json_of(
        app.call(Method::GET, &path, Some(&alice.access_token), None)
            .await,
        200,
    )
    .await;

    // A return before delivery is not allowed; cancelling is, and the stock comes back.
    problem(
        app.call(
            Method::POST,
            &format!("{path}/returns"),
            Some(&alice.access_token),
            None,
        )
        .await,
        409,
    )
    .await;
    let cancelled = json_of(
        app.call(
            Method::POST,
            &format!("{path}/cancel"),
            Some(&alice.access_token),
            Some(&json!({"reason": "changed my mind"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let stock = app.stock(&admin, &bag.variants[0]).await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(10), Some(0))
    );
    problem(
        app.call(
            Method::POST,
            &format!("{path}/cancel"),
            Some(&alice.access_token),
            None,
        )
        .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn a_guest_gets_a_confirmation_email_with_a_private_link() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let candle = app.product(&admin, "Soy Candle", &["large"], 1250, 4).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &candle.variants[0], 2).await, 200).await;
    let placed = json_of(app.checkout(&cart, "mail", "GB").await, 201).await;
    let number = placed["order"]["number"].as_i64().expect("number");
    let token = placed["order_token"].as_str().expect("guest token");
    app.drain_outbox().await;

    let mails = app.smtp.mails_to("buyer@example.com");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject(), format!("Your Emporium order #{number}"));
    let text = mail.text();
    assert!(text.contains("Hello Ada Lovelace"), "{text}");
    assert!(text.contains("2 x Soy Candle (large)"), "{text}");
    assert!(text.contains("25.00 USD"), "{text}");
    assert!(text.contains("Total: 30.00 USD"), "{text}");
    let link_token = mail.link_param("token").expect("link in the email");
    assert_eq!(link_token, token);

    let order = placed["order"]["id"].as_str().expect("id");
    let seen = json_of(
        app.get(&format!("/api/v1/orders/{order}?token={token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(seen["number"], number);
    problem(
        app.get(&format!("/api/v1/orders/{order}?token=wrong"))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn an_abandoned_cart_comes_back_through_its_emailed_link_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let soap = app.product(&admin, "Olive Soap", &["bar"], 600, 9).await;
    let cart = json_of(
        app.call(
            Method::GET,
            "/api/v1/cart",
            Some(&customer.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let cart_id = cart["id"].as_str().expect("id").to_string();
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/carts/{cart_id}/items"),
            Some(&customer.access_token),
            Some(&json!({"variant_id": soap.variants[0], "quantity": 2})),
        )
        .await,
        200,
    )
    .await;
    // Empty guest carts are not worth a reminder.
    app.guest_cart().await;

    let checkout = &app.state().checkout;
    let now = chrono::Utc::now().timestamp_millis();
    let report = checkout.sweep_carts(now).await.expect("sweep");
    assert_eq!(report.abandoned, 0, "nothing is idle yet");
    let later = now + 3 * 3_600_000;
    let report = checkout.sweep_carts(later).await.expect("sweep");
    assert_eq!(report.abandoned, 1);
    assert_eq!(
        checkout.sweep_carts(later).await.expect("sweep").abandoned,
        0,
        "one reminder per idle spell"
    );
    app.drain_outbox().await;
    let mails = app.smtp.mails_to(&customer.email);
    let reminder = mails
        .iter()
        .find(|m| m.subject().contains("cart"))
        .expect("reminder");
    let token = reminder.link_param("token").expect("recovery token");

    let restored = json_of(
        app.post_json("/api/v1/carts/recover", &json!({"token": token}))
            .await,
        200,
    )
    .await;
    assert_eq!(restored["id"], cart_id.as_str());
    assert_eq!(restored["status"], "active");
    assert_eq!(restored["lines"][0]["quantity"], 2);
    let session = GuestCart {
        id: cart_id.clone(),
        token: restored["token"].as_str().expect("new token").to_string(),
    };
    json_of(app.add_to_cart(&session, &soap.variants[0], 1).await, 200).await;
    problem(
        app.post_json("/api/v1/carts/recover", &json!({"token": token}))
            .await,
        404,
    )
    .await;

    // Guest carts idle past their TTL are purged.
    let far = now + 40 * 86_400_000;
    let report = checkout.sweep_carts(far).await.expect("sweep");
    assert!(report.purged >= 1, "{report:?}");
}

#[tokio::test]
async fn three_hundred_buyers_race_for_one_hundred_units() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let console = app
        .product(&admin, "Game Console", &["white"], 29900, 100)
        .await;
    let variant = console.variants[0].clone();
    let mut carts = Vec::new();
    for _ in 0..300 {
        let cart = app.guest_cart().await;
        json_of(app.add_to_cart(&cart, &variant, 1).await, 200).await;
        carts.push(cart);
    }
    let attempts = carts.iter().enumerate().map(|(i, cart)| {
        let app = &app;
        async move {
            app.checkout(cart, &format!("race-{i}"), "US")
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let placed = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!(
        (placed, refused),
        (100, 200),
        "only 201 and 409: {statuses:?}"
    );
    let stock = app.stock(&admin, &variant).await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(100), Some(100), Some(0))
    );
    let mut orders = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/orders?limit=100&cursor={c}"),
            None => "/api/v1/admin/orders?limit=100".to_string(),
        };
        let page = json_of(
            app.call(Method::GET, &path, Some(&admin.access_token), None)
                .await,
            200,
        )
        .await;
        orders += page["data"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(orders, 100);
}
