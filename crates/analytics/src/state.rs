//! The analytics domain's handle.

use chrono_tz::Tz;
use emporium_core::{Config, Currency};
use emporium_db::Db;
use std::sync::Arc;

/// Analytics of one node (cheap to clone).
#[derive(Clone)]
pub struct Analytics {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
}

impl Analytics {
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self { db, config }
    }

    /// The shop's time zone: days in reports are its local days.
    pub fn tz(&self) -> Tz {
        self.config.store.tz()
    }

    pub(crate) fn default_currency(&self) -> Currency {
        Currency::parse(&self.config.store.default_currency).unwrap_or(Currency::USD)
    }
}
