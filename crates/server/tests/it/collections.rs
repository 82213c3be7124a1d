//! Collections: hand-picked and rule-based, translated, and filtering product lists.

use emporium_testkit::{TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn slugs(page: &Value) -> Vec<String> {
    let mut out: Vec<String> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|p| p["slug"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn collections_pick_products_by_hand_or_by_rule() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let mut ids = Vec::new();
    for (slug, price, tags) in [
        ("sun-hat", 2500, vec!["summer"]),
        ("beach-towel", 1500, vec!["summer", "sale"]),
        ("wool-scarf", 4000, vec!["winter"]),
        ("rain-coat", 9000, vec![]),
    ] {
        let body = json!({
            "slug": slug, "tags": tags,
            "translations": {"en": {"title": slug}},
            "options": [{"name": "size", "values": ["one"]}],
            "variants": [{"sku": slug, "options": {"size": "one"}, "prices": {"USD": {"amount": price}}}],
        });
        let product = app.published_product(&admin, &body).await;
        ids.push(product["id"].as_str().expect("id").to_string());
    }

    let response = app
        .call(
            Method::POST,
            "/api/v1/admin/collections",
            token,
            Some(&json!({
                "slug": "staff-picks", "kind": "manual", "product_ids": [ids[3], ids[0]],
                "translations": {"en": {"name": "Staff picks"}, "de": {"name": "Unsere Auswahl"}},
            })),
        )
        .await;
    assert_eq!(response.status(), 201);
    let picks: Value = response.json().await.expect("json");
    assert_eq!(picks["product_ids"], json!([ids[3], ids[0]]));
    let response = app
        .call(Method::POST, "/api/v1/admin/collections", token, Some(&json!({
            "slug": "cheap-summer", "kind": "rule", "rule": {"tag": "summer", "price_max": 2000},
            "translations": {"en": {"name": "Summer under 20"}},
        })))
        .await;
    assert_eq!(response.status(), 201);
    let rule: Value = response.json().await.expect("json");

    let page: Value = app
        .get("/api/v1/products?collection=staff-picks")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slugs(&page), ["rain-coat", "sun-hat"]);
    let page: Value = app
        .get("/api/v1/products?collection=cheap-summer")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slugs(&page), ["beach-towel"]);

    // Editing the rule changes the list at once (the node cache follows the change log).
    let path = format!(
        "/api/v1/admin/collections/{}",
        rule["id"].as_str().expect("id")
    );
    let response = app
        .call(
            Method::PATCH,
            &path,
            token,
            Some(&json!({"rule": {"tag": "summer"}})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let page: Value = app
        .get("/api/v1/products?collection=cheap-summer")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slugs(&page), ["beach-towel", "sun-hat"]);

    // Shoppers see them translated.
    let list: Value = app
        .get("/api/v1/collections?lang=de")
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains(&"Unsere Auswahl"), "{names:?}");
    assert!(
        names.contains(&"Summer under 20"),
        "falls back to the default language"
    );
    let one: Value = app
        .get("/api/v1/collections/staff-picks")
        .await
        .json()
        .await
        .expect("json");
    assert!(one["product_ids"].is_null(), "picks are for the admin view");

    // Bad input.
    for body in [
        json!({"kind": "rule", "translations": {"en": {"name": "x"}}}),
        json!({"kind": "rule", "rule": {}, "translations": {"en": {"name": "x"}}}),
        json!({"kind": "rule", "rule": {"price_min": 5, "price_max": 1}, "translations": {"en": {"name": "x"}}}),
        json!({"kind": "smart", "translations": {"en": {"name": "x"}}}),
        json!({"kind": "manual", "product_ids": [uuid::Uuid::now_v7()], "translations": {"en": {"name": "x"}}}),
        json!({"kind": "manual", "translations": {"de": {"name": "x"}}}),
    ] {
        let response = app
            .call(
                Method::POST,
                "/api/v1/admin/collections",
                token,
                Some(&body),
            )
            .await;
        problem(response, 422).await;
    }
    let response = app
        .call(
            Method::POST,
            "/api/v1/admin/collections",
            token,
            Some(&json!({
                "slug": "staff-picks", "kind": "manual", "translations": {"en": {"name": "Again"}},
            })),
        )
        .await;
    problem(response, 409).await;
    problem(app.get("/api/v1/products?collection=nope").await, 422).await;
    problem(app.get("/api/v1/collections/nope").await, 404).await;

    let response = app.call(Method::DELETE, &path, token, None).await;
    assert_eq!(response.status(), 204);
    problem(
        app.get("/api/v1/products?collection=cheap-summer").await,
        422,
    )
    .await;
}
