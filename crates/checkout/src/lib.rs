//! Checkout: the orchestrator of buying. Carts (guest and customer, merged at sign-in,
//! recoverable when abandoned), pricing with tax per line, and placing an order: one
//! transaction that re-prices the cart, writes the order (orders), reserves its stock
//! (inventory) and records its payment attempt (payments), idempotent by key. The
//! customer's cancel (orders moves the order, payments refunds it) is here too.
//!
//! Owns: `carts`, `cart_lines`, `tax_rates`.
//! May call: `core`, `db`, `auth`, `catalog`, `inventory`, `orders`, `payments`,
//! `shipping` (rates). It is the only crate that calls orders, payments, inventory and
//! shipping together. Never `accounts`: the signed-in customer's email comes with the
//! `Principal`, saved addresses through `core::address::SavedAddresses`; `notify` only
//! to queue the abandoned-cart recovery email.
//! Events: publishes none itself (`order.placed` comes from `orders::finish`, inside
//! checkout's transaction); consumes none.

mod admin_routes;
mod cancel;
mod carts;
mod coupons;
pub mod model;
mod orders;
mod pricing;
mod routes;
mod state;
mod tax;
mod views;

pub use cancel::Cancellation;
pub use carts::{CartAccess, CartSummary, SweepReport};
pub use coupons::CouponBody;
pub use orders::CheckoutBody;
pub use routes::router;
pub use state::{Checkout, Domains};
pub use tax::TaxRateBody;
pub use views::{CartView, CheckoutView};
