//! Backups and restores of a SQLite shop: `emporium backup --to DIR` and `emporium
//! restore FROM`. See docs/disaster-recovery.md.
//!
//! A backup is a directory `DIR/<time>/` with the database (`VACUUM INTO`: a consistent
//! copy taken while the shop keeps serving, checked with `PRAGMA integrity_check`) and a
//! `manifest.json` naming the schema version, each table's row count and SHA-256 (over
//! its rows in rowid order, each value as SQLite's `quote()` writes it), the time and the
//! node. Media files go to `DIR/media/<sha256>`, shared by every backup in `DIR`, so a
//! second backup copies only new images.
//!
//! A restore checks the backup against its manifest before touching anything, refuses a
//! target that already holds data (unless forced), removes stale `-wal`/`-shm` files,
//! runs migrations forward and rebuilds the search index.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use emporium_core::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's format; a restore refuses another.
pub const FORMAT: u32 = 1;
/// The database file's name in a backup and in a data directory.
const DB_FILE: &str = "emporium.db";

/// What a backup holds, written next to it as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backend: String,
    /// The newest migration applied to the backed-up database.
    pub schema_version: String,
    pub created_at: DateTime<Utc>,
    pub node: String,
    pub tables: BTreeMap<String, TableSum>,
    /// Media files by key (their path under the media directory) and content hash.
    pub media: BTreeMap<String, String>,
}

/// A table's row count and checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub rows: u64,
    pub sha256: String,
}

/// Progress of a long step: (what, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

fn sqlite_path(config: &Config) -> anyhow::Result<PathBuf> {
    match &config.database_url {
        None => Ok(config.data_dir.join(DB_FILE)),
        Some(url) => {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            match url.strip_prefix("sqlite://") {
                Some(rest) => Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest))),
                None => bail!(
                    "emporium backup covers SQLite shops so far; for PostgreSQL take \
                     `pg_dump --format=custom` of the database (docs/disaster-recovery.md)"
                ),
            }
        }
    }
}

fn media_dir(config: &Config) -> PathBuf {
    config
        .media
        .dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("media"))
}

async fn open(path: &Path, read_only: bool) -> anyhow::Result<DatabaseConnection> {
    let mode = if read_only { "ro" } else { "rwc" };
    Database::connect(format!("sqlite://{}?mode={mode}", path.display()))
        .await
        .with_context(|| format!("cannot open {}", path.display()))
}

async fn strings(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<String>> {
    conn.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).map_err(Into::into))
        .collect()
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every table's row count and checksum.
pub async fn table_sums(
    path: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<BTreeMap<String, TableSum>> {
    let conn = open(path, true).await?;
    let tables = strings(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .await?;
    let mut out = BTreeMap::new();
    for (i, table) in tables.iter().enumerate() {
        progress("checksums", i as u64, tables.len() as u64);
        let columns = strings(
            &conn,
            &format!(
                "SELECT name FROM pragma_table_info('{}') ORDER BY cid",
                table.replace('\'', "''")
            ),
        )
        .await?;
        let row = columns
            .iter()
            .map(|c| format!("quote({})", quoted(c)))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let rows = strings(
            &conn,
            &format!("SELECT {row} FROM {} ORDER BY rowid", quoted(table)),
        )
        .await?;
        let mut hash = Sha256::new();
        for r in &rows {
            hash.update(r.as_bytes());
            hash.update(b"\n");
        }
        out.insert(
            table.clone(),
            TableSum {
                rows: rows.len() as u64,
                sha256: hex(&hash.finalize()),
            },
        );
    }
    progress("checksums", tables.len() as u64, tables.len() as u64);
    conn.close().await?;
    Ok(out)
}

/// This machine's name, for the manifest.
fn node_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn integrity(path: &Path) -> anyhow::Result<()> {
    let conn = open(path, true).await?;
    let answer = strings(&conn, "PRAGMA integrity_check").await;
    conn.close().await?;
    match answer {
        Ok(lines) if lines == ["ok"] => Ok(()),
        Ok(lines) => bail!("{} is damaged: {}", path.display(), lines.join("; ")),
        Err(e) => bail!("{} is not a readable SQLite database: {e}", path.display()),
    }
}

/// Files under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                out.push(relative.to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex(&Sha256::digest(&data)))
}

/// Takes a backup of the shop `config` describes into `DIR/<time>/`; answers that
/// directory and its manifest.
pub async fn backup(
    config: &Config,
    to: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<(PathBuf, Manifest)> {
    let source = sqlite_path(config)?;
    if !source.exists() {
        bail!("there is no database at {}", source.display());
    }
    let created_at = Utc::now();
    let dir = to.join(created_at.format("%Y%m%dT%H%M%S%.3fZ").to_string());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let copy = dir.join(DB_FILE);
    progress("database", 0, 1);
    let conn = open(&source, false).await?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [copy.display().to_string().into()],
    ))
    .await
    .context("the online copy (VACUUM INTO) failed")?;
    conn.close().await?;
    progress("database", 1, 1);
    integrity(&copy).await?;
    let tables = table_sums(&copy, progress).await?;
    let copy_conn = open(&copy, true).await?;
    let schema_version = strings(
        &copy_conn,
        "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
    )
    .await?
    .pop()
    .unwrap_or_default();
    copy_conn.close().await?;

    let media_root = media_dir(config);
    let store = to.join("media");
    std::fs::create_dir_all(&store)?;
    let files = files_under(&media_root)?;
    let mut media = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        progress("media", i as u64, files.len() as u64);
        let hash = sha256_file(&media_root.join(file))?;
        let kept = store.join(&hash);
        if !kept.exists() {
            std::fs::copy(media_root.join(file), &kept)?;
        }
        media.insert(file.to_string_lossy().replace('\\', "/"), hash);
    }
    progress("media", files.len() as u64, files.len() as u64);

    let manifest = Manifest {
        format: FORMAT,
        backend: "sqlite".into(),
        schema_version,
        created_at,
        node: node_name(),
        tables,
        media,
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok((dir, manifest))
}

/// Checks a backup directory against its manifest: the database is whole and every
/// table's rows match, and every media file is there with its hash.
pub async fn verify(from: &Path, progress: Progress<'_>) -> anyhow::Result<Manifest> {
    let text = std::fs::read(from.join("manifest.json"))
        .with_context(|| format!("{} has no manifest.json: not a backup", from.display()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).context("the backup's manifest.json cannot be read")?;
    if manifest.format != FORMAT {
        bail!(
            "this backup is in format {}; this emporium reads format {FORMAT}",
            manifest.format
        );
    }
    let copy = from.join(DB_FILE);
    integrity(&copy).await?;
    let tables = table_sums(&copy, progress).await?;
    for (name, want) in &manifest.tables {
        match tables.get(name) {
            Some(got) if got == want => {}
            Some(got) => bail!(
                "the backup is damaged: table {name} has {} rows with checksum {}, the manifest says {} rows with {}",
                got.rows,
                got.sha256,
                want.rows,
                want.sha256
            ),
            None => bail!("the backup is damaged: table {name} is missing"),
        }
    }
    let store = from.parent().unwrap_or(from).join("media");
    for (key, hash) in &manifest.media {
        let kept = store.join(hash);
        if sha256_file(&kept).ok().as_deref() != Some(hash.as_str()) {
            bail!("the backup is damaged: media file {key} is missing or changed");
        }
    }
    Ok(manifest)
}

/// Whether a SQLite file holds any row in any of its tables.
async fn holds_data(path: &Path) -> anyhow::Result<bool> {
    if !path.exists() || std::fs::metadata(path)?.len() == 0 {
        return Ok(false);
    }
    let sums = table_sums(path, &|_, _, _| {}).await?;
    Ok(sums
        .iter()
        .any(|(name, sum)| name != "seaql_migrations" && sum.rows > 0))
}

/// Restores the backup in `from` (a directory with a manifest) into the data directory
/// `config` names: checked first, then copied, migrated forward; the caller rebuilds the
/// search index. Refuses a target that holds data unless `force`.
pub async fn restore(
    config: &Config,
    from: &Path,
    force: bool,
    progress: Progress<'_>,
) -> anyhow::Result<Manifest> {
    let manifest = verify(from, progress).await?;
    let target = sqlite_path(config)?;
    if !force && holds_data(&target).await? {
        bail!(
            "{} already holds a shop; restore into an empty data directory, or pass --force \
             to replace it",
            target.display()
        );
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    progress("database", 0, 1);
    let staging = target.with_extension("db.restoring");
    std::fs::copy(from.join(DB_FILE), &staging)?;
    // A stale write-ahead log next to the restored file would be replayed onto it.
    for suffix in ["-wal", "-shm"] {
        let stale = PathBuf::from(format!("{}{suffix}", target.display()));
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
    }
    std::fs::rename(&staging, &target)?;
    progress("database", 1, 1);

    let media_root = media_dir(config);
    let store = from.parent().unwrap_or(from).join("media");
    let total = manifest.media.len() as u64;
    for (i, (key, hash)) in manifest.media.iter().enumerate() {
        progress("media", i as u64, total);
        let to = media_root.join(key);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(store.join(hash), &to)?;
    }
    progress("media", total, total);
    Ok(manifest)
}
