//! A shopper's account in the storefront, in a real browser: register, sign in with the
//! second factor, a guest cart that joins the account's cart at sign-in, a signed-in
//! purchase that lands in the account, saved addresses, and signing out; and over HTTP,
//! that a password change ends the shop's sessions.

use emporium_testkit::TestApp;
use emporium_testkit::browser::{Browser, click, fill, text_of};
use emporium_testkit::rfc6238::totp;
use reqwest::Method;
use serde_json::json;

use super::admin::{enable_totp, now};

#[tokio::test]
async fn a_shopper_signs_in_with_a_code_keeps_the_guest_cart_buys_and_finds_the_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mug = app.product(&admin, "Enamel Mug", &["one"], 1_200, 10).await;
    let carol = app.customer().await;
    let secret = enable_totp(&app, &carol).await;
    let product = app.url(&format!("/products/{}", mug.slug));
    let account = app.url("/account");
    let (email, password) = (carol.email.clone(), carol.password.clone());
    let ran = Browser::run(|b| async move {
        // A guest fills a cart, then signs in: the cart comes along.
        b.goto(&product).await.expect("product");
        fill(&b, "#quantity", "2").await;
        click(&b, "#add-to-cart").await;
        b.goto(&account).await.expect("account");
        let source = b.source().await.expect("source");
        assert!(source.contains("<h1>Sign in</h1>"), "{source}");
        fill(&b, "#email", &email).await;
        fill(&b, "#password", "not the password").await;
        click(&b, "#sign-in").await;
        assert!(text_of(&b, "#sign-in-error").await.contains("wrong"));
        fill(&b, "#email", &email).await;
        fill(&b, "#password", &password).await;
        click(&b, "#sign-in").await;
        fill(&b, "#code", &totp(&secret, now() + 30)).await;
        click(&b, "#send-code").await;
        assert_eq!(text_of(&b, "h1").await, "Your account");
        assert!(text_of(&b, "#orders").await.contains("No orders yet"));
        click(&b, "#cart-link").await;
        assert_eq!(text_of(&b, "#cart-subtotal").await, "24.00 USD");

        // Bought signed in: the order is the account's.
        click(&b, "#to-checkout").await;
        fill(&b, "#email", &email).await;
        fill(&b, "#name", "Carol Customer").await;
        fill(&b, "#line1", "1 Market St").await;
        fill(&b, "#postal_code", "94105").await;
        fill(&b, "#city", "San Francisco").await;
        fill(&b, "#region", "CA").await;
        click(&b, "#to-delivery").await;
        click(&b, "#place-order").await;
        fill(&b, "#card_number", "4242 4242 4242 4242").await;
        click(&b, "button[type=submit]").await;
        click(&b, "#continue").await;
        assert!(text_of(&b, "h1").await.starts_with("Order #"));
        assert_eq!(text_of(&b, "#order-status").await, "paid");
        b.goto(&account).await.expect("account");
        assert!(text_of(&b, "#orders").await.contains("paid"));

        // Addresses: add one, remove it.
        b.find(fantoccini::Locator::Css(
            "#addresses + ul + details summary",
        ))
        .await
        .expect("the add form")
        .click()
        .await
        .expect("opened");
        fill(&b, "#name", "Carol Customer").await;
        fill(&b, "#line1", "Unter den Linden 1").await;
        fill(&b, "#postal_code", "10117").await;
        fill(&b, "#city", "Berlin").await;
        b.find(fantoccini::Locator::Css("#country"))
            .await
            .expect("countries")
            .select_by_value("DE")
            .await
            .expect("Germany");
        click(&b, "#save-address").await;
        assert!(text_of(&b, "#address-book").await.contains("Berlin"));
        super::admin::screenshot(&b, "store-account.png").await;
        click(&b, "#address-book form button").await;
        assert!(
            text_of(&b, "#address-book")
                .await
                .contains("No saved addresses")
        );

        click(&b, "#sign-out").await;
        b.goto(&account).await.expect("account");
        assert_eq!(text_of(&b, "h1").await, "Sign in");
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn a_new_shopper_registers_and_a_password_change_signs_the_shop_out() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let email = app.unique_email("shopper");
    let password = "a long enough pass phrase";
    let registered = client
        .post(app.url("/account/register"))
        .form(&[
            ("email", email.as_str()),
            ("name", "Dana"),
            ("password", password),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(registered.status(), 303);
    assert_eq!(registered.headers()["location"], "/account");
    let session = registered
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("emporium_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    assert!(
        registered.headers().get_all("set-cookie").iter().any(|v| v
            .to_str()
            .is_ok_and(|v| v.contains("HttpOnly") && v.contains("SameSite=Lax"))),
        "the session cookie is HttpOnly and SameSite"
    );
    let page = client
        .get(app.url("/account"))
        .header("cookie", &session)
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains(&email));
    // A second account with the same email is refused on the form.
    let again = reqwest::Client::new()
        .post(app.url("/account/register"))
        .form(&[
            ("email", email.as_str()),
            ("name", "Dana"),
            ("password", password),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 409);
    // A cross-site post is refused.
    let forged = reqwest::Client::new()
        .post(app.url("/account/sign-out"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 403);

    // The password changes through the API: every session ends, the shop's too.
    let api = app.login(&email, password).await;
    let changed = app
        .call(
            Method::POST,
            "/api/v1/me/password",
            Some(&api.access_token),
            Some(
                &json!({"current_password": password, "new_password": "another long pass phrase"}),
            ),
        )
        .await;
    assert!(changed.status().is_success(), "{}", changed.status());
    let after = client
        .get(app.url("/account"))
        .header("cookie", &session)
        .send()
        .await
        .expect("sent");
    assert_eq!(after.status(), 303, "signed out");
}
