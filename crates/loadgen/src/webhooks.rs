//! Commit-to-first-delivery latency of outgoing webhooks: a receiver on loopback, one
//! endpoint for `product.updated`, and `events` product edits at a steady `rate`. Each
//! event's latency is its first arrival minus the `timestamp` the node wrote into its
//! payload in the edit's transaction (one machine, one clock); retries of an id already
//! seen are counted, not measured.

use anyhow::bail;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{admin_token, expect_ok};

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    latencies_ms: Vec<f64>,
    repeats: u64,
}

type Shared = Arc<Mutex<Seen>>;

async fn take(State(seen): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let arrived = chrono::Utc::now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let sent = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().map(str::to_string))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
    let mut seen = seen.lock().expect("seen");
    if !seen.ids.insert(id) {
        seen.repeats += 1;
    } else if let Some(sent) = sent {
        let ms = (arrived - sent.with_timezone(&chrono::Utc))
            .num_microseconds()
            .unwrap_or(0);
        seen.latencies_ms.push(ms as f64 / 1000.0);
    }
    StatusCode::NO_CONTENT
}

pub(crate) async fn run(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
    events: u64,
    rate: u64,
) -> anyhow::Result<Value> {
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let token = admin_token(client, url, email, password).await?;
    expect_ok(
        client
            .post(format!("{url}/api/v1/admin/webhooks"))
            .bearer_auth(&token)
            .json(&json!({"url": hook, "description": "loadgen receiver", "event_types": ["product.updated"]}))
            .send()
            .await?,
        "webhook endpoint (is [webhooks] allow_private_targets on?)",
    )
    .await?;
    let page = expect_ok(
        client
            .get(format!("{url}/api/v1/admin/products?limit=100"))
            .bearer_auth(&token)
            .send()
            .await?,
        "products",
    )
    .await?;
    let ids: Vec<String> = page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    if ids.is_empty() {
        bail!("no products to edit: seed some first");
    }

    eprintln!("sending {events} product edits at {rate}/s...");
    let started = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(events as usize);
    for n in 0..events {
        let due = started + gap.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = limit.clone().acquire_owned().await?;
        let client = client.clone();
        let target = format!(
            "{url}/api/v1/admin/products/{}",
            ids[n as usize % ids.len()]
        );
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let sent = client
                .patch(target)
                .bearer_auth(token)
                .json(&json!({"brand": format!("Bench {n}")}))
                .send()
                .await;
            matches!(sent, Ok(r) if r.status().is_success())
        }));
    }
    let mut failed = 0u64;
    for task in tasks {
        if !task.await.unwrap_or(false) {
            failed += 1;
        }
    }
    let sending = started.elapsed();
    let expected = events - failed;
    // Everything should arrive within the first retry; wait a minute at most.
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().expect("seen").latencies_ms.len() < expected as usize
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().expect("seen");
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for ms in &seen.latencies_ms {
        let _ = histogram.record((ms * 1000.0).max(1.0) as u64);
    }
    let q = |p: f64| (histogram.value_at_quantile(p) as f64 / 10.0).round() / 100.0;
    Ok(json!({
        "scenario": "webhook-latency",
        "events": events,
        "edits_failed": failed,
        "delivered": seen.latencies_ms.len(),
        "repeats": seen.repeats,
        "send_rate": ((events as f64 / sending.as_secs_f64()) * 10.0).round() / 10.0,
        "p50_ms": q(0.5),
        "p90_ms": q(0.9),
        "p99_ms": q(0.99),
        "max_ms": (histogram.max() as f64 / 10.0).round() / 100.0,
    }))
}
