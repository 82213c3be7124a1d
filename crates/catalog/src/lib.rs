//! The catalog: products with options and variants, categories, translations with
//! fallback to the default language, and prices in many currencies (explicit, or
//! converted with stored rates and each currency's minor units). Every write appends to
//! the catalog change log that every node follows.
//!
//! Owns: `products`, `variants`, `variant_prices`, `categories`, `collections`, product
//! texts and images, `exchange_rates`, `catalog_changes`.
//! May call: `core`, `db`, `auth` (route extractors). Stock comes in through a
//! `StockSource` that `server` plugs in, so catalog never depends on inventory.
//! Events: writes the catalog change log (search and the read cache follow it); publishes
//! no outbox events yet, consumes none. Jobs: thumbnails (`catalog.thumbnail`).

mod assemble;
mod cache;
mod categories;
pub mod changes;
mod collections;
mod csv_io;
mod documents;
pub mod media;
pub mod model;
mod pricing;
mod products;
pub mod ratings;
mod reads;
mod routes;
mod seed;
mod sellable;
mod state;
mod views;

pub use cache::{ReadCache, Rendered};
pub use collections::{CollectionBody, CollectionPatchBody, CollectionView, RuleBody};
pub use csv_io::{ImportReport, RowError};
pub use documents::{Change, SearchDoc};
pub use media::{ImagePatchBody, Upload, UploadMeta};
pub use pricing::PriceContext;
pub use ratings::{RatingView, Reviewable, adjust_rating_in, reviewable};
pub use reads::{Found, ListQuery, Sort};
pub use routes::{IMPORT_LIMIT, router};
pub use sellable::{
    Converter, SellableVariant, VariantLabel, record_variant_change, variant_exists,
    variant_id_by_sku, variant_ids, variant_label,
};
pub use state::{Catalog, StockSource};
pub use views::{
    CategoryBody, CategoryPatchBody, CategoryText, CategoryView, ImageView, PriceBody, ProductBody,
    ProductPatchBody, ProductSummaryView, ProductText, ProductView, VariantBody, VariantPatchBody,
    VariantView,
};
