//! Inventory: stock per variant and location (on hand, reserved, available), the ledger
//! row behind every change, and each variant's backorder policy. Checkout reserves stock
//! inside its own order transaction with one conditional update per level, so two buyers
//! can never take the last unit twice. Locations ship to the countries they list; staff
//! hear when stock runs low, shoppers when a variant is back.
//!
//! Owns: `stock_levels`, `stock_locations`, `stock_ledger`, `stock_policies`, stock alert
//! subscriptions and back-in-stock requests.
//! May call: `core`, `db`, `auth`, `catalog` (variant facts), `notify` (alert emails).
//! Events: publishes `stock.low`, `stock.out` and `stock.back` in the transaction that
//! moves the stock; consumes its own `stock.low` (staff emails) and `stock.back` (emails
//! to waiting shoppers) in [`jobs`]. Checkout calls its service inside the order
//! transaction.

pub mod alerts;
pub mod jobs;
mod listing;
pub mod model;
mod routes;
mod service;
mod state;

pub use alerts::{LocationBody, LocationView, NotifyBody};
pub use model::Availability;
pub use routes::router;
pub use service::{Reservation, Shortage, Want};
pub use state::Inventory;
