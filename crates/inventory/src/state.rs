//! The inventory domain's state.

use emporium_core::Config;
use emporium_db::Db;
use std::sync::Arc;

/// The inventory domain. Cheap to clone.
#[derive(Clone)]
pub struct Inventory {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
}

impl Inventory {
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self { db, config }
    }
}

impl emporium_catalog::StockSource for Inventory {
    fn sellable<'a>(
        &'a self,
        ids: &'a [uuid::Uuid],
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = emporium_core::AppResult<std::collections::HashSet<uuid::Uuid>>,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .availability(self.db.reader(), ids)
                .await?
                .into_iter()
                .filter(|(_, a)| a.can_sell(1))
                .map(|(id, _)| id)
                .collect())
        })
    }
}
