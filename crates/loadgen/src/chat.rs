//! Live chat fan-out: `connections` shopper sockets on one node (`--url`), spread over
//! `connections / 2` chats, and one agent socket per chat on another node (`--url2`, the
//! same node when absent). Agents send `events` messages at a steady `rate`, round the
//! chats; each carries its send time, and every shopper socket of its chat measures the
//! time to its arrival (one machine, one clock). With `--events 0` it only holds the
//! sockets open for `duration` seconds (the idle-socket memory figure).

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{admin_token, expect_ok};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

async fn open(url: &str, bearer: Option<&str>) -> anyhow::Result<Socket> {
    let mut request = url.replacen("http://", "ws://", 1).into_client_request()?;
    if let Some(token) = bearer {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// The shopper sockets' findings.
#[derive(Default)]
struct Arrivals {
    latencies_us: Vec<u64>,
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    url2: &str,
    email: &str,
    password: &str,
    connections: usize,
    events: u64,
    rate: u64,
    hold_secs: u64,
) -> anyhow::Result<Value> {
    let admin = admin_token(client, url, email, password).await?;
    let chats = (connections / 2).max(1);
    eprintln!("opening {chats} chats...");
    let mut tickets = Vec::with_capacity(chats);
    for i in 0..chats {
        let made = client
            .post(format!("{url}/api/v1/support/chats"))
            .json(&json!({"body": "Hello, a question.", "email": format!("shopper{i}@bench.example"), "name": format!("Shopper {i}")}))
            .send()
            .await?;
        let chat = expect_ok(made, "open a chat").await?;
        let id = chat["id"].as_str().context("chat id")?.to_string();
        let token = chat["token"].as_str().context("chat token")?.to_string();
        tickets.push((id, token));
    }
    eprintln!("connecting {connections} shopper sockets to {url}...");
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let started = Instant::now();
    let mut readers = Vec::with_capacity(connections);
    for i in 0..connections {
        let (id, token) = &tickets[i % chats];
        let mut socket = open(
            &format!("{url}/api/v1/support/chat?ticket={id}&token={token}&after=1"),
            None,
        )
        .await?;
        let arrivals = arrivals.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let sent = value["body"]
                    .as_str()
                    .and_then(|b| b.strip_prefix("bench "))
                    .and_then(|t| t.parse::<u128>().ok());
                if let Some(sent) = sent {
                    let latency = now_micros().saturating_sub(sent) as u64;
                    arrivals
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .latencies_us
                        .push(latency);
                }
            }
        }));
    }
    let connect_secs = started.elapsed().as_secs_f64();
    if events == 0 {
        eprintln!("holding {connections} idle sockets for {hold_secs} s...");
        tokio::time::sleep(Duration::from_secs(hold_secs)).await;
        return Ok(json!({"scenario": "chat-idle", "sockets": connections,
                          "connect_seconds": (connect_secs * 10.0).round() / 10.0}));
    }
    eprintln!("connecting {chats} agent sockets to {url2}...");
    let mut agents = Vec::with_capacity(chats);
    for (id, _) in &tickets {
        agents.push(
            open(
                &format!("{url2}/api/v1/admin/support/chat?ticket={id}&after=1000000"),
                Some(&admin),
            )
            .await?,
        );
    }
    // Agents read (and drop) what comes back, so their sockets never back up.
    let mut senders = Vec::with_capacity(chats);
    for socket in agents {
        let (sink, mut stream) = socket.split();
        tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        senders.push(sink);
    }
    eprintln!("sending {events} messages at {rate}/s...");
    let interval = Duration::from_micros(1_000_000 / rate.max(1));
    let mut tick = tokio::time::interval(interval);
    let per_chat = connections / chats;
    let mut expected = 0u64;
    for n in 0..events {
        tick.tick().await;
        let chat = (n as usize) % chats;
        let frame = json!({"type": "message", "body": format!("bench {}", now_micros())});
        senders[chat]
            .send(Message::Text(frame.to_string().into()))
            .await?;
        expected += per_chat as u64 + u64::from(chat < connections % chats);
    }
    // Let the last ones arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .latencies_us
            .len() as u64;
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = std::mem::take(
        &mut arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .latencies_us,
    );
    if seen.is_empty() {
        bail!("no message arrived");
    }
    let mut histogram = Histogram::<u64>::new(3)?;
    for l in &seen {
        histogram.record((*l).max(1))?;
    }
    let ms = |q: f64| (histogram.value_at_quantile(q) as f64 / 100.0).round() / 10.0;
    Ok(json!({
        "scenario": "chat-fanout", "sockets": connections, "chats": chats, "events": events,
        "rate": rate, "expected": expected, "delivered": seen.len(),
        "connect_seconds": (connect_secs * 10.0).round() / 10.0,
        "p50_ms": ms(0.50), "p90_ms": ms(0.90), "p99_ms": ms(0.99),
        "max_ms": (histogram.max() as f64 / 100.0).round() / 10.0,
    }))
}
