//! One node's copy of the search index: a tantivy index in its own directory, the writer
//! that applies catalog changes, and the reader queries use. The applied change-log
//! sequence is the commit payload, so a restarted node resumes where it stopped.

use anyhow::Context;
use emporium_catalog::SearchDoc;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::schema::{Facet, Schema};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::schema::{self, Fields, SCHEMA_VERSION};

/// The file naming the live index directory.
const CURRENT: &str = "CURRENT";

/// Extra facts about a product that live outside the catalog.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signals {
    pub in_stock: bool,
    pub rating: f64,
    pub popularity: u64,
}

/// An open index.
pub struct Replica {
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub schema: Schema,
    writer: Mutex<Option<IndexWriter>>,
}

/// Identifies a schema: its version and the store's languages and currencies.
pub fn schema_key(languages: &[String], currencies: &[String]) -> String {
    format!(
        "v{SCHEMA_VERSION}-{}-{}",
        languages.join("."),
        currencies.join(".")
    )
    .to_lowercase()
}

/// The directory named by `CURRENT`, if it is of this schema.
pub fn current_dir(root: &Path, key: &str) -> Option<PathBuf> {
    let name = std::fs::read_to_string(root.join(CURRENT)).ok()?;
    let name = name.trim();
    (name.starts_with(key) && root.join(name).is_dir()).then(|| root.join(name))
}

/// Points `CURRENT` at `dir` atomically (write, then rename over).
pub fn make_current(root: &Path, dir: &Path) -> anyhow::Result<()> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("index directory has no name")?;
    let tmp = root.join(format!("{CURRENT}.tmp"));
    std::fs::write(&tmp, name)?;
    std::fs::rename(&tmp, root.join(CURRENT))?;
    Ok(())
}

impl Replica {
    /// Creates an empty index in a new directory under `root`.
    pub fn create(
        root: &Path,
        languages: &[String],
        currencies: &[String],
    ) -> anyhow::Result<Self> {
        let key = schema_key(languages, currencies);
        let dir = root.join(format!("{key}-{}", chrono::Utc::now().timestamp_micros()));
        std::fs::create_dir_all(&dir)?;
        let (schema, fields) = schema::build(languages, currencies);
        let index = Index::create_in_dir(&dir, schema.clone())?;
        Self::finish(dir, index, schema, fields, languages)
    }

    /// Opens the index in `dir`.
    pub fn open(dir: &Path, languages: &[String], currencies: &[String]) -> anyhow::Result<Self> {
        let (schema, fields) = schema::build(languages, currencies);
        let index = Index::open_in_dir(dir)?;
        if index.schema() != schema {
            anyhow::bail!("index in {} has another schema", dir.display());
        }
        Self::finish(dir.to_path_buf(), index, schema, fields, languages)
    }

    fn finish(
        dir: PathBuf,
        index: Index,
        schema: Schema,
        fields: Fields,
        languages: &[String],
    ) -> anyhow::Result<Self> {
        schema::register_analyzers(&index, languages);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            dir,
            index,
            reader,
            fields,
            schema,
            writer: Mutex::new(None),
        })
    }

    /// The change-log sequence this index has applied.
    pub fn applied_seq(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Runs `f` with the index writer, opening it on first use (`threads` indexing
    /// threads sharing `heap_bytes`).
    pub fn with_writer<T>(
        &self,
        threads: usize,
        heap_bytes: usize,
        f: impl FnOnce(&mut IndexWriter) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("search writer lock poisoned"))?;
        if guard.is_none() {
            *guard = Some(self.index.writer_with_num_threads(threads, heap_bytes)?);
        }
        let writer = guard.as_mut().context("search writer is open")?;
        f(writer)
    }

    /// The document of a visible product.
    pub fn document(
        &self,
        doc: &SearchDoc,
        signals: Signals,
        default_lang: &str,
    ) -> TantivyDocument {
        let f = &self.fields;
        let mut d = schema::new_doc();
        d.add_text(f.id, doc.id.to_string());
        d.add_text(f.slug, &doc.slug);
        let fallback = doc
            .texts
            .get(default_lang)
            .or_else(|| doc.texts.values().next());
        let mut titles = BTreeMap::new();
        for (lang, field) in &f.title {
            // A language without its own text is searchable in the default one.
            if let Some((title, description)) = doc.texts.get(lang).or(fallback) {
                d.add_text(*field, title);
                titles.insert(lang.clone(), title.clone());
                if let Some(desc_field) = f.description.get(lang) {
                    d.add_text(*desc_field, description);
                }
            }
        }
        d.add_text(f.titles, serde_json::to_string(&titles).unwrap_or_default());
        if let Some(brand) = &doc.brand {
            d.add_text(f.brand, brand);
            d.add_text(f.text, brand);
        }
        for tag in &doc.tags {
            d.add_text(f.text, tag);
        }
        for name in &doc.category_names {
            d.add_text(f.text, name);
        }
        for (name, value) in &doc.facets {
            d.add_text(f.text, value);
            d.add_facet(f.attr, Facet::from_path([name.as_str(), value.as_str()]));
        }
        for sku in &doc.skus {
            d.add_text(f.sku, sku.to_lowercase());
        }
        for path in &doc.category_paths {
            d.add_facet(
                f.category,
                Facet::from_path(path.iter().map(String::as_str)),
            );
        }
        for (code, field) in &f.price {
            if let Some(amount) = doc.prices.get(code) {
                d.add_i64(*field, *amount);
            }
        }
        d.add_u64(f.in_stock, u64::from(signals.in_stock));
        d.add_f64(f.rating, signals.rating);
        d.add_u64(f.popularity, signals.popularity);
        d.add_i64(f.created, doc.created_at.timestamp_millis());
        d
    }

    /// Replaces the documents of `ids` with `docs` (invisible ones are only removed) and
    /// commits with `seq` as the applied sequence, then reloads the reader.
    pub fn apply(
        &self,
        ids: &[uuid::Uuid],
        docs: Vec<TantivyDocument>,
        seq: i64,
        threads: usize,
        heap_bytes: usize,
    ) -> anyhow::Result<()> {
        self.with_writer(threads, heap_bytes, |writer| {
            for id in ids {
                writer.delete_term(schema::id_term(&self.fields, *id));
            }
            for doc in docs {
                writer.add_document(doc)?;
            }
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&seq.to_string());
            commit.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    /// Merges every segment into one (after a bulk build: queries then walk one term
    /// dictionary per field instead of one per segment).
    pub fn merge_all(&self, threads: usize, heap_bytes: usize) -> anyhow::Result<()> {
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            self.with_writer(threads, heap_bytes, |writer| {
                writer.merge(&ids).wait()?;
                Ok(())
            })?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// How many segments queries walk.
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Whether a product is in the index (tests and diagnostics).
    pub fn contains(&self, id: uuid::Uuid) -> bool {
        let searcher = self.reader.searcher();
        let term: Term = schema::id_term(&self.fields, id);
        searcher.doc_freq(&term).map(|n| n > 0).unwrap_or(false)
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}
