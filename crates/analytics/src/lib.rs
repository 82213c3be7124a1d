//! Analytics: the shop's sales figures. Orders write the sales ledger (one row per order,
//! payment, refund and cancellation, in the transaction of the change); analytics sums it
//! into rollups per local day and dimension (product, variant, country, coupon, customer
//! type, payment provider, and per hour) through the outbox, and answers reports and the
//! dashboard from the rollups, so their cost follows the number of days, not of orders.
//! `emporium reports rebuild` recomputes the rollups from the ledger.
//!
//! Owns: `sales_rollups` (reads `sales_ledger`, `sales_ledger_lines` and
//! `promotion_redemptions`).
//! May call: `core`, `db`, `auth`.
//! Events: consumes `order.placed`, `order.paid`, `order.cancelled`, `refund.created`
//! (`jobs.rs`); publishes none.

mod export;
pub mod funnel;
pub mod jobs;
pub mod reports;
pub mod rollup;
mod routes;
mod state;

pub use export::{breakdown_csv, cohorts_csv, funnel_csv, sales_csv};
pub use funnel::{Step, is_bot};
pub use reports::{
    BreakdownReport, BreakdownRow, CohortReport, Compare, DashboardView, FiguresView, FunnelReport,
    Group, Report, ReportKind, ReportQuery, SalesReport,
};
pub use rollup::Measures;
pub use routes::router;
pub use state::Analytics;
