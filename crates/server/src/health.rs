//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use emporium_core::{AppError, AppResult};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

use crate::state::AppState;

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `ok` when the check passed.
    pub status: &'static str,
    pub version: &'static str,
    /// Scheduled backups, once any ran: reported here, not counted against readiness
    /// (a failing backup target is no reason to take a node out of a load balancer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::backup::schedule::BackupHealth>,
}

/// Alive: the process answers. Never touches the database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthView))
)]
pub async fn get_healthz() -> Json<HealthView> {
    Json(HealthView {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        backup: None,
    })
}

/// Ready: the database answers within two seconds; 503 otherwise, and 200 again as soon
/// as it is back (the pools reconnect on their own).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = HealthView),
        (status = 503, description = "The database is unreachable", body = emporium_core::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn get_readyz(State(state): State<AppState>) -> AppResult<Json<HealthView>> {
    match state.db.ping(Duration::from_secs(2)).await {
        Ok(()) => Ok(Json(HealthView {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
            backup: crate::backup::schedule::health(&state.db)
                .await
                .ok()
                .flatten(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(AppError::Unavailable {
                detail: "the database is unreachable".into(),
                retry_after_secs: 2,
            })
        }
    }
}
