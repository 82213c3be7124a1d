//! Promotions: automatic discounts and coupon codes. A promotion has a class (product,
//! order or shipping), an action (percent or amount off, free or cheaper shipping, buy X
//! get Y, spend tiers), conditions (subtotal, quantity, products, variants, categories,
//! collections, shopper, country), a window, a priority and the classes it combines
//! with. The engine (`engine.rs`, no I/O) decides what applies and splits every discount
//! over the lines by the largest-remainder method, the same whatever the order of the
//! lines. Checkout prices carts with it and counts redemptions inside the order's
//! transaction by guarded updates, so no limit is ever overstepped by concurrent
//! checkouts; an order cancelled or expired before payment gives its redemptions back.
//!
//! Owns: `promotions`, `promotion_codes`, `promotion_customer_uses`,
//! `promotion_redemptions`.
//! May call: `core`, `db`, `auth`.
//! Events: publishes `promotion.created`, `promotion.updated`, `promotion.deleted`;
//! consumes `order.cancelled` (`jobs.rs`).

pub mod engine;
pub mod jobs;
pub mod model;
mod routes;
pub mod service;
mod state;

pub use engine::{Applied, Class, Outcome, Refusal};
pub use model::{PromotionBody, PromotionView, normalize_code};
pub use routes::router;
pub use service::{CodeLookup, Redemption, customer_key, refusal};
pub use state::Promotions;
