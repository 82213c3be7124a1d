//! The inventory domain's state.

use emporium_db::Db;

/// The inventory domain. Cheap to clone.
#[derive(Clone)]
pub struct Inventory {
    pub(crate) db: Db,
}

impl Inventory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}
