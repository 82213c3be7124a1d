//! The catalog: admin writes, validation, translations, currencies, slugs, ETags,
//! categories, sorting and pagination.

use emporium_testkit::{Session, TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    admin: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.call(method, path, Some(&admin.access_token), body.as_ref())
        .await
}

fn shirt(slug: &str, usd: i64) -> Value {
    json!({
        "slug": slug,
        "brand": "Acme",
        "tags": ["summer"],
        "attributes": {"material": "cotton"},
        "translations": {
            "en": {"title": "Relaxed Red Shirt", "description": "Soft cotton.", "meta_title": "Red shirt"},
            "de": {"title": "Lockeres rotes Hemd", "description": "Weiche Baumwolle."}
        },
        "options": [{"name": "size", "values": ["S", "M", "L"]}, {"name": "color", "values": ["red"]}],
        "variants": [
            {"sku": format!("{slug}-s"), "options": {"size": "S", "color": "red"}, "prices": {"USD": {"amount": usd, "compare_at": usd + 500}, "EUR": {"amount": 1850}}},
            {"sku": format!("{slug}-m"), "options": {"size": "M", "color": "red"}, "prices": {"USD": {"amount": usd + 100}}}
        ]
    })
}

async fn create(app: &TestApp, admin: &Session, body: Value) -> Value {
    let response = call(
        app,
        admin,
        Method::POST,
        "/api/v1/admin/products",
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201, "create product");
    response.json().await.expect("product")
}

async fn publish(app: &TestApp, admin: &Session, id: &str) {
    let response = call(
        app,
        admin,
        Method::POST,
        &format!("/api/v1/admin/products/{id}/publish"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn drafts_stay_hidden_until_published() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = create(&app, &admin, shirt("red-shirt", 1999)).await;
    assert_eq!(product["status"], "draft");
    assert_eq!(
        product["translations"]["de"]["title"],
        "Lockeres rotes Hemd"
    );
    assert_eq!(app.get("/api/v1/products/red-shirt").await.status(), 404);

    publish(&app, &admin, product["id"].as_str().expect("id")).await;
    let page: Value = app
        .get("/api/v1/products/red-shirt")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["title"], "Relaxed Red Shirt");
    assert_eq!(page["options"][0]["values"], json!(["S", "M", "L"]));
    assert_eq!(page["variants"].as_array().expect("variants").len(), 2);
    assert_eq!(
        page["variants"][0]["price"],
        json!({"amount": 1999, "currency": "USD"})
    );
    assert_eq!(page["variants"][0]["compare_at_price"]["amount"], 2499);
    assert_eq!(page["price"]["amount"], 1999);
    assert_eq!(page["attributes"]["material"], "cotton");
    assert!(
        page.get("translations").is_none(),
        "shoppers do not see admin fields"
    );

    let list: Value = app
        .get("/api/v1/products")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"][0]["slug"], "red-shirt");
    assert_eq!(list["data"][0]["price"]["amount"], 1999);

    let by_id = app
        .get(&format!(
            "/api/v1/products/{}",
            product["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(by_id.status(), 200);
    app.drain_outbox().await;
}

#[tokio::test]
async fn text_falls_back_to_the_default_language() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = create(&app, &admin, shirt("lang-shirt", 1999)).await;
    publish(&app, &admin, product["id"].as_str().expect("id")).await;

    let de = app.get("/api/v1/products/lang-shirt?lang=de").await;
    assert_eq!(de.headers()["content-language"], "de");
    assert_eq!(
        de.json::<Value>().await.expect("json")["title"],
        "Lockeres rotes Hemd"
    );
    let fr = app.get("/api/v1/products/lang-shirt?lang=fr").await;
    assert_eq!(
        fr.json::<Value>().await.expect("json")["title"],
        "Relaxed Red Shirt",
        "fr falls back to en"
    );
    let header = app
        .request(Method::GET, "/api/v1/products/lang-shirt")
        .header("accept-language", "de-AT, en;q=0.5")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        header.json::<Value>().await.expect("json")["title"],
        "Lockeres rotes Hemd"
    );
}

#[tokio::test]
async fn prices_are_explicit_or_converted_with_each_currencys_digits() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = create(&app, &admin, shirt("fx-shirt", 1999)).await;
    publish(&app, &admin, product["id"].as_str().expect("id")).await;
    for (currency, rate) in [("GBP", "0.79"), ("JPY", "149.5"), ("EUR", "0.92")] {
        let set = call(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/admin/exchange-rates/{currency}"),
            Some(json!({"rate": rate})),
        )
        .await;
        assert_eq!(set.status(), 200);
    }
    let eur: Value = app
        .get("/api/v1/products/fx-shirt?currency=EUR")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        eur["variants"][0]["price"],
        json!({"amount": 1850, "currency": "EUR"}),
        "explicit price wins"
    );
    assert_eq!(
        eur["variants"][1]["price"],
        json!({"amount": 1931, "currency": "EUR"}),
        "20.99 * 0.92 = 19.3108"
    );
    let jpy: Value = app
        .get("/api/v1/products/fx-shirt?currency=JPY")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        jpy["variants"][0]["price"],
        json!({"amount": 2989, "currency": "JPY"}),
        "19.99 * 149.5 = 2988.505 -> 2989"
    );
    let gbp: Value = app
        .get("/api/v1/products/fx-shirt?currency=gbp")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        gbp["variants"][0]["price"],
        json!({"amount": 1579, "currency": "GBP"}),
        "19.99 * 0.79 = 15.7921"
    );

    let bad = app.get("/api/v1/products/fx-shirt?currency=XYZ").await;
    assert_eq!(problem(bad, 422).await["errors"][0]["field"], "currency");
    let bad_rate = call(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/admin/exchange-rates/GBP",
        Some(json!({"rate": "-1"})),
    )
    .await;
    assert_eq!(problem(bad_rate, 422).await["errors"][0]["field"], "rate");
    let default_rate = call(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/admin/exchange-rates/USD",
        Some(json!({"rate": "1"})),
    )
    .await;
    assert_eq!(default_rate.status(), 404);
}

#[tokio::test]
async fn variants_must_match_the_options_and_be_unique() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut bad = shirt("bad-shirt", 1999);
    bad["variants"][1]["options"] = json!({"size": "XXL", "color": "red"});
    let response = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/admin/products",
        Some(bad),
    )
    .await;
    assert_eq!(
        problem(response, 422).await["errors"][0]["field"],
        "variants[1].options.size"
    );

    let mut twice = shirt("twice-shirt", 1999);
    twice["variants"][1]["options"] = json!({"size": "S", "color": "red"});
    let response = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/admin/products",
        Some(twice),
    )
    .await;
    assert_eq!(
        problem(response, 422).await["errors"][0]["field"],
        "variants[1].options"
    );

    let product = create(&app, &admin, shirt("ok-shirt", 1999)).await;
    let id = product["id"].as_str().expect("id");
    let dup = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/admin/products/{id}/variants"),
        Some(json!({"sku": "ok-shirt-other", "options": {"size": "S", "color": "red"}, "prices": {"USD": {"amount": 1}}})),
    )
    .await;
    assert_eq!(problem(dup, 409).await["code"], "duplicate_variant");
    let sku = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/admin/products/{id}/variants"),
        Some(json!({"sku": "ok-shirt-s", "options": {"size": "L", "color": "red"}, "prices": {"USD": {"amount": 1}}})),
    )
    .await;
    assert_eq!(problem(sku, 409).await["code"], "sku_taken");
    let added = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/admin/products/{id}/variants"),
        Some(json!({"sku": "ok-shirt-l", "options": {"size": "L", "color": "red"}, "prices": {"USD": {"amount": 1500}}})),
    )
    .await;
    assert_eq!(added.status(), 201);
    let view: Value = added.json().await.expect("json");
    assert_eq!(
        view["price"]["amount"], 1500,
        "the lowest price follows the new variant"
    );

    let narrowed = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/products/{id}"),
        Some(json!({"options": [{"name": "size", "values": ["S", "M"]}, {"name": "color", "values": ["red"]}]})),
    )
    .await;
    assert_eq!(problem(narrowed, 409).await["code"], "options_in_use");
}

#[tokio::test]
async fn bad_product_input_is_422_never_500() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let cases = [
        (
            json!({"translations": {"de": {"title": "Nur Deutsch"}}}),
            "translations.en",
        ),
        (
            json!({"translations": {"en": {"title": ""}}}),
            "translations.en.title",
        ),
        (
            json!({"translations": {"en": {"title": "X"}, "xx": {"title": "Y"}}}),
            "translations.xx",
        ),
        (
            json!({"slug": "Bad Slug", "translations": {"en": {"title": "X"}}}),
            "slug",
        ),
        (
            json!({"translations": {"en": {"title": "X"}}, "variants": [{"sku": "a", "prices": {"USD": {"amount": -5}}}]}),
            "variants[0].prices.USD.amount",
        ),
        (
            json!({"translations": {"en": {"title": "X"}}, "variants": [{"sku": "a", "prices": {"EUR": {"amount": 5}}}]}),
            "variants[0].prices.USD",
        ),
        (
            json!({"translations": {"en": {"title": "X"}}, "variants": [{"sku": "a b", "prices": {"USD": {"amount": 5}}}]}),
            "variants[0].sku",
        ),
        (
            json!({"translations": {"en": {"title": "X"}}, "category_ids": ["0190e0a0-0000-7000-8000-000000000000"]}),
            "category_ids",
        ),
        (json!({"translations": "nope"}), "translations"),
        (json!({}), "translations"),
    ];
    for (body, field) in cases {
        let response = call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/products",
            Some(body.clone()),
        )
        .await;
        let problem = problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    create(&app, &admin, shirt("taken", 100)).await;
    let again = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/admin/products",
        Some(shirt("taken", 100)),
    )
    .await;
    assert_eq!(again.status(), 409);
    let missing = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/admin/products/not-an-id",
        None,
    )
    .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_renamed_slug_redirects_and_etags_answer_304() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = create(&app, &admin, shirt("old-name", 1999)).await;
    let id = product["id"].as_str().expect("id");
    publish(&app, &admin, id).await;
    let renamed = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/products/{id}"),
        Some(json!({"slug": "new-name"})),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    let old = app.get("/api/v1/products/old-name").await;
    assert_eq!(old.status(), 301);
    assert_eq!(old.headers()["location"], "/api/v1/products/new-name");

    let first = app.get("/api/v1/products/new-name").await;
    let etag = first.headers()["etag"].to_str().expect("etag").to_string();
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("max-age")
    );
    let again = app
        .request(Method::GET, "/api/v1/products/new-name")
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 304);
    // A change makes a new ETag.
    call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/products/{id}"),
        Some(json!({"brand": "Other"})),
    )
    .await;
    let changed = app
        .request(Method::GET, "/api/v1/products/new-name")
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(changed.status(), 200);

    let other = create(&app, &admin, shirt("another", 1)).await;
    let steal = call(
        &app,
        &admin,
        Method::PATCH,
        &format!(
            "/api/v1/admin/products/{}",
            other["id"].as_str().expect("id")
        ),
        Some(json!({"slug": "old-name"})),
    )
    .await;
    assert_eq!(
        problem(steal, 409).await["code"],
        "slug_taken",
        "old slugs stay reserved for their redirect"
    );

    let deleted = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/admin/products/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get("/api/v1/products/new-name").await.status(), 404);
}

#[tokio::test]
async fn categories_form_a_tree_and_filter_lists_with_descendants() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let new_category = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = call(
                app,
                admin,
                Method::POST,
                "/api/v1/admin/categories",
                Some(body),
            )
            .await;
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.expect("category")["id"]
                .as_str()
                .expect("id")
                .to_string()
        }
    };
    let men =
        new_category(json!({"translations": {"en": {"name": "Men"}, "de": {"name": "Herren"}}}))
            .await;
    let shirts =
        new_category(json!({"parent_id": men, "translations": {"en": {"name": "Shirts"}}})).await;
    let women = new_category(json!({"translations": {"en": {"name": "Women"}}})).await;

    let mut in_shirts = shirt("cat-shirt", 1000);
    in_shirts["category_ids"] = json!([shirts]);
    let a = create(&app, &admin, in_shirts).await;
    let mut in_women = shirt("cat-dress", 2000);
    in_women["category_ids"] = json!([women]);
    let b = create(&app, &admin, in_women).await;
    for p in [&a, &b] {
        publish(&app, &admin, p["id"].as_str().expect("id")).await;
    }
    let tree: Value = app
        .get("/api/v1/categories?lang=de")
        .await
        .json()
        .await
        .expect("tree");
    let men_node = tree
        .as_array()
        .expect("roots")
        .iter()
        .find(|c| c["slug"] == "men")
        .expect("men");
    assert_eq!(men_node["name"], "Herren");
    assert_eq!(men_node["children"][0]["slug"], "shirts");

    let by_parent: Value = app
        .get("/api/v1/products?category=men")
        .await
        .json()
        .await
        .expect("list");
    let slugs: Vec<&str> = by_parent["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(
        slugs,
        ["cat-shirt"],
        "a parent lists its subcategories' products"
    );
    let page: Value = app
        .get("/api/v1/products/cat-shirt")
        .await
        .json()
        .await
        .expect("product");
    assert_eq!(page["categories"][0]["slug"], "shirts");

    let cycle = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/categories/{men}"),
        Some(json!({"parent_id": shirts})),
    )
    .await;
    assert_eq!(problem(cycle, 409).await["code"], "category_cycle");
    let with_children = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/admin/categories/{men}"),
        None,
    )
    .await;
    assert_eq!(
        problem(with_children, 409).await["code"],
        "category_has_children"
    );
    let unknown = app.get("/api/v1/products?category=nope").await;
    assert_eq!(
        problem(unknown, 422).await["errors"][0]["field"],
        "category"
    );
}

#[tokio::test]
async fn lists_sort_and_page_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let prices = [1500, 500, 2500, 1000, 2000];
    let titles = ["Echo", "Alpha", "Delta", "Bravo", "Charlie"];
    for (i, (price, title)) in prices.iter().zip(titles).enumerate() {
        let mut body = shirt(&format!("sort-{i}"), *price);
        body["translations"] = json!({"en": {"title": title}});
        let p = create(&app, &admin, body).await;
        publish(&app, &admin, p["id"].as_str().expect("id")).await;
    }
    async fn walk(app: &TestApp, sort: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/products?sort={sort}&limit=2&cursor={c}"),
                None => format!("/api/v1/products?sort={sort}&limit=2"),
            };
            let page: Value = app.get(&path).await.json().await.expect("page");
            out.extend(page["data"].as_array().expect("data").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
    let by_price: Vec<i64> = walk(&app, "price")
        .await
        .iter()
        .map(|p| p["price"]["amount"].as_i64().expect("amount"))
        .collect();
    assert_eq!(by_price, [500, 1000, 1500, 2000, 2500]);
    let by_price_desc: Vec<i64> = walk(&app, "-price")
        .await
        .iter()
        .map(|p| p["price"]["amount"].as_i64().expect("amount"))
        .collect();
    assert_eq!(by_price_desc, [2500, 2000, 1500, 1000, 500]);
    let by_title: Vec<String> = walk(&app, "title")
        .await
        .iter()
        .map(|p| p["title"].as_str().expect("title").to_string())
        .collect();
    assert_eq!(by_title, ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]);
    let newest: Vec<String> = walk(&app, "newest")
        .await
        .iter()
        .map(|p| p["slug"].as_str().expect("slug").to_string())
        .collect();
    assert_eq!(newest, ["sort-4", "sort-3", "sort-2", "sort-1", "sort-0"]);

    assert_eq!(
        problem(app.get("/api/v1/products?sort=best").await, 422).await["errors"][0]["field"],
        "sort"
    );
    assert_eq!(
        problem(app.get("/api/v1/products?cursor=%%%").await, 422).await["errors"][0]["field"],
        "cursor"
    );
    assert_eq!(
        problem(app.get("/api/v1/products?limit=0").await, 422).await["errors"][0]["field"],
        "limit"
    );
}

#[tokio::test]
async fn catalog_admin_routes_need_product_permissions() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let denied = app
        .call(
            Method::POST,
            "/api/v1/admin/products",
            Some(&customer.access_token),
            Some(&shirt("x", 1)),
        )
        .await;
    assert_eq!(denied.status(), 403);
    let reader = app.staff(&["products.read"]).await;
    let list = app
        .call(
            Method::GET,
            "/api/v1/admin/products?status=draft",
            Some(&reader.access_token),
            None,
        )
        .await;
    assert_eq!(list.status(), 200);
    let write = app
        .call(
            Method::POST,
            "/api/v1/admin/products",
            Some(&reader.access_token),
            Some(&shirt("x", 1)),
        )
        .await;
    assert_eq!(write.status(), 403);
}

#[tokio::test]
async fn the_demo_seed_builds_a_browsable_catalog() {
    let app = TestApp::spawn().await;
    let seen = std::sync::atomic::AtomicU64::new(0);
    app.state()
        .catalog
        .seed_demo(12, |n| seen.store(n, std::sync::atomic::Ordering::Relaxed))
        .await
        .expect("seeded");
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::Relaxed),
        12,
        "progress reported"
    );
    let page: Value = app
        .get("/api/v1/products?limit=100")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(page["data"].as_array().expect("data").len(), 12);
    let first: Value = app
        .get("/api/v1/products/relaxed-red-jacket-2?lang=de&currency=EUR")
        .await
        .json()
        .await
        .expect("product");
    assert_eq!(first["title"], "Relaxed Rot Jacke 2");
    assert_eq!(first["variants"].as_array().expect("variants").len(), 2);
    assert_eq!(first["price"]["currency"], "EUR");
    // Pictures drawn locally, one per colour, each with its thumbnails.
    let picture = &first["images"][0];
    assert_eq!(picture["alt"], "Relaxed Red Jacket 2");
    assert_eq!(
        picture["thumbnails"].as_object().expect("thumbnails").len(),
        2
    );
    let served = app
        .client
        .get(picture["url"].as_str().expect("url"))
        .send()
        .await
        .expect("image");
    assert_eq!(served.headers()["content-type"], "image/png");
    let men: Value = app
        .get("/api/v1/products?category=men&limit=100")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(
        men["data"].as_array().expect("data").len(),
        10,
        "shirts, jackets, sweaters, hoodies and jeans are under men; dresses are not"
    );
    // Every variant gets 100 units, once, with its ledger rows.
    let inventory = &app.state().inventory;
    assert_eq!(
        inventory.seed_stock(100, |_| {}).await.expect("stocked"),
        24
    );
    assert_eq!(inventory.seed_stock(100, |_| {}).await.expect("again"), 0);
    let admin = app.admin().await;
    let variant = first["variants"][0]["id"].as_str().expect("variant");
    let levels: Value = app
        .call(
            Method::GET,
            &format!("/api/v1/admin/inventory/{variant}"),
            Some(&admin.access_token),
            None,
        )
        .await
        .json()
        .await
        .expect("levels");
    assert_eq!(levels["on_hand"], 100, "{levels}");
}

#[tokio::test]
async fn every_node_drops_cached_pages_after_a_change_elsewhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = create(&app, &admin, shirt("cached-shirt", 1999)).await;
    let id = product["id"].as_str().expect("id");
    publish(&app, &admin, id).await;
    let other = app.sibling().await;
    let read = |url: String| {
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("sent")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(
        read(other.url("/api/v1/products/cached-shirt")).await["brand"],
        "Acme"
    );
    assert_eq!(
        read(app.url("/api/v1/products/cached-shirt")).await["brand"],
        "Acme"
    );

    let patched = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/products/{id}"),
        Some(json!({"brand": "Globex"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(
        read(app.url("/api/v1/products/cached-shirt")).await["brand"],
        "Globex",
        "the writing node at once"
    );
    // The other node follows the change log; poll rather than sleep a fixed time.
    let mut seen = String::new();
    for _ in 0..40 {
        seen = read(other.url("/api/v1/products/cached-shirt")).await["brand"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if seen == "Globex" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, "Globex", "the other node within a second");
}

#[tokio::test]
async fn a_product_change_drops_its_pages_and_the_lists_and_keeps_other_pages() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let kept = create(&app, &admin, shirt("kept-shirt", 1999)).await;
    let kept_id = kept["id"].as_str().expect("id").to_string();
    publish(&app, &admin, &kept_id).await;
    let edited = create(&app, &admin, shirt("edited-shirt", 2999)).await;
    let edited_id = edited["id"].as_str().expect("id").to_string();
    publish(&app, &admin, &edited_id).await;
    let read = |path: &'static str| {
        let app = &app;
        async move { app.get(path).await.json::<Value>().await.expect("json") }
    };
    let brands = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|p| p["brand"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(read("/api/v1/products/kept-shirt").await["brand"], "Acme");
    assert_eq!(brands(&read("/api/v1/products").await), ["Acme", "Acme"]);

    // Behind the cache's back (no change logged), so only a dropped entry shows it.
    let kept_uuid: uuid::Uuid = kept_id.parse().expect("uuid");
    emporium_db::entity::products::Entity::update_many()
        .col_expr(
            emporium_db::entity::products::Column::Brand,
            Expr::value("Unlogged"),
        )
        .filter(emporium_db::entity::products::Column::Id.eq(kept_uuid))
        .exec(app.state().db.writer())
        .await
        .expect("direct update");
    let patched = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/products/{edited_id}"),
        Some(json!({"brand": "Globex"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(
        read("/api/v1/products/edited-shirt").await["brand"],
        "Globex"
    );
    assert_eq!(
        read("/api/v1/products/kept-shirt").await["brand"],
        "Acme",
        "another product's page stays cached"
    );
    assert_eq!(
        brands(&read("/api/v1/products").await),
        ["Globex", "Unlogged"],
        "lists are read again"
    );

    // A change of another kind (a category) drops everything.
    let category = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/admin/categories",
        Some(json!({"translations": {"en": {"name": "Tees"}}})),
    )
    .await;
    assert_eq!(category.status(), 201);
    assert_eq!(
        read("/api/v1/products/kept-shirt").await["brand"],
        "Unlogged"
    );
}

#[tokio::test]
async fn admin_title_search_treats_wildcards_as_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (slug, title) in [
        ("pure-tee", "100% Cotton Tee"),
        ("plain-tee", "1000 Cotton Tee"),
    ] {
        let body = json!({
            "slug": slug,
            "translations": {"en": {"title": title}},
            "options": [{"name": "size", "values": ["M"]}],
            "variants": [{"sku": slug, "options": {"size": "M"}, "prices": {"USD": {"amount": 1000}}}],
        });
        create(&app, &admin, body).await;
    }
    let response = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/admin/products?q=100%25",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("json");
    let slugs: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["pure-tee"]);
}
