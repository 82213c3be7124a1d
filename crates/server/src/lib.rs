//! Emporium's HTTP server: shared state, the router with its layers, the OpenAPI
//! document, metrics, and the outbox worker every node runs.

pub mod app;
mod health;
mod layers;
pub mod metrics;
pub mod openapi;
pub mod state;
pub mod worker;

pub use app::{Node, StartOptions, migrate, openapi, router};
pub use emporium_core::outbox::{Job, JobHandler, JobRegistry};
pub use state::AppState;
pub use worker::Worker;
