//! Product search: each node keeps a tantivy replica of the published catalog, follows the
//! catalog change log to stay within a second of every write, and answers full-text
//! queries with typo tolerance, filters, facet counts and suggestions in-process.
//!
//! Owns: its on-disk index (no table). May call: `core`, `db`, `auth`, `catalog` (the
//! change log and documents), `inventory` (in-stock filter).
//! Events: follows the catalog change log; publishes and consumes no outbox events.

pub mod query;
mod replica;
mod routes;
pub mod schema;
mod state;
mod suggest;

pub use routes::router;
pub use state::{RebuildReport, Search, Suggestion};
