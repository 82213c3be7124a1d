//! The reviews domain's handle.

use emporium_catalog::Catalog;
use emporium_core::Config;
use emporium_db::Db;
use emporium_orders::Orders;
use std::sync::Arc;

/// Reviews of one node (cheap to clone).
#[derive(Clone)]
pub struct Reviews {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) catalog: Catalog,
    pub(crate) orders: Orders,
}

impl Reviews {
    pub fn new(db: Db, config: Arc<Config>, catalog: Catalog, orders: Orders) -> Self {
        Self {
            db,
            config,
            catalog,
            orders,
        }
    }

    pub(crate) fn media_base(&self) -> String {
        self.catalog.media_base()
    }
}
