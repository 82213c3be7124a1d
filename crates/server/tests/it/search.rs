//! Search: typo tolerance, stemming per language, exact SKU hits first, filters and facet
//! counts checked against a brute-force count, near-real-time updates on every node, a
//! rebuild under load, suggestions, and bad input.

use emporium_testkit::{Session, TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn create(app: &TestApp, admin: &Session, body: Value) -> String {
    let product = app.published_product(admin, &body).await;
    product["id"].as_str().expect("id").to_string()
}

fn product(slug: &str, title: &str, price: i64) -> Value {
    json!({
        "slug": slug,
        "translations": {"en": {"title": title, "description": format!("{title}, made to last.")}},
        "options": [{"name": "size", "values": ["M"]}],
        "variants": [{"sku": format!("{slug}-m"), "options": {"size": "M"}, "prices": {"USD": {"amount": price}}}],
    })
}

async fn search(base: &str, client: &reqwest::Client, query: &str) -> Value {
    let response = client
        .get(format!("{base}/api/v1/search?{query}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "search {query}");
    response.json().await.expect("json")
}

fn ids(result: &Value) -> Vec<String> {
    result["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls until `check` holds on the search result; answers how long it took.
async fn within(
    base: &str,
    client: &reqwest::Client,
    query: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let result = search(base, client, query).await;
        if check(&result) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{query}: not within {limit:?}: {result}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn words_are_found_despite_typos_and_in_each_language() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let jacket = create(&app, &admin, json!({
        "slug": "relaxed-red-jacket",
        "translations": {
            "en": {"title": "Relaxed Red Jackets", "description": "A light jacket for running."},
            "de": {"title": "Lockere rote Jacke", "description": "Eine leichte Jacke."},
            "fr": {"title": "Veste rouge décontractée", "description": "Une veste légère."},
            "es": {"title": "Chaqueta roja holgada", "description": "Una chaqueta ligera."}
        },
        "options": [{"name": "size", "values": ["M"]}],
        "variants": [{"sku": "RRJ-M", "options": {"size": "M"}, "prices": {"USD": {"amount": 8900}}}],
    })).await;
    let tee = create(&app, &admin, product("cotton-tee", "Cotton T-Shirt", 1900)).await;
    let (base, client) = (app.base.clone(), app.client.clone());
    within(&base, &client, "q=jacket", Duration::from_secs(5), |r| {
        ids(r) == [jacket.clone()]
    })
    .await;
    // Both are indexed before the queries below (a loaded machine may index them in two
    // batches).
    within(&base, &client, "q=cotton", Duration::from_secs(5), |r| {
        ids(r) == [tee.clone()]
    })
    .await;

    for (query, want) in [
        ("q=jaket", &jacket),      // one letter missing
        ("q=jackte", &jacket),     // transposed
        ("q=jackets", &jacket),    // stemmed
        ("q=red+jacket", &jacket), // two words
        ("q=rde+jacket", &jacket), // short words must be exact: "rde" is not "red"...
        ("q=tshirt", &tee),        // "t-shirt" written as one word
        ("q=cotton+tshirts", &tee),
        ("q=jack", &jacket),           // the last word is a prefix
        ("q=jacken&lang=de", &jacket), // German stemming
        ("q=chaquetas&lang=es", &jacket),
        ("q=vestes&lang=fr", &jacket),
    ] {
        let result = search(&base, &client, query).await;
        if query.starts_with("q=rde") {
            assert!(ids(&result).is_empty(), "{query}: {result}");
            continue;
        }
        assert_eq!(ids(&result).first(), Some(want), "{query}: {result}");
    }
    // German text answers in German.
    let result = search(&base, &client, "q=jacke&lang=de").await;
    assert_eq!(result["hits"][0]["title"], "Lockere rote Jacke");
    // An empty query lists everything; newest first when asked.
    let result = search(&base, &client, "sort=newest").await;
    assert_eq!(result["total"], 2);
    assert_eq!(ids(&result), [tee.clone(), jacket.clone()]);
    // Text with no word in it finds nothing, not the whole catalog.
    for query in ["q=*", "q=-", "q=(", "q=%F0%9F%A7%A5", "q=%21%3F"] {
        let result = search(&base, &client, query).await;
        assert_eq!(result["total"], 0, "{query}: {result}");
        assert!(ids(&result).is_empty(), "{query}: {result}");
    }
}

#[tokio::test]
async fn an_exact_sku_comes_first() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..5 {
        create(
            &app,
            &admin,
            product(&format!("blue-mug-{i}"), "Blue Mug", 1200 + i),
        )
        .await;
    }
    let target = create(&app, &admin, product("plain-cup", "Plain Cup", 900)).await;
    let (base, client) = (app.base.clone(), app.client.clone());
    within(&base, &client, "q=cup", Duration::from_secs(5), |r| {
        r["total"] == 1
    })
    .await;
    let result = search(&base, &client, "q=PLAIN-CUP-M").await;
    assert_eq!(ids(&result).first(), Some(&target), "{result}");
    let result = search(&base, &client, "q=blue-mug-3-m").await;
    let first = &result["hits"][0];
    assert_eq!(first["slug"], "blue-mug-3");
    assert_eq!(first["price"], json!({"amount": 1203, "currency": "USD"}));
}

#[tokio::test]
async fn filters_and_facets_match_a_brute_force_count() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut categories = Vec::new();
    for slug in ["men", "women"] {
        let response = app
            .call(
                Method::POST,
                "/api/v1/admin/categories",
                Some(&admin.access_token),
                Some(&json!({"slug": slug, "translations": {"en": {"name": slug}}})),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        categories.push(body["id"].as_str().expect("id").to_string());
    }
    // Twelve shirts across categories, colours, materials and prices.
    let colors = ["red", "blue", "green"];
    let mut catalog = Vec::new();
    for i in 0..12i64 {
        let category = (i % 2) as usize;
        let color = colors[(i % 3) as usize];
        let material = if i % 4 == 0 { "linen" } else { "cotton" };
        let price = 1000 + i * 700;
        let body = json!({
            "slug": format!("shirt-{i}"),
            "category_ids": [categories[category]],
            "attributes": {"material": material},
            "translations": {"en": {"title": format!("Shirt number {i}")}},
            "options": [{"name": "color", "values": [color]}],
            "variants": [{"sku": format!("shirt-{i}"), "options": {"color": color}, "prices": {"USD": {"amount": price}}}],
        });
        create(&app, &admin, body).await;
        catalog.push((category, color, material, price));
    }
    let (base, client) = (app.base.clone(), app.client.clone());
    within(&base, &client, "q=shirt", Duration::from_secs(5), |r| {
        r["total"] == 12
    })
    .await;

    type Shirt<'a> = (usize, &'a str, &'a str, i64);
    type Keep = Box<dyn Fn(&Shirt<'_>) -> bool>;
    let cases: Vec<(&str, Keep)> = vec![
        ("q=shirt&category=men", Box::new(|p| p.0 == 0)),
        ("q=shirt&attr.color=red", Box::new(|p| p.1 == "red")),
        (
            "q=shirt&attr.material=linen&attr.color=red",
            Box::new(|p| p.2 == "linen" && p.1 == "red"),
        ),
        (
            "q=shirt&price_min=3000&price_max=7000",
            Box::new(|p| (3000..=7000).contains(&p.3)),
        ),
        (
            "category=women&price_max=5000",
            Box::new(|p| p.0 == 1 && p.3 <= 5000),
        ),
    ];
    for (query, keep) in cases {
        let matching: Vec<_> = catalog.iter().filter(|p| keep(p)).collect();
        let result = search(&base, &client, &format!("{query}&limit=100")).await;
        assert_eq!(result["total"], matching.len(), "{query}");
        assert_eq!(ids(&result).len(), matching.len(), "{query}");
        for color in colors {
            let expected = matching.iter().filter(|p| p.1 == color).count() as u64;
            let got = result["facets"]["attr.color"]
                .as_array()
                .and_then(|v| v.iter().find(|f| f["value"] == color))
                .and_then(|f| f["count"].as_u64())
                .unwrap_or(0);
            assert_eq!(got, expected, "{query}: color {color}");
        }
        for (i, slug) in ["men", "women"].iter().enumerate() {
            let expected = matching.iter().filter(|p| p.0 == i).count() as u64;
            let got = result["facets"]["category"]
                .as_array()
                .and_then(|v| v.iter().find(|f| f["value"] == *slug))
                .and_then(|f| f["count"].as_u64())
                .unwrap_or(0);
            if !query.contains("category=") {
                assert_eq!(got, expected, "{query}: category {slug}");
            }
        }
        let buckets: u64 = result["facets"]["price"]
            .as_array()
            .map(|v| v.iter().filter_map(|f| f["count"].as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(buckets, matching.len() as u64, "{query}: price buckets");
    }
    // Sorted by price, both ways.
    let result = search(&base, &client, "q=shirt&sort=price&limit=3").await;
    let prices: Vec<i64> = result["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["price"]["amount"].as_i64())
        .collect();
    assert_eq!(prices, [1000, 1700, 2400]);
    let result = search(&base, &client, "q=shirt&sort=-price&limit=2&offset=1").await;
    let prices: Vec<i64> = result["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["price"]["amount"].as_i64())
        .collect();
    assert_eq!(prices, [8000, 7300]);
    assert_eq!(result["total"], 12);
}

#[tokio::test]
async fn changes_reach_every_node_within_a_second() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let admin = app.admin().await;
    let client = app.client.clone();
    let id = create(
        &app,
        &admin,
        product("storm-umbrella", "Storm Umbrella", 2500),
    )
    .await;
    let here = within(
        &app.base,
        &client,
        "q=umbrella",
        Duration::from_secs(1),
        |r| ids(r) == [id.clone()],
    )
    .await;
    let there = within(
        &other.base,
        &client,
        "q=umbrella",
        Duration::from_secs(1),
        |r| ids(r) == [id.clone()],
    )
    .await;
    tracing::info!(?here, ?there, "searchable after creation");

    let response = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/products/{id}/unpublish"),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    within(
        &app.base,
        &client,
        "q=umbrella",
        Duration::from_secs(1),
        |r| r["total"] == 0,
    )
    .await;
    within(
        &other.base,
        &client,
        "q=umbrella",
        Duration::from_secs(1),
        |r| r["total"] == 0,
    )
    .await;
}

#[tokio::test]
async fn a_rebuild_while_queries_run_answers_every_query() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..30 {
        create(
            &app,
            &admin,
            product(&format!("wool-sock-{i}"), "Wool Socks", 500 + i),
        )
        .await;
    }
    let (base, client) = (app.base.clone(), app.client.clone());
    within(&base, &client, "q=socks", Duration::from_secs(5), |r| {
        r["total"] == 30
    })
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let queries = {
        let stop = stop.clone();
        let (base, client) = (base.clone(), client.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let result = search(&base, &client, "q=sock&attr.size=m").await;
                assert_eq!(result["total"], 30, "{result}");
                n += 1;
            }
            n
        })
    };
    for _ in 0..3 {
        let report = app
            .state()
            .search
            .rebuild(|_, _| {})
            .await
            .expect("rebuild");
        assert_eq!(report.documents, 30);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered = queries.await.expect("queries ran");
    assert!(answered > 0);
    // Through the admin API too.
    let response = app
        .call(
            Method::POST,
            "/api/v1/admin/search/reindex",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn suggestions_complete_titles_brands_and_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut body = product("trail-runner", "Trail Runner Shoes", 12000);
    body["brand"] = json!("Trailblazer");
    create(&app, &admin, body).await;
    let (base, client) = (app.base.clone(), app.client.clone());
    within(&base, &client, "q=shoes", Duration::from_secs(5), |r| {
        r["total"] == 1
    })
    .await;
    let response = client
        .get(format!("{base}/api/v1/search/suggest?q=trai"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let texts: Vec<&str> = body["suggestions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["text"].as_str())
        .collect();
    assert!(texts.contains(&"Trail Runner Shoes"), "{texts:?}");
    assert!(texts.contains(&"Trailblazer"), "{texts:?}");
    let response = client
        .get(format!("{base}/api/v1/search/suggest?q=trail+run"))
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["suggestions"][0]["slug"], "trail-runner");
}

#[tokio::test]
async fn bad_search_input_is_422_or_sanitised_never_500() {
    let app = TestApp::spawn().await;
    let (base, client) = (app.base.clone(), app.client.clone());
    for query in [
        "q=title:(foo%20AND%20\"bar",
        "q=%2B%2B%2B---***",
        "q=a~2^3",
        "q=%00%01",
    ] {
        search(&base, &client, query).await;
    }
    let long = "x".repeat(201);
    for query in [
        format!("q={long}"),
        "price_min=-5".to_string(),
        "price_min=10&price_max=5".to_string(),
        "sort=cheapest".to_string(),
        "facet=brand".to_string(),
        "limit=0".to_string(),
        "offset=999999".to_string(),
        "in_stock=maybe".to_string(),
        "rating_min=9".to_string(),
        "currency=XYZ".to_string(),
    ] {
        let response = client
            .get(format!("{base}/api/v1/search?{query}"))
            .send()
            .await
            .expect("sent");
        problem(response, 422).await;
    }
    let response = app
        .request(Method::GET, "/api/v1/search/suggest?q=a&limit=500")
        .send()
        .await
        .expect("sent");
    problem(response, 422).await;
}

#[tokio::test]
async fn the_in_stock_filter_follows_sales_and_restocks() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Brass Lamp", &["one"], 5000, 1).await;
    app.product(&admin, "Brass Bowl", &["one"], 3000, 0).await;
    let (base, client) = (app.base.clone(), app.client.clone());
    within(
        &base,
        &client,
        "q=brass&in_stock=true",
        Duration::from_secs(2),
        |r| ids(r) == [lamp.id.clone()],
    )
    .await;

    let cart = app.guest_cart().await;
    assert_eq!(
        app.add_to_cart(&cart, &lamp.variants[0], 1).await.status(),
        200
    );
    assert_eq!(app.checkout(&cart, "last-lamp", "US").await.status(), 201);
    within(
        &base,
        &client,
        "q=brass&in_stock=true",
        Duration::from_secs(2),
        |r| r["total"] == 0,
    )
    .await;
    let result = search(&base, &client, "q=brass").await;
    assert_eq!(result["total"], 2, "sold-out products stay searchable");

    app.adjust_stock(&admin, &lamp.variants[0], 5).await;
    within(
        &base,
        &client,
        "q=brass&in_stock=true",
        Duration::from_secs(2),
        |r| ids(r) == [lamp.id.clone()],
    )
    .await;
}
