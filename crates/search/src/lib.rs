//! Product search: each node keeps a tantivy replica of the published catalog, follows the
//! catalog change log to stay within a second of every write, and answers full-text
//! queries with typo tolerance, filters, facet counts and suggestions in-process.

pub mod query;
mod replica;
mod routes;
pub mod schema;
mod state;
mod suggest;

pub use routes::router;
pub use state::{RebuildReport, Search, Suggestion};
