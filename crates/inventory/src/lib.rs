//! Inventory: stock per variant and location (on hand, reserved, available), the ledger
//! row behind every change, and each variant's backorder policy. Checkout reserves stock
//! inside its own order transaction with one conditional update per level, so two buyers
//! can never take the last unit twice. Locations ship to the countries they list; staff
//! hear when stock runs low, shoppers when a variant is back.

pub mod alerts;
mod listing;
pub mod model;
mod routes;
mod service;
mod state;

pub use model::Availability;
pub use routes::router;
pub use service::{Reservation, Shortage, Want};
pub use state::Inventory;
