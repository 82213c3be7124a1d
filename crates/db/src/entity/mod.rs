//! sea-orm entities, one module per table. Each domain's `store` is the only code that
//! queries its own tables.

pub mod audit_log;
pub mod catalog_changes;
pub mod categories;
pub mod category_translations;
pub mod exchange_rates;
pub mod oauth_identities;
pub mod oauth_states;
pub mod one_time_tokens;
pub mod product_categories;
pub mod product_options;
pub mod product_slug_redirects;
pub mod product_translations;
pub mod products;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod users;
pub mod variant_prices;
pub mod variants;
