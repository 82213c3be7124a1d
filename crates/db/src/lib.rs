//! Database access shared by every domain: connecting to SQLite or PostgreSQL with pools
//! sized for each, and the one migration set both backends run.

mod connect;
pub mod entity;
pub mod migration;

pub use connect::{Backend, Db, PoolStats};
pub use sea_orm;
