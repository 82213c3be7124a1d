//! The correctness sweep: money and trust defects found by trying the shop as a new user
//! would. Each test failed before its fix.

use emporium_testkit::{Session, TestApp, fields, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn cart_read(app: &TestApp, cart_id: &str, token: &str) -> reqwest::RequestBuilder {
    app.request(Method::GET, &format!("/api/v1/carts/{cart_id}"))
        .header("x-cart-token", token)
}

#[tokio::test]
async fn an_adopted_guest_cart_no_longer_answers_its_guest_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Linen Shirt", &["M"], 3900, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;

    // The shopper signs in with the guest cart's token: the cart becomes theirs.
    let customer = app.customer().await;
    let mine = json_of(
        app.request(Method::GET, "/api/v1/cart")
            .bearer_auth(&customer.access_token)
            .header("x-cart-token", &cart.token)
            .send()
            .await
            .expect("sent"),
        200,
    )
    .await;
    assert_eq!(mine["id"], cart.id.as_str());
    assert_eq!(mine["lines"].as_array().map(Vec::len), Some(1));

    // The old token now opens nothing, for an anonymous caller or another customer.
    let anonymous = cart_read(&app, &cart.id, &cart.token)
        .send()
        .await
        .expect("sent");
    problem(anonymous, 404).await;
    let other = app.customer().await;
    let as_other = cart_read(&app, &cart.id, &cart.token)
        .bearer_auth(&other.access_token)
        .send()
        .await
        .expect("sent");
    problem(as_other, 404).await;
    let add = app.add_to_cart(&cart, &product.variants[0], 1).await;
    problem(add, 404).await;
    // The owner still reads it by their own sign-in.
    let owner = app
        .request(Method::GET, &format!("/api/v1/carts/{}", cart.id))
        .bearer_auth(&customer.access_token)
        .send()
        .await
        .expect("sent");
    json_of(owner, 200).await;
}

#[tokio::test]
async fn suspension_ends_a_customers_access_on_store_routes_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let me = app
        .call(
            Method::GET,
            "/api/v1/me",
            Some(&customer.access_token),
            None,
        )
        .await;
    json_of(me, 200).await;
    let suspend = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{}/suspend", customer.user_id),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(suspend.status(), 200);
    for path in [
        "/api/v1/me",
        "/api/v1/cart",
        "/api/v1/orders",
        "/api/v1/me/addresses",
    ] {
        let response = app
            .call(Method::GET, path, Some(&customer.access_token), None)
            .await;
        let body = problem(response, 401).await;
        assert_eq!(body["code"], "stale_token", "{path}");
    }
    let open = app
        .request(Method::POST, "/api/v1/carts")
        .bearer_auth(&customer.access_token)
        .send()
        .await
        .expect("sent");
    problem(open, 401).await;
}

#[tokio::test]
async fn admin_create_never_takes_over_an_existing_account_unasked() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let accounts = &app.state().accounts;
    let refused = accounts
        .create_admin(&customer.email, "a brand new admin password", false)
        .await
        .expect_err("an existing customer is not silently replaced");
    assert_eq!(refused.code(), "user_exists");
    // The customer's password and role are as they were.
    let again = app.login(&customer.email, &customer.password).await;
    let me = json_of(
        app.call(Method::GET, "/api/v1/me", Some(&again.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(me["role"], "customer");

    // Asked to promote, it does, and says so.
    let promoted = accounts
        .create_admin(&customer.email, "a brand new admin password", true)
        .await
        .expect("promoted");
    assert!(matches!(
        promoted,
        emporium_accounts::AdminCreated::Promoted(_)
    ));
    let old = app
        .call(Method::GET, "/api/v1/me", Some(&again.access_token), None)
        .await;
    problem(old, 401).await;
    let admin = app
        .login(&customer.email, "a brand new admin password")
        .await;
    let users = app
        .call(
            Method::GET,
            "/api/v1/admin/users",
            Some(&admin.access_token),
            None,
        )
        .await;
    json_of(users, 200).await;
}

async fn paid_order_with_tax(app: &TestApp, admin: &Session) -> Value {
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&json!({"country": "US", "region": "CA", "rate": "7.25", "name": "California"})),
        )
        .await,
        200,
    )
    .await;
    let product = app.product(admin, "Canvas Tote", &["one"], 2700, 10).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 2).await, 200).await;
    let placed = json_of(app.checkout(&cart, "taxed-order", "US").await, 201).await;
    // 27.00 at 7.25% is 1.9575, so 1.96 a unit: 3.92 on the line of two.
    assert_eq!(placed["order"]["lines"][0]["tax"]["amount"], 392);
    pay_with_test_card(app, &placed["payment"]).await;
    placed["order"].clone()
}

/// Pays a placed order's manual payment with the test card that succeeds.
async fn pay_with_test_card(app: &TestApp, payment: &Value) {
    let paid = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/payments/{}/pay",
                payment["id"].as_str().expect("id")
            ),
        )
        .form(&[
            ("access", payment["access"].as_str().expect("access")),
            ("card_number", "4242424242424242"),
        ])
        .send()
        .await
        .expect("sent");
    assert!(paid.status().is_success(), "{}", paid.status());
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

/// A refund's answer with the expected status: the refund, or the problem.
async fn refund_answer(
    app: &TestApp,
    admin: &Session,
    order: &str,
    key: &str,
    body: Value,
    status: u16,
) -> Value {
    let response = refund(app, admin, order, key, body).await;
    if status >= 400 {
        problem(response, status).await
    } else {
        json_of(response, status).await
    }
}

#[tokio::test]
async fn a_line_refund_returns_what_the_shopper_paid_tax_included() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let order = paid_order_with_tax(&app, &admin).await;
    let order_id = order["id"].as_str().expect("order id");
    let line = order["lines"][0]["id"].as_str().expect("line id");

    // Both an amount and lines: refused, and no line is used up.
    let both = refund_answer(
        &app,
        &admin,
        order_id,
        "both",
        json!({"amount": 100, "lines": [{"line_id": line, "quantity": 1}]}),
        422,
    )
    .await;
    assert_eq!(both["errors"][0]["field"], "amount");

    let one = refund_answer(
        &app,
        &admin,
        order_id,
        "one-unit",
        json!({"lines": [{"line_id": line, "quantity": 1}]}),
        201,
    )
    .await;
    assert_eq!(
        one["amount"]["amount"],
        2700 + 196,
        "the unit's price and its tax"
    );
    let two = refund_answer(
        &app,
        &admin,
        order_id,
        "other-unit",
        json!({"lines": [{"line_id": line, "quantity": 1}]}),
        201,
    )
    .await;
    assert_eq!(two["amount"]["amount"], 2700 + 196);
}

#[tokio::test]
async fn a_line_refund_takes_its_share_of_shipping_only_when_asked_and_shares_add_up() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let order = paid_order_with_tax(&app, &admin).await;
    let order_id = order["id"].as_str().expect("order id");
    let line = order["lines"][0]["id"].as_str().expect("line id");
    let shipping = order["totals"]["shipping"]["amount"]
        .as_i64()
        .expect("shipping");
    let total = order["totals"]["total"]["amount"].as_i64().expect("total");
    assert!(shipping > 0, "the order was charged shipping");

    let alone = refund_answer(
        &app,
        &admin,
        order_id,
        "ship-alone",
        json!({"include_shipping": true}),
        422,
    )
    .await;
    assert_eq!(fields(&alone), ["include_shipping"]);
    // The same line named twice may not refund more units than it has.
    let twice = refund_answer(
        &app,
        &admin,
        order_id,
        "twice",
        json!({"lines": [{"line_id": line, "quantity": 2}, {"line_id": line, "quantity": 1}]}),
        422,
    )
    .await;
    assert_eq!(fields(&twice), ["lines[1].quantity"]);

    let first = refund_answer(
        &app,
        &admin,
        order_id,
        "with-shipping-1",
        json!({"lines": [{"line_id": line, "quantity": 1}], "include_shipping": true}),
        201,
    )
    .await;
    let half = (shipping + 1) / 2;
    assert_eq!(
        first["amount"]["amount"],
        2700 + 196 + half,
        "one of two units: half the shipping"
    );
    let second = refund_answer(
        &app,
        &admin,
        order_id,
        "with-shipping-2",
        json!({"lines": [{"line_id": line, "quantity": 1}], "include_shipping": true}),
        201,
    )
    .await;
    assert_eq!(
        first["amount"]["amount"].as_i64().unwrap_or(0)
            + second["amount"]["amount"].as_i64().unwrap_or(0),
        total,
        "every unit with its shipping: the whole order, to the cent"
    );
}

#[tokio::test]
async fn catalog_input_that_makes_no_sense_is_refused_by_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let create = |body: Value| {
        let app = &app;
        let token = admin.access_token.clone();
        async move {
            app.call(
                Method::POST,
                "/api/v1/admin/products",
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    let bad = problem(
        create(json!({
            "translations": {"en": {"title": "Wool\u{0}Coat", "description": ""}},
            "options": [{"name": "size", "values": ["M"]}],
            "variants": [{"sku": "COAT-M", "options": {"size": "M"}, "weight_grams": -5,
                          "prices": {"USD": {"amount": 2000, "compare_at": 1500}}}],
        }))
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&bad),
        ["translations.en.title"],
        "NUL is refused first"
    );
    let bad = problem(
        create(json!({
            "translations": {"en": {"title": "Wool Coat", "description": ""}},
            "options": [{"name": "size", "values": ["M"]}],
            "variants": [{"sku": "COAT-M", "options": {"size": "M"}, "weight_grams": -5,
                          "prices": {"USD": {"amount": 2000, "compare_at": 1500}}}],
        }))
        .await,
        422,
    )
    .await;
    let mut got = fields(&bad);
    got.sort();
    assert_eq!(
        got,
        [
            "variants[0].prices.USD.compare_at",
            "variants[0].weight_grams"
        ]
    );

    // Nothing to sell: it can be drafted, never published.
    let empty = json_of(
        create(json!({"translations": {"en": {"title": "Gift Box", "description": ""}}})).await,
        201,
    )
    .await;
    let publish = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/admin/products/{}/publish",
                empty["id"].as_str().expect("id")
            ),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(fields(&problem(publish, 422).await), ["variants"]);
    let published_empty = problem(
        create(json!({"status": "published", "translations": {"en": {"title": "Gift Box", "description": ""}}})).await,
        422,
    )
    .await;
    assert_eq!(fields(&published_empty), ["variants"]);

    // The same title twice without a slug: the second gets a suffix, not a conflict.
    let first = json_of(
        create(json!({"translations": {"en": {"title": "Plain Mug", "description": ""}}})).await,
        201,
    )
    .await;
    let second = json_of(
        create(json!({"translations": {"en": {"title": "Plain Mug", "description": ""}}})).await,
        201,
    )
    .await;
    assert_eq!(first["slug"], "plain-mug");
    assert_eq!(second["slug"], "plain-mug-2");
    // A slug the caller chose is still theirs to change.
    let taken = problem(
        create(json!({"slug": "plain-mug", "translations": {"en": {"title": "Other", "description": ""}}})).await,
        409,
    )
    .await;
    assert_eq!(taken["code"], "slug_taken");
}

/// A guest's order for two units at 25.00 USD, paid on the test page.
async fn paid_guest_order(app: &TestApp, admin: &Session) -> (Value, String, String) {
    let product = app.product(admin, "Wool Scarf", &["one"], 2500, 10).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 2).await, 200).await;
    let placed = json_of(app.checkout(&cart, "paid-guest", "US").await, 201).await;
    pay_with_test_card(app, &placed["payment"]).await;
    let token = placed["order_token"].as_str().expect("token").to_string();
    (placed["order"].clone(), token, product.variants[0].clone())
}

async fn cancel_as_guest(app: &TestApp, order: &Value, token: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!(
            "/api/v1/orders/{}/cancel?token={token}",
            order["id"].as_str().expect("id")
        ),
    )
    .json(&json!({"reason": "ordered the wrong size"}))
    .send()
    .await
    .expect("sent")
}

#[tokio::test]
async fn a_customers_cancel_of_a_paid_order_refunds_it_in_full_and_tells_everyone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (order, token, variant) = paid_guest_order(&app, &admin).await;
    let order_id = order["id"].as_str().expect("id");
    app.drain_outbox().await;
    let before = app.smtp.mails().len();

    let cancelled = json_of(cancel_as_guest(&app, &order, &token).await, 200).await;
    assert_eq!(cancelled["status"], "cancelled");
    // The money went back through the refund flow, once.
    let payments = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/orders/{order_id}/payments"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let refunds = payments["refunds"].as_array().expect("refunds");
    assert_eq!(refunds.len(), 1, "{payments}");
    assert_eq!(refunds[0]["amount"]["amount"], 5500);
    assert_eq!(refunds[0]["status"], "succeeded");
    // The stock is back, and a second cancel changes nothing.
    let stock = app.stock(&admin, &variant).await;
    assert_eq!(stock["on_hand"], 10, "{stock}");
    problem(cancel_as_guest(&app, &order, &token).await, 409).await;

    app.drain_outbox().await;
    let mails = app.smtp.mails();
    let new: Vec<_> = mails[before..].iter().collect();
    let to_shopper: Vec<String> = new
        .iter()
        .filter(|m| m.to.iter().any(|t| t == "buyer@example.com"))
        .map(|m| m.subject())
        .collect();
    let number = order["number"].as_i64().expect("number");
    assert!(
        to_shopper.contains(&format!("Your Emporium order #{number} is cancelled")),
        "{to_shopper:?}"
    );
    assert!(
        to_shopper.contains(&format!("A refund for your Emporium order #{number}")),
        "{to_shopper:?}"
    );
    let to_staff: Vec<String> = new
        .iter()
        .filter(|m| m.to.iter().any(|t| t == "shop@localhost"))
        .map(|m| m.subject())
        .collect();
    assert_eq!(
        to_staff,
        [format!("Order #{number} was cancelled by the customer")]
    );
}

#[tokio::test]
async fn a_store_can_have_staff_decide_on_cancelling_paid_orders() {
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(|config| {
            config.store.paid_cancellation = emporium_core::config::PaidCancellation::Request;
            config.store.staff_email = Some("orders@example.com".into());
            config.store.name = Some("Ada's Attic".into());
        }),
        ..emporium_testkit::TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let (order, token, _) = paid_guest_order(&app, &admin).await;
    let requested = json_of(cancel_as_guest(&app, &order, &token).await, 202).await;
    assert_eq!(
        requested["status"], "paid",
        "nothing changes until staff decide"
    );
    let last = requested["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("history");
    assert_eq!(
        last["reason"],
        "cancellation requested: ordered the wrong size"
    );
    app.drain_outbox().await;
    let number = order["number"].as_i64().expect("number");
    let staff = app.smtp.mails_to("orders@example.com");
    assert_eq!(staff.len(), 1);
    assert_eq!(
        staff[0].subject(),
        format!("Order #{number}: the customer asks to cancel")
    );
    assert!(staff[0].text().contains("ordered the wrong size"));
    let shopper: Vec<String> = app
        .smtp
        .mails_to("buyer@example.com")
        .iter()
        .map(|m| m.subject())
        .collect();
    assert!(
        shopper.contains(&format!(
            "We received your request to cancel order #{number}"
        )),
        "{shopper:?}"
    );
    // The store's name, not ours, in every email.
    assert!(
        shopper.contains(&format!("Your Ada's Attic order #{number}")),
        "{shopper:?}"
    );
}

#[tokio::test]
async fn an_order_that_expires_unpaid_tells_the_shopper() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Tea Tin", &["one"], 900, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "never-paid", "US").await, 201).await;
    let later = chrono::Utc::now().timestamp_millis() + 31 * 60 * 1000;
    let expired = app
        .state()
        .payments
        .expire_unpaid(later)
        .await
        .expect("sweep");
    assert_eq!(expired, 1);
    app.drain_outbox().await;
    let number = placed["order"]["number"].as_i64().expect("number");
    let mail = app
        .smtp
        .mails_to("buyer@example.com")
        .into_iter()
        .find(|m| m.subject() == format!("Your Emporium order #{number} is cancelled"))
        .expect("a cancellation email");
    assert!(
        mail.text().contains("payment did not arrive in time"),
        "{}",
        mail.text()
    );
}

#[tokio::test]
async fn order_emails_are_written_in_the_orders_language() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Teekanne", &["one"], 3000, 5).await;
    let created = json_of(
        app.request(Method::POST, "/api/v1/carts?lang=de")
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    let cart = emporium_testkit::GuestCart {
        id: created["id"].as_str().expect("id").to_string(),
        token: created["token"].as_str().expect("token").to_string(),
    };
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "german", "DE").await, 201).await;
    app.drain_outbox().await;
    let number = placed["order"]["number"].as_i64().expect("number");
    let mails = app.smtp.mails_to("buyer@example.com");
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject(),
        format!("Ihre Bestellung #{number} bei Emporium")
    );
    assert!(mails[0].text().contains("Hallo Ada Lovelace"));
}

#[tokio::test]
async fn unknown_fields_are_refused_by_name_and_the_email_changes_only_when_confirmed() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let token = Some(customer.access_token.as_str());
    let patched = problem(
        app.call(
            Method::PATCH,
            "/api/v1/me",
            token,
            Some(&json!({"name": "Ada", "email": "new@example.com"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&patched), ["email"]);
    let product = problem(
        app.call(
            Method::POST,
            "/api/v1/admin/products",
            Some(&app.admin().await.access_token),
            Some(&json!({"titel": "typo", "translations": {"en": {"title": "T", "description": ""}}})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&product), ["titel"]);

    // The current password is required, then a link goes to the new address.
    let wrong = problem(
        app.call(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({"email": "ada.new@example.com", "password": "not it"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), ["password"]);
    let asked = app
        .call(
            Method::POST,
            "/api/v1/me/email",
            token,
            Some(&json!({"email": "ada.new@example.com", "password": customer.password})),
        )
        .await;
    assert_eq!(asked.status(), 202);
    app.drain_outbox().await;
    let me = json_of(app.call(Method::GET, "/api/v1/me", token, None).await, 200).await;
    assert_eq!(
        me["email"],
        customer.email.as_str(),
        "unchanged until confirmed"
    );
    let link = app.smtp.mails_to("ada.new@example.com");
    assert_eq!(link.len(), 1);
    let code = link[0].link_param("token").expect("link");
    let confirmed = json_of(
        app.post_json("/api/v1/auth/confirm-email", &json!({"token": code}))
            .await,
        200,
    )
    .await;
    assert_eq!(confirmed["email"], "ada.new@example.com");
    app.drain_outbox().await;
    assert_eq!(
        app.smtp
            .mails_to(&customer.email)
            .last()
            .map(|m| m.subject()),
        Some("Your Emporium account now uses another email address".to_string())
    );
    // Used once.
    problem(
        app.post_json("/api/v1/auth/confirm-email", &json!({"token": code}))
            .await,
        400,
    )
    .await;
    app.login("ada.new@example.com", &customer.password).await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let other_device = app.login(&customer.email, &customer.password).await;
    let wrong = problem(
        app.call(
            Method::POST,
            "/api/v1/me/password",
            Some(&customer.access_token),
            Some(&json!({"current_password": "guess", "new_password": "a much better passphrase"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), ["current_password"]);
    let fresh = json_of(
        app.call(
            Method::POST,
            "/api/v1/me/password",
            Some(&customer.access_token),
            Some(&json!({"current_password": customer.password, "new_password": "a much better passphrase"})),
        )
        .await,
        200,
    )
    .await;
    let new_token = fresh["access_token"].as_str().expect("token");
    json_of(
        app.call(Method::GET, "/api/v1/me", Some(new_token), None)
            .await,
        200,
    )
    .await;
    // The old access token and the other device's refresh token are done.
    problem(
        app.call(
            Method::GET,
            "/api/v1/me",
            Some(&other_device.access_token),
            None,
        )
        .await,
        401,
    )
    .await;
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other_device.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), 401);
    app.login(&customer.email, "a much better passphrase").await;
}

async fn open_cart(
    app: &TestApp,
    query: &str,
    bearer: Option<&str>,
    guest: Option<&str>,
) -> reqwest::Response {
    let mut request = app.request(Method::POST, &format!("/api/v1/carts{query}"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(token) = guest {
        request = request.header("x-cart-token", token);
    }
    request.send().await.expect("sent")
}

/// A signed-in customer's cart holding `quantity` of `variant`; answers the cart id.
async fn customer_cart_with(
    app: &TestApp,
    customer: &Session,
    variant: &str,
    quantity: i64,
) -> String {
    let cart = json_of(
        open_cart(app, "", Some(&customer.access_token), None).await,
        201,
    )
    .await;
    let cart_id = cart["id"].as_str().expect("id").to_string();
    json_of(
        app.request(Method::POST, &format!("/api/v1/carts/{cart_id}/items"))
            .bearer_auth(&customer.access_token)
            .json(&json!({"variant_id": variant, "quantity": quantity}))
            .send()
            .await
            .expect("sent"),
        200,
    )
    .await;
    cart_id
}

#[tokio::test]
async fn every_amount_in_a_cart_converts_at_the_stored_rate_or_the_currency_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Linen Apron", &["one"], 2000, 3).await;
    // No EUR rate: a EUR cart would charge shipping 1:1, so it is refused.
    let refused = problem(open_cart(&app, "?currency=EUR", None, None).await, 422).await;
    assert_eq!(fields(&refused), ["currency"]);
    for (currency, rate) in [("EUR", "0.9"), ("GBP", "0.8")] {
        let set = app
            .call(
                Method::PUT,
                &format!("/api/v1/admin/exchange-rates/{currency}"),
                Some(&admin.access_token),
                Some(&json!({"rate": rate})),
            )
            .await;
        assert_eq!(set.status(), 200);
    }
    let created = json_of(open_cart(&app, "?currency=EUR", None, None).await, 201).await;
    let cart = emporium_testkit::GuestCart {
        id: created["id"].as_str().expect("id").to_string(),
        token: created["token"].as_str().expect("token").to_string(),
    };
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let view = json_of(
        app.set_shipping_address(&cart, &emporium_testkit::address("US"))
            .await,
        200,
    )
    .await;
    let totals = &view["totals"];
    assert_eq!(
        totals["subtotal"],
        json!({"amount": 1800, "currency": "EUR"})
    );
    assert_eq!(
        totals["shipping"],
        json!({"amount": 450, "currency": "EUR"}),
        "the 5.00 USD flat rate at 0.9, not 500 EUR"
    );

    // A signed-in shopper who asks for another currency gets their cart in it.
    let customer = app.customer().await;
    let usd = json_of(
        open_cart(&app, "", Some(&customer.access_token), None).await,
        201,
    )
    .await;
    assert_eq!(usd["currency"], "USD");
    let eur = json_of(
        open_cart(&app, "?currency=EUR", Some(&customer.access_token), None).await,
        201,
    )
    .await;
    assert_eq!(eur["id"], usd["id"]);
    assert_eq!(eur["currency"], "EUR");
    let mine = emporium_testkit::GuestCart {
        id: eur["id"].as_str().expect("id").to_string(),
        token: String::new(),
    };
    let added = app
        .request(Method::POST, &format!("/api/v1/carts/{}/items", mine.id))
        .bearer_auth(&customer.access_token)
        .json(&json!({"variant_id": product.variants[0], "quantity": 1}))
        .send()
        .await
        .expect("sent");
    json_of(added, 200).await;

    // A guest GBP cart with all three units merges in at sign-in: the cart follows the
    // currency the shopper was using, the quantity is cut to stock, and both are said.
    let guest = json_of(open_cart(&app, "?currency=GBP", None, None).await, 201).await;
    let guest = emporium_testkit::GuestCart {
        id: guest["id"].as_str().expect("id").to_string(),
        token: guest["token"].as_str().expect("token").to_string(),
    };
    json_of(app.add_to_cart(&guest, &product.variants[0], 3).await, 200).await;
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
    assert_eq!(merged["currency"], "GBP");
    assert_eq!(merged["lines"][0]["quantity"], 3);
    let codes: Vec<&str> = merged["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .filter_map(|n| n["code"].as_str())
        .collect();
    assert_eq!(codes, ["quantity_reduced", "currency_changed"]);
    // Told once.
    let again = json_of(
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
    assert!(again.get("notices").is_none(), "{again}");
}

async fn checkout_with(
    app: &TestApp,
    cart: &emporium_testkit::GuestCart,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn checkout_takes_what_the_cart_holds_and_never_charges_a_total_nobody_saw() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&json!({"country": "US", "region": "CA", "rate": "7.25", "name": "California"})),
        )
        .await,
        200,
    )
    .await;
    let product = app.product(&admin, "Desk Clock", &["one"], 2599, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;

    // Nothing on the cart and nothing in the body: every missing field at once.
    let missing = problem(
        checkout_with(&app, &cart, "k0", json!({"payment_provider": "manual"})).await,
        422,
    )
    .await;
    let mut missing = fields(&missing);
    missing.sort();
    assert_eq!(missing, ["email", "shipping_address"]);

    json_of(
        app.cart_call(
            &cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/email", cart.id),
            Some(&json!({"email": "steps@example.com"})),
        )
        .await,
        200,
    )
    .await;
    let quoted = json_of(
        app.set_shipping_address(&cart, &emporium_testkit::address("US"))
            .await,
        200,
    )
    .await;
    let shown = quoted["totals"]["total"]["amount"].as_i64().expect("total");
    assert_eq!(shown, 2599 + 188 + 500);

    // Another address in the body with the total the shopper saw: refused, with the
    // totals it would have charged, and nothing placed.
    let changed = problem(
        checkout_with(
            &app,
            &cart,
            "k1",
            json!({"payment_provider": "manual", "shipping_address": emporium_testkit::address("DE"),
                   "expected_total": shown}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(changed["code"], "price_changed");
    assert_eq!(changed["totals"]["total"]["amount"], 2599 + 500);
    assert_eq!(changed["totals"]["tax"]["amount"], 0);

    // The cart's own email and address, at the total shown.
    let placed = json_of(
        checkout_with(
            &app,
            &cart,
            "k2",
            json!({"payment_provider": "manual", "expected_total": shown}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(placed["order"]["email"], "steps@example.com");
    assert_eq!(placed["order"]["totals"]["total"]["amount"], shown);
    assert_eq!(placed["order"]["shipping_address"]["region"], "CA");
}

#[tokio::test]
async fn a_signed_in_customer_checks_out_to_a_saved_address() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product = app.product(&admin, "Wall Hook", &["one"], 499, 5).await;
    let saved = json_of(
        app.call(
            Method::POST,
            "/api/v1/me/addresses",
            Some(&customer.access_token),
            Some(&emporium_testkit::address("GB")),
        )
        .await,
        201,
    )
    .await;
    let cart_id = &customer_cart_with(&app, &customer, &product.variants[0], 2).await;
    let checkout = |body: Value, key: &'static str| {
        let app = &app;
        let token = customer.access_token.clone();
        let path = format!("/api/v1/carts/{cart_id}/checkout");
        async move {
            app.request(Method::POST, &path)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .expect("sent")
        }
    };
    let wrong = problem(
        checkout(
            json!({"payment_provider": "manual", "shipping_address_id": uuid::Uuid::now_v7()}),
            "s1",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), ["shipping_address_id"]);
    let placed = json_of(
        checkout(
            json!({"payment_provider": "manual", "shipping_address_id": saved["id"]}),
            "s2",
        )
        .await,
        201,
    )
    .await;
    assert_eq!(placed["order"]["shipping_address"]["country"], "GB");
    assert_eq!(placed["order"]["email"], customer.email.as_str());
}

#[tokio::test]
async fn a_partial_refund_never_blocks_shipping_delivery_or_a_return() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (order, token, _) = paid_guest_order(&app, &admin).await;
    let id = order["id"].as_str().expect("id");
    json_of(
        refund(
            &app,
            &admin,
            id,
            "goodwill",
            json!({"amount": 500, "reason": "late"}),
        )
        .await,
        201,
    )
    .await;
    let staff_view = || {
        let app = &app;
        let token = admin.access_token.clone();
        let path = format!("/api/v1/admin/orders/{id}");
        async move { json_of(app.call(Method::GET, &path, Some(&token), None).await, 200).await }
    };
    let after_refund = staff_view().await;
    assert_eq!(after_refund["status"], "paid");
    assert_eq!(after_refund["payment_status"], "partially_refunded");
    assert_eq!(after_refund["fulfillment_status"], "unfulfilled");

    let line = order["lines"][0]["id"].as_str().expect("line");
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/shipments"),
            Some(&admin.access_token),
            Some(
                &json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456784",
                         "lines": [{"line_id": line, "quantity": 1}]}),
            ),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        staff_view().await["fulfillment_status"],
        "partially_shipped"
    );
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/shipments"),
            Some(&admin.access_token),
            Some(&json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456785"})),
        )
        .await,
        201,
    )
    .await;
    let shipped = staff_view().await;
    assert_eq!(
        (
            shipped["status"].as_str(),
            shipped["fulfillment_status"].as_str()
        ),
        (Some("shipped"), Some("shipped"))
    );
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transitions"),
            Some(&admin.access_token),
            Some(&json!({"to": "delivered", "reason": "signed for"})),
        )
        .await,
        200,
    )
    .await;
    let returned = json_of(
        app.request(
            Method::POST,
            &format!("/api/v1/orders/{id}/returns?token={token}"),
        )
        .json(&json!({"reason": "too small"}))
        .send()
        .await
        .expect("sent"),
        200,
    )
    .await;
    assert_eq!(returned["status"], "return_requested");
    assert_eq!(returned["payment_status"], "partially_refunded");
    assert_eq!(returned["fulfillment_status"], "delivered");
    // The rest of the money goes back; the order closes as refunded.
    let rest = json_of(
        refund(&app, &admin, id, "rest", json!({"restock": true})).await,
        201,
    )
    .await;
    assert_eq!(rest["amount"]["amount"], 5500 - 500);
    let closed = staff_view().await;
    assert_eq!(closed["status"], "refunded");
    assert_eq!(closed["payment_status"], "refunded");
}

#[tokio::test]
async fn bad_query_and_path_parameters_are_named_and_staff_find_orders_by_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    for (path, field) in [
        ("/api/v1/admin/orders?limit=-1", "limit"),
        ("/api/v1/admin/orders?limit=abc", "limit"),
        ("/api/v1/admin/orders?limit=500", "limit"),
        ("/api/v1/admin/orders?numbr=1001", "numbr"),
        ("/api/v1/admin/orders/not-an-order", "id"),
        ("/api/v1/admin/tax-rates/not-a-uuid", "id"),
    ] {
        let method = if path.contains("tax-rates") {
            Method::DELETE
        } else {
            Method::GET
        };
        let body = problem(app.call(method, path, token, None).await, 422).await;
        assert_eq!(fields(&body), [field], "{path}");
    }
    let anonymous = problem(app.get("/api/v1/products?limit=abc").await, 422).await;
    assert_eq!(fields(&anonymous), ["limit"]);
    let order = problem(app.get("/api/v1/orders/1001").await, 422).await;
    assert_eq!(fields(&order), ["id"]);
    let payment = problem(
        app.get(&format!("/api/v1/payments/{}/pay", uuid::Uuid::now_v7()))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&payment), ["access"]);

    let (order, _, _) = paid_guest_order(&app, &admin).await;
    let number = order["number"].as_i64().expect("number");
    for key in [number.to_string(), format!("%23{number}")] {
        let found = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/orders/{key}"),
                token,
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(found["id"], order["id"], "{key}");
    }
    problem(
        app.call(Method::GET, "/api/v1/admin/orders/999999", token, None)
            .await,
        404,
    )
    .await;
    for q in [number.to_string(), "BUYER@example".to_string()] {
        let page = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/orders?q={q}"),
                token,
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "{q}");
    }
    let none = json_of(
        app.call(Method::GET, "/api/v1/admin/orders?q=nobody%25", token, None)
            .await,
        200,
    )
    .await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));
    let paid = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/orders?payment_status=paid",
            token,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(paid["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn every_staff_write_is_in_the_audit_log_which_staff_can_filter() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let product = app.product(&admin, "Audit Lamp", &["one"], 1500, 2).await;
    json_of(
        app.call(
            Method::PATCH,
            &format!("/api/v1/admin/products/{}", product.id),
            token,
            Some(&json!({"brand": "Lumen"})),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            token,
            Some(&json!({"country": "DE", "rate": "19", "name": "MwSt"})),
        )
        .await,
        200,
    )
    .await;
    // A refused write leaves no entry.
    problem(
        app.call(
            Method::PATCH,
            &format!("/api/v1/admin/products/{}", product.id),
            token,
            Some(&json!({"slug": "Not A Slug"})),
        )
        .await,
        422,
    )
    .await;

    let log = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/admin/audit-log{query}");
        let token = admin.access_token.clone();
        async move { json_of(app.call(Method::GET, &path, Some(&token), None).await, 200).await }
    };
    let products = log("?action=admin.products.").await;
    let actions: Vec<&str> = products["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    // Newest first: the patch, the publish, the creation.
    assert_eq!(
        actions,
        [
            "admin.products.patch",
            "admin.products.post",
            "admin.products.post"
        ]
    );
    let patch = &products["data"][0];
    assert_eq!(patch["actor_id"], admin.user_id.as_str());
    assert_eq!(patch["target_id"], product.id.as_str());
    assert_eq!(patch["detail"]["route"], "/api/v1/admin/products/{id}");
    let by_target = log(&format!("?target_id={}", product.id)).await;
    assert_eq!(by_target["data"].as_array().map(Vec::len), Some(2));
    let tax = log("?action=admin.tax-rates.put").await;
    assert_eq!(tax["data"].as_array().map(Vec::len), Some(1));
    let stock = log("?target_type=inventory").await;
    assert_eq!(
        stock["data"].as_array().map(Vec::len),
        Some(1),
        "the stock adjustment"
    );
    // Paged.
    let first = log("?limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("more");
    let second = log(&format!("?limit=1&cursor={cursor}")).await;
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
    // Customers cannot read it.
    let customer = app.customer().await;
    problem(
        app.call(
            Method::GET,
            "/api/v1/admin/audit-log",
            Some(&customer.access_token),
            None,
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn staff_page_through_stock_levels_with_low_and_out_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let plenty = app.product(&admin, "Plenty Mug", &["one"], 900, 50).await;
    let few = app.product(&admin, "Few Mug", &["one"], 900, 2).await;
    let none = app.product(&admin, "Gone Mug", &["one"], 900, 1).await;
    app.adjust_stock(&admin, &none.variants[0], -1).await;
    let list = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/admin/inventory{query}");
        let token = admin.access_token.clone();
        async move { json_of(app.call(Method::GET, &path, Some(&token), None).await, 200).await }
    };
    let variants = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|r| r["variant_id"].as_str().map(str::to_string))
            .collect()
    };
    let all = list("").await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3));
    let low = variants(&list("?low=true").await);
    assert!(low.contains(&few.variants[0]) && low.contains(&none.variants[0]));
    assert!(!low.contains(&plenty.variants[0]));
    assert_eq!(
        variants(&list("?out=true").await),
        [none.variants[0].clone()]
    );
    let row = &list("?out=true").await["data"][0];
    assert_eq!(
        (row["on_hand"].as_i64(), row["available"].as_i64()),
        (Some(0), Some(0))
    );
    // Paged in a stable order.
    let first = list("?limit=2").await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_string();
    let second = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second["data"].as_array().map(Vec::len), Some(1));
    assert!(second["next_cursor"].is_null());
    let mut seen = variants(&first);
    seen.extend(variants(&second));
    seen.sort();
    let mut every = variants(&all);
    every.sort();
    assert_eq!(seen, every);
    problem(
        app.call(
            Method::GET,
            "/api/v1/admin/inventory?limit=1000",
            token,
            None,
        )
        .await,
        422,
    )
    .await;
    let report = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/inventory/low-stock?limit=1000",
            token,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        report.as_array().map(Vec::len),
        Some(2),
        "the report is capped at 100"
    );
}

#[tokio::test]
async fn the_test_payment_page_shows_a_bad_card_to_a_person_and_leads_back_to_the_shop() {
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(|config| config.store.url = Some("https://shop.example".into())),
        ..emporium_testkit::TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Card Holder", &["one"], 1200, 3).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "page", "US").await, 201).await;
    let id = placed["payment"]["id"].as_str().expect("id");
    let access = placed["payment"]["access"].as_str().expect("access");
    let post = |card: &'static str| {
        let app = &app;
        let path = format!("/api/v1/payments/{id}/pay");
        let access = access.to_string();
        async move {
            app.request(Method::POST, &path)
                .header("accept", "text/html,application/xhtml+xml")
                .form(&[("access", access.as_str()), ("card_number", card)])
                .send()
                .await
                .expect("sent")
        }
    };
    let bad = post("4111 1111 1111 1111").await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    let html = bad.text().await.expect("html");
    assert!(html.contains("That card number was not accepted"), "{html}");
    assert!(
        html.contains("name=\"card_number\""),
        "the form is shown again"
    );
    let paid = post("4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 200);
    let html = paid.text().await.expect("html");
    assert!(html.contains("href=\"https://shop.example\""), "{html}");
}

#[tokio::test]
async fn a_store_can_ask_new_customers_to_confirm_their_email_before_ordering() {
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(|config| config.auth.verified_email_to_order = true),
        ..emporium_testkit::TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Verify Vase", &["one"], 800, 3).await;
    // Signing in works before the address is confirmed.
    let customer = app.customer().await;
    let cart_id = &customer_cart_with(&app, &customer, &product.variants[0], 1).await;
    let order = |key: &'static str| {
        let app = &app;
        let token = customer.access_token.clone();
        let path = format!("/api/v1/carts/{cart_id}/checkout");
        async move {
            app.request(Method::POST, &path)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&json!({"payment_provider": "manual", "shipping_address": emporium_testkit::address("US")}))
                .send()
                .await
                .expect("sent")
        }
    };
    let refused = problem(order("v1").await, 403).await;
    assert_eq!(refused["code"], "email_not_verified");
    app.drain_outbox().await;
    let link = app
        .smtp
        .mails_to(&customer.email)
        .first()
        .and_then(|m| m.link_param("token"))
        .expect("verification link");
    json_of(
        app.post_json("/api/v1/auth/verify-email", &json!({"token": link}))
            .await,
        200,
    )
    .await;
    json_of(order("v2").await, 201).await;
}

#[tokio::test]
async fn missing_body_fields_are_named_all_at_once() {
    let app = TestApp::spawn().await;
    let register = problem(
        app.post_json("/api/v1/auth/register", &json!({})).await,
        422,
    )
    .await;
    assert_eq!(fields(&register), ["email", "password"]);
    let admin = app.admin().await;
    let rate = problem(
        app.call(
            Method::PUT,
            "/api/v1/admin/tax-rates",
            Some(&admin.access_token),
            Some(&json!({"rate": "19"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&rate), ["country", "name"], "{rate}");
}

#[tokio::test]
async fn list_and_detail_agree_on_a_product_with_no_price_in_the_currency() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Wool Scarf", &["one"], 3000, 3).await;
    let list = json_of(app.get("/api/v1/products?currency=EUR").await, 200).await;
    let detail = json_of(
        app.get(&format!("/api/v1/products/{}?currency=EUR", product.id))
            .await,
        200,
    )
    .await;
    // No EUR price and no rate: both say unpriced and unavailable, and the page still
    // shows the variant.
    assert_eq!(list["data"][0]["price"], Value::Null);
    assert_eq!(list["data"][0]["available"], false);
    assert_eq!(detail["price"], Value::Null);
    assert_eq!(detail["available"], false);
    assert_eq!(detail["variants"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["variants"][0]["price"], Value::Null);
    assert_eq!(detail["variants"][0]["available"], false);

    let rate = app
        .call(
            Method::PUT,
            "/api/v1/admin/exchange-rates/EUR",
            Some(&admin.access_token),
            Some(&json!({"rate": "0.9"})),
        )
        .await;
    assert_eq!(rate.status(), 200);
    let list = json_of(app.get("/api/v1/products?currency=EUR").await, 200).await;
    let detail = json_of(
        app.get(&format!("/api/v1/products/{}?currency=EUR", product.id))
            .await,
        200,
    )
    .await;
    let eur = json!({"amount": 2700, "currency": "EUR"});
    assert_eq!(list["data"][0]["price"], eur);
    assert_eq!(detail["price"], eur);
    assert_eq!(detail["variants"][0]["price"], eur);
    assert_eq!(list["data"][0]["available"], true);
    assert_eq!(detail["available"], true);
}

#[tokio::test]
async fn account_emails_are_written_in_the_customers_language() {
    let app = TestApp::spawn().await;
    let registered = app
        .request(Method::POST, "/api/v1/auth/register")
        .header("accept-language", "de-DE, en;q=0.5")
        .json(&json!({"email": "greta@example.com", "password": "ein langes passwort", "name": "Greta"}))
        .send()
        .await
        .expect("sent");
    let user = json_of(registered, 201).await;
    assert_eq!(user["language"], "de");
    app.drain_outbox().await;
    let verify = app.smtp.mails_to("greta@example.com").pop().expect("mail");
    assert!(
        verify.subject().contains("Bitte bestätigen"),
        "{}",
        verify.subject()
    );
    assert!(
        verify.text().starts_with("Hallo Greta,"),
        "{}",
        verify.text()
    );

    // The profile changes it; a language the shop does not offer is refused.
    let session = app.login("greta@example.com", "ein langes passwort").await;
    let token = Some(session.access_token.as_str());
    let patch = |language: &'static str| {
        let app = &app;
        async move {
            let body = json!({"language": language});
            app.call(Method::PATCH, "/api/v1/me", token, Some(&body))
                .await
        }
    };
    let refused = problem(patch("xx").await, 422).await;
    assert_eq!(fields(&refused), ["language"]);
    let english = json_of(patch("EN").await, 200).await;
    assert_eq!(english["language"], "en");
    let forgot = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"email": "greta@example.com"}),
        )
        .await;
    assert_eq!(forgot.status(), 202);
    app.drain_outbox().await;
    let reset = app.smtp.mails_to("greta@example.com").pop().expect("mail");
    assert!(
        reset.subject().starts_with("Reset your"),
        "{}",
        reset.subject()
    );
}
