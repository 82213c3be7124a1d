//! Checkout: carts (guest and customer, merged at sign-in, recoverable when abandoned),
//! tax per line, checkout that reserves stock atomically and is idempotent, and orders
//! with their state machine and history; paying for them through the gateways, with
//! webhooks, refunds and the expiry of unpaid orders.
//!
//! Owns: `carts`, `cart_lines`, `orders`, `order_lines`, `order_events`, `payments`,
//! `payment_events`, `refunds`, `shipments`, `shipment_events`, `tax_rates`,
//! `customer_addresses` (the address book, to move to accounts).
//! May call: `core`, `db`, `auth`, `catalog`, `inventory`, `payments` (gateways),
//! `shipping` (rates), `notify` (cart recovery email). Never `accounts`: the signed-in
//! customer's email comes with the `Principal`.
//! Events: publishes `order.placed`, `order.paid`, `order.cancelled`,
//! `order.cancellation_requested`, `order.shipped` and `refund.created`
//! (`emporium_core::events`); consumes none.

mod admin_routes;
mod cancel;
mod carts;
pub mod model;
mod orders;
mod payment_flow;
mod payment_routes;
mod pricing;
mod routes;
mod state;
mod tax;
mod views;

pub use cancel::Cancellation;
pub use carts::{CartAccess, SweepReport};
pub use orders::CheckoutBody;
pub use payment_flow::{ManualOutcome, PaymentHooks, RefundBody};
pub use routes::router;
pub use state::Checkout;
pub use views::{CartView, CheckoutView, OrderPaymentsView, OrderView, PaymentView, RefundView};
