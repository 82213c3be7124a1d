//! Reviews: verified buyers only with a delivered order, one review per product,
//! moderation with recorded reasons, exact ratings under any sequence of changes, the
//! rating in search on every node, photos checked by content, votes once per voter, and
//! review requests once per delivered order after the delay.

use emporium_testkit::{Product, Session, TestApp, TestOptions, address, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// `customer` buys one of `product` and the order goes as far as `to` (`paid` or
/// `delivered`). Answers the order id.
async fn buy(
    app: &TestApp,
    admin: &Session,
    customer: &Session,
    product: &Product,
    to: &str,
) -> String {
    let cart = json_of(
        app.call(
            Method::POST,
            "/api/v1/carts",
            Some(&customer.access_token),
            None,
        )
        .await,
        201,
    )
    .await;
    let cart_id = cart["id"].as_str().expect("cart id");
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/carts/{cart_id}/items"),
            Some(&customer.access_token),
            Some(&json!({"variant_id": product.variants[0], "quantity": 1})),
        )
        .await,
        200,
    )
    .await;
    let placed = json_of(
        app.request(Method::POST, &format!("/api/v1/carts/{cart_id}/checkout"))
            .bearer_auth(&customer.access_token)
            .header("idempotency-key", format!("buy-{cart_id}"))
            .json(&json!({"email": customer.email, "shipping_address": address("DE"), "payment_provider": "manual"}))
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    let order = placed["order"]["id"]
        .as_str()
        .expect("order id")
        .to_string();
    let path: &[&str] = match to {
        "paid" => &["paid"],
        _ => &["paid", "shipped", "delivered"],
    };
    advance(app, admin, &order, path).await;
    order
}

/// Staff move `order` through `steps`.
async fn advance(app: &TestApp, admin: &Session, order: &str, steps: &[&str]) {
    for step in steps {
        json_of(
            app.call(
                Method::POST,
                &format!("/api/v1/admin/orders/{order}/transitions"),
                Some(&admin.access_token),
                Some(&json!({"to": step, "reason": "test"})),
            )
            .await,
            200,
        )
        .await;
    }
}

async fn vote(
    app: &TestApp,
    review: &str,
    who: Option<&Session>,
    helpful: bool,
    token: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"helpful": helpful});
    if let Some(t) = token {
        body["voter_token"] = json!(t);
    }
    app.call(
        Method::POST,
        &format!("/api/v1/reviews/{review}/votes"),
        who.map(|s| s.access_token.as_str()),
        Some(&body),
    )
    .await
}

fn review(rating: i64, body: &str) -> Value {
    json!({"rating": rating, "title": "My take", "body": body, "author_name": "A. Shopper"})
}

async fn post_review(
    app: &TestApp,
    who: &Session,
    product: &str,
    body: &Value,
) -> reqwest::Response {
    app.call(
        Method::POST,
        &format!("/api/v1/products/{product}/reviews"),
        Some(&who.access_token),
        Some(body),
    )
    .await
}

async fn rating_of(app: &TestApp, product: &str) -> Value {
    json_of(app.get(&format!("/api/v1/products/{product}")).await, 200).await["rating"].clone()
}

async fn moderate(
    app: &TestApp,
    admin: &Session,
    review: &str,
    action: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.call(
        Method::POST,
        &format!("/api/v1/admin/reviews/{review}/{action}"),
        Some(&admin.access_token),
        Some(&body.unwrap_or_else(|| json!({}))),
    )
    .await
}

#[tokio::test]
async fn only_buyers_review_verified_only_when_delivered_once_each_and_rejections_keep_reasons() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let parka = app.product(&admin, "Down Parka", &["M"], 18_000, 20).await;

    let stranger = app.customer().await;
    let refused = problem(
        post_review(&app, &stranger, &parka.id, &review(1, "Never bought it.")).await,
        403,
    )
    .await;
    assert_eq!(refused["code"], "purchase_required");
    let guest = app
        .request(
            Method::POST,
            &format!("/api/v1/products/{}/reviews", parka.id),
        )
        .json(&review(5, "hi"))
        .send()
        .await
        .expect("sent");
    problem(guest, 401).await;

    // Paid but not delivered: may review, not verified, so it waits for a human.
    let bob = app.customer().await;
    buy(&app, &admin, &bob, &parka, "paid").await;
    let bobs = json_of(
        post_review(
            &app,
            &bob,
            &parka.slug,
            &review(2, "Warm enough, but the zip sticks."),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (bobs["verified"].as_bool(), bobs["status"].as_str()),
        (Some(false), Some("pending"))
    );
    let again = problem(
        post_review(&app, &bob, &parka.id, &review(5, "Second try")).await,
        409,
    )
    .await;
    assert_eq!(again["code"], "already_exists");

    // Delivered: verified, and the store publishes verified buyers' reviews at once.
    let carol = app.customer().await;
    buy(&app, &admin, &carol, &parka, "delivered").await;
    let carols = json_of(
        post_review(
            &app,
            &carol,
            &parka.id,
            &review(5, "Kept me warm all winter."),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (carols["verified"].as_bool(), carols["status"].as_str()),
        (Some(true), Some("published"))
    );
    let rating = rating_of(&app, &parka.slug).await;
    assert_eq!(
        rating,
        json!({"count": 1, "average": 5.0, "distribution": [0, 0, 0, 0, 1]})
    );

    // Verified cannot be set by anyone: the body has no such field.
    let forged = problem(
        post_review(
            &app,
            &stranger,
            &parka.id,
            &json!({"rating": 5, "body": "x", "author_name": "x", "verified": true}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        forged["errors"].to_string().contains("verified"),
        "{forged}"
    );

    // A rejection needs a reason from the list; with one, it is kept in the history.
    let bob_id = bobs["id"].as_str().expect("id");
    let staff = app.staff(&["products.read"]).await;
    problem(moderate(&app, &staff, bob_id, "approve", None).await, 403).await;
    let no_reason = problem(
        moderate(&app, &admin, bob_id, "reject", Some(json!({"note": "meh"}))).await,
        422,
    )
    .await;
    assert!(
        no_reason["errors"].to_string().contains("reason"),
        "{no_reason}"
    );
    problem(
        moderate(
            &app,
            &admin,
            bob_id,
            "reject",
            Some(json!({"reason": "too_negative"})),
        )
        .await,
        422,
    )
    .await;
    let rejected = json_of(
        moderate(
            &app,
            &admin,
            bob_id,
            "reject",
            Some(json!({"reason": "shipping_only", "note": "About the courier"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "shipping_only");
    let step = rejected["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["action"] == "rejected")
        .expect("the rejection is in the history")
        .clone();
    assert_eq!(
        (
            step["reason"].as_str(),
            step["note"].as_str(),
            step["actor"].as_str()
        ),
        (
            Some("shipping_only"),
            Some("About the courier"),
            Some("staff")
        )
    );
    assert_eq!(step["actor_id"], admin.user_id.as_str());
    // Staff change their mind: approving counts it.
    json_of(moderate(&app, &admin, bob_id, "approve", None).await, 200).await;
    let rating = rating_of(&app, &parka.id).await;
    assert_eq!(
        rating,
        json!({"count": 2, "average": 3.5, "distribution": [0, 1, 0, 0, 1]})
    );

    // Published: the words can change, the stars cannot.
    let stars = problem(
        app.call(
            Method::PATCH,
            &format!("/api/v1/reviews/{bob_id}"),
            Some(&bob.access_token),
            Some(&json!({"rating": 5})),
        )
        .await,
        422,
    )
    .await;
    assert!(stars["errors"].to_string().contains("rating"));
    let edited = json_of(
        app.call(
            Method::PATCH,
            &format!("/api/v1/reviews/{bob_id}"),
            Some(&bob.access_token),
            Some(&json!({"body": "The zip got better with use."})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (edited["status"].as_str(), edited["rating"].as_i64()),
        (Some("published"), Some(2))
    );
    // Nobody else edits it.
    problem(
        app.call(
            Method::PATCH,
            &format!("/api/v1/reviews/{bob_id}"),
            Some(&carol.access_token),
            Some(&json!({"body": "hijack"})),
        )
        .await,
        404,
    )
    .await;

    // Votes count once per voter; voting again switches, never adds.
    let carol_id = carols["id"].as_str().expect("id");
    json_of(vote(&app, carol_id, Some(&stranger), true, None).await, 200).await;
    let twice = json_of(vote(&app, carol_id, Some(&stranger), true, None).await, 200).await;
    assert_eq!(
        (twice["helpful"].as_i64(), twice["unhelpful"].as_i64()),
        (Some(1), Some(0))
    );
    let browser = "b7f1c2d9e0a34f5b8c6d7e8f9a0b1c2d";
    json_of(vote(&app, carol_id, None, true, Some(browser)).await, 200).await;
    let same_browser = json_of(vote(&app, carol_id, None, true, Some(browser)).await, 200).await;
    assert_eq!(same_browser["helpful"], 2);
    let switched = json_of(
        vote(&app, carol_id, Some(&stranger), false, None).await,
        200,
    )
    .await;
    assert_eq!(
        (switched["helpful"].as_i64(), switched["unhelpful"].as_i64()),
        (Some(1), Some(1))
    );
    problem(vote(&app, carol_id, None, true, None).await, 401).await;
    problem(vote(&app, carol_id, None, true, Some("short")).await, 422).await;

    // Reports: once per reporter, seen by staff in the queue.
    for _ in 0..2 {
        let r = app
            .call(
                Method::POST,
                &format!("/api/v1/reviews/{carol_id}/reports"),
                Some(&stranger.access_token),
                Some(&json!({"reason": "fake"})),
            )
            .await;
        assert_eq!(r.status(), 202);
    }
    let reported = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/reviews?reported=true",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(reported["data"].as_array().expect("data").len(), 1);
    assert_eq!(reported["data"][0]["reports"], 1);

    // A public reply shows under the review; the list sorts and filters.
    json_of(
        app.call(
            Method::PUT,
            &format!("/api/v1/admin/reviews/{carol_id}/reply"),
            Some(&admin.access_token),
            Some(&json!({"body": "Thank you, Carol!"})),
        )
        .await,
        200,
    )
    .await;
    let lowest = json_of(
        app.get(&format!(
            "/api/v1/products/{}/reviews?sort=lowest",
            parka.slug
        ))
        .await,
        200,
    )
    .await;
    let ratings: Vec<i64> = lowest["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["rating"].as_i64().expect("rating"))
        .collect();
    assert_eq!(ratings, [2, 5]);
    assert_eq!(lowest["rating"]["count"], 2);
    let verified = json_of(
        app.get(&format!(
            "/api/v1/products/{}/reviews?verified=true",
            parka.id
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(verified["data"].as_array().expect("data").len(), 1);
    assert_eq!(verified["data"][0]["reply"], "Thank you, Carol!");
    let helpful = json_of(
        app.get(&format!(
            "/api/v1/products/{}/reviews?sort=helpful&limit=1",
            parka.id
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(helpful["data"][0]["id"], carol_id);
    let rest = json_of(
        app.get(&format!(
            "/api/v1/products/{}/reviews?sort=helpful&limit=1&cursor={}",
            parka.id,
            helpful["next_cursor"].as_str().expect("cursor")
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(rest["data"][0]["id"], bob_id);
    assert!(rest["next_cursor"].is_null());
    problem(
        app.get(&format!("/api/v1/products/{}/reviews?sort=best", parka.id))
            .await,
        422,
    )
    .await;
    problem(
        app.get(&format!(
            "/api/v1/products/{}/reviews?cursor=garbage",
            parka.id
        ))
        .await,
        422,
    )
    .await;

    // The author deletes: the rating follows, the history stays.
    let gone = app
        .call(
            Method::DELETE,
            &format!("/api/v1/reviews/{bob_id}"),
            Some(&bob.access_token),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);
    assert_eq!(rating_of(&app, &parka.id).await["count"], 1);
    let history = app
        .state()
        .reviews
        .history_of(app.db().current(), bob_id.parse().expect("uuid"))
        .await
        .expect("history");
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        ["created", "rejected", "published", "edited", "deleted"]
    );

    let csv = app
        .call(
            Method::GET,
            "/api/v1/admin/reviews/export.csv",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), 1);
}

/// A small deterministic generator, so a failing sequence can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn the_rating_stays_exact_under_any_sequence_of_publish_reject_edit_and_delete() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| {
            c.reviews.open_to_all_customers = true;
            c.reviews.auto_publish_verified = false;
        }),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk Lamp", &["one"], 4_000, 5).await;
    let mut shoppers = Vec::new();
    for _ in 0..6 {
        shoppers.push(app.customer().await);
    }
    // What each shopper's review is now: (id, stars, status).
    let mut model: Vec<Option<(String, i64, &str)>> = vec![None; shoppers.len()];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for step in 0..70 {
        let who = rng.below(shoppers.len() as u64) as usize;
        let shopper = &shoppers[who];
        match (&model[who], rng.below(4)) {
            (None, _) => {
                let stars = 1 + rng.below(5) as i64;
                let made = json_of(
                    post_review(
                        &app,
                        shopper,
                        &lamp.id,
                        &review(stars, &format!("Step {step}: it lights the desk.")),
                    )
                    .await,
                    201,
                )
                .await;
                model[who] = Some((
                    made["id"].as_str().expect("id").to_string(),
                    stars,
                    "pending",
                ));
            }
            (Some((id, stars, _)), 0) => {
                json_of(moderate(&app, &admin, id, "approve", None).await, 200).await;
                model[who] = Some((id.clone(), *stars, "published"));
            }
            (Some((id, stars, _)), 1) => {
                json_of(
                    moderate(
                        &app,
                        &admin,
                        id,
                        "reject",
                        Some(json!({"reason": "off_topic"})),
                    )
                    .await,
                    200,
                )
                .await;
                model[who] = Some((id.clone(), *stars, "rejected"));
            }
            (Some((id, stars, status)), 2) => {
                // Words change; while not published, the stars may too.
                let mut patch = json!({"body": format!("Edited at step {step}.")});
                let mut new_stars = *stars;
                if *status != "published" {
                    new_stars = 1 + rng.below(5) as i64;
                    patch["rating"] = json!(new_stars);
                }
                json_of(
                    app.call(
                        Method::PATCH,
                        &format!("/api/v1/reviews/{id}"),
                        Some(&shopper.access_token),
                        Some(&patch),
                    )
                    .await,
                    200,
                )
                .await;
                model[who] = Some((id.clone(), new_stars, status));
            }
            (Some((id, _, _)), _) => {
                let r = app
                    .call(
                        Method::DELETE,
                        &format!("/api/v1/reviews/{id}"),
                        Some(&shopper.access_token),
                        None,
                    )
                    .await;
                assert_eq!(r.status(), 204);
                model[who] = None;
            }
        }
        let mut expected = [0i64; 5];
        for (_, stars, status) in model.iter().flatten() {
            if *status == "published" {
                expected[(*stars - 1) as usize] += 1;
            }
        }
        let rating = rating_of(&app, &lamp.id).await;
        assert_eq!(rating["distribution"], json!(expected), "after step {step}");
        assert_eq!(
            rating["count"],
            expected.iter().sum::<i64>(),
            "after step {step}"
        );
    }
    // And against a recount of what the list shows.
    let listed = json_of(
        app.get(&format!("/api/v1/products/{}/reviews?limit=100", lamp.id))
            .await,
        200,
    )
    .await;
    let mut recount = [0i64; 5];
    for r in listed["data"].as_array().expect("data") {
        recount[(r["rating"].as_i64().expect("rating") - 1) as usize] += 1;
    }
    assert_eq!(listed["rating"]["distribution"], json!(recount));
}

async fn search_ids(base: &str, query: &str) -> Vec<String> {
    let body: Value = reqwest::get(format!("{base}/api/v1/search?{query}"))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    body["hits"]
        .as_array()
        .or_else(|| body["data"].as_array())
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn a_published_review_moves_the_rating_in_search_on_every_node() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mug = app
        .product(&admin, "Stoneware Mug", &["one"], 1_500, 10)
        .await;
    let cup = app
        .product(&admin, "Stoneware Cup", &["one"], 1_200, 10)
        .await;
    let sibling = app.sibling().await;
    let carol = app.customer().await;
    buy(&app, &admin, &carol, &mug, "delivered").await;
    json_of(
        post_review(&app, &carol, &mug.id, &review(5, "Holds heat, feels good.")).await,
        201,
    )
    .await;
    let started = Instant::now();
    for base in [app.base.clone(), sibling.url("")] {
        loop {
            let rated = search_ids(&base, "q=stoneware&rating_min=4").await;
            let sorted = search_ids(&base, "q=stoneware&sort=rating").await;
            if rated == [mug.id.clone()] && sorted.first() == Some(&mug.id) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "search on {base} still shows {rated:?} {sorted:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(
        search_ids(&app.base, "q=stoneware&rating_min=4")
            .await
            .iter()
            .all(|id| *id != cup.id)
    );
    // The other node's product page has the rating too.
    let page: Value = reqwest::get(sibling.url(&format!("/api/v1/products/{}", mug.slug)))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(page["rating"]["average"], 5.0);
}

#[tokio::test]
async fn photos_are_checked_by_their_content() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let vase = app.product(&admin, "Glass Vase", &["one"], 3_000, 5).await;
    let carol = app.customer().await;
    buy(&app, &admin, &carol, &vase, "delivered").await;
    let send = |parts: Vec<(&'static str, Option<&'static str>, Vec<u8>)>| {
        let parts: Vec<(&str, Option<&str>, &[u8])> = parts
            .iter()
            .map(|(n, f, c)| (*n, *f, c.as_slice()))
            .collect();
        let (content_type, body) = super::media::multipart(&parts);
        app.request(Method::POST, "/api/v1/reviews/photos")
            .bearer_auth(&carol.access_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let fake = problem(
        send(vec![(
            "file",
            Some("photo.png"),
            b"<html>not an image</html>".to_vec(),
        )])
        .await
        .expect("sent"),
        422,
    )
    .await;
    assert!(
        fake["errors"]
            .to_string()
            .contains("checked by its content"),
        "{fake}"
    );
    let photo = json_of(
        send(vec![("file", Some("vase.png"), super::media::png(64, 48))])
            .await
            .expect("sent"),
        201,
    )
    .await;
    let key = photo["key"].as_str().expect("key");
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(64), Some(48))
    );
    let mut body = review(4, "Heavy glass, as in the photo.");
    body["photos"] = json!([key]);
    let made = json_of(post_review(&app, &carol, &vase.id, &body).await, 201).await;
    let url = made["photos"][0]["url"].as_str().expect("url");
    let served = reqwest::get(url).await.expect("sent");
    assert_eq!(served.status(), 200);
    let thumbnail = reqwest::get(
        made["photos"][0]["thumbnail_url"]
            .as_str()
            .expect("thumbnail"),
    )
    .await
    .expect("sent");
    assert_eq!(thumbnail.headers()["content-type"], "image/webp");
    let small = image::load_from_memory(&thumbnail.bytes().await.expect("bytes")).expect("decodes");
    assert_eq!(
        small.width(),
        64,
        "an image narrower than the thumbnail keeps its width"
    );
    let with_photos = json_of(
        app.get(&format!("/api/v1/products/{}/reviews?photos=true", vase.id))
            .await,
        200,
    )
    .await;
    assert_eq!(with_photos["data"].as_array().expect("data").len(), 1);
    // Only keys the upload handed out.
    let mut forged = review(4, "x");
    forged["photos"] = json!(["../../etc/passwd"]);
    let other = app.customer().await;
    buy(&app, &admin, &other, &vase, "delivered").await;
    problem(post_review(&app, &other, &vase.id, &forged).await, 422).await;
    let (content_type, body) =
        super::media::multipart(&[("file", Some("a.png"), &super::media::png(8, 8))]);
    let anonymous = app
        .request(Method::POST, "/api/v1/reviews/photos")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent");
    problem(anonymous, 401).await;
}

#[tokio::test]
async fn a_review_request_goes_once_per_delivered_order_after_the_delay() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let scarf = app.product(&admin, "Wool Scarf", &["one"], 2_500, 10).await;
    let gloves = app
        .product(&admin, "Wool Gloves", &["one"], 2_000, 10)
        .await;
    // A guest's order of both products, delivered.
    let cart = app.guest_cart().await;
    for p in [&scarf, &gloves] {
        json_of(app.add_to_cart(&cart, &p.variants[0], 1).await, 200).await;
    }
    let placed = json_of(app.checkout(&cart, "scarf-and-gloves", "DE").await, 201).await;
    let order = placed["order"]["id"].as_str().expect("order").to_string();
    advance(&app, &admin, &order, &["paid", "shipped", "delivered"]).await;
    app.drain_outbox().await;
    let reviews = &app.state().reviews;
    let now = chrono::Utc::now().timestamp_millis();
    let day = 86_400_000;
    let asked = |mails: &[emporium_testkit::ReceivedMail]| {
        mails
            .iter()
            .filter(|m| m.subject().contains("how did you like"))
            .count()
    };
    assert_eq!(
        reviews
            .send_due_requests(now + 6 * day)
            .await
            .expect("sweep")
            .requests,
        0
    );
    let sent = reviews
        .send_due_requests(now + 7 * day + 1000)
        .await
        .expect("sweep");
    assert_eq!(sent.requests, 1);
    // The delivered event may arrive again, and the sweep may run again: still one.
    assert_eq!(
        reviews
            .send_due_requests(now + 7 * day + 2000)
            .await
            .expect("sweep")
            .requests,
        0
    );
    app.drain_outbox().await;
    let mails = app.smtp.wait_for(2, 5).await;
    let requests: Vec<_> = mails
        .iter()
        .filter(|m| m.subject().contains("how did you like"))
        .collect();
    assert_eq!(requests.len(), 1, "one request per order");
    let text = requests[0].text();
    assert!(
        text.contains("Wool Scarf") && text.contains("Wool Gloves"),
        "{text}"
    );
    let link = requests[0].link("/reviews/write").expect("a review link");
    let params: std::collections::HashMap<String, String> = reqwest::Url::parse(&link)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let (token, scarf_id) = (&params["token"], &params["product"]);
    assert!(*scarf_id == scarf.id || *scarf_id == gloves.id);

    // The guest reviews through the link: verified, one per product.
    let via_link = |product: &str, body: &Value, token: &str| {
        app.request(
            Method::POST,
            &format!("/api/v1/products/{product}/reviews?order={order}&token={token}"),
        )
        .json(body)
        .send()
    };
    let made = json_of(
        via_link(&scarf.id, &review(4, "Soft, no itch."), token)
            .await
            .expect("sent"),
        201,
    )
    .await;
    assert_eq!(
        (made["verified"].as_bool(), made["status"].as_str()),
        (Some(true), Some("published"))
    );
    problem(
        via_link(&scarf.id, &review(4, "Again"), token)
            .await
            .expect("sent"),
        409,
    )
    .await;
    problem(
        via_link(&scarf.id, &review(4, "Forged"), "not-the-token")
            .await
            .expect("sent"),
        401,
    )
    .await;

    // One reminder, for the gloves only, a week later; never a second.
    let reminded = reviews
        .send_due_requests(now + 14 * day + 5000)
        .await
        .expect("sweep");
    assert_eq!(reminded.reminders, 1);
    assert_eq!(
        reviews
            .send_due_requests(now + 30 * day)
            .await
            .expect("sweep")
            .reminders,
        0
    );
    app.drain_outbox().await;
    let mails = app.smtp.wait_for(3, 5).await;
    let reminder = mails
        .iter()
        .find(|m| m.subject().starts_with("A reminder"))
        .expect("a reminder");
    assert!(reminder.text().contains("Wool Gloves") && !reminder.text().contains("Wool Scarf"));
    assert_eq!(asked(&mails), 2);

    // Opting out through the link: the next delivered order of that address asks nothing.
    reviews
        .opt_out(order.parse().expect("uuid"), token)
        .await
        .expect("opt out");
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &scarf.variants[0], 1).await, 200).await;
    let placed = json_of(app.checkout(&cart, "second", "DE").await, 201).await;
    let second = placed["order"]["id"].as_str().expect("order").to_string();
    advance(&app, &admin, &second, &["paid", "shipped", "delivered"]).await;
    app.drain_outbox().await;
    let later = reviews
        .send_due_requests(now + 40 * day)
        .await
        .expect("sweep");
    assert_eq!((later.requests, later.skipped), (0, 1));
}

#[tokio::test]
async fn a_buyer_reviews_through_the_emailed_link_in_a_browser_and_the_shop_shows_it() {
    use emporium_testkit::browser::{Browser, click, fill, text_of};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let board = app.product(&admin, "Oak Board", &["one"], 4_500, 10).await;
    let carol = app.customer().await;
    buy(&app, &admin, &carol, &board, "delivered").await;
    app.drain_outbox().await;
    let now = chrono::Utc::now().timestamp_millis();
    let sent = app
        .state()
        .reviews
        .send_due_requests(now + 8 * 86_400_000)
        .await
        .expect("sweep");
    assert_eq!(sent.requests, 1);
    app.drain_outbox().await;
    let mails = app.smtp.wait_for(1, 5).await;
    let link = mails
        .iter()
        .find_map(|m| m.link("/reviews/write"))
        .expect("the review link");
    let (status, _) = (
        app.get("/reviews/write?order=00000000-0000-0000-0000-000000000000&token=x")
            .await
            .status(),
        (),
    );
    assert_eq!(status, 401);
    let product_page = app.url(&format!("/products/{}", board.slug));
    let ran = Browser::run(|b| async move {
        b.goto(&link).await.expect("the review form");
        assert!(text_of(&b, "h1").await.contains("Oak Board"));
        b.find(fantoccini::Locator::Css("input[name=rating][value='4']"))
            .await
            .expect("the 4-star choice")
            .click()
            .await
            .expect("chosen");
        fill(&b, "#review-title", "Solid and heavy").await;
        fill(
            &b,
            "#review-body",
            "Cuts well and does not slide on the counter.",
        )
        .await;
        fill(&b, "#review-name", "Carol K.").await;
        super::admin::screenshot(&b, "store-review-form.png").await;
        click(&b, "#send-review").await;
        assert_eq!(text_of(&b, "h1").await, "Thank you for your review");

        b.goto(&product_page).await.expect("product page");
        let line = text_of(&b, ".buy .rating-line").await;
        assert!(line.contains("4.0 (1)"), "{line}");
        assert!(text_of(&b, "#reviews").await.contains("Verified buyer"));
        click(&b, "#all-reviews").await;
        assert!(text_of(&b, ".review").await.contains("Helpful (0)"));
        click(&b, ".review-actions form button[type=submit]").await;
        assert!(text_of(&b, ".review").await.contains("Helpful (1)"));
        // The same browser voting again changes nothing.
        click(&b, ".review-actions form button[type=submit]").await;
        assert!(text_of(&b, ".review").await.contains("Helpful (1)"));
        super::admin::screenshot(&b, "store-reviews.png").await;
    })
    .await;
    if ran.is_none() {
        return;
    }
    // What search engines read: the rating and the review in the product's JSON-LD.
    let html = app
        .get(&format!("/products/{}", board.slug))
        .await
        .text()
        .await
        .expect("html");
    let ld: Vec<Value> = html
        .split("<script type=\"application/ld+json\">")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>"))
        .map(|(block, _)| serde_json::from_str(block).expect("JSON-LD parses"))
        .collect();
    let product = ld
        .iter()
        .find(|v| v["@type"] == "Product")
        .expect("Product");
    assert_eq!(product["aggregateRating"]["ratingValue"], 4.0);
    assert_eq!(product["aggregateRating"]["reviewCount"], 1);
    assert_eq!(product["review"][0]["author"]["name"], "Carol K.");
    // Lists show the stars too.
    let home = app.get("/").await.text().await.expect("home");
    assert!(home.contains("★★★★☆"), "the product card shows the stars");
}

#[tokio::test]
async fn staff_moderate_reviews_in_the_console_with_reasons_on_record() {
    use emporium_testkit::browser::{Browser, click, fill, text_of};
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.reviews.open_to_all_customers = true),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let kettle = app
        .product(&admin, "Copper Kettle", &["one"], 6_000, 10)
        .await;
    let mut ids = Vec::new();
    for (stars, body) in [
        (1, "Leaks at the spout."),
        (4, "Great, see https://example.com/deal"),
    ] {
        let shopper = app.customer().await;
        let made = json_of(
            post_review(&app, &shopper, &kettle.id, &review(stars, body)).await,
            201,
        )
        .await;
        assert_eq!(made["status"], "pending");
        ids.push(made["id"].as_str().expect("id").to_string());
    }
    let third = app.customer().await;
    let kept = json_of(
        post_review(
            &app,
            &third,
            &kettle.id,
            &review(2, "Whistle is too quiet."),
        )
        .await,
        201,
    )
    .await;
    let kept_id = kept["id"].as_str().expect("id").to_string();
    let (first, second) = (ids[0].clone(), ids[1].clone());
    let ran = Browser::run(|b| async move {
        super::admin::sign_in(&b, &app, &admin, "/admin/reviews").await;
        assert_eq!(text_of(&b, "h1").await, "Reviews");
        let queue = text_of(&b, "#reviews").await;
        assert!(queue.contains("held: contains a link"), "{queue}");
        super::admin::screenshot(&b, "admin-reviews.png").await;
        for id in [&first, &second] {
            b.find(fantoccini::Locator::Css(&format!(
                "input[name=ids][value='{id}']"
            )))
            .await
            .expect("the checkbox")
            .click()
            .await
            .expect("checked");
        }
        // No reason: refused, and nothing changes.
        click(&b, "#bulk-reject").await;
        assert!(text_of(&b, "#error").await.contains("reason"));
        for id in [&first, &second] {
            b.find(fantoccini::Locator::Css(&format!(
                "input[name=ids][value='{id}']"
            )))
            .await
            .expect("still pending")
            .click()
            .await
            .expect("checked");
        }
        b.find(fantoccini::Locator::Css("#reason"))
            .await
            .expect("reasons")
            .select_by_value("spam")
            .await
            .expect("spam");
        fill(&b, "#note", "Links to another shop").await;
        click(&b, "#bulk-reject").await;
        assert_eq!(text_of(&b, "#done").await, "Rejected 2 reviews.");

        // One review: publish it, then answer it in public.
        b.goto(&app.url(&format!("/admin/reviews/{kept_id}")))
            .await
            .expect("review");
        click(&b, "#approve").await;
        assert_eq!(text_of(&b, "#review-status").await, "published");
        fill(&b, "#reply-body", "Thanks, a louder whistle is coming.").await;
        click(&b, "#send-reply").await;
        assert!(
            text_of(&b, "#public-reply")
                .await
                .contains("louder whistle")
        );
        let history = text_of(&b, "#history").await;
        assert!(
            history.contains("published") && history.contains("replied"),
            "{history}"
        );
        super::admin::screenshot(&b, "admin-review.png").await;

        let rejected = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/reviews/{first}"),
                Some(&admin.access_token),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            (
                rejected["status"].as_str(),
                rejected["reject_reason"].as_str(),
                rejected["reject_note"].as_str()
            ),
            (
                Some("rejected"),
                Some("spam"),
                Some("Links to another shop")
            )
        );
        assert_eq!(
            rating_of(&app, &kettle.id).await["distribution"],
            json!([0, 1, 0, 0, 0])
        );
    })
    .await;
    let _ = ran;
}

#[tokio::test]
async fn imported_reviews_are_published_never_verified_and_import_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tent = app.product(&admin, "Trail Tent", &["one"], 25_000, 3).await;
    let csv = format!(
        "product,rating,title,body,author_name,created_at,key\n\
         {slug},5,Dry all night,\"Rain, wind, no leaks.\",Sam,2025-06-01T10:00:00Z,jm-1\n\
         {slug},3,Heavy,Fine but heavy.,Alex,,jm-2\n\
         {slug},9,Nope,Out of range.,Kim,,jm-3\n\
         no-such-tent,4,Lost,Where is it,Lee,,jm-4\n",
        slug = tent.slug
    );
    let reviews = &app.state().reviews;
    let report = reviews
        .import_csv(csv.as_bytes(), &|_, _| {})
        .await
        .expect("import");
    assert_eq!(
        (report.rows, report.imported, report.errors.len()),
        (4, 2, 2)
    );
    let again = reviews
        .import_csv(csv.as_bytes(), &|_, _| {})
        .await
        .expect("import");
    assert_eq!((again.imported, again.skipped), (0, 2));
    let rating = rating_of(&app, &tent.id).await;
    assert_eq!(
        rating,
        json!({"count": 2, "average": 4.0, "distribution": [0, 0, 1, 0, 1]})
    );
    let listed = json_of(
        app.get(&format!("/api/v1/products/{}/reviews", tent.slug))
            .await,
        200,
    )
    .await;
    let data = listed["data"].as_array().expect("data");
    assert!(data.iter().all(|r| r["verified"] == false));
    // The source's dates are kept: the older review sorts last.
    assert_eq!(data[1]["author_name"], "Sam");
}
