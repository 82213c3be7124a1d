//! The kernel every Emporium crate uses: the error type rendered as problem+json, typed
//! configuration, money, pagination, the outbox writer and the domain events that travel
//! through it.

pub mod address;
pub mod audit;
pub mod config;
pub mod crypto;
pub mod decimal;
pub mod email;
pub mod error;
pub mod events;
pub mod extract;
pub mod geo;
pub mod http;
pub mod id;
pub mod idempotency;
pub mod like;
pub mod locale;
pub mod money;
pub mod order_line;
pub mod outbox;
pub mod pagination;
pub mod reason;

pub use config::Config;
pub use decimal::{from_decimal, to_decimal};
pub use error::{AppError, AppResult, FieldError};
pub use money::{Currency, Money, allocate, apply_ppm, div_round};
