//! The catalog domain's state.

use emporium_core::Config;
use emporium_db::Db;
use std::sync::Arc;

/// The catalog domain. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
}

impl Catalog {
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self { db, config }
    }

    pub(crate) fn default_language(&self) -> &str {
        &self.config.store.default_language
    }

    pub(crate) fn default_currency(&self) -> emporium_core::Currency {
        emporium_core::Currency::parse(&self.config.store.default_currency)
            .unwrap_or(emporium_core::Currency::USD)
    }

    /// Whether `code` is one of the store's currencies.
    pub(crate) fn currency_enabled(&self, code: &str) -> bool {
        self.config
            .store
            .currencies
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code))
    }

    pub(crate) fn language_enabled(&self, lang: &str) -> bool {
        self.config.store.languages.iter().any(|l| l == lang)
    }
}
