//! Promotions and coupons over HTTP: codes that never over-redeem under concurrent
//! checkouts (in total and per customer), redemptions given back when an unpaid order
//! expires, refusals that say why, discounts spread over lines with tax on what is left,
//! a refund of every line returning exactly what was paid, and the admin API.

use emporium_testkit::{GuestCart, Session, TestApp, TestOptions, address, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn promotion(app: &TestApp, admin: &Session, body: Value) -> Value {
    json_of(
        app.call(
            Method::POST,
            "/api/v1/admin/discounts",
            Some(&admin.access_token),
            Some(&body),
        )
        .await,
        201,
    )
    .await
}

async fn enter(app: &TestApp, cart: &GuestCart, code: &str) -> reqwest::Response {
    app.cart_call(
        cart,
        Method::POST,
        &format!("/api/v1/carts/{}/coupons", cart.id),
        Some(&json!({ "code": code })),
    )
    .await
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

async fn checkout_as(app: &TestApp, cart: &GuestCart, key: &str, email: &str) -> reqwest::Response {
    app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", key)
        .json(&json!({"email": email, "shipping_address": address("US"), "payment_provider": "manual"}))
        .send()
        .await
        .expect("sent")
}

/// `n` guest carts each holding one unit of `variant` and the code.
async fn carts_with_code(app: &TestApp, variant: &str, code: &str, n: usize) -> Vec<GuestCart> {
    let mut carts = Vec::with_capacity(n);
    for _ in 0..n {
        let cart = app.guest_cart().await;
        json_of(app.add_to_cart(&cart, variant, 1).await, 200).await;
        json_of(enter(app, &cart, code).await, 200).await;
        carts.push(cart);
    }
    carts
}

/// Checks every cart out at once; answers (placed, refused with `promotion_unavailable`).
async fn race(
    app: &TestApp,
    carts: &[GuestCart],
    tag: &str,
    email: impl Fn(usize) -> String,
) -> (usize, usize) {
    let attempts = carts.iter().enumerate().map(|(i, cart)| {
        let email = email(i);
        async move {
            let response = checkout_as(app, cart, &format!("{tag}-{i}"), &email).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body["code"].as_str().unwrap_or("").to_string())
        }
    });
    let results = futures::future::join_all(attempts).await;
    let placed = results.iter().filter(|(s, _)| *s == 201).count();
    let refused = results
        .iter()
        .filter(|(s, c)| *s == 409 && c == "promotion_unavailable")
        .count();
    assert_eq!(
        placed + refused,
        carts.len(),
        "only 201 and 409 promotion_unavailable: {results:?}"
    );
    (placed, refused)
}

#[tokio::test]
async fn single_use_and_fifty_use_codes_hold_under_five_hundred_concurrent_checkouts() {
    // 500 checkouts at once queue for 16 connections: the point here is how many orders
    // a code allows, not how long a shop lets a request wait before shedding it (503).
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|config| config.db_acquire_timeout_secs = 60),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let tee = app.product(&admin, "Tee", &["M"], 2000, 10_000).await;
    let once = promotion(
        &app,
        &admin,
        json!({"name": "Once", "class": "order", "action": {"type": "percent_off", "percent": "10"},
               "code": "ONCE", "usage_limit": 1}),
    )
    .await;
    let carts = carts_with_code(&app, &tee.variants[0], "once", 500).await;
    let (placed, refused) = race(&app, &carts, "once", |i| format!("buyer{i}@example.com")).await;
    assert_eq!((placed, refused), (1, 499));
    let detail = json_of(
        app.call(
            Method::GET,
            &format!(
                "/api/v1/admin/discounts/{}",
                once["id"].as_str().expect("present")
            ),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(detail["used"], 1);
    assert_eq!(detail["status"], "used_up");
    assert_eq!(detail["performance"][0]["orders"], 1);
    assert_eq!(detail["performance"][0]["discount"], 200);

    promotion(
        &app,
        &admin,
        json!({"name": "Fifty", "class": "order", "action": {"type": "amount_off", "amount": 300},
               "currency": "USD", "code": "FIFTY", "usage_limit": 50}),
    )
    .await;
    let carts = carts_with_code(&app, &tee.variants[0], "FIFTY", 500).await;
    let (placed, refused) = race(&app, &carts, "fifty", |i| format!("fifty{i}@example.com")).await;
    assert_eq!((placed, refused), (50, 450));
}

#[tokio::test]
async fn a_per_customer_limit_holds_for_one_customer_checking_out_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mug = app.product(&admin, "Mug", &["one"], 1200, 1_000).await;
    promotion(
        &app,
        &admin,
        json!({"name": "Welcome", "class": "order", "action": {"type": "percent_off", "percent": "15"},
               "code": "WELCOME", "per_customer_limit": 1}),
    )
    .await;
    let carts = carts_with_code(&app, &mug.variants[0], "welcome", 40).await;
    let (placed, refused) = race(&app, &carts, "welcome", |_| "same@example.com".into()).await;
    assert_eq!((placed, refused), (1, 39));
    // Another shopper still may; the one who did is told at once when entering it.
    let other = &carts_with_code(&app, &mug.variants[0], "WELCOME", 1).await[0];
    json_of(
        checkout_as(&app, other, "welcome-other", "other@example.com").await,
        201,
    )
    .await;
    let again = app.guest_cart().await;
    json_of(app.add_to_cart(&again, &mug.variants[0], 1).await, 200).await;
    json_of(
        app.cart_call(
            &again,
            Method::PUT,
            &format!("/api/v1/carts/{}/email", again.id),
            Some(&json!({"email": "same@example.com"})),
        )
        .await,
        200,
    )
    .await;
    let refused = problem(enter(&app, &again, "WELCOME").await, 422).await;
    assert_eq!(refused["code"], "coupon_refused");
    assert_eq!(refused["reason"], "customer_limit_reached");
}

#[tokio::test]
async fn an_unpaid_order_that_expires_gives_its_code_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let cap = app.product(&admin, "Cap", &["one"], 1500, 100).await;
    let p = promotion(
        &app,
        &admin,
        json!({"name": "Solo", "class": "order", "action": {"type": "amount_off", "amount": 500},
               "currency": "USD", "code": "SOLO", "usage_limit": 1}),
    )
    .await;
    let first = &carts_with_code(&app, &cap.variants[0], "SOLO", 1).await[0];
    let placed = json_of(
        checkout_as(&app, first, "solo-1", "a@example.com").await,
        201,
    )
    .await;
    assert_eq!(placed["order"]["totals"]["discount"]["amount"], 500);
    // Used up: the next shopper is told why.
    let second = app.guest_cart().await;
    json_of(app.add_to_cart(&second, &cap.variants[0], 1).await, 200).await;
    let refused = problem(enter(&app, &second, "SOLO").await, 422).await;
    assert_eq!(refused["reason"], "limit_reached");

    let later = chrono::Utc::now().timestamp_millis() + 31 * 60 * 1000;
    assert_eq!(
        app.state()
            .payments
            .expire_unpaid(later)
            .await
            .expect("sweep"),
        1
    );
    app.drain_outbox().await;
    let redemptions = json_of(
        app.call(
            Method::GET,
            &format!(
                "/api/v1/admin/discounts/{}/redemptions",
                p["id"].as_str().expect("present")
            ),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(redemptions["data"][0]["status"], "released");
    // A second delivery of the event releases nothing twice.
    let order_id = placed["order"]["id"]
        .as_str()
        .expect("present")
        .parse()
        .expect("present");
    assert_eq!(
        app.state()
            .promotions
            .release(order_id)
            .await
            .expect("release"),
        0
    );
    json_of(enter(&app, &second, "solo").await, 200).await;
    json_of(
        checkout_as(&app, &second, "solo-2", "b@example.com").await,
        201,
    )
    .await;
}

#[tokio::test]
async fn refused_codes_say_why() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let sock = app.product(&admin, "Sock", &["one"], 800, 100).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &sock.variants[0], 1).await, 200).await;
    let reason = |body: Value| body["reason"].as_str().unwrap_or("").to_string();

    assert_eq!(
        reason(problem(enter(&app, &cart, "NOPE").await, 422).await),
        "unknown"
    );
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    promotion(
        &app,
        &admin,
        json!({"name": "Old", "class": "order", "action": {"type": "percent_off", "percent": "5"},
        "code": "OLD", "starts_at": past - chrono::Duration::days(1), "ends_at": past}),
    )
    .await;
    assert_eq!(
        reason(problem(enter(&app, &cart, "old").await, 422).await),
        "expired"
    );
    promotion(
        &app,
        &admin,
        json!({"name": "Soon", "class": "order", "action": {"type": "percent_off", "percent": "5"},
        "code": "SOON", "starts_at": future}),
    )
    .await;
    assert_eq!(
        reason(problem(enter(&app, &cart, "soon").await, 422).await),
        "not_started"
    );
    let body = promotion(&app, &admin, json!({"name": "Big spender", "class": "order", "action": {"type": "percent_off", "percent": "5"},
        "currency": "USD", "code": "BIG", "conditions": {"min_subtotal": 10000}})).await;
    assert_eq!(body["automatic"], false);
    let refused = problem(enter(&app, &cart, "big").await, 422).await;
    assert_eq!(reason(refused.clone()), "min_subtotal");
    assert!(
        refused["detail"]
            .as_str()
            .expect("present")
            .contains("9200"),
        "{refused}"
    );
    promotion(&app, &admin, json!({"name": "Euro only", "class": "order", "action": {"type": "amount_off", "amount": 100},
        "currency": "EUR", "code": "EURO"})).await;
    assert_eq!(
        reason(problem(enter(&app, &cart, "euro").await, 422).await),
        "currency"
    );
    // An automatic promotion that combines with nothing, and a code that is worth less.
    promotion(
        &app,
        &admin,
        json!({"name": "Store-wide 20%", "class": "order",
        "action": {"type": "percent_off", "percent": "20"}}),
    )
    .await;
    promotion(
        &app,
        &admin,
        json!({"name": "Small", "class": "order", "action": {"type": "percent_off", "percent": "5"},
        "code": "SMALL"}),
    )
    .await;
    let refused = problem(enter(&app, &cart, "small").await, 422).await;
    assert_eq!(reason(refused.clone()), "not_combinable");
    assert!(
        refused["detail"]
            .as_str()
            .expect("present")
            .contains("Store-wide 20%")
    );
    let view = cart_of(&app, &cart).await;
    assert_eq!(view["totals"]["discount"]["amount"], 160);
    assert_eq!(view["adjustments"][0]["label"], "Store-wide 20%");
    assert!(view["coupons"].as_array().expect("present").is_empty());
    // Removing a code the cart does not hold: 404.
    problem(
        app.cart_call(
            &cart,
            Method::DELETE,
            &format!("/api/v1/carts/{}/coupons/SMALL", cart.id),
            None,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn discounts_spread_over_lines_tax_what_is_left_and_refund_exactly() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&json!({"country": "US", "region": "CA", "rate": "7.25", "name": "CA"})),
        )
        .await,
        200,
    )
    .await;
    let shirt = app.product(&admin, "Shirt", &["M"], 1999, 50).await;
    let pin = app.product(&admin, "Pin", &["one"], 500, 50).await;
    promotion(&app, &admin, json!({"name": "Ten off", "class": "order",
        "action": {"type": "percent_off", "percent": "10"}, "code": "TEN", "combines_with": ["shipping"]})).await;
    promotion(
        &app,
        &admin,
        json!({"name": "Free shipping", "class": "shipping",
        "action": {"type": "free_shipping"}, "combines_with": ["order", "product"]}),
    )
    .await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &shirt.variants[0], 2).await, 200).await;
    json_of(app.add_to_cart(&cart, &pin.variants[0], 1).await, 200).await;
    json_of(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-address", cart.id),
            Some(&address("US")),
        )
        .await,
        200,
    )
    .await;
    let view = json_of(enter(&app, &cart, "ten").await, 200).await;
    // 44.98 subtotal; 10% = 4.498 -> 4.50, split 4.00 (shirts) / 0.50 (pin) by the
    // largest remainder; free shipping; tax 7.25% on 35.98 = 2.608 -> 2.61 and on
    // 4.50 = 0.326 -> 0.33.
    let totals = &view["totals"];
    assert_eq!(totals["subtotal"]["amount"], 4498);
    assert_eq!(totals["discount"]["amount"], 450);
    assert_eq!(totals["shipping"]["amount"], 0);
    assert_eq!(totals["tax"]["amount"], 294);
    assert_eq!(totals["total"]["amount"], 4498 - 450 + 294);
    assert_eq!(view["coupons"][0]["applied"], true);
    let discounts: Vec<i64> = view["lines"]
        .as_array()
        .expect("present")
        .iter()
        .map(|l| l["discount"]["amount"].as_i64().expect("present"))
        .collect();
    assert_eq!(discounts, vec![400, 50]);
    let shipping = view["adjustments"]
        .as_array()
        .expect("present")
        .iter()
        .find(|a| a["class"] == "shipping")
        .expect("free shipping shown");
    assert_eq!(shipping["amount"]["amount"], 500);

    let placed = json_of(
        checkout_as(&app, &cart, "spread", "spread@example.com").await,
        201,
    )
    .await;
    let total = placed["order"]["totals"]["total"]["amount"]
        .as_i64()
        .expect("present");
    assert_eq!(total, 4342);
    let paid = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/payments/{}/pay",
                placed["payment"]["id"].as_str().expect("present")
            ),
        )
        .form(&[
            (
                "access",
                placed["payment"]["access"].as_str().expect("present"),
            ),
            ("card_number", "4242424242424242"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(paid.status(), 200);
    // Refunding every line, one unit at a time, returns exactly what was paid.
    let mut refunded = 0;
    let lines = placed["order"]["lines"]
        .as_array()
        .expect("present")
        .clone();
    for line in &lines {
        for unit in 0..line["quantity"].as_i64().expect("present") {
            let refund = json_of(
                app.request(
                    Method::POST,
                    &format!("/api/v1/admin/orders/{}/refunds", placed["order"]["id"].as_str().expect("present")),
                )
                .bearer_auth(&admin.access_token)
                .header("idempotency-key", format!("r-{}-{unit}", line["id"].as_str().expect("present")))
                .json(&json!({"lines": [{"line_id": line["id"], "quantity": 1}], "include_shipping": true}))
                .send()
                .await
                .expect("sent"),
                201,
            )
            .await;
            refunded += refund["amount"]["amount"].as_i64().expect("present");
        }
    }
    assert_eq!(refunded, total);
}

#[tokio::test]
async fn staff_manage_promotions_codes_and_see_redemptions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let clerk = app.staff(&["orders.read"]).await;
    let body = json!({"name": "Black Friday", "class": "product",
        "action": {"type": "buy_x_get_y", "buy": 2, "get": 1}, "automatic": false});
    problem(
        app.call(
            Method::POST,
            "/api/v1/admin/discounts",
            Some(&clerk.access_token),
            Some(&body),
        )
        .await,
        403,
    )
    .await;
    // Every problem at once.
    let bad = problem(
        app.call(
            Method::POST,
            "/api/v1/admin/discounts",
            Some(&admin.access_token),
            Some(&json!({"name": "", "class": "shipping", "action": {"type": "amount_off", "amount": -5},
                "combines_with": ["everything"], "usage_limit": 0})),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| e["field"].as_str().expect("present"))
        .collect();
    for field in [
        "name",
        "action.type",
        "action.amount",
        "currency",
        "combines_with[0]",
        "usage_limit",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let created = promotion(&app, &admin, body).await;
    let id = created["id"].as_str().expect("present").to_string();
    assert_eq!(created["action"]["percent"], "100");
    let added = json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/discounts/{id}/codes"),
            Some(&admin.access_token),
            Some(&json!({"count": 1200, "prefix": "bf-", "usage_limit": 1})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(added["added"], 1200);
    let csv = app
        .request(
            Method::GET,
            &format!("/api/v1/admin/discounts/{id}/codes.csv"),
        )
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "code,usage_limit,used");
    assert_eq!(rows.len(), 1201);
    let unique: std::collections::HashSet<&str> = rows.iter().copied().collect();
    assert_eq!(unique.len(), 1201, "every code is unique");
    assert!(rows[1].starts_with("BF-"));
    let code = rows[1].split(',').next().expect("present").to_string();

    // Three tees: the cheapest of each three is free, whatever order the lines are in.
    let tee = app.product(&admin, "Tee", &["S", "M"], 1000, 50).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &tee.variants[1], 2).await, 200).await;
    json_of(app.add_to_cart(&cart, &tee.variants[0], 1).await, 200).await;
    let view = json_of(enter(&app, &cart, &code.to_lowercase()).await, 200).await;
    assert_eq!(view["totals"]["discount"]["amount"], 1000);
    json_of(checkout_as(&app, &cart, "bf", "bf@example.com").await, 201).await;
    // The code was single-use.
    let again = app.guest_cart().await;
    json_of(app.add_to_cart(&again, &tee.variants[0], 3).await, 200).await;
    assert_eq!(
        problem(enter(&app, &again, &code).await, 422).await["reason"],
        "limit_reached"
    );

    let redemptions = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/discounts/{id}/redemptions"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(redemptions["data"][0]["code"], code.as_str());
    assert_eq!(redemptions["data"][0]["amount"], 1000);
    // A used promotion can be switched off, not deleted.
    let patched = json_of(
        app.call(
            Method::PATCH,
            &format!("/api/v1/admin/discounts/{id}"),
            Some(&admin.access_token),
            Some(&json!({"enabled": false, "priority": 5})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            patched["enabled"].clone(),
            patched["status"].clone(),
            patched["priority"].clone()
        ),
        (json!(false), json!("disabled"), json!(5))
    );
    problem(
        app.call(
            Method::PATCH,
            &format!("/api/v1/admin/discounts/{id}"),
            Some(&admin.access_token),
            Some(&json!({"class": "order"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        problem(
            app.call(
                Method::DELETE,
                &format!("/api/v1/admin/discounts/{id}"),
                Some(&admin.access_token),
                None
            )
            .await,
            409,
        )
        .await["code"],
        "promotion_in_use"
    );
    let unused = promotion(&app, &admin, json!({"name": "Spare", "class": "order", "action": {"type": "percent_off", "percent": "1"}})).await;
    let list = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/discounts?limit=1",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["data"].as_array().expect("present").len(), 1);
    assert!(list["next_cursor"].is_string());
    let response = app
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/admin/discounts/{}",
                unused["id"].as_str().expect("present")
            ),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn staff_make_a_promotion_with_codes_in_the_console_and_a_shopper_uses_one() {
    use crate::admin::{screenshot, sign_in};
    use emporium_testkit::browser::{Browser, click, fill, press, text_of};
    use fantoccini::Locator;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let scarf = app.product(&admin, "Scarf", &["one"], 4000, 20).await;

    Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/discounts").await;
        assert_eq!(text_of(&b, "h1").await, "Discounts");
        fill(&b, "#name", "Winter 15").await;
        b.find(Locator::Css("#kind"))
            .await
            .expect("kind")
            .select_by_value("order:percent_off")
            .await
            .expect("chosen");
        fill(&b, "#percent", "15").await;
        b.find(Locator::Css("#currency"))
            .await
            .expect("currency")
            .select_by_value("USD")
            .await
            .expect("chosen");
        fill(&b, "#min_subtotal", "30.00").await;
        fill(&b, "#code", "winter15").await;
        fill(&b, "#usage_limit", "100").await;
        click(&b, "#create").await;
        assert_eq!(text_of(&b, "h1").await, "Winter 15");
        let summary = text_of(&b, "#summary").await;
        assert!(
            summary.contains("15% off over 30.00 USD") && summary.contains("active"),
            "{summary}"
        );

        fill(&b, "#count", "25").await;
        fill(&b, "#prefix", "WIN-").await;
        fill(&b, "#code_usage_limit", "1").await;
        click(&b, "#add-codes-button").await;
        assert!(text_of(&b, "#done").await.contains("25 code(s) added"));
        assert!(text_of(&b, "#codes").await.contains("WIN-"));

        // A shopper uses the first code, and the page shows the order.
        let cart = app.guest_cart().await;
        json_of(app.add_to_cart(&cart, &scarf.variants[0], 1).await, 200).await;
        let view = json_of(enter(&app, &cart, "WINTER15").await, 200).await;
        assert_eq!(view["totals"]["discount"]["amount"], 600);
        json_of(
            checkout_as(&app, &cart, "winter", "w@example.com").await,
            201,
        )
        .await;
        b.refresh().await.expect("reload");
        let performance = text_of(&b, "#performance").await;
        assert!(
            performance.contains("6.00 USD") && performance.contains("39.00 USD"),
            "{performance}"
        );
        screenshot(&b, "console-discount.png").await;

        // Switched off, it no longer applies.
        press(&b, "#enabled").await;
        click(&b, "#save").await;
        assert!(text_of(&b, "#done").await.contains("disabled"));
        let again = app.guest_cart().await;
        json_of(app.add_to_cart(&again, &scarf.variants[0], 1).await, 200).await;
        assert_eq!(
            problem(enter(&app, &again, "WINTER15").await, 422).await["reason"],
            "unknown"
        );
        b.goto(&app.url("/admin/discounts")).await.expect("list");
        let list = text_of(&b, "#promotions").await;
        assert!(
            list.contains("Winter 15") && list.contains("disabled"),
            "{list}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_shopper_enters_a_code_in_the_storefront_cart_and_pays_the_discounted_total() {
    use emporium_testkit::browser::{Browser, click, fill, text_of};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk Lamp", &["one"], 6000, 10).await;
    promotion(
        &app,
        &admin,
        json!({"name": "Spring 20", "class": "order",
        "action": {"type": "percent_off", "percent": "20"}, "code": "SPRING20"}),
    )
    .await;
    promotion(
        &app,
        &admin,
        json!({"name": "Later", "class": "order",
        "action": {"type": "percent_off", "percent": "5"}, "code": "LATER",
        "starts_at": chrono::Utc::now() + chrono::Duration::days(3)}),
    )
    .await;
    let page = app.url(&format!("/products/{}", lamp.slug));
    Browser::run(|b| async move {
        b.goto(&page).await.expect("product");
        click(&b, "#add-to-cart").await;
        assert_eq!(text_of(&b, "#cart-subtotal").await, "60.00 USD");
        fill(&b, "#coupon-code", "later").await;
        click(&b, "#coupon-form button").await;
        assert_eq!(
            text_of(&b, "#coupon-error").await,
            "this code is not valid yet"
        );
        fill(&b, "#coupon-code", "spring20").await;
        click(&b, "#coupon-form button").await;
        assert_eq!(text_of(&b, "#cart-discount").await, "-12.00 USD");
        assert!(text_of(&b, "tfoot").await.contains("Spring 20"));
        super::admin::screenshot(&b, "store-cart-coupon.png").await;
        click(&b, "#to-checkout").await;
        fill(&b, "#email", "lamp@example.com").await;
        fill(&b, "#name", "Lena Lamp").await;
        fill(&b, "#line1", "1 Market St").await;
        fill(&b, "#postal_code", "94105").await;
        fill(&b, "#city", "San Francisco").await;
        fill(&b, "#region", "CA").await;
        click(&b, "#to-delivery").await;
        assert_eq!(text_of(&b, "#checkout-discount").await, "-12.00 USD");
        assert_eq!(text_of(&b, "#checkout-total").await, "53.00 USD");
        click(&b, "#place-order").await;
        fill(&b, "#card_number", "4242 4242 4242 4242").await;
        click(&b, "button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "Paid");
    })
    .await;
}

#[tokio::test]
async fn a_budget_caps_the_discount_given_and_then_stops_the_promotion() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let book = app.product(&admin, "Book", &["one"], 2000, 100).await;
    let p = promotion(
        &app,
        &admin,
        json!({"name": "Launch", "class": "order",
        "action": {"type": "amount_off", "amount": 300}, "currency": "USD", "budget": 500}),
    )
    .await;
    let mut discounts = Vec::new();
    for i in 0..3 {
        let cart = app.guest_cart().await;
        json_of(app.add_to_cart(&cart, &book.variants[0], 1).await, 200).await;
        let placed = json_of(
            checkout_as(
                &app,
                &cart,
                &format!("budget-{i}"),
                &format!("b{i}@example.com"),
            )
            .await,
            201,
        )
        .await;
        discounts.push(
            placed["order"]["totals"]["discount"]["amount"]
                .as_i64()
                .expect("discount"),
        );
    }
    // 3.00, then the 2.00 left of the budget, then nothing.
    assert_eq!(discounts, vec![300, 200, 0]);
    let detail = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/discounts/{}", p["id"].as_str().expect("id")),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (detail["discount_given"].clone(), detail["status"].clone()),
        (json!(500), json!("used_up"))
    );
}
