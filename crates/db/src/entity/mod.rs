//! sea-orm entities, one module per table. Each domain's `store` is the only code that
//! queries its own tables.

pub mod audit_log;
pub mod cart_lines;
pub mod carts;
pub mod catalog_changes;
pub mod categories;
pub mod category_translations;
pub mod collection_products;
pub mod collection_translations;
pub mod collections;
pub mod exchange_rates;
pub mod idempotency_keys;
pub mod oauth_identities;
pub mod oauth_states;
pub mod one_time_tokens;
pub mod order_events;
pub mod order_lines;
pub mod orders;
pub mod product_categories;
pub mod product_options;
pub mod product_slug_redirects;
pub mod product_translations;
pub mod products;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod stock_ledger;
pub mod stock_levels;
pub mod stock_locations;
pub mod stock_policies;
pub mod tax_rates;
pub mod users;
pub mod variant_prices;
pub mod variants;
