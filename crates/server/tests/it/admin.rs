//! The admin console, driven in a real browser (headless Chromium) as staff would use it,
//! and over plain HTTP for what a browser would not show (status codes, refused forms).

use emporium_testkit::browser::{Browser, click, fill, text_of};
use emporium_testkit::rfc6238::totp;
use emporium_testkit::session::Session;
use emporium_testkit::{TestApp, json_of};
use fantoccini::{Client, Locator};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Turns on two-factor sign-in for `user`; answers the authenticator secret.
pub(crate) async fn enable_totp(app: &TestApp, user: &Session) -> String {
    let token = Some(user.access_token.as_str());
    let setup = json_of(
        app.call(Method::POST, "/api/v1/me/mfa/totp/setup", token, None)
            .await,
        200,
    )
    .await;
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let enabled = app
        .call(
            Method::POST,
            "/api/v1/me/mfa/totp/enable",
            token,
            Some(&json!({"code": totp(&secret, now())})),
        )
        .await;
    assert_eq!(enabled.status(), 200);
    secret
}

/// A guest's order of two S and one M shirts, marked paid by staff (a manual payment).
async fn paid_order(app: &TestApp, admin: &Session) -> Value {
    let product = app
        .product(admin, "Linen Shirt", &["S", "M"], 2500, 5)
        .await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &product.variants[0], 2).await, 200).await;
    json_of(app.add_to_cart(&cart, &product.variants[1], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "console-order", "US").await, 201).await;
    let id = placed["order"]["id"].as_str().expect("id");
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transitions"),
            Some(&admin.access_token),
            Some(&json!({"to": "paid", "reason": "bank transfer received"})),
        )
        .await,
        200,
    )
    .await;
    placed["order"].clone()
}

/// The id of the order line of size `size`.
fn line_of(order: &Value, size: &str) -> String {
    order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["options"]["size"] == size)
        .and_then(|l| l["id"].as_str())
        .expect("the line")
        .to_string()
}

pub(crate) async fn sign_in(b: &Client, app: &TestApp, user: &Session, path: &str) {
    b.goto(&app.url(path)).await.expect("console");
    assert_eq!(
        text_of(b, "h1").await,
        "Sign in",
        "signed out: the sign-in page"
    );
    fill(b, "#email", &user.email).await;
    fill(b, "#password", &user.password).await;
    click(b, "#sign-in").await;
}

/// With `EMPORIUM_SCREENSHOTS=<dir>`, saves the page as it looks (the README shows them).
pub(crate) async fn screenshot(b: &Client, name: &str) {
    let Ok(dir) = std::env::var("EMPORIUM_SCREENSHOTS") else {
        return;
    };
    b.set_window_size(1280, 900).await.expect("window size");
    let png = b.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(std::path::Path::new(&dir).join(name), png).expect("saved");
}

async fn menu(b: &Client) -> String {
    text_of(b, "nav.menu").await
}

#[tokio::test]
async fn staff_sign_in_with_a_code_then_ship_part_of_an_order_and_refund_a_line() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let secret = enable_totp(&app, &admin).await;
    let order = paid_order(&app, &admin).await;
    let number = order["number"].as_i64().expect("number");
    let id = order["id"].as_str().expect("id").to_string();
    let small = line_of(&order, "S");
    let small_sku = order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["options"]["size"] == "S")
        .and_then(|l| l["sku"].as_str())
        .expect("sku")
        .to_string();
    let medium = line_of(&order, "M");

    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/orders?status=paid").await;
        assert_eq!(text_of(&b, "h1").await, "Two-step sign-in");
        fill(&b, "#code", "000000").await;
        click(&b, "#verify").await;
        assert!(text_of(&b, "#error").await.contains("not right"));
        // The code after the one that enabled two-step sign-in (a code works once).
        fill(&b, "#code", &totp(&secret, now() + 30)).await;
        click(&b, "#verify").await;

        // Back where the staff member was going, filters and all.
        assert_eq!(text_of(&b, "h1").await, "Orders");
        assert!(menu(&b).await.contains("Orders"));
        let list = text_of(&b, "#orders").await;
        assert!(list.contains(&format!("#{number}")), "{list}");
        click(&b, &format!("a[href^='/admin/orders/{number}']")).await;
        assert_eq!(text_of(&b, "h1").await, format!("Order #{number}"));
        assert_eq!(text_of(&b, "#order-status").await, "paid");

        // One of the two small shirts ships; the rest waits.
        fill(&b, "#carrier", "ups").await;
        fill(&b, "#tracking_number", "1Z999AA10123456784").await;
        fill(&b, &format!("#ship-{small}"), "1").await;
        click(&b, "#ship").await;
        assert!(text_of(&b, "#done").await.contains("Shipped with ups"));
        assert_eq!(text_of(&b, "#order-status").await, "processing");
        assert_eq!(
            text_of(&b, "#fulfillment-status").await,
            "partially shipped"
        );
        assert!(
            text_of(&b, "#shipments")
                .await
                .contains("1Z999AA10123456784")
        );

        // The medium shirt is refunded and goes back on the shelf.
        fill(&b, &format!("#refund-{medium}"), "1").await;
        b.find(Locator::Css("#restock"))
            .await
            .expect("restock box")
            .click()
            .await
            .expect("ticked");
        fill(&b, "#refund-reason", "Too small").await;
        click(&b, "#refund").await;
        assert_eq!(text_of(&b, "#done").await, "Refunded.");
        assert_eq!(text_of(&b, "#payment-status").await, "partially refunded");
        assert!(text_of(&b, "#refunds").await.contains("Too small"));
        assert!(text_of(&b, "#timeline").await.contains("partly shipped"));
        screenshot(&b, "admin-order.png").await;

        // Back to the list as it was left.
        click(&b, "#back").await;
        let url = b.current_url().await.expect("url");
        assert!(url.as_str().contains("status=paid"), "{url}");
        assert_eq!(
            b.find(Locator::Css("#status option[selected]"))
                .await
                .expect("the kept filter")
                .attr("value")
                .await
                .expect("value")
                .as_deref(),
            Some("paid")
        );

        // What the console did is in the audit log, with who did it.
        b.goto(&app.url("/admin/audit?action=admin.order."))
            .await
            .expect("audit");
        let audit = text_of(&b, "#audit").await;
        assert!(audit.contains("admin.order.refund"), "{audit}");
        assert!(audit.contains(&admin.email), "{audit}");
        b.goto(&app.url("/admin/products?q=linen&status=published"))
            .await
            .expect("products");
        assert!(text_of(&b, "#products").await.contains("Linen Shirt"));
        b.goto(&app.url("/admin/products?status=draft"))
            .await
            .expect("drafts");
        assert!(!text_of(&b, "#products").await.contains("Linen Shirt"));
        // Stock found by SKU, adjusted with a reason the ledger keeps.
        b.goto(&app.url("/admin/inventory"))
            .await
            .expect("inventory");
        fill(&b, "#sku", &small_sku).await;
        click(&b, "#find").await;
        let before = text_of(&b, "#levels").await;
        assert!(before.contains("Available"), "{before}");
        fill(&b, "#delta", "3").await;
        fill(&b, "#adjust-reason", "received from the supplier").await;
        click(&b, "#adjust").await;
        assert_eq!(text_of(&b, "#done").await, "Adjusted by 3.");
        assert!(
            text_of(&b, "#ledger")
                .await
                .contains("received from the supplier")
        );

        b.goto(&app.url("/admin")).await.expect("home");
        assert_eq!(text_of(&b, "#to-ship").await, "1", "the processing order");
        assert!(
            text_of(&b, "#activity")
                .await
                .contains("admin.order.refund")
        );
        screenshot(&b, "admin-home.png").await;

        // Every resource the pages loaded came from this node.
        let origins: Value = b
            .execute(
                "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)",
                vec![],
            )
            .await
            .expect("resources");
        let here = app.url("");
        for origin in origins.as_array().expect("list") {
            assert!(
                here.starts_with(origin.as_str().expect("origin")),
                "{origin}"
            );
        }

        // The API sees what the console did.
        let money = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/orders/{id}/payments"),
                Some(&admin.access_token),
                None,
            )
            .await,
            200,
        )
        .await;
        let refunds = money["refunds"].as_array().expect("refunds");
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0]["lines"][0]["line_id"], medium.as_str());
        assert_eq!(refunds[0]["restock"], true);
    })
    .await;
    if ran.is_none() {
        eprintln!("console browser test skipped");
    }
}

#[tokio::test]
async fn staff_without_the_orders_permission_see_no_orders_and_get_403() {
    let app = TestApp::spawn().await;
    let clerk = app.staff(&["products.read"]).await;
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &clerk, "/admin").await;
        assert_eq!(text_of(&b, "h1").await, "Home");
        let shown = menu(&b).await;
        assert!(!shown.contains("Orders"), "no orders menu: {shown}");
        assert!(shown.contains("Products"), "{shown}");
        b.goto(&app.url("/admin/orders")).await.expect("orders");
        assert_eq!(text_of(&b, "h1").await, "Not allowed");
        assert!(text_of(&b, "#message").await.contains("orders.read"));
        // Signing out ends the session: the console asks to sign in again.
        click(&b, "button.link").await;
        assert_eq!(text_of(&b, "h1").await, "Sign in");
        b.goto(&app.url("/admin/orders")).await.expect("orders");
        assert_eq!(text_of(&b, "h1").await, "Sign in");
    })
    .await;
    if ran.is_none() {
        eprintln!("console browser test skipped");
    }
}

/// The value of a hidden input named `name` in a page's HTML.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..].split('"').next().expect("value").to_string()
}

/// `name=value` of the cookie `name` a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().expect("pair").to_string())
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Signs in over plain HTTP; answers the session cookie and the page's CSRF token.
async fn http_sign_in(app: &TestApp, user: &Session) -> (String, String) {
    let page = app.get("/admin/sign-in").await;
    assert_eq!(page.status(), 200);
    let form_cookie = set_cookie(&page, "emporium_admin_signin");
    assert!(
        page.headers().get_all("set-cookie").iter().any(|v| v
            .to_str()
            .unwrap_or("")
            .contains("SameSite=Strict")
            && v.to_str().unwrap_or("").contains("HttpOnly"))
    );
    let csrf = hidden(&page.text().await.expect("html"), "csrf");
    // Without the form's token (another site's form), nobody is signed in.
    let forged = app
        .request(Method::POST, "/admin/sign-in")
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    let signed = app
        .request(Method::POST, "/admin/sign-in")
        .header("cookie", &form_cookie)
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(signed.status(), 303);
    let session = set_cookie(&signed, "emporium_admin");
    let home = app
        .request(Method::GET, "/admin")
        .header("cookie", &session)
        .send()
        .await
        .expect("home");
    assert_eq!(home.status(), 200);
    let html = home.text().await.expect("html");
    (session, hidden(&html, "csrf"))
}

#[tokio::test]
async fn console_forms_without_their_csrf_token_are_refused_and_permissions_hold() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let order = paid_order(&app, &admin).await;
    let number = order["number"].as_i64().expect("number");
    let (session, csrf) = http_sign_in(&app, &admin).await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        app.request(Method::POST, &path)
            .header("cookie", &session)
            .form(&form)
            .send()
    };

    // No token, or another one: refused, and the order stays as it was.
    let missing = post(
        format!("/admin/orders/{number}/transition"),
        vec![("to", "cancelled".into())],
    )
    .await
    .expect("post");
    assert_eq!(missing.status(), 403);
    let wrong = post(
        format!("/admin/orders/{number}/transition"),
        vec![("to", "cancelled".into()), ("csrf", "not-the-token".into())],
    )
    .await
    .expect("post");
    assert_eq!(wrong.status(), 403);
    let id = order["id"].as_str().expect("id");
    let seen = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/orders/{id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "paid");

    // With the token the same form works, and says so on the order's page.
    let done = post(
        format!("/admin/orders/{number}/transition"),
        vec![
            ("to", "cancelled".into()),
            ("reason", "customer asked".into()),
            ("csrf", csrf.clone()),
        ],
    )
    .await
    .expect("post");
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().expect("location");
    assert!(location.contains("done="), "{location}");

    // Pages are private, strict and script-free; signed out, the console redirects.
    let page = app
        .request(Method::GET, &format!("/admin/orders/{number}"))
        .header("cookie", &session)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'self'")
    );
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script"));
    assert!(
        html.contains("customer asked"),
        "the reason is in the timeline"
    );
    // The packing slip lists what goes in the box; the invoice adds the money.
    let document = |kind: &'static str| {
        app.request(Method::GET, &format!("/admin/orders/{number}/{kind}"))
            .header("cookie", &session)
            .send()
    };
    let slip = document("packing-slip").await.expect("slip");
    assert_eq!(slip.status(), 200);
    let slip = slip.text().await.expect("html");
    assert!(slip.contains(&format!("Packing slip for order #{number}")));
    assert!(slip.contains("Linen Shirt") && !slip.contains("document-total"));
    let invoice = document("invoice")
        .await
        .expect("invoice")
        .text()
        .await
        .expect("html");
    let total = order["totals"]["total"]["amount"].as_i64().expect("total");
    assert!(invoice.contains(&format!("{}.{:02} USD", total / 100, total % 100)));
    assert_eq!(document("receipt").await.expect("other").status(), 404);

    let anonymous = app.get("/admin/orders").await;
    assert_eq!(anonymous.status(), 303);
    assert!(
        anonymous.headers()["location"]
            .to_str()
            .expect("location")
            .starts_with("/admin/sign-in?next=")
    );
    let elsewhere = app.get("/admin/sign-in?next=https://evil.example/").await;
    let html = elsewhere.text().await.expect("html");
    assert_eq!(hidden(&html, "next"), "/admin", "never another site");

    // A customer account is not staff.
    let customer = app.customer().await;
    let page = app.get("/admin/sign-in").await;
    let form_cookie = set_cookie(&page, "emporium_admin_signin");
    let csrf = hidden(&page.text().await.expect("html"), "csrf");
    let refused = app
        .request(Method::POST, "/admin/sign-in")
        .header("cookie", &form_cookie)
        .form(&[
            ("email", customer.email.as_str()),
            ("password", customer.password.as_str()),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn staff_find_a_customer_and_suspend_them_in_the_console() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let email = customer.email.clone();
    let token = Some(customer.access_token.as_str());
    json_of(
        app.call(
            Method::POST,
            "/api/v1/me/addresses",
            token,
            Some(
                &json!({"label": "Home", "name": "Ada Lovelace", "line1": "1 Market St",
                         "city": "San Francisco", "region": "CA", "postal_code": "94105",
                         "country": "US"}),
            ),
        )
        .await,
        201,
    )
    .await;
    let mug = app.product(&admin, "Enamel Mug", &["One"], 1200, 5).await;
    let cart = json_of(
        app.call(Method::POST, "/api/v1/carts", token, None).await,
        201,
    )
    .await;
    let cart_id = cart["id"].as_str().expect("cart id");
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/carts/{cart_id}/items"),
            token,
            Some(&json!({"variant_id": mug.variants[0], "quantity": 2})),
        )
        .await,
        200,
    )
    .await;
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/customers").await;
        assert_eq!(text_of(&b, "h1").await, "Customers");
        fill(&b, "#q", &email).await;
        click(&b, "#apply").await;
        click(&b, "#customers a").await;
        assert_eq!(text_of(&b, "h1").await, email);
        assert_eq!(text_of(&b, "#customer-status").await, "active");
        let addresses = text_of(&b, "#addresses").await;
        assert!(addresses.contains("1 Market St"), "{addresses}");
        assert!(addresses.contains("default shipping"), "{addresses}");
        let carts = text_of(&b, "#carts").await;
        assert!(carts.contains("2 units in USD"), "{carts}");
        assert!(
            text_of(&b, "#customer-orders")
                .await
                .contains("No orders yet")
        );
        click(&b, "#suspend").await;
        assert!(text_of(&b, "#done").await.starts_with("Suspended"));
        assert_eq!(text_of(&b, "#customer-status").await, "suspended");

        // Suspended: the account cannot sign in, and its token no longer works.
        let login = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": customer.email, "password": customer.password}),
            )
            .await;
        assert!(login.status().is_client_error(), "{}", login.status());
        let me = app
            .call(
                Method::GET,
                "/api/v1/me",
                Some(&customer.access_token),
                None,
            )
            .await;
        assert_eq!(me.status(), 401);

        click(&b, "#reinstate").await;
        assert_eq!(text_of(&b, "#customer-status").await, "active");
        let audit = app
            .call(
                Method::GET,
                "/api/v1/admin/audit-log?action=admin.user.",
                Some(&admin.access_token),
                None,
            )
            .await;
        let audit = json_of(audit, 200).await;
        let actions: Vec<&str> = audit["data"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(actions.contains(&"admin.user.suspend"), "{actions:?}");
        assert!(actions.contains(&"admin.user.unsuspend"), "{actions:?}");
    })
    .await;
    if ran.is_none() {
        eprintln!("console browser test skipped");
    }
}

#[tokio::test]
async fn seeded_orders_page_through_the_console_list_by_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Wool Socks", &["M"], 900, 0).await;
    let variants = vec![emporium_orders::SeedVariant {
        product_id: product.id.parse().expect("id"),
        variant_id: product.variants[0].parse().expect("id"),
        sku: format!("{}-M", product.slug),
        title: "Wool Socks".into(),
        unit_price: 900,
    }];
    let seeded = app
        .state()
        .orders
        .seed(
            120,
            &variants,
            emporium_orders::SeedShape {
                customers: 50,
                days: 365,
            },
            |_| {},
        )
        .await
        .expect("seeded");
    assert_eq!(seeded, 120);
    let (session, _) = http_sign_in(&app, &admin).await;
    let page = |path: String| {
        app.request(Method::GET, &path)
            .header("cookie", &session)
            .send()
    };
    let first = page("/admin/orders".into())
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        first.contains("#1120") && !first.contains("#1070"),
        "newest first, 50 a page"
    );
    let next = first
        .split("id=\"next-page\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap_or("").replace("&amp;", "&"))
        .expect("a next page");
    let second = page(next.replace("&#x2f;", "/")).await.expect("page");
    assert_eq!(second.status(), 200);
    let second = second.text().await.expect("html");
    assert!(second.contains("#1070") && !second.contains("#1120"));
    // The home page adds them up from the same rows.
    let home = page("/admin".into())
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(home.contains("id=\"to-ship\""));
}

/// A small picture to upload, written to a file the browser's file field can pick.
fn picture_file(dir: &std::path::Path) -> std::path::PathBuf {
    let image = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 140])
    });
    let path = dir.join("scarf.png");
    image.save(&path).expect("picture saved");
    path
}

#[tokio::test]
async fn staff_create_a_product_with_two_variants_an_image_and_a_german_translation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let files = tempfile::tempdir().expect("temp dir");
    let picture = picture_file(files.path());
    let slug = format!("alpaca-scarf-{}", now());

    let created = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = created.clone();
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/products/new").await;
        assert_eq!(text_of(&b, "h1").await, "New product");

        // A price with too many decimals: the form comes back with what was typed.
        fill(&b, "#title-en", "Alpaca Scarf").await;
        fill(&b, "#sku-0", "ALP-GREY").await;
        fill(&b, "#price-0-USD", "12.345").await;
        click(&b, "#save").await;
        assert!(text_of(&b, "#error").await.contains("at most 2 decimals"));
        let kept = b
            .find(Locator::Css("#sku-0"))
            .await
            .expect("sku field")
            .prop("value")
            .await
            .expect("value");
        assert_eq!(kept.as_deref(), Some("ALP-GREY"));

        fill(&b, "#slug", &slug).await;
        fill(&b, "#options", "Colour: Grey, Navy").await;
        fill(&b, "#opts-0", "Colour=Grey").await;
        fill(&b, "#price-0-USD", "49.90").await;
        fill(&b, "#sku-1", "ALP-NAVY").await;
        fill(&b, "#opts-1", "Colour=Navy").await;
        fill(&b, "#price-1-USD", "52").await;
        fill(&b, "#compare-1-USD", "60.00").await;
        fill(&b, "#price-1-EUR", "48.50").await;
        click(&b, "#save").await;
        assert_eq!(text_of(&b, "#done").await, "Created.");
        assert_eq!(text_of(&b, "h1").await, "Alpaca Scarf");
        *seen.lock().expect("lock") = b.current_url().await.expect("url").to_string();

        // The German text and its SEO title.
        fill(&b, "#title-de", "Alpaka-Schal").await;
        fill(&b, "#description-de", "Weich und warm.").await;
        fill(&b, "#meta_title-de", "Alpaka-Schal kaufen").await;
        click(&b, "#save").await;
        assert_eq!(text_of(&b, "#done").await, "Saved.");

        // A picture, with its alt text.
        b.find(Locator::Css("#file"))
            .await
            .expect("file field")
            .send_keys(picture.to_str().expect("path"))
            .await
            .expect("picked");
        fill(&b, "#alt", "A grey alpaca scarf").await;
        click(&b, "#upload").await;
        assert_eq!(text_of(&b, "#done").await, "Image added.");
        assert!(
            b.find(Locator::Css("#images img[alt='A grey alpaca scarf']"))
                .await
                .is_ok()
        );

        // A third variant added on the edit page; then published.
        fill(&b, "#sku-2", "ALP-GREY-2").await;
        fill(&b, "#opts-2", "Colour=Navy").await;
        fill(&b, "#price-2-USD", "10").await;
        click(&b, "#save-variants").await;
        assert!(
            text_of(&b, "#error").await.contains("option combination"),
            "the same colour twice"
        );
        click(&b, "#publish").await;
        assert_eq!(text_of(&b, "#done").await, "Published.");
        assert_eq!(text_of(&b, "#product-status").await, "published");
        screenshot(&b, "admin-product.png").await;

        b.goto(&app.url("/admin/audit?action=admin.product."))
            .await
            .expect("audit");
        let audit = text_of(&b, "#audit").await;
        for action in [
            "admin.product.create",
            "admin.product.update",
            "admin.product.image.add",
            "admin.product.status",
        ] {
            assert!(audit.contains(action), "{action} in {audit}");
        }

        // The store API shows what the console made, in German too.
        let product = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/products/{slug}?lang=de&currency=USD"),
                None,
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(product["title"], "Alpaka-Schal");
        assert_eq!(product["seo"]["meta_title"], "Alpaka-Schal kaufen");
        let variants = product["variants"].as_array().expect("variants");
        assert_eq!(variants.len(), 2);
        let navy = variants
            .iter()
            .find(|v| v["sku"] == "ALP-NAVY")
            .expect("navy");
        assert_eq!(navy["price"]["amount"], 5200);
        assert_eq!(navy["compare_at_price"]["amount"], 6000);
        assert_eq!(navy["options"]["Colour"], "Navy");
        let images = product["images"].as_array().expect("images");
        assert_eq!(images.len(), 1);
        let euro = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/products/{slug}?currency=EUR"),
                None,
                None,
            )
            .await,
            200,
        )
        .await;
        let navy = euro["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .find(|v| v["sku"] == "ALP-NAVY")
            .cloned()
            .expect("navy");
        assert_eq!(navy["price"]["amount"], 4850);
    })
    .await;
    if ran.is_some() {
        assert!(created.lock().expect("lock").contains("/admin/products/"));
    }
}

#[tokio::test]
async fn bulk_edit_moves_200_variant_prices_by_a_percentage_in_one_go() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let sizes = ["XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL", "5XL", "6XL"];
    let mut products = Vec::new();
    for i in 0..20 {
        products.push(
            app.product(&admin, &format!("Bulk Tee {i:02}"), &sizes, 2500, 5)
                .await,
        );
    }
    let restocked = products[3].variants[4].clone();
    app.product(&admin, "Sold Out Cap", &["One"], 1500, 0).await;

    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/products?stock=out").await;
        let sold_out = text_of(&b, "#products").await;
        assert!(sold_out.contains("Sold Out Cap"), "{sold_out}");
        assert!(!sold_out.contains("Bulk Tee"), "{sold_out}");
        b.goto(&app.url("/admin/products?stock=in&q=cap"))
            .await
            .expect("in stock");
        assert!(text_of(&b, "#products").await.contains("No products match"));
        b.goto(&app.url("/admin/products?q=bulk+tee"))
            .await
            .expect("the tees");
        assert!(text_of(&b, "#products").await.contains("Bulk Tee 19"));
        click(&b, "#bulk-page").await;
        assert_eq!(text_of(&b, "h1").await, "Bulk edit");
        assert!(
            text_of(&b, "main")
                .await
                .contains("200 variants of 20 products")
        );
        fill(&b, "#percent", "-10").await;
        fill(&b, &format!("input[name='available.{restocked}']"), "12").await;
        click(&b, "#apply-bulk").await;
        assert_eq!(
            text_of(&b, "#done").await,
            "200 prices, 0 statuses and 1 stock levels changed."
        );
        // The page shows the new figures.
        let price = b
            .find(Locator::Css(&format!("input[name='price.{restocked}']")))
            .await
            .expect("price field")
            .prop("value")
            .await
            .expect("value");
        assert_eq!(price.as_deref(), Some("22.50"));

        for product in &products {
            let seen = json_of(
                app.call(
                    Method::GET,
                    &format!("/api/v1/products/{}", product.slug),
                    None,
                    None,
                )
                .await,
                200,
            )
            .await;
            for v in seen["variants"].as_array().expect("variants") {
                assert_eq!(v["price"]["amount"], 2250, "{}", v["sku"]);
            }
        }
        let stock = app.stock(&admin, &restocked).await;
        assert_eq!(stock["on_hand"], 12, "{stock}");
    })
    .await;
    let _ = ran;
}

/// `csp_violations_total` summed over its directives, as `/metrics` shows it.
async fn csp_violations(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("csp_violations_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// An endpoint (off, so nothing is sent anywhere) with one delivery: a test event.
async fn webhook_with_a_delivery(app: &TestApp, admin: &Session) -> (String, String) {
    let token = Some(admin.access_token.as_str());
    let created = json_of(
        app.call(
            Method::POST,
            "/api/v1/admin/webhooks",
            token,
            Some(&json!({"url": "https://erp.example.com/hooks", "enabled": false})),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_string();
    let sent = json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{id}/test"),
            token,
            None,
        )
        .await,
        202,
    )
    .await;
    (id, sent["id"].as_str().expect("delivery id").to_string())
}

#[tokio::test]
async fn every_console_page_loads_only_from_this_node_without_a_policy_violation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let order = paid_order(&app, &admin).await;
    let number = order["number"].as_i64().expect("number");
    let sku = order["lines"][0]["sku"].as_str().expect("sku").to_string();
    let customer = app.customer().await;
    let product = app.product(&admin, "Canvas Tote", &["One"], 1500, 3).await;
    let category = json_of(
        app.call(
            Method::POST,
            "/api/v1/admin/categories",
            Some(&admin.access_token),
            Some(&json!({"slug": "bags", "translations": {"en": {"name": "Bags"}}})),
        )
        .await,
        201,
    )
    .await;
    let category = category["id"].as_str().expect("category id").to_string();
    let (webhook, delivery) = webhook_with_a_delivery(&app, &admin).await;
    let before = csp_violations(&app).await;

    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin").await;
        let pages = [
            "/admin".to_string(),
            "/admin/orders?status=paid".to_string(),
            format!("/admin/orders/{number}"),
            format!("/admin/orders/{number}/packing-slip"),
            format!("/admin/orders/{number}/invoice"),
            "/admin/products".to_string(),
            "/admin/products/new".to_string(),
            format!("/admin/products/{}", product.id),
            format!("/admin/products/bulk?id={}", product.id),
            "/admin/products/import".to_string(),
            "/admin/categories".to_string(),
            format!("/admin/categories/{category}"),
            "/admin/inventory".to_string(),
            format!("/admin/inventory?sku={sku}"),
            "/admin/customers".to_string(),
            format!("/admin/customers/{}", customer.user_id),
            "/admin/audit".to_string(),
            "/admin/settings".to_string(),
            "/admin/staff".to_string(),
            "/admin/inventory/locations".to_string(),
            "/admin/collections".to_string(),
            "/admin/settings/emails/order_confirmation?lang=de".to_string(),
            "/admin/shipping".to_string(),
            "/admin/webhooks".to_string(),
            format!("/admin/webhooks/{webhook}"),
            format!("/admin/webhooks/{webhook}/deliveries/{delivery}"),
            "/admin/api-keys".to_string(),
        ];
        let here = app.url("");
        // A phone's width: every page must fit it without scrolling sideways (wide
        // tables scroll inside their own box).
        b.set_window_size(360, 800).await.expect("narrow window");
        for path in &pages {
            b.goto(&app.url(path)).await.expect("page");
            let overflow: Value = b
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                    vec![],
                )
                .await
                .expect("widths");
            if overflow.as_i64().unwrap_or(0) > 0 {
                let culprits: Value = b
                    .execute(
                        "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll') && (e.getBoundingClientRect().right > w + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)",
                        vec![],
                    )
                    .await
                    .expect("culprits");
                panic!("{path} is {overflow} px wider than a 360 px screen: {culprits}");
            }
            let heading = text_of(&b, "h1").await;
            assert!(
                !heading.is_empty() && heading != "Not allowed" && heading != "Not found",
                "{path}: {heading}"
            );
            // The console runs no script at all, so no script can fail.
            let scripts = b
                .find_all(Locator::Css("script"))
                .await
                .expect("scripts");
            assert!(scripts.is_empty(), "{path} has a script");
            let origins: Value = b
                .execute(
                    "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)",
                    vec![],
                )
                .await
                .expect("resources");
            for origin in origins.as_array().expect("list") {
                let origin = origin.as_str().expect("origin");
                assert!(here.starts_with(origin), "{path} loaded from {origin}");
            }
        }
        // A canary: a request elsewhere is blocked and its report arrives, so the
        // count below would have seen any page's violation.
        b.execute(
            "fetch('https://cdn.example.invalid/lib.js').catch(() => {}); return true",
            vec![],
        )
        .await
        .expect("canary");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while csp_violations(&app).await == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the canary's report never arrived"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            csp_violations(&app).await,
            before + 1,
            "only the canary was blocked"
        );
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn staff_arrange_categories_and_import_products_from_a_csv_file() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let files = tempfile::tempdir().expect("temp dir");
    let csv = files.path().join("products.csv");
    std::fs::write(
        &csv,
        "Handle,Title,Status,Option1 Name,Option1 Value,Variant SKU,Variant Grams,Variant Price\n\
         csv-linen-shirt,Linen Shirt,published,Size,M,CSV-LS-M,250,25.00\n\
         csv-linen-shirt,Linen Shirt,published,Size,L,CSV-LS-L,270,25.00\n\
         csv-wool-hat,Wool Hat,published,Size,One,CSV-WH-1,90,19.50\n\
         csv-broken,Broken Thing,published,Size,One,CSV-BR-1,90,twelve\n",
    )
    .expect("csv written");

    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/categories").await;
        assert_eq!(text_of(&b, "h1").await, "Categories");
        for (name, slug, under) in [
            ("Clothing", "clothing", ""),
            ("Shoes", "shoes", ""),
            ("Shirts", "shirts", "Clothing"),
        ] {
            fill(&b, "#name", name).await;
            fill(&b, "#slug", slug).await;
            if !under.is_empty() {
                b.find(Locator::Css("#parent_id"))
                    .await
                    .expect("parent picker")
                    .select_by_label(under)
                    .await
                    .expect("parent picked");
            }
            click(&b, "#add-category").await;
            assert_eq!(text_of(&b, "#done").await, format!("Added {name}."));
        }
        let tree = text_of(&b, "#tree").await;
        assert!(
            tree.find("Clothing") < tree.find("Shirts") && tree.find("Shirts") < tree.find("Shoes"),
            "{tree}"
        );
        click(&b, "button[aria-label='Move Shoes up']").await;
        let tree = text_of(&b, "#tree").await;
        assert!(tree.find("Shoes") < tree.find("Clothing"), "{tree}");

        click(&b, "#category-shirts a").await;
        fill(&b, "#name-de", "Hemden").await;
        click(&b, "#save").await;
        assert_eq!(text_of(&b, "#done").await, "Saved.");
        let shirts = json_of(
            app.call(Method::GET, "/api/v1/categories/shirts?lang=de", None, None)
                .await,
            200,
        )
        .await;
        assert_eq!(shirts["name"], "Hemden");
        json_of(
            app.call(
                Method::POST,
                "/api/v1/admin/products",
                Some(&admin.access_token),
                Some(
                    &json!({"slug": "oxford-shirt", "category_ids": [shirts["id"]],
                             "translations": {"en": {"title": "Oxford Shirt"}},
                             "variants": [{"sku": "OX-1", "prices": {"USD": {"amount": 3000}}}]}),
                ),
            )
            .await,
            201,
        )
        .await;
        b.goto(&app.url("/admin/products")).await.expect("products");
        b.find(Locator::Css("#category"))
            .await
            .expect("category filter")
            .select_by_label("— Shirts")
            .await
            .expect("picked");
        click(&b, "#apply").await;
        assert!(text_of(&b, "#products").await.contains("Oxford Shirt"));
        b.goto(&app.url("/admin/products?category=shoes"))
            .await
            .expect("shoes");
        assert!(!text_of(&b, "#products").await.contains("Oxford Shirt"));

        // The CSV: two products go in, the one with a bad price is refused with its row.
        b.goto(&app.url("/admin/products")).await.expect("products");
        click(&b, "#import-link").await;
        b.find(Locator::Css("#file"))
            .await
            .expect("file field")
            .send_keys(csv.to_str().expect("path"))
            .await
            .expect("picked");
        click(&b, "#import").await;
        assert_eq!(text_of(&b, "#created").await, "2");
        assert_eq!(text_of(&b, "#refused").await, "1");
        let errors = text_of(&b, "#row-errors").await;
        assert!(errors.contains("csv-broken"), "{errors}");
        let hat = json_of(
            app.call(Method::GET, "/api/v1/products/csv-wool-hat", None, None)
                .await,
            200,
        )
        .await;
        assert_eq!(hat["variants"][0]["price"]["amount"], 1950);

        // The export carries what was imported, for the signed-in session only.
        let cookie = b
            .get_named_cookie(emporium_admin::session::COOKIE)
            .await
            .expect("session cookie");
        let export = app
            .client
            .get(app.url("/admin/products/export.csv"))
            .header("cookie", format!("{}={}", cookie.name(), cookie.value()))
            .send()
            .await
            .expect("export");
        assert_eq!(export.status(), 200);
        let text = export.text().await.expect("csv");
        assert!(
            text.contains("CSV-LS-L") && text.contains("csv-wool-hat"),
            "{text}"
        );
        let anonymous = app
            .client
            .get(app.url("/admin/products/export.csv"))
            .send()
            .await
            .expect("export");
        let shown = anonymous.text().await.expect("page");
        assert!(!shown.contains("CSV-LS-L"), "signed out: the sign-in page");
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn staff_set_exchange_rates_tax_rates_and_write_only_gateway_keys() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/settings").await;
        assert_eq!(text_of(&b, "h1").await, "Settings");
        assert!(menu(&b).await.contains("Settings"));
        assert!(text_of(&b, "#store").await.contains("USD"));

        fill(&b, "#rate-EUR", "0.92").await;
        click(&b, "#save-rate-EUR").await;
        assert!(text_of(&b, "#done").await.contains("EUR"), "rate saved");

        fill(&b, "#tax-name", "VAT").await;
        fill(&b, "#tax-country", "DE").await;
        fill(&b, "#tax-rate", "19").await;
        click(&b, "#save-tax").await;
        let taxes = text_of(&b, "#tax-rates").await;
        assert!(taxes.contains("VAT") && taxes.contains("19"), "{taxes}");

        b.find(Locator::Css("#enabled-stripe"))
            .await
            .expect("stripe switch")
            .click()
            .await
            .expect("ticked");
        fill(&b, "#stripe-secret_key", "sk_test_console_secret").await;
        fill(&b, "#stripe-webhook_secret", "whsec_console_secret").await;
        click(&b, "#save-stripe").await;
        assert_eq!(text_of(&b, "#done").await, "stripe is on.");
        let page = b.source().await.expect("source");
        assert!(
            !page.contains("sk_test_console_secret"),
            "a secret is never shown"
        );
        assert!(text_of(&b, "#gateway-stripe").await.contains("secret_key"));

        click(&b, "button[aria-label='Remove VAT']").await;
        assert_eq!(text_of(&b, "#done").await, "Tax rate removed.");
        assert!(!text_of(&b, "#tax-rates").await.contains("VAT"));

        // What the API sees, and what the audit log keeps (never a secret).
        let gateways = json_of(
            app.call(
                Method::GET,
                "/api/v1/admin/payment-gateways",
                Some(&admin.access_token),
                None,
            )
            .await,
            200,
        )
        .await;
        let stripe = gateways
            .as_array()
            .expect("gateways")
            .iter()
            .find(|g| g["provider"] == "stripe")
            .cloned()
            .expect("stripe");
        assert_eq!(stripe["enabled"], true);
        b.goto(&app.url("/admin/audit?action=admin.settings."))
            .await
            .expect("audit");
        let audit = text_of(&b, "#audit").await;
        assert!(audit.contains("admin.settings.gateway"), "{audit}");

        // Every email, previewed with made-up values, in each language.
        b.goto(&app.url("/admin/settings")).await.expect("settings");
        click(&b, "#emails-link").await;
        click(&b, "#preview-order_confirmation-de").await;
        assert!(text_of(&b, "#subject").await.contains("1042"));
        assert!(text_of(&b, "#body").await.contains("Linen Shirt"));
        click(&b, "#preview-staff_invite-en").await;
        assert!(text_of(&b, "#subject").await.contains("invited"));
        assert!(
            !b.source()
                .await
                .expect("source")
                .contains("sk_test_console_secret")
        );
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn an_invited_staff_member_chooses_a_password_and_sees_only_what_they_were_given() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let hire = format!("new-hire-{}@example.com", now());
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/staff").await;
        assert_eq!(text_of(&b, "h1").await, "Staff");
        assert!(text_of(&b, "#staff").await.contains(&admin.email));
        fill(&b, "#invite-email", &hire).await;
        for perm in ["orders.read", "products.read"] {
            b.find(Locator::Css(&format!(
                "#invite-{}",
                perm.replace('.', "\\.")
            )))
            .await
            .expect("permission box")
            .click()
            .await
            .expect("ticked");
        }
        click(&b, "#send-invite").await;
        assert!(text_of(&b, "#done").await.contains("Invited"));
        assert!(text_of(&b, "#staff").await.contains("invited"));

        // The invitation's link sets the password (the reset-password page's API).
        app.drain_outbox().await;
        let mail = app.smtp.mails_to(&hire).pop().expect("invitation");
        assert!(mail.subject().contains("invited"), "{}", mail.subject());
        let token = mail.link_param("token").expect("token");
        let password = "the new hire's own passphrase";
        let set = app
            .post_json(
                "/api/v1/auth/password/reset",
                &json!({"token": token, "password": password}),
            )
            .await;
        assert_eq!(set.status(), 204);

        click(&b, ".signout button").await;
        b.goto(&app.url("/admin")).await.expect("console");
        fill(&b, "#email", &hire).await;
        fill(&b, "#password", password).await;
        click(&b, "#sign-in").await;
        let menu = menu(&b).await;
        assert!(
            menu.contains("Orders") && menu.contains("Products"),
            "{menu}"
        );
        assert!(
            !menu.contains("Staff") && !menu.contains("Settings"),
            "{menu}"
        );
        b.goto(&app.url("/admin/staff")).await.expect("staff page");
        assert_eq!(text_of(&b, "h1").await, "Not allowed");
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn staff_add_a_stock_location_and_set_backorders_and_a_restock_date() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk Lamp", &["One"], 4500, 2).await;
    let variant = lamp.variants[0].clone();
    // The test shop names a variant's SKU after its product's slug and its size.
    let sku = format!("{}-One", lamp.slug);

    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/inventory/locations").await;
        assert_eq!(text_of(&b, "h1").await, "Stock locations");
        fill(&b, "#new-name", "Berlin").await;
        fill(&b, "#new-code", "berlin").await;
        fill(&b, "#new-priority", "5").await;
        fill(&b, "#new-countries", "DE, AT").await;
        click(&b, "#add-location").await;
        assert_eq!(text_of(&b, "#done").await, "Berlin saved.");
        assert!(b.find(Locator::Css("#location-berlin")).await.is_ok());

        b.goto(&app.url(&format!("/admin/inventory?sku={sku}")))
            .await
            .expect("variant");
        b.find(Locator::Css("#location"))
            .await
            .expect("location picker")
            .select_by_label("Berlin")
            .await
            .expect("picked");
        fill(&b, "#delta", "4").await;
        fill(&b, "#adjust-reason", "first delivery").await;
        click(&b, "#adjust").await;
        let levels = text_of(&b, "#levels").await;
        assert!(levels.contains("Berlin"), "{levels}");

        b.find(Locator::Css("#allow_backorder"))
            .await
            .expect("backorder box")
            .click()
            .await
            .expect("ticked");
        fill(&b, "#backorder_limit", "5").await;
        fill(&b, "#threshold", "3").await;
        click(&b, "#save-policy").await;
        assert_eq!(text_of(&b, "#done").await, "Selling rules saved.");

        b.execute(
            "document.getElementById('restock_on').value = '2026-12-24'; return true",
            vec![],
        )
        .await
        .expect("date set");
        fill(&b, "#incoming", "20").await;
        click(&b, "#save-restock").await;
        assert_eq!(text_of(&b, "#done").await, "Restock saved.");

        let stock = app.stock(&admin, &variant).await;
        assert_eq!(stock["on_hand"], 6, "{stock}");
        assert_eq!(stock["allow_backorder"], true);
        assert_eq!(stock["backorder_limit"], 5);
        assert_eq!(stock["low_stock_threshold"], 3);
        assert_eq!(stock["incoming"], 20);
        assert!(
            stock["restock_expected_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("2026-12-24")),
            "{stock}"
        );
        let berlin = stock["levels"]
            .as_array()
            .expect("levels")
            .iter()
            .find(|l| l["on_hand"] == 4)
            .cloned();
        assert!(berlin.is_some(), "four units at Berlin: {stock}");
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn staff_make_a_hand_picked_collection_and_one_by_rule() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (slug, title, tags, price) in [
        ("enamel-mug", "Enamel Mug", vec!["mugs"], 1200),
        ("stoneware-mug", "Stoneware Mug", vec!["mugs"], 3400),
        ("oak-bowl", "Oak Bowl", vec![], 2500),
    ] {
        app.published_product(
            &admin,
            &json!({"slug": slug, "tags": tags, "translations": {"en": {"title": title}},
                    "variants": [{"sku": slug, "prices": {"USD": {"amount": price}}}]}),
        )
        .await;
    }
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/collections").await;
        assert_eq!(text_of(&b, "h1").await, "Collections");
        fill(&b, "#name", "Gifts").await;
        fill(&b, "#slug", "gifts").await;
        fill(&b, "#products", "oak-bowl\nenamel-mug").await;
        click(&b, "#add-collection").await;
        assert_eq!(text_of(&b, "#done").await, "Added Gifts.");

        fill(&b, "#name", "Cheap mugs").await;
        fill(&b, "#slug", "cheap-mugs").await;
        b.find(Locator::Css("#kind"))
            .await
            .expect("kind")
            .select_by_value("rule")
            .await
            .expect("by rule");
        fill(&b, "#tag", "mugs").await;
        fill(&b, "#price_max", "20.00").await;
        click(&b, "#add-collection").await;
        assert_eq!(text_of(&b, "#done").await, "Added Cheap mugs.");
        let list = text_of(&b, "#collections").await;
        assert!(list.contains("2 products picked"), "{list}");
        assert!(list.contains("tagged mugs, up to 20.00"), "{list}");

        // A slug that names no product is refused, naming it.
        let gifts = b
            .find(Locator::LinkText("Gifts"))
            .await
            .expect("the gifts link")
            .attr("href")
            .await
            .expect("href")
            .expect("an address");
        b.goto(&app.url(&gifts)).await.expect("gifts");
        fill(&b, "#products", "oak-bowl\nno-such-thing").await;
        click(&b, "#save").await;
        assert!(text_of(&b, "#error").await.contains("no-such-thing"));

        let titles = |v: Value| -> Vec<String> {
            v["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|p| p["title"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let gifts = json_of(app.get("/api/v1/products?collection=gifts").await, 200).await;
        let mut gifts = titles(gifts);
        gifts.sort();
        assert_eq!(gifts, ["Enamel Mug", "Oak Bowl"]);
        let cheap = json_of(app.get("/api/v1/products?collection=cheap-mugs").await, 200).await;
        assert_eq!(titles(cheap), ["Enamel Mug"]);
    })
    .await;
    let _ = ran;
}

async fn shipping_zones(app: &TestApp, admin: &Session) -> Value {
    json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/shipping-zones",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await
}

#[tokio::test]
async fn staff_add_a_shipping_zone_with_a_weight_priced_method() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ran = Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/settings").await;
        click(&b, "#shipping-link").await;
        assert_eq!(text_of(&b, "h1").await, "Shipping");
        fill(&b, "#zone-name", "Germany").await;
        fill(&b, "#zone-countries", "de").await;
        click(&b, "#add-zone").await;
        assert_eq!(text_of(&b, "#done").await, "Germany saved.");

        let listed = shipping_zones(&app, &admin).await;
        let germany = listed
            .as_array()
            .expect("zones")
            .iter()
            .find(|z| z["name"] == "Germany")
            .cloned()
            .expect("the new zone");
        assert_eq!(germany["countries"], json!(["DE"]));
        let id = germany["id"].as_str().expect("zone id");

        fill(&b, &format!("#new-m-name-{id}"), "DHL Paket").await;
        b.find(Locator::Css(&format!("#new-m-kind-{id}")))
            .await
            .expect("kind")
            .select_by_value("weight")
            .await
            .expect("by weight");
        fill(&b, &format!("#new-m-rates-{id}"), "500: 4.90\n*: 12.00").await;
        fill(&b, &format!("#new-m-free-{id}"), "50").await;
        fill(&b, &format!("#new-m-min-{id}"), "1").await;
        fill(&b, &format!("#new-m-max-{id}"), "3").await;
        click(&b, &format!("#add-method-{id}")).await;
        assert_eq!(text_of(&b, "#done").await, "DHL Paket added.");

        // A table that does not read is refused with the reason.
        fill(&b, &format!("#new-m-name-{id}"), "Broken").await;
        fill(&b, &format!("#new-m-rates-{id}"), "lots").await;
        click(&b, &format!("#add-method-{id}")).await;
        assert!(text_of(&b, "#error").await.contains("lots"));

        let listed = shipping_zones(&app, &admin).await;
        let method = listed
            .as_array()
            .expect("zones")
            .iter()
            .find(|z| z["name"] == "Germany")
            .and_then(|z| z["methods"].as_array().cloned())
            .and_then(|m| m.first().cloned())
            .expect("the method");
        assert_eq!(method["name"], "DHL Paket");
        assert_eq!(method["free_over"], 5000);
        assert_eq!(
            method["rates"],
            json!({"kind": "weight", "tiers": [{"up_to_grams": 500, "amount": 490},
                                               {"up_to_grams": null, "amount": 1200}]})
        );
        assert_eq!(method["active"], true);
    })
    .await;
    let _ = ran;
}
