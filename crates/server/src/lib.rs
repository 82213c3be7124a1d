//! Emporium's HTTP server: shared state, the router with its layers, the OpenAPI
//! document, metrics, and the outbox worker every node runs.
//!
//! Assembly only: builds each domain's state, merges their routers under one set of
//! layers (request ids, tracing, problem+json safety net, CORS, limits, metrics, the
//! audit of admin writes), registers each domain's jobs and event subscribers, and runs
//! the worker. It holds no business rule.

pub mod app;
pub mod backup;
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
