//! The test harness: each test gets the real server on `127.0.0.1:0` against its own fresh
//! database (a copy of a migrated SQLite template, or a PostgreSQL database cloned from a
//! migrated template when `EMPORIUM_TEST_DATABASE_URL` is set), and talks HTTP to it.

pub mod browser;
pub mod carriers;
mod database;
pub mod gateways;
pub mod identity;
mod proxy;
pub mod rfc6238;
pub mod s3;
pub mod session;
pub mod shop;
mod smtp;

use emporium_core::Config;
use emporium_db::Db;
use emporium_server::{AppState, JobRegistry, Node, StartOptions};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use std::sync::Once;

pub use database::{TestDatabase, postgres_admin_url};
pub use proxy::TcpProxy;
pub use session::Session;
pub use shop::{GuestCart, Product, address};
pub use smtp::{ReceivedMail, SmtpServer};

/// What a test may change about its server.
pub struct TestOptions {
    /// Job handlers to register in addition to the server's own.
    pub jobs: JobRegistry,
    /// Extra routes, merged under the same layers.
    pub extra_routes: Option<axum::Router<AppState>>,
    /// Run the background worker (off by default: tests call [`TestApp::drain_outbox`]).
    pub worker: bool,
    /// Last changes to the configuration before the server starts.
    pub configure: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            jobs: JobRegistry::default(),
            extra_routes: None,
            worker: false,
            configure: Box::new(|_| {}),
        }
    }
}

/// A running server with its own database, stopped and dropped with the test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub client: reqwest::Client,
    /// Receives every email the server sends.
    pub smtp: SmtpServer,
    node: Option<Node>,
    database: TestDatabase,
}

impl TestApp {
    /// The server with default options.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    /// The server with `options`.
    pub async fn spawn_with(options: TestOptions) -> Self {
        init_tracing();
        let database = TestDatabase::create().await;
        let smtp = SmtpServer::start().await;
        let mut config = database.config();
        config.outbox.worker = options.worker;
        config.smtp_url = Some(smtp.url().into());
        // Real Argon2id, at a cost that keeps hundreds of logins in the suite fast.
        config.auth.argon2_memory_kib = 1024;
        config.auth.argon2_iterations = 1;
        // Rate limits are exercised by their own tests, which lower these.
        config.auth.ip_per_minute = 100_000;
        config.auth.account_per_minute = 100_000;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a random port");
        let addr = listener.local_addr().expect("local addr");
        config.addr = addr;
        config.public_url = Some(format!("http://{addr}"));
        (options.configure)(&mut config);
        let db = Db::connect(&config).await.expect("test database connects");
        let node = Node::start_with(
            config,
            db,
            listener,
            StartOptions {
                no_migrate: true,
                jobs: options.jobs,
                extra_routes: options.extra_routes,
            },
        )
        .await
        .expect("server starts");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            base: format!("http://{}", node.addr),
            client,
            smtp,
            node: Some(node),
            database,
        }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("node is running")
    }

    /// The node's database handles.
    pub fn db(&self) -> &Db {
        &self.node().state.db
    }

    /// The node's configuration.
    pub fn config(&self) -> &Config {
        &self.node().state.config
    }

    /// The test's database (its URL, to open a second node on it).
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// The node's state (domain services, for setting up what has no HTTP route).
    pub fn state(&self) -> &AppState {
        &self.node().state
    }

    /// Sends `method path` with a bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Response {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// A second node on the same database (as a cluster runs), with its own port, cache
    /// and worker off. It stops when dropped.
    pub async fn sibling(&self) -> Sibling {
        let mut config = self.database.config();
        config.smtp_url = Some(self.smtp.url().into());
        config.auth = self.config().auth.clone();
        config.outbox.worker = false;
        // Each node keeps its own search replica, as separate machines would.
        config.search.dir = Some(
            config
                .data_dir
                .join(format!("search-{}", uuid::Uuid::now_v7().simple())),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        config.addr = listener.local_addr().expect("addr");
        let db = Db::connect(&config).await.expect("sibling connects");
        let node = Node::start_with(
            config,
            db,
            listener,
            StartOptions {
                no_migrate: true,
                ..StartOptions::default()
            },
        )
        .await
        .expect("sibling starts");
        Sibling {
            base: format!("http://{}", node.addr),
            node: Some(node),
        }
    }

    /// Runs every job due at `now_ms` (epoch milliseconds) as a worker whose clock reads
    /// that time would: a test moves time on to reach retries scheduled for later, and a
    /// job whose worker died is taken over once its lease has run out.
    pub async fn drain_outbox_at(&self, now_ms: i64) -> usize {
        self.node()
            .worker
            .drain(now_ms)
            .await
            .expect("outbox drains")
    }

    /// Runs every due outbox job now, as the worker would; returns how many ran.
    pub async fn drain_outbox(&self) -> usize {
        // Jobs may queue more jobs (a back-in-stock job queues emails), due when queued:
        // drain again with the clock moved on until nothing is left.
        let mut total = 0;
        loop {
            let ran = self
                .node()
                .worker
                .drain(emporium_core::outbox::now_ms())
                .await
                .expect("outbox drains");
            if ran == 0 {
                return total;
            }
            total += ran;
        }
    }

    /// Stops the server gracefully (dropping the app also stops it).
    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await.expect("server stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown_token().cancel();
        }
    }
}

/// Another node of the same test's cluster.
pub struct Sibling {
    pub base: String,
    node: Option<Node>,
}

impl Sibling {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown_token().cancel();
        }
    }
}

/// Reads a problem+json answer, checking its content type and status.
pub async fn problem(response: Response, status: u16) -> serde_json::Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type was {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// Reads a JSON answer after checking its status (the body is shown when it differs).
pub async fn json_of(response: Response, status: u16) -> serde_json::Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

/// The `errors[].field` names of a problem, in order.
pub fn fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("EMPORIUM_TEST_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
