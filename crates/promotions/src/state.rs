//! The promotions domain's handle.

use emporium_db::Db;
use std::sync::{Arc, RwLock};

use crate::service::Loaded;

/// Promotions of one node (cheap to clone; clones share the active set).
#[derive(Clone)]
pub struct Promotions {
    pub(crate) db: Db,
    pub(crate) active: Arc<RwLock<Option<Loaded>>>,
    /// Held by the one request reloading the active set.
    pub(crate) reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Promotions {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            active: Arc::new(RwLock::new(None)),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}
