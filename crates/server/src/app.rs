//! Assembling a node: the router with its layers, the worker, and a graceful shutdown.

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use emporium_accounts::Accounts;
use emporium_catalog::Catalog;
use emporium_checkout::Checkout;
use emporium_core::Config;
use emporium_db::Db;
use emporium_db::migration::Migrator;
use emporium_inventory::Inventory;
use emporium_notify::{EMAIL_TOPIC, Mailer};
use emporium_search::Search;
use emporium_storefront::Storefront;
use sea_orm_migration::MigratorTrait;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::worker::Worker;
use crate::{health, layers, metrics};
use emporium_core::outbox::JobRegistry;

/// Path of the served OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// How a node is started beyond its configuration.
#[derive(Default)]
pub struct StartOptions {
    /// Skip running migrations at start (`--no-migrate`).
    pub no_migrate: bool,
    /// Job handlers by topic, in addition to the domains' own.
    pub jobs: JobRegistry,
    /// Extra routes merged into the router under the same layers (tests use it for
    /// routes that exercise the layers, such as one that panics).
    pub extra_routes: Option<Router<AppState>>,
}

/// The routes of every domain, with their OpenAPI entries.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::get_healthz))
        .routes(routes!(health::get_readyz))
        .routes(routes!(metrics::get_metrics))
        .merge(emporium_accounts::router())
        .merge(emporium_catalog::router())
        .merge(emporium_inventory::router())
        .merge(emporium_orders::router())
        .merge(emporium_checkout::router())
        .merge(emporium_payments::router())
        .merge(emporium_shipping::router())
        .merge(emporium_search::router())
        .merge(emporium_reviews::router())
        .merge(emporium_integrations::router())
        .merge(emporium_promotions::router())
        .merge(emporium_analytics::router())
        .merge(emporium_support::router())
}

/// The complete OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().split_for_parts().1;
    crate::openapi::describe_responses(&mut doc);
    doc
}

/// The router with every layer, ready to serve.
pub fn router(state: AppState, extra: Option<Router<AppState>>) -> Router {
    let (mut routes, mut api) = api_router().split_for_parts();
    crate::openapi::describe_responses(&mut api);
    if let Some(extra) = extra {
        routes = routes.merge(extra);
    }
    let http = &state.config.http;
    let request_id = HeaderName::from_static("x-request-id");
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(axum::middleware::from_fn_with_state(
            http.trust_forwarded_for,
            layers::client_ip,
        ))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(layers::problem_safety_net))
        .layer(CatchPanicLayer::custom(layers::panic_response))
        .layer(cors(&http.cors_origins))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(http.request_timeout_secs.max(1)),
        ))
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::audit_admin_writes,
        ));
    routes
        .merge(emporium_storefront::router().with_state(state.storefront.clone()))
        .merge(emporium_admin::router().with_state(state.admin.clone()))
        .route(
            emporium_web::csp::REPORT_PATH,
            axum::routing::post(emporium_web::csp::report),
        )
        .merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, api))
        .fallback(layers::fallback)
        .layer(middleware)
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(Any)
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(Any);
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    layer.allow_origin(AllowOrigin::list(list))
}

/// Runs every pending migration.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    Migrator::up(db.writer(), None)
        .await
        .context("running migrations")
}

/// A started node: listening, with its worker running.
pub struct Node {
    pub addr: SocketAddr,
    pub state: AppState,
    pub worker: Worker,
    /// Scheduled backups, when `[backup] to` is set (they run on worker nodes only).
    pub backups: Option<crate::backup::schedule::BackupScheduler>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    worker_task: Option<JoinHandle<()>>,
}

/// Marks idle carts abandoned, purges old guest carts, expires unpaid orders and counts
/// uncounted sales, on every
/// worker node (each cart or order changes by one guarded update, so nodes never double
/// up).
async fn sweep_carts(
    checkout: Checkout,
    payments: emporium_payments::Payments,
    reviews: emporium_reviews::Reviews,
    analytics: emporium_analytics::Analytics,
    support: emporium_support::Support,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match checkout
            .sweep_carts(chrono::Utc::now().timestamp_millis())
            .await
        {
            Ok(report) if report.abandoned > 0 || report.purged > 0 => {
                tracing::info!(
                    abandoned = report.abandoned,
                    purged = report.purged,
                    "carts swept"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cart sweep failed"),
        }
        match payments
            .expire_unpaid(chrono::Utc::now().timestamp_millis())
            .await
        {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "unpaid orders expired"),
            Err(err) => tracing::warn!(error = %err, "unpaid order sweep failed"),
        }
        match reviews
            .send_due_requests(chrono::Utc::now().timestamp_millis())
            .await
        {
            Ok(r) if r.requests + r.reminders > 0 => {
                tracing::info!(
                    requests = r.requests,
                    reminders = r.reminders,
                    "review requests sent"
                )
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "review request sweep failed"),
        }
        // Ledger rows whose event was lost (or that came without one, like a refund made
        // in a gateway's dashboard) are counted here.
        if let Err(err) = analytics.apply_pending().await {
            tracing::warn!(error = %err, "adding sales to the rollups failed");
        }
        match support.wake_snoozed(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(woke) => tracing::info!(woke, "snoozed tickets woke"),
            Err(err) => tracing::warn!(error = %err, "waking snoozed tickets failed"),
        }
        match support.check_sla(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(breaches) => tracing::info!(breaches, "service levels missed"),
            Err(err) => tracing::warn!(error = %err, "checking service levels failed"),
        }
    }
}

impl Node {
    /// Connects, migrates, binds `config.addr` and starts serving and working.
    pub async fn start(config: Config, options: StartOptions) -> anyhow::Result<Self> {
        let db = Db::connect(&config).await?;
        if !options.no_migrate {
            migrate(&db).await?;
        }
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        Self::start_with(config, db, listener, options).await
    }

    /// Starts on an open database and a bound listener (the test harness uses it).
    pub async fn start_with(
        config: Config,
        db: Db,
        listener: TcpListener,
        options: StartOptions,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let config = Arc::new(config);
        let auth = emporium_auth::Auth::new(
            &config,
            Arc::new(emporium_accounts::UserDirectory::new(db.clone())),
        )?;
        let accounts = Accounts::new(db.clone(), config.clone(), auth.clone())?;
        let mailer = Mailer::from_config(&config)?;
        let mut jobs = options.jobs;
        let mailer = Arc::new(mailer);
        jobs.register(EMAIL_TOPIC, mailer.clone());
        emporium_notify::jobs::subscribe(&mut jobs, mailer, config.store.staff_email.clone());
        let inventory = Inventory::new(db.clone(), config.clone());
        emporium_inventory::jobs::subscribe(&mut jobs, inventory.clone());
        let catalog = Catalog::new(
            db.clone(),
            config.clone(),
            Some(Arc::new(inventory.clone())),
        );
        jobs.register(
            emporium_catalog::media::THUMBNAIL_TOPIC,
            Arc::new(emporium_catalog::media::ThumbnailJob(catalog.clone())),
        );
        let gateways = emporium_payments::Gateways::new(db.clone(), config.clone())?;
        let shipping = emporium_shipping::Shipping::new(db.clone(), config.clone())?;
        let orders = emporium_orders::Orders::new(
            db.clone(),
            config.clone(),
            inventory.clone(),
            shipping.clone(),
            vec![Arc::new(emporium_payments::PaymentHooks)],
        );
        let payments = emporium_payments::Payments::new(
            db.clone(),
            config.clone(),
            gateways,
            orders.clone(),
            inventory.clone(),
        );
        let promotions = emporium_promotions::Promotions::new(db.clone());
        emporium_promotions::jobs::subscribe(&mut jobs, promotions.clone());
        let analytics = emporium_analytics::Analytics::new(db.clone(), config.clone());
        emporium_analytics::jobs::subscribe(&mut jobs, analytics.clone());
        let checkout = Checkout::new(
            db.clone(),
            config.clone(),
            emporium_checkout::Domains {
                catalog: catalog.clone(),
                inventory: inventory.clone(),
                orders: orders.clone(),
                payments: payments.clone(),
                shipping: shipping.clone(),
                promotions: promotions.clone(),
                addresses: Arc::new(accounts.clone()),
            },
        );
        let reviews = emporium_reviews::Reviews::new(
            db.clone(),
            config.clone(),
            catalog.clone(),
            orders.clone(),
        );
        emporium_reviews::jobs::subscribe(&mut jobs, reviews.clone());
        let integrations = emporium_integrations::Integrations::new(db.clone(), config.clone())?;
        emporium_integrations::jobs::subscribe(&mut jobs, integrations.clone());
        let support = emporium_support::Support::new(
            db.clone(),
            config.clone(),
            orders.clone(),
            auth.clone(),
        )?;
        let search = Search::open(&config, db.clone(), catalog.clone(), inventory.clone())?;
        let storefront = Storefront::new(
            config.clone(),
            emporium_storefront::Domains {
                db: db.clone(),
                auth: auth.clone(),
                accounts: accounts.clone(),
                orders: orders.clone(),
                catalog: catalog.clone(),
                checkout: checkout.clone(),
                inventory: inventory.clone(),
                search: search.clone(),
                reviews: reviews.clone(),
                analytics: analytics.clone(),
                support: support.clone(),
            },
        );
        let admin = emporium_admin::Admin::new(
            db.clone(),
            config.clone(),
            emporium_admin::Domains {
                auth: auth.clone(),
                accounts: accounts.clone(),
                catalog: catalog.clone(),
                checkout: checkout.clone(),
                orders: orders.clone(),
                payments: payments.clone(),
                shipping: shipping.clone(),
                inventory: inventory.clone(),
                reviews: reviews.clone(),
                integrations: integrations.clone(),
                promotions: promotions.clone(),
                analytics: analytics.clone(),
                support: support.clone(),
            },
        );
        let state = AppState {
            config: config.clone(),
            db: db.clone(),
            metrics: metrics::recorder(),
            auth,
            accounts,
            catalog,
            inventory,
            orders,
            payments,
            checkout,
            search,
            shipping,
            reviews,
            integrations,
            promotions,
            analytics,
            support,
            storefront,
            admin,
        };
        let app = router(state.clone(), options.extra_routes);
        let shutdown = CancellationToken::new();
        let worker = Worker::new(db, Arc::new(jobs), config.outbox.clone());
        let worker_task = config
            .outbox
            .worker
            .then(|| tokio::spawn(worker.clone().run(shutdown.clone())));
        let backups =
            crate::backup::schedule::BackupScheduler::new(state.db.clone(), config.clone())
                .context("[backup] to")?;
        if let (true, Some(backups)) = (config.outbox.worker, &backups) {
            tokio::spawn(backups.clone().run(shutdown.clone()));
        }
        if config.outbox.worker {
            tokio::spawn(sweep_carts(
                state.checkout.clone(),
                state.payments.clone(),
                state.reviews.clone(),
                state.analytics.clone(),
                state.support.clone(),
                Duration::from_secs(config.checkout.sweep_interval_secs.max(1)),
                shutdown.clone(),
            ));
        }
        // Every node hears the others' chat signals (PostgreSQL's LISTEN).
        tokio::spawn(state.support.clone().follow_chat(shutdown.clone()));
        // Every node writes the funnel events it gathered once a second.
        tokio::spawn(state.analytics.clone().flush_every_second(shutdown.clone()));
        // Every node keeps its own search replica in step with the catalog change log.
        tokio::spawn(state.search.clone().follow(shutdown.clone()));
        // Every node follows the catalog change log to drop stale cached reads.
        tokio::spawn(state.catalog.cache().clone().follow(
            state.db.clone(),
            Duration::from_millis(250),
            shutdown.clone(),
        ));
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
        });
        tracing::info!(%addr, backend = ?state.db.backend(), "emporium listening");
        Ok(Self {
            addr,
            state,
            worker,
            backups,
            shutdown,
            server,
            worker_task,
        })
    }

    /// A token that, when cancelled, starts a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets in-flight requests and the job round finish (within the
    /// configured grace), then closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the node has shut down (after its token is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.config.http.shutdown_grace_secs);
        self.shutdown.cancelled().await;
        let finish = async {
            let served = self.server.await;
            if let Some(task) = self.worker_task {
                let _ = task.await;
            }
            served
        };
        match tokio::time::timeout(grace, finish).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => return Err(err).context("server failed"),
            Ok(Err(err)) => return Err(err).context("server task failed"),
            Err(_) => tracing::warn!("shutdown grace period ran out; stopping anyway"),
        }
        self.state.db.close().await;
        Ok(())
    }
}
