//! Routes and job handlers that exist only to exercise the server's shared machinery.

use axum::Router;
use axum::routing::{get, post};
use emporium_core::extract::Json;
use emporium_server::{AppState, Job, JobHandler};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct EchoBody {
    pub name: String,
    pub quantity: u32,
}

/// `POST /__test/echo` (JSON in, JSON out), `GET /__test/panic` and the slow route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/__test/echo",
            post(|Json(body): Json<EchoBody>| async move { axum::Json(body) }),
        )
        .route(
            "/__test/panic",
            get(|| async {
                let v: Vec<u8> = Vec::new();
                // An out-of-bounds index, as a bug in a handler would do.
                v[usize::from(v.is_empty())].to_string()
            }),
        )
        .merge(slow_route(Arc::new(Notify::new())))
}

/// `GET /__test/slow`: notifies `started`, then answers after 1.5 s.
pub fn slow_route(started: Arc<Notify>) -> Router<AppState> {
    Router::new().route(
        "/__test/slow",
        get(move || async move {
            started.notify_one();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            "done"
        }),
    )
}

/// Records the jobs it ran; fails every run when `fail` is set.
#[derive(Default, Clone)]
pub struct Recorder {
    pub runs: Arc<Mutex<Vec<i64>>>,
    pub fail: bool,
}

impl Recorder {
    pub fn failing() -> Self {
        Self {
            fail: true,
            ..Self::default()
        }
    }

    pub fn runs(&self) -> Vec<i64> {
        self.runs.lock().expect("lock").clone()
    }
}

#[async_trait::async_trait]
impl JobHandler for Recorder {
    async fn run(&self, job: &Job) -> anyhow::Result<()> {
        self.runs.lock().expect("lock").push(job.id);
        // Give other workers a chance to interleave, as real I/O would.
        tokio::task::yield_now().await;
        if self.fail {
            anyhow::bail!("the handler refused job {}", job.id);
        }
        Ok(())
    }
}
