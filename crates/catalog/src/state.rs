//! The catalog domain's state.

use emporium_core::Config;
use emporium_db::Db;
use std::sync::Arc;

use crate::cache::ReadCache;

/// The catalog domain. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) cache: ReadCache,
}

impl Catalog {
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self {
            db,
            config,
            cache: ReadCache::default(),
        }
    }

    /// Commits a catalog write and drops this node's cached reads.
    pub(crate) async fn commit(
        &self,
        txn: sea_orm::DatabaseTransaction,
    ) -> emporium_core::AppResult<()> {
        txn.commit().await?;
        self.cache.clear();
        Ok(())
    }

    /// The node's cache of rendered reads (the server runs its change-log follower).
    pub fn cache(&self) -> &ReadCache {
        &self.cache
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
