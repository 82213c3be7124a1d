//! Prometheus metrics: request counts and latency by route and status, the database pool,
//! and the outbox depth (read at scrape time, so it is exact when scraped).

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use emporium_core::AppResult;
use emporium_db::Db;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use std::sync::OnceLock;
use std::time::Instant;

use crate::state::AppState;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder; every server in the process (tests start many) shares it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Histogram samples pile up in memory until upkeep folds them into buckets,
            // and the exporter only does that when scraped: a node nobody scrapes would
            // grow without bound. A thread, not a task, because the recorder outlives any
            // one runtime (tests start many).
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            // Another recorder may already be installed (an embedding program's); then
            // ours still renders what is recorded through it.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts and times every request by method, matched route and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

async fn record_gauges(db: &Db) {
    let stats = db.pool_stats();
    metrics::gauge!("db_pool_connections", "state" => "open").set(f64::from(stats.size));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(stats.idle));
    metrics::gauge!("db_pool_connections", "state" => "max").set(f64::from(stats.max));
    let backend = db.reader().get_database_backend();
    let stmt = Statement::from_string(
        backend,
        "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status",
    );
    if let Ok(rows) = db.reader().query_all_raw(stmt).await {
        let mut pending = 0;
        let mut dead = 0;
        for row in rows {
            if let Ok(c) = StatusCount::from_query_result(&row, "") {
                match c.status.as_str() {
                    "dead" => dead = c.n,
                    _ => pending += c.n,
                }
            }
        }
        metrics::gauge!("outbox_jobs", "status" => "pending").set(pending as f64);
        metrics::gauge!("outbox_jobs", "status" => "dead").set(dead as f64);
    }
    // Read from the schedule's row, so every node reports the backups whichever ran them.
    if let Ok(Some(backup)) = crate::backup::schedule::health(db).await {
        if let Some(at) = backup.last_success_at {
            metrics::gauge!("backup_last_success_timestamp_seconds").set(at.timestamp() as f64);
        }
        metrics::gauge!("backup_consecutive_failures").set(f64::from(backup.failures));
        if let Some(secs) = backup.last_duration_secs {
            metrics::gauge!("backup_last_duration_seconds").set(secs);
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
pub async fn get_metrics(State(state): State<AppState>) -> AppResult<Response> {
    record_gauges(&state.db).await;
    state.metrics.run_upkeep();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}
