//! Stock beyond reservations: low-stock alerts (one per crossing) and the report,
//! back-in-stock emails (one per request), restock dates, locations that ship only to
//! some countries, backorders on the order list, and a random run of operations after
//! which the ledger still sums to every level.

use emporium_testkit::{Session, TestApp, address, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

/// A guest buys `quantity` of `variant`, shipping to `country`; answers the checkout
/// response (or the failed status).
async fn buy(app: &TestApp, variant: &str, quantity: i64, country: &str) -> Result<Value, u16> {
    let cart = app.guest_cart().await;
    let added = app.add_to_cart(&cart, variant, quantity).await;
    if added.status() != 200 {
        return Err(added.status().as_u16());
    }
    let response = app
        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
        .header("x-cart-token", &cart.token)
        .header("idempotency-key", format!("k-{}", cart.id))
        .json(&json!({"email": "buyer@example.com", "shipping_address": address(country), "payment_provider": "manual"}))
        .send()
        .await
        .expect("sent");
    match response.status().as_u16() {
        201 => Ok(response.json().await.expect("json")),
        other => Err(other),
    }
}

async fn admin_call(
    app: &TestApp,
    admin: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.call(method, path, Some(&admin.access_token), body.as_ref())
        .await
}

fn mails_with(app: &TestApp, to: &str, subject_start: &str) -> usize {
    app.smtp
        .mails_to(to)
        .iter()
        .filter(|m| m.subject().starts_with(subject_start))
        .count()
}

#[tokio::test]
async fn low_stock_alerts_come_once_per_crossing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let clerk = app.staff(&["inventory.write", "products.read"]).await;
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/inventory/alerts",
            Some(&clerk.access_token),
            Some(&json!({"subscribed": true})),
        )
        .await,
        200,
    )
    .await;
    let lamp = app.product(&admin, "Desk Lamp", &["one"], 4000, 8).await;
    let variant = &lamp.variants[0];

    // 8 -> 7 -> 6 -> 5 (crosses the store's threshold of 5) -> 4 -> 3.
    for _ in 0..5 {
        buy(&app, variant, 1, "US").await.expect("bought");
    }
    app.drain_outbox().await;
    assert_eq!(mails_with(&app, &clerk.email, "Low stock"), 1);
    let mail = app
        .smtp
        .mails_to(&clerk.email)
        .into_iter()
        .find(|m| m.subject().starts_with("Low stock"))
        .expect("alert");
    assert!(
        mail.text().contains("down to 5 available"),
        "{}",
        mail.text()
    );

    let report = json_of(
        admin_call(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/inventory/low-stock",
            None,
        )
        .await,
        200,
    )
    .await;
    let row = report
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["variant_id"] == *variant)
        .expect("listed")
        .clone();
    assert_eq!(row["available"], 3);
    assert_eq!(row["threshold"], 5);

    // Restocked above the threshold: the alert re-arms, and the next crossing sends one more.
    app.adjust_stock(&admin, variant, 10).await; // 13
    let report = json_of(
        admin_call(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/inventory/low-stock",
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(
        !report
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r["variant_id"] == *variant)
    );
    buy(&app, variant, 6, "US").await.expect("bought"); // 7
    buy(&app, variant, 3, "US").await.expect("bought"); // 4: crosses
    buy(&app, variant, 1, "US").await.expect("bought"); // 3
    app.drain_outbox().await;
    assert_eq!(mails_with(&app, &clerk.email, "Low stock"), 2);

    // A variant's own threshold wins; unsubscribed staff hear nothing.
    json_of(
        app.call(
            Method::PUT,
            "/api/v1/admin/inventory/alerts",
            Some(&clerk.access_token),
            Some(&json!({"subscribed": false})),
        )
        .await,
        200,
    )
    .await;
    let vase = app.product(&admin, "Vase", &["one"], 2000, 30).await;
    json_of(
        admin_call(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/admin/inventory/{}/policy", vase.variants[0]),
            Some(json!({"allow_backorder": false, "low_stock_threshold": 25})),
        )
        .await,
        200,
    )
    .await;
    buy(&app, &vase.variants[0], 6, "US").await.expect("bought"); // 24
    app.drain_outbox().await;
    assert_eq!(mails_with(&app, &clerk.email, "Low stock"), 2);
    let report = json_of(
        admin_call(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/inventory/low-stock",
            None,
        )
        .await,
        200,
    )
    .await;
    let row = report
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["variant_id"] == vase.variants[0])
        .expect("listed")
        .clone();
    assert_eq!(row["threshold"], 25);
}

#[tokio::test]
async fn shoppers_hear_once_when_a_variant_is_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let boots = app
        .product(&admin, "Rain Boots", &["40", "41"], 9000, 1)
        .await;
    let (sold_out, in_stock) = (&boots.variants[0], &boots.variants[1]);
    buy(&app, sold_out, 1, "US").await.expect("the last pair");

    let expected = "2026-12-24T09:00:00Z";
    json_of(
        admin_call(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/admin/inventory/{sold_out}/restock"),
            Some(json!({"expected_at": expected, "incoming": 40})),
        )
        .await,
        200,
    )
    .await;
    let stock = app.stock(&admin, sold_out).await;
    assert_eq!(stock["incoming"], 40);

    let ask = |variant: &str, email: &str| {
        app.request(Method::POST, "/api/v1/stock-notifications")
            .json(&json!({"variant_id": variant, "email": email}))
            .send()
    };
    let asked = json_of(ask(sold_out, "Fan@Example.com").await.expect("sent"), 201).await;
    assert_eq!(asked["email"], "fan@example.com");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(asked["restock_expected_at"].as_str().expect("date"))
            .expect("rfc3339"),
        chrono::DateTime::parse_from_rfc3339(expected).expect("rfc3339")
    );
    json_of(ask(sold_out, "fan@example.com").await.expect("sent"), 201).await;
    json_of(ask(sold_out, "other@example.com").await.expect("sent"), 201).await;
    assert_eq!(
        problem(ask(in_stock, "fan@example.com").await.expect("sent"), 409).await["code"],
        "in_stock"
    );
    problem(
        ask(&uuid::Uuid::now_v7().to_string(), "fan@example.com")
            .await
            .expect("sent"),
        404,
    )
    .await;
    let bad = problem(ask(sold_out, "not an email").await.expect("sent"), 422).await;
    assert_eq!(bad["errors"][0]["field"], "email");

    app.adjust_stock(&admin, sold_out, 2).await;
    app.drain_outbox().await;
    assert_eq!(mails_with(&app, "fan@example.com", "Rain Boots is back"), 1);
    assert_eq!(
        mails_with(&app, "other@example.com", "Rain Boots is back"),
        1
    );

    // Sold out and back again: nobody is told twice.
    buy(&app, sold_out, 2, "US").await.expect("bought");
    app.adjust_stock(&admin, sold_out, 5).await;
    app.drain_outbox().await;
    assert_eq!(mails_with(&app, "fan@example.com", "Rain Boots is back"), 1);
}

#[tokio::test]
async fn checkout_takes_stock_only_from_locations_that_ship_there() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let locations = json_of(
        admin_call(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/stock-locations",
            None,
        )
        .await,
        200,
    )
    .await;
    let default = locations[0]["id"]
        .as_str()
        .expect("default location")
        .to_string();
    json_of(
        admin_call(
            &app,
            &admin,
            Method::PATCH,
            &format!("/api/v1/admin/stock-locations/{default}"),
            Some(json!({"priority": 10})),
        )
        .await,
        200,
    )
    .await;
    let berlin = json_of(
        admin_call(&app, &admin, Method::POST, "/api/v1/admin/stock-locations",
            Some(json!({"code": "berlin", "name": "Berlin store", "priority": 1, "countries": ["de", "AT"]}))).await,
        201,
    )
    .await;
    assert_eq!(berlin["countries"], json!(["DE", "AT"]));
    let berlin = berlin["id"].as_str().expect("id").to_string();
    let bad = problem(
        admin_call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/stock-locations",
            Some(json!({"code": "berlin", "name": "Again", "countries": ["Germany"]})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "countries[0]");
    let taken = problem(
        admin_call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/stock-locations",
            Some(json!({"code": "berlin", "name": "Again"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(taken["code"], "code_taken");
    let missing = admin_call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/admin/stock-locations/{}", uuid::Uuid::now_v7()),
        Some(json!({"priority": 1})),
    )
    .await;
    assert_eq!(missing.status(), 404);

    let mug = app.product(&admin, "Mug", &["one"], 1200, 0).await;
    let variant = &mug.variants[0];
    for (location, delta) in [(&berlin, 3), (&default, 2)] {
        json_of(
            admin_call(
                &app,
                &admin,
                Method::POST,
                &format!("/api/v1/admin/inventory/{variant}/adjustments"),
                Some(json!({"delta": delta, "reason": "received", "location_id": location})),
            )
            .await,
            200,
        )
        .await;
    }
    let held = |stock: &Value, location: &str| {
        stock["levels"]
            .as_array()
            .expect("levels")
            .iter()
            .find(|l| l["location_id"] == location)
            .map(|l| l["reserved"].as_i64().expect("reserved"))
            .unwrap_or(0)
    };
    // Germany: from Berlin first, which has priority.
    buy(&app, variant, 2, "DE").await.expect("bought");
    let stock = app.stock(&admin, variant).await;
    assert_eq!((held(&stock, &berlin), held(&stock, &default)), (2, 0));
    // The US: Berlin does not ship there, so only the warehouse's 2 units count.
    assert_eq!(
        buy(&app, variant, 3, "US")
            .await
            .expect_err("3 is more than ships to the US"),
        409
    );
    buy(&app, variant, 2, "US").await.expect("bought");
    let stock = app.stock(&admin, variant).await;
    assert_eq!((held(&stock, &berlin), held(&stock, &default)), (2, 2));
    // Berlin's last unit still sells to Germany.
    buy(&app, variant, 1, "DE").await.expect("bought");
    assert_eq!(
        buy(&app, variant, 1, "DE").await.expect_err("none left"),
        409
    );
}

#[tokio::test]
async fn backordered_orders_are_flagged_on_the_order_and_the_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let chair = app.product(&admin, "Chair", &["oak"], 15000, 1).await;
    json_of(
        admin_call(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/admin/inventory/{}/policy", chair.variants[0]),
            Some(json!({"allow_backorder": true, "backorder_limit": 5})),
        )
        .await,
        200,
    )
    .await;
    let plain = buy(&app, &chair.variants[0], 1, "US")
        .await
        .expect("in stock");
    assert_eq!(plain["order"]["backordered"], false);
    let placed = buy(&app, &chair.variants[0], 3, "US")
        .await
        .expect("backordered");
    assert_eq!(placed["order"]["backordered"], true);
    assert_eq!(placed["order"]["lines"][0]["backordered"], 3);
    let list = json_of(
        admin_call(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/orders?backordered=true",
            None,
        )
        .await,
        200,
    )
    .await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(ids, vec![placed["order"]["id"].as_str().expect("id")]);
    assert_eq!(list["data"][0]["backordered"], true);
    // Beyond the backorder limit: refused.
    assert_eq!(
        buy(&app, &chair.variants[0], 3, "US")
            .await
            .expect_err("over the limit"),
        409
    );
}

/// A tiny deterministic generator, so a failure replays.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test]
async fn after_random_operations_the_ledger_sums_to_every_level() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let second = json_of(
        admin_call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/stock-locations",
            Some(json!({"code": "second", "name": "Second warehouse", "priority": 5})),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let shirt = app.product(&admin, "Tee", &["S", "M"], 1500, 0).await;
    json_of(
        admin_call(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/admin/inventory/{}/policy", shirt.variants[1]),
            Some(json!({"allow_backorder": true, "backorder_limit": 3})),
        )
        .await,
        200,
    )
    .await;
    let mut rng = Lcg(20261127);
    let mut orders: Vec<String> = Vec::new();
    for _ in 0..40 {
        let variant = &shirt.variants[rng.next(2) as usize];
        match rng.next(6) {
            0 | 1 => {
                let delta = rng.next(6) as i64 + 1;
                let location = if rng.next(2) == 0 {
                    Some(second.clone())
                } else {
                    None
                };
                let sign = if rng.next(3) == 0 { -1 } else { 1 };
                let response = admin_call(
                    &app,
                    &admin,
                    Method::POST,
                    &format!("/api/v1/admin/inventory/{variant}/adjustments"),
                    Some(
                        json!({"delta": sign * delta, "reason": "random", "location_id": location}),
                    ),
                )
                .await;
                assert!(
                    [200, 409].contains(&response.status().as_u16()),
                    "adjust: {}",
                    response.status()
                );
            }
            2 | 3 => {
                if let Ok(placed) = buy(&app, variant, rng.next(3) as i64 + 1, "US").await {
                    orders.push(placed["order"]["id"].as_str().expect("id").to_string());
                }
            }
            4 if !orders.is_empty() => {
                let order = &orders[rng.next(orders.len() as u64) as usize];
                let to = ["paid", "cancelled"][rng.next(2) as usize];
                let response = admin_call(
                    &app,
                    &admin,
                    Method::POST,
                    &format!("/api/v1/admin/orders/{order}/transitions"),
                    Some(json!({"to": to, "reason": "random"})),
                )
                .await;
                assert!([200, 409].contains(&response.status().as_u16()));
            }
            _ if !orders.is_empty() => {
                let order = &orders[rng.next(orders.len() as u64) as usize];
                let response = app
                    .request(
                        Method::POST,
                        &format!("/api/v1/admin/orders/{order}/refunds"),
                    )
                    .bearer_auth(&admin.access_token)
                    .header("idempotency-key", format!("r-{}", rng.next(1_000_000)))
                    .json(&json!({"restock": true}))
                    .send()
                    .await
                    .expect("sent");
                assert!(
                    [201, 409].contains(&response.status().as_u16()),
                    "refund: {}",
                    response.status()
                );
            }
            _ => {}
        }
    }
    for variant in &shirt.variants {
        let mut sums: std::collections::HashMap<String, (i64, i64)> = Default::default();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/admin/inventory/{variant}/ledger?limit=100&cursor={c}"),
                None => format!("/api/v1/admin/inventory/{variant}/ledger?limit=100"),
            };
            let page = json_of(
                admin_call(&app, &admin, Method::GET, &path, None).await,
                200,
            )
            .await;
            for row in page["data"].as_array().expect("rows") {
                let entry = sums
                    .entry(row["location_id"].as_str().expect("location").to_string())
                    .or_default();
                entry.0 += row["on_hand_delta"].as_i64().expect("delta");
                entry.1 += row["reserved_delta"].as_i64().expect("delta");
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let stock = app.stock(&admin, variant).await;
        for level in stock["levels"].as_array().expect("levels") {
            let location = level["location_id"].as_str().expect("location");
            let (on_hand, reserved) = sums.get(location).copied().unwrap_or_default();
            assert_eq!(
                level["on_hand"].as_i64(),
                Some(on_hand),
                "on hand at {location}"
            );
            assert_eq!(
                level["reserved"].as_i64(),
                Some(reserved),
                "reserved at {location}"
            );
            assert!(on_hand >= 0, "never below zero on hand");
        }
        assert_eq!(
            stock["levels"].as_array().expect("levels").len(),
            sums.len()
        );
    }
}

/// Every stock event handed over, with when it happened (the worker may deliver the
/// events of one round in any order).
#[derive(Clone, Default)]
struct StockEvents(std::sync::Arc<std::sync::Mutex<Vec<Seen>>>);

/// When an event happened, and what it said.
type Seen = (chrono::DateTime<chrono::Utc>, String);

#[async_trait::async_trait]
impl<E: emporium_core::events::Event + std::fmt::Debug> emporium_core::events::Subscriber<E>
    for StockEvents
{
    async fn handle(&self, event: &emporium_core::events::Envelope<E>) -> anyhow::Result<()> {
        self.0.lock().expect("lock").push((
            event.occurred_at,
            format!("{} {:?}", event.event, event.data),
        ));
        Ok(())
    }
}

#[tokio::test]
async fn stock_crossings_publish_low_out_and_back_events_once_each() {
    use emporium_core::events::{StockBack, StockLow, StockOut};
    let seen = StockEvents::default();
    let mut jobs = emporium_core::outbox::JobRegistry::default();
    jobs.subscribe::<StockLow, _>("test", seen.clone());
    jobs.subscribe::<StockOut, _>("test", seen.clone());
    jobs.subscribe::<StockBack, _>("test", seen.clone());
    let app = TestApp::spawn_with(emporium_testkit::TestOptions {
        jobs,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Clay Mug", &["one"], 1800, 8).await;
    let variant = &product.variants[0];
    app.drain_outbox().await;
    // The first stock counts as coming back from none.
    let first = std::mem::take(&mut *seen.0.lock().expect("lock"));
    assert!(first[0].1.starts_with("stock.back"), "{first:?}");
    app.adjust_stock(&admin, variant, -4).await; // 4 left: under the threshold of 5
    app.adjust_stock(&admin, variant, -1).await; // still low: no second event
    app.adjust_stock(&admin, variant, -3).await; // sold out
    app.adjust_stock(&admin, variant, 6).await; // back
    app.drain_outbox().await;
    let mut seen = seen.0.lock().expect("lock").clone();
    seen.sort();
    let seen: Vec<String> = seen.into_iter().map(|(_, text)| text).collect();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| s.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["stock.low", "stock.out", "stock.back"], "{seen:?}");
    assert!(seen[0].contains("available: 4"), "{}", seen[0]);
    assert!(seen[2].contains("available: 6"), "{}", seen[2]);
}
