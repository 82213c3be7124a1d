//! `emporium-loadgen`: drives scenarios that need per-connection state against a running
//! node on loopback, and prints req/s with latency percentiles. Each of the N workers is
//! one client with its own session, so refresh-token rotation is exercised as real clients
//! do (a shared token would trip reuse detection), and each buyer fills its own carts.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

mod chat;
mod webhooks;

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
    /// An admin's email (checkout scenarios create their products and stock with it).
    #[arg(long)]
    admin_email: Option<String>,
    /// The admin's password (else EMPORIUM_ADMIN_PASSWORD).
    #[arg(long, env = "EMPORIUM_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Events to send (webhook-latency).
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Events per second (webhook-latency, chat-fanout).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// A second node of the same shop (chat-fanout: where the agents are).
    #[arg(long)]
    url2: Option<String>,
}

impl Args {
    /// The admin the scenario works as: email and password.
    fn admin(&self) -> anyhow::Result<(&str, &str)> {
        let email = self
            .admin_email
            .as_deref()
            .context("--admin-email is needed")?;
        let password = self
            .admin_password
            .as_deref()
            .context("--admin-password or EMPORIUM_ADMIN_PASSWORD is needed")?;
        Ok((email, password))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// POST /auth/login with the right password (Argon2id verification each time).
    Login,
    /// POST /auth/refresh, each client rotating its own token.
    Refresh,
    /// A guest buys one unit: new cart, add a line, checkout. Each buyer has its own
    /// variant; latency is the checkout request's.
    CheckoutDistinct,
    /// The same, every buyer racing for one hot variant.
    CheckoutHot,
    /// The benchmark peer (Vendure's Shop API at --url): a guest buys one unit of its own
    /// variant through the documented flow (add item, customer, address, shipping method,
    /// ArrangingPayment, payment); the latency is the whole purchase's.
    VendureCheckout,
    /// Outgoing webhooks: product edits at a steady rate to a receiver on loopback; the
    /// latency from each edit's commit to its first delivery.
    WebhookLatency,
    /// Live chat: shopper sockets on --url, agents on --url2 sending --events messages at
    /// --rate; the latency from each send to its arrival at every shopper socket of its
    /// chat. With --events 0: --connections idle sockets held for --duration seconds.
    ChatFanout,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::CheckoutDistinct => "checkout-distinct",
            Self::CheckoutHot => "checkout-hot",
            Self::VendureCheckout => "vendure-checkout",
            Self::WebhookLatency => "webhook-latency",
            Self::ChatFanout => "chat-fanout",
        }
    }
}

/// What one worker holds: a session to refresh, or a variant to buy.
enum Client {
    Account { email: String, refresh: String },
    Buyer { variant: String },
    VendureBuyer { variant: u64, shop: Vendure },
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
    if let Scenario::ChatFanout = args.scenario {
        let (email, password) = args.admin()?;
        let url2 = args.url2.clone().unwrap_or_else(|| args.url.clone());
        let second = url2.split("://").nth(1).unwrap_or("");
        if !(second.starts_with("127.") || second.starts_with("localhost")) {
            bail!("loadgen only targets loopback addresses");
        }
        let report = chat::run(
            &client,
            &args.url,
            &url2,
            email,
            password,
            args.connections,
            args.events,
            args.rate,
            args.duration,
        )
        .await?;
        println!("{report}");
        return Ok(());
    }
    if let Scenario::WebhookLatency = args.scenario {
        let (email, password) = args.admin()?;
        let report =
            webhooks::run(&client, &args.url, email, password, args.events, args.rate).await?;
        println!("{report}");
        return Ok(());
    }
    let clients = match args.scenario {
        Scenario::Login | Scenario::Refresh => {
            let rotate = matches!(args.scenario, Scenario::Refresh);
            accounts(&client, &args.url, &run, args.connections, rotate).await?
        }
        Scenario::CheckoutDistinct | Scenario::CheckoutHot => {
            let (email, password) = args.admin()?;
            let kinds = if matches!(args.scenario, Scenario::CheckoutHot) {
                1
            } else {
                args.connections
            };
            let variants =
                stocked_variants(&client, &args.url, email, password, &run, kinds).await?;
            (0..args.connections)
                .map(|i| Client::Buyer {
                    variant: variants[i % variants.len()].clone(),
                })
                .collect()
        }
        Scenario::VendureCheckout => {
            let shop = Vendure::discover(&client, &args.url).await?;
            // Every buyer its own variant, spread over the catalog (ids start at 1).
            (0..args.connections as u64)
                .map(|i| Client::VendureBuyer {
                    variant: 1 + i * 7,
                    shop: shop.clone(),
                })
                .collect()
        }
        Scenario::WebhookLatency | Scenario::ChatFanout => unreachable!("run above"),
    };
    let warmup = Duration::from_secs((args.duration / 5).max(1));
    let measure = Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (worker, state) in clients.into_iter().enumerate() {
        let client = client.clone();
        let url = args.url.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let new = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let (mut step, mut whole) = (new(), new());
            let mut errors = 0u64;
            let mut state = state;
            let mut n = 0u64;
            while started.elapsed() < warmup + measure {
                n += 1;
                let t = Instant::now();
                // The measured request's time (the checkout alone, for a purchase).
                let took: anyhow::Result<Duration> = match &mut state {
                    Client::Account { email, refresh } => {
                        if refresh.is_empty() {
                            login(&client, &url, email).await.map(|_| t.elapsed())
                        } else {
                            rotate(&client, &url, refresh).await.map(|next| {
                                *refresh = next;
                                t.elapsed()
                            })
                        }
                    }
                    Client::Buyer { variant } => {
                        let key = format!("{run}-{worker}-{n}");
                        buy(&client, &url, variant, &key).await
                    }
                    Client::VendureBuyer { variant, shop } => shop
                        .buy(&client, *variant, worker)
                        .await
                        .map(|()| t.elapsed()),
                };
                if started.elapsed() > warmup {
                    match took {
                        Ok(took) => {
                            let _ = step.record(took.as_micros().max(1) as u64);
                            let _ = whole.record(t.elapsed().as_micros().max(1) as u64);
                        }
                        Err(e) => {
                            if errors == 0 {
                                eprintln!("worker {worker}: {e:#}");
                            }
                            errors += 1;
                        }
                    }
                }
            }
            (step, whole, errors)
        }));
    }
    let mut step = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut whole = step.clone();
    let mut errors = 0;
    for task in tasks {
        let (s, w, e) = task.await?;
        step.add(s)?;
        whole.add(w)?;
        errors += e;
    }
    let rps = step.len() as f64 / measure.as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "scenario": args.scenario.name(),
            "connections": args.connections,
            "seconds": args.duration,
            "requests": step.len(),
            "rps": (rps * 10.0).round() / 10.0,
            "p50_ms": ms(&step, 0.5),
            "p99_ms": ms(&step, 0.99),
            // A purchase is several requests; this is the whole of one.
            "purchase_p50_ms": ms(&whole, 0.5),
            "purchase_p99_ms": ms(&whole, 0.99),
            "errors": errors,
        })
    );
    Ok(())
}

/// Registers one account per connection; login workers keep no refresh token, so they
/// log in each time instead of rotating.
async fn accounts(
    client: &reqwest::Client,
    url: &str,
    run: &str,
    n: usize,
    rotate: bool,
) -> anyhow::Result<Vec<Client>> {
    eprintln!("preparing {n} accounts...");
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("load-{run}-{i}@example.com");
        let registered = client
            .post(format!("{url}/api/v1/auth/register"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?;
        if !registered.status().is_success() {
            bail!("register failed: {}", registered.text().await?);
        }
        let tokens = login(client, url, &email).await?;
        let refresh = if rotate {
            tokens["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        } else {
            String::new()
        };
        out.push(Client::Account { email, refresh });
    }
    Ok(out)
}

async fn expect_ok(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{what}: {status} {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An admin's access token.
async fn admin_token(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let tokens = expect_ok(
        client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?,
        "admin login",
    )
    .await?;
    Ok(tokens["access_token"]
        .as_str()
        .context("an access token")?
        .to_string())
}

/// Creates `kinds` published one-variant products with ten million units each.
async fn stocked_variants(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
    run: &str,
    kinds: usize,
) -> anyhow::Result<Vec<String>> {
    eprintln!("preparing {kinds} stocked products...");
    let token = admin_token(client, url, email, password).await?;
    let mut variants = Vec::with_capacity(kinds);
    for i in 0..kinds {
        let slug = format!("load-{run}-{i}");
        let product = expect_ok(
            client
                .post(format!("{url}/api/v1/admin/products"))
                .bearer_auth(&token)
                .json(&json!({
                    "slug": slug,
                    "translations": {"en": {"title": format!("Load Test Item {i}")}},
                    "options": [{"name": "size", "values": ["one"]}],
                    "variants": [{"sku": slug, "options": {"size": "one"}, "prices": {"USD": {"amount": 1000}}}],
                }))
                .send()
                .await?,
            "create product",
        )
        .await?;
        let id = product["id"].as_str().unwrap_or_default();
        expect_ok(
            client
                .post(format!("{url}/api/v1/admin/products/{id}/publish"))
                .bearer_auth(&token)
                .send()
                .await?,
            "publish",
        )
        .await?;
        let variant = product["variants"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        expect_ok(
            client
                .post(format!(
                    "{url}/api/v1/admin/inventory/{variant}/adjustments"
                ))
                .bearer_auth(&token)
                .json(&json!({"delta": 10_000_000, "reason": "load test"}))
                .send()
                .await?,
            "stock",
        )
        .await?;
        variants.push(variant);
    }
    Ok(variants)
}

/// One purchase as a guest; answers how long the checkout request took.
async fn buy(
    client: &reqwest::Client,
    url: &str,
    variant: &str,
    key: &str,
) -> anyhow::Result<Duration> {
    let cart = expect_ok(
        client.post(format!("{url}/api/v1/carts")).send().await?,
        "cart",
    )
    .await?;
    let id = cart["id"].as_str().unwrap_or_default();
    let token = cart["token"].as_str().unwrap_or_default();
    expect_ok(
        client
            .post(format!("{url}/api/v1/carts/{id}/items"))
            .header("x-cart-token", token)
            .json(&json!({"variant_id": variant, "quantity": 1}))
            .send()
            .await?,
        "add",
    )
    .await?;
    let t = Instant::now();
    let response = client
        .post(format!("{url}/api/v1/carts/{id}/checkout"))
        .header("x-cart-token", token)
        .header("idempotency-key", key)
        .json(&json!({
            "email": "load@example.com",
            "shipping_address": {"name": "Load", "line1": "1 Main St", "city": "Town", "region": "CA", "postal_code": "94105", "country": "US"},
            "payment_provider": "manual",
        }))
        .send()
        .await?;
    let took = t.elapsed();
    if response.status().as_u16() != 201 {
        bail!("checkout: {}", response.status());
    }
    response.bytes().await?;
    Ok(took)
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

/// A guest purchase on Vendure's Shop API (GraphQL), with the shipping and payment
/// methods its seed sets up.
#[derive(Clone)]
struct Vendure {
    endpoint: String,
    shipping_method: String,
    payment_method: String,
}

const VENDURE_ADDRESS: &str = r#"{fullName: "Load Test", streetLine1: "1 High Street", city: "London", postalCode: "SW1A 1AA", countryCode: "GB"}"#;

impl Vendure {
    /// Finds the method ids by walking one purchase up to the payment step.
    async fn discover(client: &reqwest::Client, url: &str) -> anyhow::Result<Self> {
        let endpoint = format!("{url}/shop-api");
        let mut token = None;
        gql(client, &endpoint, &mut token, r#"mutation { addItemToOrder(productVariantId: "1", quantity: 1) { __typename ... on ErrorResult { errorCode message } } }"#).await?;
        gql(client, &endpoint, &mut token, &format!("mutation {{ setOrderShippingAddress(input: {VENDURE_ADDRESS}) {{ __typename ... on ErrorResult {{ errorCode message }} }} }}")).await?;
        let shipping = gql(
            client,
            &endpoint,
            &mut token,
            "{ eligibleShippingMethods { id } }",
        )
        .await?;
        let payment = gql(
            client,
            &endpoint,
            &mut token,
            "{ eligiblePaymentMethods { code isEligible } }",
        )
        .await?;
        let shipping_method = shipping["eligibleShippingMethods"][0]["id"]
            .as_str()
            .context("the peer offers no shipping method")?
            .to_string();
        let payment_method = payment["eligiblePaymentMethods"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["isEligible"] == true))
            .and_then(|m| m["code"].as_str())
            .context("the peer offers no payment method")?
            .to_string();
        Ok(Self {
            endpoint,
            shipping_method,
            payment_method,
        })
    }

    /// One purchase in a new session: six Shop API calls, ending with a settled payment.
    async fn buy(
        &self,
        client: &reqwest::Client,
        variant: u64,
        worker: usize,
    ) -> anyhow::Result<()> {
        let mut token = None;
        let e = &self.endpoint;
        let steps = [
            format!(r#"mutation {{ addItemToOrder(productVariantId: "{variant}", quantity: 1) {{ __typename ... on ErrorResult {{ errorCode message }} }} }}"#),
            format!(r#"mutation {{ setCustomerForOrder(input: {{emailAddress: "load-{worker}@example.com", firstName: "Load", lastName: "Test"}}) {{ __typename ... on ErrorResult {{ errorCode message }} }} }}"#),
            format!("mutation {{ setOrderShippingAddress(input: {VENDURE_ADDRESS}) {{ __typename ... on ErrorResult {{ errorCode message }} }} }}"),
            format!(r#"mutation {{ setOrderShippingMethod(shippingMethodId: ["{}"]) {{ __typename ... on ErrorResult {{ errorCode message }} }} }}"#, self.shipping_method),
            r#"mutation { transitionOrderToState(state: "ArrangingPayment") { __typename ... on ErrorResult { errorCode message } } }"#.to_string(),
            format!(r#"mutation {{ addPaymentToOrder(input: {{method: "{}", metadata: {{}}}}) {{ __typename ... on Order {{ state }} ... on ErrorResult {{ errorCode message }} }} }}"#, self.payment_method),
        ];
        let mut last = Value::Null;
        for step in &steps {
            last = gql(client, e, &mut token, step).await?;
        }
        match last["addPaymentToOrder"]["state"].as_str() {
            Some("PaymentSettled") => Ok(()),
            _ => bail!("payment not settled: {last}"),
        }
    }
}

/// One GraphQL call; keeps the session token the peer hands out, and fails on GraphQL
/// errors and on error results.
async fn gql(
    client: &reqwest::Client,
    endpoint: &str,
    token: &mut Option<String>,
    query: &str,
) -> anyhow::Result<Value> {
    let mut request = client.post(endpoint).json(&json!({ "query": query }));
    if let Some(t) = token.as_deref() {
        request = request.bearer_auth(t);
    }
    let response = request.send().await?;
    if let Some(t) = response.headers().get("vendure-auth-token") {
        *token = Some(t.to_str()?.to_string());
    }
    let body: Value = expect_ok(response, "graphql").await?;
    if body.get("errors").is_some() {
        bail!("graphql errors: {}", body["errors"]);
    }
    let data = body["data"].clone();
    if let Some(result) = data.as_object().and_then(|d| d.values().next())
        && result.get("errorCode").is_some()
    {
        bail!("error result: {result}");
    }
    Ok(data)
}
