//! The orders domain's state.

use emporium_core::{Config, Currency};
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_shipping::Shipping;
use std::sync::Arc;

use crate::transition::TransitionHook;

/// The orders domain. Cheap to clone.
#[derive(Clone)]
pub struct Orders {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) inventory: Inventory,
    /// Parcels and their tracking (shipping owns those tables).
    pub(crate) shipping: Shipping,
    pub(crate) hooks: Arc<[Arc<dyn TransitionHook>]>,
}

impl Orders {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        inventory: Inventory,
        shipping: Shipping,
        hooks: Vec<Arc<dyn TransitionHook>>,
    ) -> Self {
        Self {
            db,
            config,
            inventory,
            shipping,
            hooks: hooks.into(),
        }
    }

    pub(crate) fn default_currency(&self) -> Currency {
        Currency::parse(&self.config.store.default_currency).unwrap_or(Currency::USD)
    }
}
