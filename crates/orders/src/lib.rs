//! Orders: the order state machine (one transition table, one transition function), the
//! order's history, its views, the staff order list with filters, and fulfilment (which
//! lines a parcel carries, and what shipping and delivery do to the order).
//!
//! Owns: `orders`, `order_lines`, `order_events`, and the sales ledger (`sales_ledger`,
//! `sales_ledger_lines`: one row per order, payment, refund and cancellation, written in
//! the change's transaction; payments records its payments and refunds through it).
//! May call: `core`, `db`, `auth`, `inventory` (a paid order commits its reservation, a
//! cancelled one releases it) and `shipping` (parcel records and tracking). Domains that
//! react to a status change inside its transaction (payments) register a
//! [`TransitionHook`]; orders never calls them. Checkout writes new orders through
//! [`Orders::create`] and [`Orders::finish`].
//! Events: publishes `order.placed`, `order.cancelled`, `order.cancellation_requested`,
//! `order.shipped` and `order.delivered` (`emporium_core::events`); consumes none.

mod events;
mod fulfillment;
mod history;
mod ledger;
pub mod model;
mod purchases;
mod routes;
mod seed;
mod state;
mod store;
mod transition;
mod views;

pub use events::{event_lines, initiator, order_ref};
pub use history::{AdminOrder, OrderFilter, Viewer, parse_cursor, shopper};
pub use ledger::{LedgerKind, RefundSplit, RefundedUnits, customer_key, line_paid, units_value};
pub use model::{FulfillmentStatus, OrderStatus, PaymentStatus, Totals};
pub use purchases::{Buyer, Purchase};
pub use routes::router;
pub use seed::{SeedShape, SeedVariant};
pub use state::Orders;
pub use store::{Draft, NewOrder, Overview};
pub use transition::{Actor, Transition, TransitionDetail, TransitionHook};
pub use views::{
    OrderEventView, OrderLineView, OrderPageView, OrderSummaryView, OrderView, TotalsView,
};
