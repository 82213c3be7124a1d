//! The analytics domain's handle.

use chrono_tz::Tz;
use emporium_core::{Config, Currency};
use emporium_db::Db;
use std::sync::Arc;

/// Funnel events a client IP may send a minute: a busy shopper's pages, not a flood.
const EVENTS_PER_MINUTE: std::num::NonZeroU32 = std::num::NonZeroU32::new(600).unwrap();

/// Analytics of one node (cheap to clone).
#[derive(Clone)]
pub struct Analytics {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    /// Funnel events not yet written.
    pub(crate) funnel: Arc<crate::funnel::Buffer>,
    /// `POST /events` per client IP.
    pub(crate) limiter: Arc<governor::DefaultKeyedRateLimiter<String>>,
}

impl Analytics {
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self {
            db,
            config,
            funnel: Arc::default(),
            limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
                EVENTS_PER_MINUTE,
            ))),
        }
    }

    /// The shop's time zone: days in reports are its local days.
    pub fn tz(&self) -> Tz {
        self.config.store.tz()
    }

    pub(crate) fn default_currency(&self) -> Currency {
        Currency::parse(&self.config.store.default_currency).unwrap_or(Currency::USD)
    }
}
