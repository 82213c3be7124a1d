//! `emporium-loadgen`: drives scenarios that need per-connection state against a running
//! node on loopback, and prints req/s with latency percentiles. Each of the N workers is
//! one client with its own session, so refresh-token rotation is exercised as real clients
//! do (a shared token would trip reuse detection).

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Loopback load generator for Emporium's stateful scenarios")]
struct Args {
    /// Base URL of the node (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Measured seconds (after a warm-up of a fifth of it).
    #[arg(long, default_value_t = 15)]
    duration: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// POST /auth/login with the right password (Argon2id verification each time).
    Login,
    /// POST /auth/refresh, each client rotating its own token.
    Refresh,
}

const PASSWORD: &str = "load test passphrase 2026";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = args.url.split("://").nth(1).unwrap_or("");
    if !(host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")) {
        bail!("loadgen only targets loopback addresses");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let run = format!("{}", std::process::id());
    eprintln!("preparing {} accounts...", args.connections);
    let mut sessions = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        let email = format!("load-{run}-{i}@example.com");
        let registered = client
            .post(format!("{}/api/v1/auth/register", args.url))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?;
        if !registered.status().is_success() {
            bail!("register failed: {}", registered.text().await?);
        }
        let tokens = login(&client, &args.url, &email).await?;
        sessions.push((
            email,
            tokens["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    let warmup = Duration::from_secs((args.duration / 5).max(1));
    let measure = Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (email, refresh) in sessions {
        let client = client.clone();
        let url = args.url.clone();
        let scenario = args.scenario;
        tasks.push(tokio::spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut errors = 0u64;
            let mut refresh = refresh;
            while started.elapsed() < warmup + measure {
                let t = Instant::now();
                let ok = match scenario {
                    Scenario::Login => login(&client, &url, &email).await.is_ok(),
                    Scenario::Refresh => match rotate(&client, &url, &refresh).await {
                        Ok(next) => {
                            refresh = next;
                            true
                        }
                        Err(_) => false,
                    },
                };
                if started.elapsed() > warmup {
                    if ok {
                        let _ = histogram.record(t.elapsed().as_micros().max(1) as u64);
                    } else {
                        errors += 1;
                    }
                }
            }
            (histogram, errors)
        }));
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for task in tasks {
        let (h, e) = task.await?;
        total.add(h)?;
        errors += e;
    }
    let rps = total.len() as f64 / measure.as_secs_f64();
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{{\"scenario\":\"{}\",\"connections\":{},\"seconds\":{},\"requests\":{},\"rps\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"errors\":{}}}",
        match args.scenario {
            Scenario::Login => "login",
            Scenario::Refresh => "refresh",
        },
        args.connections,
        args.duration,
        total.len(),
        rps,
        ms(0.5),
        ms(0.99),
        errors
    );
    Ok(())
}

async fn login(client: &reqwest::Client, url: &str, email: &str) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("login: {}", response.status());
    }
    response.json().await.context("login body")
}

async fn rotate(client: &reqwest::Client, url: &str, refresh: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{url}/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("refresh: {}", response.status());
    }
    let body: Value = response.json().await?;
    Ok(body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}
