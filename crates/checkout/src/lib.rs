//! Checkout: carts (guest and customer, merged at sign-in, recoverable when abandoned),
//! tax per line, checkout that reserves stock atomically and is idempotent, and orders
//! with their state machine and history.

mod admin_routes;
mod carts;
mod history;
pub mod model;
mod orders;
mod pricing;
mod routes;
mod state;
mod tax;
mod views;

pub use carts::{CartAccess, SweepReport};
pub use orders::{Actor, CheckoutBody, TransitionDetail};
pub use routes::router;
pub use state::Checkout;
pub use views::{CartView, CheckoutView, OrderView};
