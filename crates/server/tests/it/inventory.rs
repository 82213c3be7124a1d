//! Inventory: adjustments with reasons, refusals (below zero, unknown variant or
//! location), and a ledger whose sums always equal the levels.

use emporium_testkit::{TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn adjustments_are_checked_and_the_ledger_explains_every_level() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let jar = app.product(&admin, "Honey Jar", &["small"], 900, 0).await;
    let variant = &jar.variants[0];
    let path = format!("/api/v1/admin/inventory/{variant}/adjustments");
    let adjust = |body: Value| {
        let app = &app;
        let admin = &admin;
        let path = path.clone();
        async move {
            app.call(Method::POST, &path, Some(&admin.access_token), Some(&body))
                .await
        }
    };

    // A deterministic but irregular sequence of receipts, write-offs and sales.
    let mut expected = 0i64;
    let mut seed = 7u64;
    for step in 0..25 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delta = (seed >> 33) as i64 % 13 - 4;
        if delta == 0 {
            continue;
        }
        let response = adjust(json!({"delta": delta, "reason": format!("step {step}")})).await;
        if expected + delta < 0 {
            let body = problem(response, 409).await;
            assert_eq!(body["code"], "insufficient_stock");
        } else {
            assert_eq!(response.status(), 200, "step {step}");
            expected += delta;
        }
        if step % 5 == 0 && expected > 0 {
            let cart = app.guest_cart().await;
            let added = app.add_to_cart(&cart, variant, 1).await;
            assert_eq!(added.status(), 200);
            let placed = app.checkout(&cart, &format!("buy-{step}"), "US").await;
            assert_eq!(placed.status(), 201);
        }
    }
    let stock = app.stock(&admin, variant).await;
    assert_eq!(stock["on_hand"].as_i64(), Some(expected));

    let mut sums = (0i64, 0i64);
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/admin/inventory/{variant}/ledger?limit=7");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .call(Method::GET, &url, Some(&admin.access_token), None)
            .await
            .json()
            .await
            .expect("ledger");
        for row in page["data"].as_array().expect("rows") {
            sums.0 += row["on_hand_delta"].as_i64().unwrap_or(0);
            sums.1 += row["reserved_delta"].as_i64().unwrap_or(0);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        sums,
        (
            stock["on_hand"].as_i64().unwrap_or(-1),
            stock["reserved"].as_i64().unwrap_or(-1)
        )
    );

    // Bad input: never 500.
    problem(adjust(json!({"delta": 0, "reason": "nothing"})).await, 422).await;
    problem(adjust(json!({"delta": 1, "reason": ""})).await, 422).await;
    let body = problem(
        adjust(json!({"delta": 1, "reason": "x", "location_id": uuid::Uuid::now_v7()})).await,
        404,
    )
    .await;
    assert_eq!(body["code"], "not_found");
    let response = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/admin/inventory/{}/adjustments",
                uuid::Uuid::now_v7()
            ),
            Some(&admin.access_token),
            Some(&json!({"delta": 1, "reason": "x"})),
        )
        .await;
    problem(response, 404).await;
    // Inventory writes need their permission.
    let viewer = app.staff(&["products.read"]).await;
    let response = app
        .call(
            Method::POST,
            &path,
            Some(&viewer.access_token),
            Some(&json!({"delta": 1, "reason": "x"})),
        )
        .await;
    problem(response, 403).await;
}

#[tokio::test]
async fn product_pages_show_what_can_be_sold_now() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let chair = app
        .product(&admin, "Oak Chair", &["oak", "ash"], 12000, 0)
        .await;
    app.adjust_stock(&admin, &chair.variants[0], 1).await;
    let path = format!("/api/v1/products/{}", chair.slug);
    let page = || async { app.get(&path).await.json::<Value>().await.expect("json") };
    let view = page().await;
    assert_eq!(view["variants"][0]["available"], true);
    assert_eq!(
        view["variants"][1]["available"], false,
        "no stock, no backorders"
    );
    assert_eq!(view["available"], true);

    // The last one sells: every node's cached page learns it from the change log.
    let cart = app.guest_cart().await;
    assert_eq!(
        app.add_to_cart(&cart, &chair.variants[0], 1).await.status(),
        200
    );
    assert_eq!(app.checkout(&cart, "last-chair", "US").await.status(), 201);
    let started = std::time::Instant::now();
    loop {
        let view = page().await;
        if view["available"] == false {
            assert_eq!(view["variants"][0]["available"], false);
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{view}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
