//! The search domain: the live replica behind a swappable handle, the follower that
//! applies catalog changes in batches, and rebuilds that swap a fresh index in while the
//! old one keeps answering.

use anyhow::Context;
use emporium_catalog::Catalog;
use emporium_catalog::changes::ChangeKind;
use emporium_core::{AppResult, Config};
use emporium_inventory::Inventory;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::query::{self, SearchParams, SearchView};
use crate::replica::{self, Replica, Signals};

/// Products read from the database per batch.
const BATCH: u64 = 500;

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub documents: u64,
    pub seconds: f64,
    pub bytes: u64,
}

/// The search domain. Cheap to clone.
#[derive(Clone)]
pub struct Search {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    inventory: Inventory,
    db: emporium_db::Db,
    root: PathBuf,
    languages: Vec<String>,
    currencies: Vec<String>,
    default_lang: String,
    heap_bytes: usize,
    poll: Duration,
    live: RwLock<Arc<Replica>>,
    /// Serialises writers: the follower's batches and rebuilds.
    writing: tokio::sync::Mutex<()>,
    needs_rebuild: std::sync::atomic::AtomicBool,
    attr_names: RwLock<Arc<Vec<String>>>,
    vocabulary: RwLock<Arc<Vec<String>>>,
    /// Rendered answers by normalised request, dropped whenever the index changes: shops
    /// see the same few queries again and again.
    results: moka::sync::Cache<String, bytes::Bytes>,
}

/// A suggestion for what the shopper is typing.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub text: String,
    /// `product`, or `term` for a brand or category name.
    pub kind: String,
    /// The product's slug, for product suggestions.
    pub slug: Option<String>,
}

impl Search {
    /// Opens this node's index (or an empty one, rebuilt from the database by the
    /// follower's first round when it is missing or of another schema).
    pub fn open(
        config: &Config,
        db: emporium_db::Db,
        catalog: Catalog,
        inventory: Inventory,
    ) -> anyhow::Result<Self> {
        let root = config
            .search
            .dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("search"));
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        let languages = config.store.languages.clone();
        let currencies: Vec<String> = config
            .store
            .currencies
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let key = replica::schema_key(&languages, &currencies);
        let (live, needs_rebuild) = match replica::current_dir(&root, &key)
            .and_then(|dir| Replica::open(&dir, &languages, &currencies).ok())
        {
            Some(r) => (r, false),
            None => {
                let r = Replica::create(&root, &languages, &currencies)?;
                replica::make_current(&root, &r.dir)?;
                (r, true)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                catalog,
                inventory,
                db,
                root,
                languages,
                currencies,
                default_lang: config.store.default_language.clone(),
                heap_bytes: (config.search.writer_heap_mb.max(16) as usize) << 20,
                poll: Duration::from_millis(config.search.poll_interval_ms.max(10)),
                live: RwLock::new(Arc::new(live)),
                writing: tokio::sync::Mutex::new(()),
                needs_rebuild: std::sync::atomic::AtomicBool::new(needs_rebuild),
                attr_names: RwLock::new(Arc::new(Vec::new())),
                vocabulary: RwLock::new(Arc::new(Vec::new())),
                results: moka::sync::Cache::builder()
                    .max_capacity(64 << 20)
                    .weigher(|k: &String, v: &bytes::Bytes| {
                        u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX)
                    })
                    .build(),
            }),
        })
    }

    /// The replica queries use now.
    pub fn replica(&self) -> Arc<Replica> {
        self.inner
            .live
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn swap(&self, next: Replica) {
        self.inner.results.invalidate_all();
        let next = Arc::new(next);
        match self.inner.live.write() {
            Ok(mut live) => *live = next,
            Err(e) => *e.into_inner() = next,
        }
    }

    fn attr_names(&self) -> Arc<Vec<String>> {
        self.inner
            .attr_names
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    async fn refresh_vocabulary(&self) -> AppResult<()> {
        let names = self.inner.catalog.facet_names().await?;
        let words = self.inner.catalog.vocabulary().await?;
        if let Ok(mut slot) = self.inner.attr_names.write() {
            *slot = Arc::new(names);
        }
        if let Ok(mut slot) = self.inner.vocabulary.write() {
            *slot = Arc::new(words);
        }
        Ok(())
    }

    /// Adds the facet names and brands of freshly indexed products to the in-memory sets,
    /// so that a batch of changes never rescans the whole catalog (the full refresh runs
    /// at start and after rebuilds, which also drop names no longer in use).
    fn absorb(&self, docs: &[emporium_catalog::SearchDoc]) {
        let merge = |slot: &RwLock<Arc<Vec<String>>>, new: BTreeSet<String>| {
            if new.is_empty() {
                return;
            }
            if let Ok(mut slot) = slot.write() {
                let mut all: BTreeSet<String> = slot.iter().cloned().collect();
                if !new.is_subset(&all) {
                    all.extend(new);
                    *slot = Arc::new(all.into_iter().collect());
                }
            }
        };
        merge(
            &self.inner.attr_names,
            docs.iter()
                .flat_map(|d| d.facets.iter().map(|(n, _)| n.clone()))
                .collect(),
        );
        merge(
            &self.inner.vocabulary,
            docs.iter().filter_map(|d| d.brand.clone()).collect(),
        );
    }

    /// Applies pending catalog changes (a batch at most); answers how many were applied.
    /// A category or exchange-rate change touches many products, so it rebuilds.
    pub async fn catch_up(&self) -> anyhow::Result<usize> {
        let _writing = self.inner.writing.lock().await;
        self.adopt_current()?;
        if self
            .inner
            .needs_rebuild
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            self.rebuild_locked(|_, _| {}).await?;
            return Ok(1);
        }
        let replica = self.replica();
        let applied = replica.applied_seq();
        let changes = self.inner.catalog.changes_after(applied, BATCH).await?;
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(0);
        };
        // Categories and exchange rates change the documents of many products.
        if changes
            .iter()
            .any(|c| c.kind.is_none_or(ChangeKind::touches_many))
        {
            self.rebuild_locked(|_, _| {}).await?;
            return Ok(changes.len());
        }
        let ids: Vec<Uuid> = changes
            .iter()
            .filter(|c| c.kind == Some(ChangeKind::Product))
            .map(|c| c.entity_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let docs = self.documents_for(&replica, &ids).await?;
        let heap = self.inner.heap_bytes;
        let target = replica.clone();
        tokio::task::spawn_blocking(move || target.apply(&ids, docs, last, 1, heap)).await??;
        self.inner.results.invalidate_all();
        metrics::counter!("search_changes_applied_total").increment(changes.len() as u64);
        Ok(changes.len())
    }

    /// Switches to the index `CURRENT` names when another process (`emporium reindex`)
    /// built a new one.
    fn adopt_current(&self) -> anyhow::Result<()> {
        let key = replica::schema_key(&self.inner.languages, &self.inner.currencies);
        let Some(dir) = replica::current_dir(&self.inner.root, &key) else {
            return Ok(());
        };
        if dir != self.replica().dir {
            let next = Replica::open(&dir, &self.inner.languages, &self.inner.currencies)?;
            tracing::info!(dir = %dir.display(), "search: switched to a rebuilt index");
            self.swap(next);
        }
        Ok(())
    }

    /// Builds a fresh index from the database and swaps it in; queries keep answering
    /// from the old one meanwhile. `progress(done, total)` is called per batch.
    pub async fn rebuild(&self, progress: impl Fn(u64, u64)) -> anyhow::Result<RebuildReport> {
        let _writing = self.inner.writing.lock().await;
        self.rebuild_locked(progress).await
    }

    async fn rebuild_locked(&self, progress: impl Fn(u64, u64)) -> anyhow::Result<RebuildReport> {
        let started = Instant::now();
        // Changes after this point are applied again by the follower: applying is
        // idempotent (delete, then add), so nothing is lost in between.
        let seq = self.inner.catalog.last_change_seq().await?;
        let total = self.inner.catalog.visible_product_count().await?;
        let fresh = Arc::new(Replica::create(
            &self.inner.root,
            &self.inner.languages,
            &self.inner.currencies,
        )?);
        let mut after = None;
        let mut done = 0u64;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4);
        let heap = self.inner.heap_bytes.max(threads * (32 << 20));
        loop {
            let ids = self.inner.catalog.visible_product_ids(after, BATCH).await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            after = Some(last);
            let docs = self.documents_for(&fresh, &ids).await?;
            let target = fresh.clone();
            tokio::task::spawn_blocking(move || {
                target.with_writer(threads, heap, |w| {
                    for doc in docs {
                        w.add_document(doc)?;
                    }
                    Ok(())
                })
            })
            .await??;
            done += ids.len() as u64;
            progress(done, total);
        }
        let target = fresh.clone();
        tokio::task::spawn_blocking(move || {
            target.apply(&[], Vec::new(), seq, threads, heap)?;
            target.merge_all(threads, heap)
        })
        .await??;
        replica::make_current(&self.inner.root, &fresh.dir)?;
        let old = self.replica();
        let bytes = fresh.size_bytes();
        let fresh = Arc::into_inner(fresh).context("rebuilt index still shared")?;
        self.swap(fresh);
        self.inner
            .needs_rebuild
            .store(false, std::sync::atomic::Ordering::SeqCst);
        if old.dir != self.replica().dir {
            // Searchers still reading the old files keep them open until they finish.
            let _ = std::fs::remove_dir_all(&old.dir);
        }
        self.refresh_vocabulary().await?;
        Ok(RebuildReport {
            documents: done,
            seconds: started.elapsed().as_secs_f64(),
            bytes,
        })
    }

    /// Documents of the visible products among `ids`, with stock signals, built for
    /// `replica`'s fields.
    async fn documents_for(
        &self,
        replica: &Replica,
        ids: &[Uuid],
    ) -> AppResult<Vec<tantivy::TantivyDocument>> {
        let docs = self.inner.catalog.search_documents(ids).await?;
        let variant_ids: Vec<Uuid> = docs
            .iter()
            .flat_map(|d| d.variant_ids.iter().copied())
            .collect();
        let stock: HashMap<Uuid, emporium_inventory::Availability> = self
            .inner
            .inventory
            .availability(self.inner.db.current(), &variant_ids)
            .await?;
        self.absorb(&docs);
        Ok(docs
            .iter()
            .filter(|d| d.visible)
            .map(|d| {
                let signals = Signals {
                    in_stock: d
                        .variant_ids
                        .iter()
                        .any(|v| stock.get(v).is_some_and(|a| a.can_sell(1))),
                    rating: d.rating.mean(),
                    ..Signals::default()
                };
                replica.document(d, signals, &self.inner.default_lang)
            })
            .collect())
    }

    /// Applies catalog changes until shutdown, every poll interval.
    pub async fn follow(self, shutdown: CancellationToken) {
        if let Err(err) = self.refresh_vocabulary().await {
            tracing::warn!(error = %err, "search: vocabulary not loaded");
        }
        let mut tick = tokio::time::interval(self.inner.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            loop {
                match self.catch_up().await {
                    Ok(n) if n as u64 >= BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "search: applying catalog changes failed");
                        break;
                    }
                }
            }
        }
    }

    /// A search's rendered JSON, from the node's result cache when the index has not
    /// changed since the same request was answered.
    pub fn search_json(&self, params: &SearchParams) -> AppResult<bytes::Bytes> {
        let key = params.cache_key();
        if let Some(hit) = self.inner.results.get(&key) {
            metrics::counter!("search_cache_hits_total").increment(1);
            return Ok(hit);
        }
        let view = self.search(params)?;
        let body = bytes::Bytes::from(serde_json::to_vec(&view).map_err(anyhow::Error::from)?);
        self.inner.results.insert(key, body.clone());
        Ok(body)
    }

    /// Runs a search.
    pub fn search(&self, params: &SearchParams) -> AppResult<SearchView> {
        let started = Instant::now();
        let replica = self.replica();
        let view = query::run(&replica, params, &self.attr_names());
        metrics::histogram!("search_seconds").record(started.elapsed().as_secs_f64());
        view
    }

    /// Completions of `q`: product titles, brands and categories.
    pub fn suggest(&self, q: &str, lang: &str, limit: usize) -> AppResult<Vec<Suggestion>> {
        let replica = self.replica();
        let mut out = crate::suggest::products(&replica, q, lang, limit)?;
        let vocabulary = self
            .inner
            .vocabulary
            .read()
            .map(|v| v.clone())
            .unwrap_or_default();
        let needle = q.trim().to_lowercase();
        if !needle.is_empty() {
            for word in vocabulary.iter() {
                if out.len() >= limit {
                    break;
                }
                let lower = word.to_lowercase();
                if lower.starts_with(&needle)
                    || lower.split_whitespace().any(|w| w.starts_with(&needle))
                {
                    out.push(Suggestion {
                        text: word.clone(),
                        kind: "term".into(),
                        slug: None,
                    });
                }
            }
        }
        Ok(out)
    }
}
