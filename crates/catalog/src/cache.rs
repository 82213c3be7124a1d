//! An in-process cache of rendered store reads (product pages, lists, the category tree).
//!
//! Every node follows the catalog change log. A change to a product drops that product's
//! pages and every list (any list may show it); the other product pages stay, so an edit
//! or a sell-out during a sale does not send every page back to the database. A change of
//! any other kind (categories, collections, exchange rates) drops everything. A write
//! syncs the writing node at once, so a shop owner sees their own change immediately;
//! other nodes follow within the poll interval. Entries are whole rendered bodies with
//! their ETag, so a hit costs a hash lookup and a copy.

use axum::body::Bytes;
use emporium_db::Db;
use emporium_db::entity::catalog_changes;

use crate::changes::ChangeKind;
use moka::sync::Cache;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::assemble::CategoryNames;

/// A rendered answer.
#[derive(Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: Arc<str>,
    /// The product a product page shows; `None` for lists and everything else.
    pub product: Option<Uuid>,
}

/// How far back the follower looks again for changes that committed after a later one
/// (two writers take sequence numbers in one order and may commit in the other).
const LOOKBACK: i64 = 200;
/// More new changes than this in one sync drop everything instead.
const MAX_BATCH: u64 = 5000;

/// Which changes this node has applied.
#[derive(Default)]
struct Followed {
    /// The highest applied `seq`; -1 before the first sync.
    seen: i64,
    /// Changes at or below this were settled before this node looked (or in a drop-all).
    floor: i64,
    /// Applied changes within [`LOOKBACK`] of `seen`.
    recent: BTreeSet<i64>,
}

/// The cache of one node.
#[derive(Clone)]
pub struct ReadCache {
    entries: Cache<String, Rendered>,
    /// Moves on every invalidation, so a read computed across one is not cached.
    generation: Arc<AtomicU64>,
    /// Category names for product views; dropped with everything else.
    categories: Arc<RwLock<Option<Arc<CategoryNames>>>>,
    followed: Arc<tokio::sync::Mutex<Followed>>,
}

impl ReadCache {
    /// A cache holding at most `max_bytes` of rendered bodies.
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, value: &Rendered| {
                (key.len() + value.body.len())
                    .try_into()
                    .unwrap_or(u32::MAX)
            })
            .time_to_live(Duration::from_secs(300))
            .support_invalidation_closures()
            .build();
        Self {
            entries,
            generation: Arc::new(AtomicU64::new(0)),
            categories: Arc::new(RwLock::new(None)),
            followed: Arc::new(tokio::sync::Mutex::new(Followed {
                seen: -1,
                ..Default::default()
            })),
        }
    }

    pub fn get(&self, key: &str) -> Option<Rendered> {
        self.entries.get(key)
    }

    /// What to hand to [`put`](Self::put) for a read about to be computed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a read computed since `generation`, unless something was invalidated
    /// meanwhile (the read may predate that change).
    pub fn put(&self, key: String, value: Rendered, generation: u64) {
        if self.generation() != generation {
            return;
        }
        self.entries.insert(key.clone(), value);
        if self.generation() != generation {
            self.entries.invalidate(&key);
        }
    }

    pub(crate) fn category_names(&self) -> Option<Arc<CategoryNames>> {
        self.categories.read().ok().and_then(|c| c.clone())
    }

    /// Keeps category names loaded since `generation` (as [`put`](Self::put)).
    pub(crate) fn keep_category_names(&self, names: Arc<CategoryNames>, generation: u64) {
        if self.generation() != generation {
            return;
        }
        if let Ok(mut slot) = self.categories.write() {
            *slot = Some(names);
        }
        if self.generation() != generation {
            self.forget_categories();
        }
    }

    fn forget_categories(&self) {
        if let Ok(mut slot) = self.categories.write() {
            *slot = None;
        }
    }

    /// Drops every cached read.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        self.forget_categories();
    }

    /// Drops the pages of `products` and every read that is not a product page.
    fn drop_products(&self, products: HashSet<Uuid>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let dropped = self.entries.invalidate_entries_if(move |_, value| {
            value.product.is_none_or(|p| products.contains(&p))
        });
        if dropped.is_err() {
            self.entries.invalidate_all();
        }
    }

    /// Applies the changes logged since the last sync. The follower also looks
    /// [`LOOKBACK`] changes back; a write's own sync reads only what is new.
    pub async fn sync(&self, db: &Db, look_back: bool) -> Result<(), sea_orm::DbErr> {
        // The writer: a replica may not have the change its own node just made yet.
        let conn = db.writer();
        let mut followed = self.followed.lock().await;
        if followed.seen < 0 {
            let latest = catalog_changes::Entity::find()
                .order_by_desc(catalog_changes::Column::Seq)
                .one(conn)
                .await?
                .map_or(0, |c| c.seq);
            *followed = Followed {
                seen: latest,
                floor: latest,
                recent: BTreeSet::new(),
            };
            self.clear();
            return Ok(());
        }
        let back = if look_back { LOOKBACK } else { 0 };
        let from = (followed.seen - back).max(followed.floor);
        let rows = catalog_changes::Entity::find()
            .filter(catalog_changes::Column::Seq.gt(from))
            .order_by_asc(catalog_changes::Column::Seq)
            .limit(MAX_BATCH + LOOKBACK as u64)
            .all(conn)
            .await?;
        let fresh: Vec<&catalog_changes::Model> = rows
            .iter()
            .filter(|c| c.seq > followed.seen || !followed.recent.contains(&c.seq))
            .collect();
        let Some(last) = fresh.iter().map(|c| c.seq).max() else {
            return Ok(());
        };
        if fresh.len() as u64 > MAX_BATCH
            || fresh
                .iter()
                .any(|c| c.entity != ChangeKind::Product.as_str())
        {
            self.clear();
            let top = last.max(followed.seen);
            *followed = Followed {
                seen: top,
                floor: top,
                recent: BTreeSet::new(),
            };
            return Ok(());
        }
        self.drop_products(fresh.iter().map(|c| c.entity_id).collect());
        let seqs: Vec<i64> = fresh.iter().map(|c| c.seq).collect();
        followed.recent.extend(seqs);
        followed.seen = followed.seen.max(last);
        let keep_above = followed.seen - LOOKBACK;
        followed.recent.retain(|s| *s > keep_above);
        Ok(())
    }

    /// Follows the change log every `interval` until `shutdown`.
    pub async fn follow(self, db: Db, interval: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.sync(&db, true).await {
                tracing::debug!(error = %err, "catalog cache could not read the change log");
                self.clear();
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
