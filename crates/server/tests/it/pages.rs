//! The storefront pages emailed links open: driven in a real browser (headless
//! Chromium) as a shopper would, and checked over plain HTTP for what every page must
//! carry (its headers, its assets, a shop's own template).

use emporium_testkit::browser::{Browser, click, fill, text_of};
use emporium_testkit::{TestApp, json_of};
use fantoccini::{Client, Locator};
use reqwest::Method;
use serde_json::json;

async fn clear_and_fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect("field")
        .clear()
        .await
        .expect("cleared");
    fill(browser, css, text).await;
}

#[tokio::test]
async fn a_customer_confirms_their_email_and_resets_their_password_in_a_browser() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    app.drain_outbox().await;
    let verify = app.smtp.mails_to(&customer.email)[0]
        .link("/account/verify-email")
        .expect("a verification link");
    let asked = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"email": customer.email}),
        )
        .await;
    assert_eq!(asked.status(), 202);
    app.drain_outbox().await;
    let reset = app
        .smtp
        .mails_to(&customer.email)
        .iter()
        .find_map(|m| m.link("/account/reset-password"))
        .expect("a reset link");

    let ran = Browser::run(|b| async move {
        b.goto(&verify).await.expect("verify page");
        assert_eq!(text_of(&b, "h1").await, "Confirm your email");
        click(&b, "main button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "Email confirmed");

        b.goto(&reset).await.expect("reset page");
        fill(&b, "#password", "a brand new passphrase").await;
        fill(&b, "#confirm", "a different passphrase").await;
        click(&b, "main button[type=submit]").await;
        assert!(
            text_of(&b, "#confirm-error")
                .await
                .contains("does not match")
        );
        clear_and_fill(&b, "#password", "short").await;
        clear_and_fill(&b, "#confirm", "short").await;
        click(&b, "main button[type=submit]").await;
        assert!(
            text_of(&b, "#password-error")
                .await
                .contains("at least 10 characters"),
            "the policy's reason is shown next to the field"
        );
        clear_and_fill(&b, "#password", "a brand new passphrase").await;
        clear_and_fill(&b, "#confirm", "a brand new passphrase").await;
        click(&b, "main button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "Password changed");

        // The link is single-use: opened again, it offers a new one.
        b.goto(&reset).await.expect("reset page again");
        fill(&b, "#password", "yet another passphrase").await;
        fill(&b, "#confirm", "yet another passphrase").await;
        click(&b, "main button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "This link no longer works");
        click(&b, "a[href='/account/forgot-password']").await;
        assert_eq!(text_of(&b, "h1").await, "Reset your password");
    })
    .await;
    if ran.is_none() {
        return;
    }
    let session = app.login(&customer.email, "a brand new passphrase").await;
    let me = json_of(
        app.call(Method::GET, "/api/v1/me", Some(&session.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(me["email_verified"], true);
    let old = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": customer.email, "password": customer.password}),
        )
        .await;
    assert_eq!(old.status(), 401, "the old password is gone");
}

#[tokio::test]
async fn a_new_email_is_confirmed_and_a_guest_opens_their_order_in_a_browser() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let asked = app
        .call(
            Method::POST,
            "/api/v1/me/email",
            Some(&customer.access_token),
            Some(&json!({"email": "ada.moved@example.com", "password": customer.password})),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let product = app.product(&admin, "Linen Shirt", &["M"], 2500, 5).await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 2).await, 200).await;
    let placed = json_of(app.checkout(&cart, "pages-order", "US").await, 201).await;
    let number = placed["order"]["number"].as_i64().expect("number");
    let pay = placed["payment"]["redirect_url"]
        .as_str()
        .expect("the test payment page")
        .to_string();
    let total = placed["order"]["totals"]["total"]["amount"]
        .as_i64()
        .expect("total");
    app.drain_outbox().await;
    let confirm = app.smtp.mails_to("ada.moved@example.com")[0]
        .link("/account/confirm-email")
        .expect("a confirmation link");
    let order_link = app
        .smtp
        .mails()
        .iter()
        .find_map(|m| m.link("/orders/"))
        .expect("the order confirmation's link");
    assert!(
        !order_link.contains("/api/"),
        "a page, not JSON: {order_link}"
    );

    let ran = Browser::run(|b| async move {
        b.goto(&confirm).await.expect("confirm page");
        click(&b, "main button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "Email changed");

        // The test payment page: a bad number shows the form again, the test card pays.
        b.goto(&pay).await.expect("payment page");
        assert_eq!(text_of(&b, "h1").await, "Pay for your order");
        fill(&b, "#card_number", "1234").await;
        click(&b, "main button[type=submit]").await;
        assert!(text_of(&b, "[role=alert]").await.contains("not accepted"));
        fill(&b, "#card_number", "4242 4242 4242 4242").await;
        click(&b, "main button[type=submit]").await;
        assert_eq!(text_of(&b, "h1").await, "Paid");

        b.goto(&order_link).await.expect("order page");
        assert_eq!(text_of(&b, "h1").await, format!("Order #{number}"));
        assert_eq!(text_of(&b, "#order-status").await, "paid");
        let shown = text_of(&b, "#order-total").await;
        assert_eq!(
            shown,
            format!("{}.{:02} USD", total / 100, total % 100),
            "the total as charged"
        );
        assert!(text_of(&b, "table").await.contains("Linen Shirt"));
    })
    .await;
    if ran.is_none() {
        return;
    }
    let me = json_of(
        app.call(
            Method::GET,
            "/api/v1/me",
            Some(&customer.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(me["email"], "ada.moved@example.com");
}

#[tokio::test]
async fn pages_are_private_strict_and_restylable_by_the_shop() {
    let app = TestApp::spawn().await;
    // The shop's own template replaces the built-in one, without a rebuild (read
    // when first used).
    let dir = app.config().data_dir.join("templates").join("store");
    std::fs::create_dir_all(&dir).expect("template dir");
    std::fs::write(
        dir.join("notice.html"),
        "<!doctype html><title>{{ heading }}</title><p class=mine>{{ shop }}: {{ message }}</p>",
    )
    .expect("override");
    let page = app.get("/account/reset-password?token=abc").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert!(header("content-security-policy").contains("default-src 'self'"));
    assert_eq!(header("referrer-policy"), "no-referrer", "tokens stay put");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-robots-tag"), "noindex");
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script"), "works without JavaScript");
    let css = html
        .split('"')
        .find(|s| s.starts_with("/assets/store."))
        .expect("a hashed stylesheet URL")
        .to_string();
    let asset = app.get(&css).await;
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(app.get("/assets/store.0000.css").await.status(), 404);

    // A used or made-up token: a page that says so, never JSON.
    let used = app
        .request(Method::POST, "/account/verify-email")
        .form(&[("token", "not-a-real-token")])
        .send()
        .await
        .expect("post");
    assert_eq!(used.status(), 400);
    assert!(used.text().await.expect("html").contains("no longer works"));
    let missing = app.get("/account/verify-email").await;
    assert_eq!(missing.status(), 400);
    let order = app
        .get(&format!("/orders/{}?token=wrong", uuid::Uuid::nil()))
        .await;
    assert_eq!(order.status(), 404);
    assert!(
        order
            .text()
            .await
            .expect("html")
            .contains("Order not found")
    );

    let mine = app
        .request(Method::POST, "/account/forgot-password")
        .form(&[("email", "nobody@example.com")])
        .send()
        .await
        .expect("post");
    assert_eq!(mine.status(), 200);
    let html = mine.text().await.expect("html");
    assert!(
        html.contains("<p class=mine>Emporium: If an account uses"),
        "{html}"
    );
}
