//! Outgoing webhooks and API keys: every delivery verifies with an independent Standard
//! Webhooks implementation (the `standardwebhooks` crate), failures are retried with the
//! same `webhook-id` until one succeeds and never after, `Retry-After` is honoured, a 410
//! switches the endpoint off and tells staff, private addresses are refused, redelivery
//! works, a killed node loses no event, and API keys hold exactly their permissions.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use emporium_testkit::{Session, TestApp, TestOptions, json_of, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver took.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    fn id(&self) -> String {
        header(&self.headers, "webhook-id")
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// An answer the receiver gives: a status and extra headers.
type Answer = (u16, Vec<(&'static str, String)>);

/// A receiver on loopback: records every request and answers from a script (status and
/// headers), then 200 when the script runs out; `delay` slows every answer.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    pub async fn start() -> (Self, String) {
        let receiver = Self::default();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (receiver, url)
    }

    fn answer(&self, status: u16, headers: Vec<(&'static str, String)>) {
        self.script
            .lock()
            .expect("script")
            .push_back((status, headers));
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }
}

async fn take(State(r): State<Receiver>, headers: HeaderMap, body: String) -> impl IntoResponse {
    let delay = *r.delay.lock().expect("delay");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    r.received
        .lock()
        .expect("received")
        .push(Received { headers, body });
    let (status, extra) = r
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or((200, Vec::new()));
    let mut out = HeaderMap::new();
    for (name, value) in extra {
        out.insert(name, value.parse().expect("header value"));
    }
    (
        StatusCode::from_u16(status).expect("status"),
        out,
        format!("answered {status}"),
    )
}

/// Whether `r` verifies under `secret` with the reference implementation.
fn verifies(secret: &str, r: &Received) -> bool {
    let wh = standardwebhooks::Webhook::new(secret).expect("secret");
    wh.verify(r.body.as_bytes(), &r.headers).is_ok()
}

/// A server whose webhooks may reach loopback (where the receivers listen).
async fn app_allowing_loopback() -> TestApp {
    TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.webhooks.allow_private_targets = true),
        ..TestOptions::default()
    })
    .await
}

async fn endpoint(app: &TestApp, admin: &Session, url: &str, types: &[&str]) -> (String, String) {
    let created = json_of(
        app.call(
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(&admin.access_token),
            Some(&json!({"url": url, "description": "test receiver", "event_types": types})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["enabled"], true);
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    (created["id"].as_str().expect("id").to_string(), secret)
}

/// A key with `products.read` alone: the products list answers, the orders list is 403.
async fn products_but_not_orders(app: &TestApp, key: &str) {
    json_of(
        app.call(Method::GET, "/api/v1/admin/products", Some(key), None)
            .await,
        200,
    )
    .await;
    problem(
        app.call(Method::GET, "/api/v1/admin/orders", Some(key), None)
            .await,
        403,
    )
    .await;
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json_of(app.call(Method::GET, path, Some(token), None).await, 200).await
}

const DAY_MS: i64 = 86_400_000;

#[tokio::test]
async fn failures_are_retried_with_the_same_id_until_one_succeeds_and_never_after() {
    let app = app_allowing_loopback().await;
    let admin = app.admin().await;
    let (receiver, url) = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &admin, &url, &["product.created"]).await;
    receiver.answer(500, Vec::new());
    receiver.answer(503, vec![("retry-after", "7200".into())]);
    receiver.answer(500, Vec::new());

    let started = emporium_core::outbox::now_ms();
    let product = app.product(&admin, "Hooked Mug", &["one"], 1200, 3).await;
    app.drain_outbox().await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the first attempt goes at once"
    );
    let log = get(
        &app,
        &admin.access_token,
        &format!("/api/v1/admin/webhooks/{endpoint_id}/deliveries"),
    )
    .await;
    let deliveries = log["data"].as_array().expect("deliveries");
    assert_eq!(
        deliveries.len(),
        1,
        "only product.created was asked for: {log}"
    );
    let delivery = &deliveries[0];
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 500);
    let next =
        chrono::DateTime::parse_from_rfc3339(delivery["next_attempt_at"].as_str().expect("next"))
            .expect("time")
            .timestamp_millis();
    assert!(
        (started + 4_000..started + 60_000).contains(&next),
        "the first retry comes after about 5 seconds: {delivery}"
    );

    // Nothing is due before its time.
    app.drain_outbox().await;
    assert_eq!(receiver.received().len(), 1);
    // A day on: the second attempt answers 503 with Retry-After: 7200.
    app.drain_outbox_at(started + DAY_MS).await;
    assert_eq!(receiver.received().len(), 2);
    let detail = get(
        &app,
        &admin.access_token,
        &format!(
            "/api/v1/admin/webhooks/{endpoint_id}/deliveries/{}",
            delivery["id"].as_str().expect("id")
        ),
    )
    .await;
    let next =
        chrono::DateTime::parse_from_rfc3339(detail["next_attempt_at"].as_str().expect("next"))
            .expect("time")
            .timestamp_millis();
    assert!(
        next >= started + DAY_MS + 7_200_000,
        "Retry-After 7200 beats the 5-minute step: {detail}"
    );
    app.drain_outbox_at(started + 2 * DAY_MS).await;
    assert_eq!(receiver.received().len(), 3);
    app.drain_outbox_at(started + 3 * DAY_MS).await;
    assert_eq!(receiver.received().len(), 4, "the fourth attempt succeeds");
    for later in 4..8 {
        app.drain_outbox_at(started + later * DAY_MS).await;
    }
    let received = receiver.received();
    assert_eq!(received.len(), 4, "and nothing is sent after a success");

    let first = &received[0];
    for r in &received {
        assert!(
            verifies(&secret, r),
            "every attempt verifies: {:?}",
            r.headers
        );
        assert_eq!(r.id(), first.id(), "one webhook-id for every attempt");
        assert_eq!(r.body, first.body);
    }
    let body: Value = serde_json::from_str(&first.body).expect("json body");
    assert_eq!(body["type"], "product.created");
    assert_eq!(body["data"]["product_id"], product.id.as_str());
    assert!(body["timestamp"].is_string());

    let detail = get(
        &app,
        &admin.access_token,
        &format!(
            "/api/v1/admin/webhooks/{endpoint_id}/deliveries/{}",
            delivery["id"].as_str().expect("id")
        ),
    )
    .await;
    assert_eq!(detail["status"], "succeeded");
    assert_eq!(detail["attempts"], 4);
    let codes: Vec<i64> = detail["attempts_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status_code"].as_i64().expect("code"))
        .collect();
    assert_eq!(codes, [500, 503, 500, 200]);
    assert_eq!(
        detail["attempts_log"][3]["response_excerpt"],
        "answered 200"
    );
    assert_eq!(detail["payload"]["type"], "product.created");

    // A rotation signs with both secrets for a day: a receiver with either verifies.
    let rotated = json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{endpoint_id}/secret/rotate"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{endpoint_id}/test"),
            Some(&admin.access_token),
            None,
        )
        .await,
        202,
    )
    .await;
    app.drain_outbox().await;
    let test = receiver.received().pop().expect("the test event");
    assert!(test.body.contains("\"webhook.test\""));
    assert!(verifies(new_secret, &test) && verifies(&secret, &test));
    assert_eq!(
        header(&test.headers, "webhook-signature")
            .split(' ')
            .count(),
        2
    );
}

#[tokio::test]
async fn gone_switches_the_endpoint_off_tells_staff_and_redelivery_sends_again() {
    let app = app_allowing_loopback().await;
    let admin = app.admin().await;
    let (receiver, url) = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &admin, &url, &[]).await;
    receiver.answer(410, Vec::new());
    let before = chrono::Utc::now();
    app.customer().await; // customer.created
    app.drain_outbox().await;
    assert_eq!(receiver.received().len(), 1);
    let ep = get(
        &app,
        &admin.access_token,
        &format!("/api/v1/admin/webhooks/{endpoint_id}"),
    )
    .await;
    assert_eq!(ep["enabled"], false);
    assert!(
        ep["disabled_reason"]
            .as_str()
            .expect("reason")
            .contains("410")
    );
    // The customer's own verification email, and the staff notice.
    let mail = app.smtp.wait_for(2, 10).await;
    let notice = mail
        .iter()
        .find(|m| m.subject().contains("webhook endpoint was switched off"))
        .expect("staff are told");
    assert!(notice.text().contains(&url));

    // While it is off, events are not queued for it, and redelivery is refused.
    app.customer().await;
    app.drain_outbox().await;
    assert_eq!(receiver.received().len(), 1);
    let log = get(
        &app,
        &admin.access_token,
        &format!("/api/v1/admin/webhooks/{endpoint_id}/deliveries?status=failed"),
    )
    .await;
    let failed = log["data"].as_array().expect("data").clone();
    assert_eq!(failed.len(), 1);
    let delivery_id = failed[0]["id"].as_str().expect("id");
    problem(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
            Some(&admin.access_token),
            None,
        )
        .await,
        409,
    )
    .await;

    // On again: one delivery sent again by hand, then a time range.
    let on = json_of(
        app.call(
            Method::PATCH,
            &format!("/api/v1/admin/webhooks/{endpoint_id}"),
            Some(&admin.access_token),
            Some(&json!({"enabled": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(on["disabled_reason"], Value::Null);
    json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
            Some(&admin.access_token),
            None,
        )
        .await,
        202,
    )
    .await;
    app.drain_outbox().await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].id(),
        received[0].id(),
        "a redelivery keeps its webhook-id"
    );
    assert!(verifies(&secret, &received[1]));

    let range = json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{endpoint_id}/redeliver"),
            Some(&admin.access_token),
            Some(&json!({"from": before, "to": chrono::Utc::now() + chrono::Duration::minutes(1), "statuses": ["succeeded"]})),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(range["queued"], 1);
    app.drain_outbox().await;
    assert_eq!(receiver.received().len(), 3);

    // Bad input is a clear 422.
    let bad = problem(
        app.call(
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(&admin.access_token),
            Some(&json!({"url": url, "event_types": ["order.exploded"]})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(emporium_testkit::fields(&bad), ["event_types[0]"]);
}

#[tokio::test]
async fn private_and_metadata_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/",
        "file:///etc/passwd",
    ] {
        let body = problem(
            app.call(
                Method::POST,
                "/api/v1/admin/webhooks",
                Some(&admin.access_token),
                Some(&json!({"url": url})),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(emporium_testkit::fields(&body), ["url"], "{url}: {body}");
    }
    let types = get(
        &app,
        &admin.access_token,
        "/api/v1/admin/webhooks/event-types",
    )
    .await;
    let names: Vec<&str> = types["data"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    for wanted in [
        "order.placed",
        "order.paid",
        "order.cancelled",
        "refund.created",
        "order.shipped",
        "order.delivered",
        "product.created",
        "product.updated",
        "product.deleted",
        "stock.low",
        "stock.out",
        "stock.back",
        "customer.created",
        "review.published",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
}

#[tokio::test]
async fn api_keys_hold_their_permissions_and_die_on_every_node_when_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let created = json_of(
        app.call(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(&admin.access_token),
            Some(&json!({"name": "catalog sync", "permissions": ["products.read"]})),
        )
        .await,
        201,
    )
    .await;
    let key = created["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("emp_"));
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));
    let key_id = created["id"].as_str().expect("id").to_string();

    products_but_not_orders(&app, &key).await;
    // Keys are for the admin API, and do not make keys.
    problem(
        app.call(Method::GET, "/api/v1/me", Some(&key), None).await,
        401,
    )
    .await;
    problem(
        app.call(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(&key),
            Some(&json!({"name": "child", "permissions": ["products.read"]})),
        )
        .await,
        403,
    )
    .await;

    // A key never holds more than its maker.
    let staff = app.staff(&["settings.manage", "products.read"]).await;
    let refused = problem(
        app.call(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(&staff.access_token),
            Some(&json!({"name": "too much", "permissions": ["products.read", "orders.refund"]})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(emporium_testkit::fields(&refused), ["permissions[1]"]);

    // Listed without the key, with its last use; every call is audited as the key.
    let list = get(&app, &admin.access_token, "/api/v1/admin/api-keys").await;
    let listed = &list["data"][0];
    assert_eq!(listed["id"], key_id.as_str());
    assert!(listed.get("key").is_none());
    assert!(listed["last_used_at"].is_string());
    assert_eq!(listed["status"], "active");
    let audit = get(
        &app,
        &admin.access_token,
        &format!("/api/v1/admin/audit-log?actor={key_id}"),
    )
    .await;
    let entries = audit["data"].as_array().expect("entries");
    assert!(entries.len() >= 3, "{audit}");
    assert!(
        entries
            .iter()
            .all(|e| e["detail"]["api_key"] == "catalog sync")
    );
    assert!(entries.iter().any(|e| e["detail"]["status"] == 403));

    // Revoked on this node: refused on another within a second.
    let sibling = app.sibling().await;
    let on_sibling = || {
        app.client
            .get(sibling.url("/api/v1/admin/products"))
            .bearer_auth(&key)
            .send()
    };
    assert_eq!(on_sibling().await.expect("sent").status(), 200);
    let revoked = json_of(
        app.call(
            Method::DELETE,
            &format!("/api/v1/admin/api-keys/{key_id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(revoked["status"], "revoked");
    let revoked_at = Instant::now();
    loop {
        let status = on_sibling().await.expect("sent").status();
        if status == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "still {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Set in the environment of a node this test binary starts as a separate process.
const CHILD_DB: &str = "EMPORIUM_CHILD_NODE_DATABASE_URL";
const CHILD_DIR: &str = "EMPORIUM_CHILD_NODE_DATA_DIR";

/// Not a test of its own: the node that `a_killed_node_loses_no_webhook` starts as a
/// separate process (this binary again) and kills with SIGKILL. Without its environment
/// it returns at once.
#[tokio::test]
#[ignore = "run by a_killed_node_loses_no_webhook as a child process"]
async fn child_node() {
    let (Ok(url), Ok(dir)) = (std::env::var(CHILD_DB), std::env::var(CHILD_DIR)) else {
        return;
    };
    let mut config = emporium_core::Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.into(),
        database_url: Some(url.into()),
        ..emporium_core::Config::default()
    };
    config.webhooks.allow_private_targets = true;
    config.outbox.poll_interval_ms = 10;
    // The same data directory holds the master key that opens the webhook secrets; the
    // search replica is the node's own.
    config.search.dir = Some(config.data_dir.join("search-child"));
    let node = emporium_server::Node::start(
        config,
        emporium_server::StartOptions {
            no_migrate: true,
            ..Default::default()
        },
    )
    .await
    .expect("child node starts");
    std::future::pending::<()>().await;
    drop(node);
}

#[tokio::test]
async fn a_killed_node_loses_no_webhook() {
    const EVENTS: usize = 1_000;
    let app = app_allowing_loopback().await;
    let admin = app.admin().await;
    let (receiver, url) = Receiver::start().await;
    *receiver.delay.lock().expect("delay") = Duration::from_millis(5);
    let (_, secret) = endpoint(&app, &admin, &url, &["stock.back"]).await;
    {
        let txn = app.db().begin().await.expect("begin");
        for i in 0..EVENTS {
            let event = emporium_core::events::StockBack {
                variant_id: uuid::Uuid::now_v7(),
                available: i as i64 + 1,
            };
            emporium_core::events::publish(&txn, event)
                .await
                .expect("publish");
        }
        txn.commit().await.expect("commit");
    }

    let exe = std::env::current_exe().expect("test binary");
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--exact",
            "webhooks::child_node",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, app.database().url())
        .env(CHILD_DIR, &app.config().data_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("child node spawns");
    let started = Instant::now();
    while receiver.received().len() < 100 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child node delivered {} in a minute",
            receiver.received().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // SIGKILL: no shutdown, leases held, requests cut mid-flight.
    child.start_kill().expect("kill -9");
    child.wait().await.expect("child is gone");
    let at_kill = receiver.received().len();
    assert!(at_kill < EVENTS, "the child finished before it was killed");

    // This node takes over once the dead node's leases run out.
    let lease_ms = app.config().outbox.lease_secs as i64 * 1000;
    let later = emporium_core::outbox::now_ms() + lease_ms + 1_000;
    let mut rounds = 0;
    loop {
        app.drain_outbox_at(later).await;
        let ids: std::collections::HashSet<String> =
            receiver.received().iter().map(Received::id).collect();
        if ids.len() == EVENTS {
            break;
        }
        rounds += 1;
        assert!(rounds < 5, "only {} of {EVENTS} events arrived", ids.len());
    }
    let received = receiver.received();
    let mut bodies: HashMap<String, String> = HashMap::new();
    for r in &received {
        assert!(verifies(&secret, r));
        let body = bodies.entry(r.id()).or_insert_with(|| r.body.clone());
        assert_eq!(*body, r.body, "a duplicate is the same message");
    }
    assert_eq!(bodies.len(), EVENTS);
    eprintln!(
        "killed after {at_kill} deliveries; {} requests for {EVENTS} events in all",
        received.len()
    );
}

/// Staff add an endpoint, send it a test event, read its delivery log and send one again
/// in the console; then make an API key with one permission, see it once, and revoke it.
#[tokio::test]
async fn staff_manage_webhooks_and_api_keys_in_the_console() {
    use crate::admin::{screenshot, sign_in};
    use emporium_testkit::browser::{Browser, click, fill, press, text_of};
    let app = app_allowing_loopback().await;
    let admin = app.admin().await;
    let (receiver, url) = Receiver::start().await;

    Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/webhooks").await;
        assert_eq!(text_of(&b, "h1").await, "Webhooks");
        fill(&b, "#url", &url).await;
        fill(&b, "#description", "ERP order sync").await;
        press(&b, "#event-order\\.paid").await;
        click(&b, "#add").await;
        assert_eq!(text_of(&b, "h1").await, url, "the new endpoint's page");
        press(&b, "#secret summary").await;
        let secret = text_of(&b, "#secret-value").await;
        assert!(secret.starts_with("whsec_"), "{secret}");

        click(&b, "#send-test").await;
        assert!(text_of(&b, "#done").await.contains("test"));
        app.drain_outbox().await;
        let first = receiver.received();
        assert_eq!(first.len(), 1);
        assert!(verifies(&secret, &first[0]), "signed with the secret shown");
        assert!(first[0].body.contains("webhook.test"));
        b.refresh().await.expect("reload");
        let log = text_of(&b, "#deliveries").await;
        assert!(
            log.contains("webhook.test") && log.contains("succeeded"),
            "{log}"
        );
        assert!(!log.contains("None"), "empty cells stay empty: {log}");
        screenshot(&b, "console-webhook.png").await;

        click(&b, "#deliveries tbody tr a").await;
        assert_eq!(text_of(&b, "#delivery-status").await, "succeeded");
        assert!(text_of(&b, "#attempts").await.contains("200"));
        click(&b, "#redeliver").await;
        app.drain_outbox().await;
        let again = receiver.received();
        assert_eq!(again.len(), 2, "sent again");
        assert_eq!(again[1].id(), first[0].id(), "with the same webhook-id");

        // The list shows the endpoint and the events it wants.
        b.goto(&app.url("/admin/webhooks")).await.expect("list");
        let list = text_of(&b, "#endpoints").await;
        assert!(
            list.contains("ERP order sync") && list.contains("order.paid"),
            "{list}"
        );

        b.goto(&app.url("/admin/api-keys")).await.expect("keys");
        fill(&b, "#key-name", "Catalog sync").await;
        press(&b, "#perm-products\\.read").await;
        click(&b, "#make").await;
        let key = text_of(&b, "#key-value").await;
        assert!(key.starts_with("emp_"), "{key}");
        screenshot(&b, "console-api-keys.png").await;
        products_but_not_orders(&app, &key).await;
        b.goto(&app.url("/admin/api-keys"))
            .await
            .expect("keys again");
        assert!(
            b.find(fantoccini::Locator::Id("key-value")).await.is_err(),
            "the key is shown only once"
        );
        let row = text_of(&b, "#keys tbody tr").await;
        assert!(
            row.contains("products.read") && row.contains("active"),
            "{row}"
        );
        click(&b, "#keys tbody tr button.danger").await;
        assert!(
            text_of(&b, "#keys tbody tr .status")
                .await
                .contains("revoked")
        );
        problem(
            app.call(Method::GET, "/api/v1/admin/products", Some(&key), None)
                .await,
            401,
        )
        .await;
    })
    .await;
}
