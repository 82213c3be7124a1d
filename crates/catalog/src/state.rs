//! The catalog domain's state.

use emporium_core::Config;
use emporium_db::Db;
use std::sync::Arc;

use crate::cache::ReadCache;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// Which variants can be sold now. Inventory provides it; the catalog cannot depend on
/// inventory (inventory depends on the catalog), so the server plugs it in at start.
pub trait StockSource: Send + Sync + 'static {
    /// The ids among `ids` that can be sold now (in stock, or allowed on backorder).
    fn sellable<'a>(
        &'a self,
        ids: &'a [Uuid],
    ) -> Pin<Box<dyn Future<Output = emporium_core::AppResult<HashSet<Uuid>>> + Send + 'a>>;
}

/// The catalog domain. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) cache: ReadCache,
    pub(crate) stock: Option<Arc<dyn StockSource>>,
    pub(crate) media: Option<crate::media::MediaStore>,
}

impl Catalog {
    /// `stock` says where availability comes from (inventory, plugged in by the node);
    /// without one, as in commands that only write the catalog, every priced variant
    /// shows as available.
    pub fn new(db: Db, config: Arc<Config>, stock: Option<Arc<dyn StockSource>>) -> Self {
        let media = match crate::media::MediaStore::from_config(&config) {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::error!(error = %e, "the media store cannot be used; image uploads will fail");
                None
            }
        };
        let cache = ReadCache::new(config.http.read_cache_mb.saturating_mul(1024 * 1024));
        Self {
            db,
            config,
            cache,
            stock,
            media,
        }
    }

    pub(crate) fn stock_source(&self) -> Option<&Arc<dyn StockSource>> {
        self.stock.as_ref()
    }

    /// Commits a catalog write and drops the cached reads it changes on this node (other
    /// domains that move catalog facts, such as reviews with a product's rating, commit
    /// through it too, so their own node never serves the old page).
    pub async fn commit(&self, txn: sea_orm::DatabaseTransaction) -> emporium_core::AppResult<()> {
        txn.commit().await?;
        if self.cache.sync(&self.db, false).await.is_err() {
            self.cache.clear();
        }
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
