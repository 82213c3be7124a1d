//! An in-process cache of rendered store reads (product pages, lists, the category tree).
//!
//! Every node follows the catalog change log: when its highest `seq` moves, the node
//! drops its cached reads. A write also clears the writing node's cache at once, so a
//! shop owner sees their own change immediately; other nodes follow within the poll
//! interval. Entries are whole rendered bodies with their ETag, so a hit costs a hash
//! lookup and a copy.

use axum::body::Bytes;
use emporium_db::Db;
use emporium_db::entity::catalog_changes;
use moka::sync::Cache;
use sea_orm::{EntityTrait, QueryOrder};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A rendered answer.
#[derive(Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: Arc<str>,
}

/// The cache of one node.
#[derive(Clone)]
pub struct ReadCache {
    entries: Cache<String, Rendered>,
    seen_seq: Arc<AtomicI64>,
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
            .build();
        Self {
            entries,
            seen_seq: Arc::new(AtomicI64::new(-1)),
        }
    }

    pub fn get(&self, key: &str) -> Option<Rendered> {
        self.entries.get(key)
    }

    pub fn put(&self, key: String, value: Rendered) {
        self.entries.insert(key, value);
    }

    /// Drops every cached read.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// Clears the cache if the change log moved past what this node has seen.
    pub async fn sync(&self, db: &Db) -> Result<(), sea_orm::DbErr> {
        let latest = catalog_changes::Entity::find()
            .order_by_desc(catalog_changes::Column::Seq)
            .one(db.reader())
            .await?
            .map_or(0, |c| c.seq);
        let previous = self.seen_seq.swap(latest, Ordering::AcqRel);
        if previous != latest {
            self.clear();
        }
        Ok(())
    }

    /// Follows the change log every `interval` until `shutdown`.
    pub async fn follow(self, db: Db, interval: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.sync(&db).await {
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
