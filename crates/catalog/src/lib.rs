//! The catalog: products with options and variants, categories, translations with
//! fallback to the default language, and prices in many currencies (explicit, or
//! converted with stored rates and each currency's minor units). Every write appends to
//! the catalog change log that every node follows.

mod assemble;
mod cache;
mod categories;
mod collections;
mod csv_io;
mod documents;
pub mod media;
pub mod model;
mod pricing;
mod products;
mod reads;
mod routes;
mod seed;
mod sellable;
mod state;
mod views;

pub use cache::ReadCache;
pub use csv_io::{ImportReport, RowError};
pub use documents::{Change, SearchDoc};
pub use routes::{Locale, router};
pub use sellable::{Converter, SellableVariant, record_variant_change, variant_exists};
pub use state::{Catalog, StockSource};
