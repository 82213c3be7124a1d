//! Backups and restores: `emporium backup --to DIR` and `emporium restore FROM`. See
//! docs/disaster-recovery.md.
//!
//! A backup is a directory `DIR/<time>/` with the database and a `manifest.json` naming
//! the schema version, each table's row count and SHA-256, the time and the node. On
//! SQLite the database is a `VACUUM INTO` copy (consistent, taken while the shop keeps
//! serving, checked with `PRAGMA integrity_check`), its rows summed in rowid order with
//! each value as `quote()` writes it. On PostgreSQL it is `pg_dump --format=custom`
//! taken in a snapshot this process exports and holds, and the rows are summed (as
//! PostgreSQL's row text, sorted) in that same snapshot, so the manifest describes
//! exactly what the dump holds; the sums are checked again after a restore. Media files go to `DIR/media/<sha256>`, shared by every backup in `DIR`, so a
//! second backup copies only new images.
//!
//! A restore checks the backup against its manifest before touching anything (on
//! PostgreSQL: that the dump reads, then the restored rows against the sums), refuses a
//! target that already holds a shop (unless forced), removes stale SQLite `-wal`/`-shm`
//! files; the CLI then runs migrations forward and rebuilds the search index.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use emporium_core::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, StreamTrait};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod schedule;
pub mod store;

pub use store::{Location, Retention};

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

/// Where a shop's data lives.
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn target(config: &Config) -> Target {
    match &config.database_url {
        None => Target::Sqlite(config.data_dir.join(DB_FILE)),
        Some(url) => {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            match url.strip_prefix("sqlite://") {
                Some(rest) => Target::Sqlite(PathBuf::from(rest.split('?').next().unwrap_or(rest))),
                None => Target::Postgres(url.to_string()),
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

/// The number of rows a query answers and the SHA-256 of their first column's text, one
/// row a line, read as a stream.
async fn stream_sum<C: StreamTrait>(
    conn: &C,
    statement: Statement,
) -> anyhow::Result<(u64, String)> {
    use futures::StreamExt;
    let stream = conn.stream_raw(statement).await?;
    let mut stream = std::pin::pin!(stream);
    let mut hash = Sha256::new();
    let mut rows = 0u64;
    while let Some(row) = stream.next().await {
        let text: String = row?.try_get_by_index(0)?;
        hash.update(text.as_bytes());
        hash.update(b"\n");
        rows += 1;
    }
    Ok((rows, hex(&hash.finalize())))
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
        // Streamed, so a table of millions of rows is summed in flat memory.
        let (rows, sha256) = stream_sum(
            &conn,
            Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT {row} FROM {} ORDER BY rowid", quoted(table)),
            ),
        )
        .await?;
        out.insert(table.clone(), TableSum { rows, sha256 });
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

/// How a backup's name (its directory) writes the time it was taken.
const NAME_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// A backup's name: the time it was taken, so names sort by age.
pub fn backup_name(at: DateTime<Utc>) -> String {
    at.format(NAME_FORMAT).to_string()
}

/// The time a backup was taken, from its name; `None` for anything else in a target.
pub fn backup_time(name: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(name, NAME_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// The database, copied into the backup's directory `dir`: the backend, every table's
/// sums and the schema version.
async fn take_database(
    config: &Config,
    dir: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<(&'static str, BTreeMap<String, TableSum>, String)> {
    Ok(match target(config) {
        Target::Sqlite(source) => {
            let (tables, version) = sqlite_copy(&source, dir, progress).await?;
            ("sqlite", tables, version)
        }
        Target::Postgres(url) => {
            let (tables, version) = postgres_dump(&url, dir, progress).await?;
            ("postgres", tables, version)
        }
    })
}

/// The database file a backup of `backend` holds.
pub(crate) fn database_file(backend: &str) -> &'static str {
    if backend == "postgres" {
        PG_DUMP_FILE
    } else {
        DB_FILE
    }
}

/// The shop's media files (a local media directory; a bucket keeps its own versions), as
/// keys with their paths.
fn local_media(config: &Config) -> anyhow::Result<Vec<(String, PathBuf)>> {
    if config.media.s3_bucket.is_some() {
        return Ok(Vec::new());
    }
    let root = media_dir(config);
    Ok(files_under(&root)?
        .into_iter()
        .map(|file| (file.to_string_lossy().replace('\\', "/"), root.join(file)))
        .collect())
}

/// Takes a backup of the shop `config` describes into `DIR/<time>/`; answers that
/// directory and its manifest.
pub async fn backup(
    config: &Config,
    to: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<(PathBuf, Manifest)> {
    backup_dir(config, to, Utc::now(), progress).await
}

/// [`backup`], named for the time `created_at` (a scheduled backup's due time).
async fn backup_dir(
    config: &Config,
    to: &Path,
    created_at: DateTime<Utc>,
    progress: Progress<'_>,
) -> anyhow::Result<(PathBuf, Manifest)> {
    let dir = to.join(backup_name(created_at));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (backend, tables, schema_version) = take_database(config, &dir, progress).await?;

    let store = to.join("media");
    std::fs::create_dir_all(&store)?;
    let files = local_media(config)?;
    let mut media = BTreeMap::new();
    for (i, (key, path)) in files.iter().enumerate() {
        progress("media", i as u64, files.len() as u64);
        let hash = sha256_file(path)?;
        let kept = store.join(&hash);
        if !kept.exists() {
            std::fs::copy(path, &kept)?;
        }
        media.insert(key.clone(), hash);
    }
    progress("media", files.len() as u64, files.len() as u64);

    let manifest = Manifest {
        format: FORMAT,
        backend: backend.into(),
        schema_version,
        created_at,
        node: node_name(),
        tables,
        media,
    };
    // The manifest is written last: a directory without one is a backup that did not
    // finish, which restores and retention ignore.
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok((dir, manifest))
}

/// The SQLite copy: `VACUUM INTO` (one read transaction, so the shop keeps serving),
/// then its integrity and its sums.
async fn sqlite_copy(
    source: &Path,
    dir: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<(BTreeMap<String, TableSum>, String)> {
    if !source.exists() {
        bail!("there is no database at {}", source.display());
    }
    let copy = dir.join(DB_FILE);
    progress("database", 0, 1);
    let conn = open(source, false).await?;
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
    let version = strings(
        &copy_conn,
        "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
    )
    .await?
    .pop()
    .unwrap_or_default();
    copy_conn.close().await?;
    Ok((tables, version))
}

const PG_DUMP_FILE: &str = "emporium.pgdump";

/// How a PostgreSQL client tool connects: the URL without its password (a command line
/// is visible to every user of the machine while the tool runs), and the password to
/// hand over in `PGPASSWORD` instead.
fn tool_connection(url: &str) -> (String, Option<String>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_string(), None);
    };
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    if parsed.set_password(None).is_err() {
        return (url.to_string(), None);
    }
    (parsed.to_string(), password)
}

/// A PostgreSQL client tool, connected to `url` with its password kept off the command
/// line.
fn pg_tool(program: &str, url: &str) -> tokio::process::Command {
    let (dbname, password) = tool_connection(url);
    let mut command = tokio::process::Command::new(program);
    command.arg(format!("--dbname={dbname}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}
const PG_TOOLS: &str = "PostgreSQL's client tools are needed (pg_dump, pg_restore, of the \
     server's major version): apt-get install postgresql-client";

/// Every table of the current schema with its row count and checksum (rows as
/// PostgreSQL's row text, sorted), read in `conn`'s snapshot.
async fn postgres_sums<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    progress: Progress<'_>,
) -> anyhow::Result<BTreeMap<String, TableSum>> {
    let text = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    let tables: Vec<String> = conn
        .query_all_raw(text(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
                .into(),
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let mut out = BTreeMap::new();
    for (i, table) in tables.iter().enumerate() {
        progress("checksums", i as u64, tables.len() as u64);
        let (rows, sha256) = stream_sum(
            conn,
            text(format!(
                "SELECT t::text FROM {} t ORDER BY 1",
                quoted(table)
            )),
        )
        .await?;
        out.insert(table.clone(), TableSum { rows, sha256 });
    }
    progress("checksums", tables.len() as u64, tables.len() as u64);
    Ok(out)
}

/// `pg_dump` in custom format, taken in a snapshot this process holds open and sums in
/// the same snapshot, so the manifest describes exactly what the dump holds.
async fn postgres_dump(
    url: &str,
    dir: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<(BTreeMap<String, TableSum>, String)> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    let db = Database::connect(url)
        .await
        .context("cannot reach the database")?;
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let snapshot = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_export_snapshot()",
        ))
        .await?
        .map(|r| r.try_get_by_index::<String>(0))
        .transpose()?
        .context("no snapshot")?;
    progress("database", 0, 1);
    let dump = pg_tool("pg_dump", url)
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--no-owner")
        .arg(format!("--file={}", dir.join(PG_DUMP_FILE).display()))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run pg_dump ({e}); {PG_TOOLS}"))?;
    let tables = postgres_sums(&txn, progress).await?;
    let version = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await?
        .map(|r| r.try_get_by_index::<String>(0))
        .transpose()?
        .unwrap_or_default();
    let finished = dump.wait_with_output().await?;
    txn.rollback().await?;
    db.close().await?;
    if !finished.status.success() {
        bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&finished.stderr).trim()
        );
    }
    progress("database", 1, 1);
    Ok((tables, version))
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
    if manifest.backend == "postgres" {
        // The dump's rows are summed after it is restored; here its table of contents
        // must read.
        let listed = tokio::process::Command::new("pg_restore")
            .arg("--list")
            .arg(from.join(PG_DUMP_FILE))
            .output()
            .await
            .map_err(|e| anyhow::anyhow!("cannot run pg_restore ({e}); {PG_TOOLS}"))?;
        if !listed.status.success() {
            bail!(
                "the backup is damaged: {}",
                String::from_utf8_lossy(&listed.stderr).trim()
            );
        }
    } else {
        let copy = from.join(DB_FILE);
        integrity(&copy).await?;
        let tables = table_sums(&copy, progress).await?;
        compare(&manifest.tables, &tables, "the backup is damaged")?;
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

/// Every table of the manifest with the same rows in `got`.
fn compare(
    want: &BTreeMap<String, TableSum>,
    got: &BTreeMap<String, TableSum>,
    problem: &str,
) -> anyhow::Result<()> {
    for (name, want) in want {
        match got.get(name) {
            Some(got) if got == want => {}
            Some(got) => bail!(
                "{problem}: table {name} has {} rows with checksum {}, the manifest says {} rows with {}",
                got.rows,
                got.sha256,
                want.rows,
                want.sha256
            ),
            None => bail!("{problem}: table {name} is missing"),
        }
    }
    Ok(())
}

/// Whether a database holds a shop: accounts, products or orders. Rows the migrations
/// themselves write (a default stock location) do not count.
fn holds_shop(sums: &BTreeMap<String, TableSum>) -> bool {
    ["users", "products", "orders"]
        .iter()
        .any(|t| sums.get(*t).is_some_and(|s| s.rows > 0))
}

/// Whether a SQLite file holds a shop.
async fn holds_data(path: &Path) -> anyhow::Result<bool> {
    if !path.exists() || std::fs::metadata(path)?.len() == 0 {
        return Ok(false);
    }
    let sums = table_sums(path, &|_, _, _| {}).await?;
    Ok(holds_shop(&sums))
}

async fn restore_sqlite(
    target: &Path,
    from: &Path,
    force: bool,
    progress: Progress<'_>,
) -> anyhow::Result<()> {
    if !force && holds_data(target).await? {
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
    std::fs::rename(&staging, target)?;
    progress("database", 1, 1);
    Ok(())
}

async fn restore_postgres(
    url: &str,
    from: &Path,
    manifest: &Manifest,
    force: bool,
    progress: Progress<'_>,
) -> anyhow::Result<()> {
    let db = Database::connect(url)
        .await
        .context("cannot reach the database")?;
    let before = postgres_sums(&db, &|_, _, _| {}).await?;
    if !force && holds_shop(&before) {
        bail!(
            "that database already holds a shop; restore into an empty one, or pass --force \
             to replace it"
        );
    }
    progress("database", 0, 1);
    let restored = pg_tool("pg_restore", url)
        .arg("--clean")
        .arg("--if-exists")
        .arg("--no-owner")
        .arg(from.join(PG_DUMP_FILE))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run pg_restore ({e}); {PG_TOOLS}"))?;
    if !restored.status.success() {
        bail!(
            "pg_restore failed: {}",
            String::from_utf8_lossy(&restored.stderr).trim()
        );
    }
    progress("database", 1, 1);
    let after = postgres_sums(&db, progress).await?;
    db.close().await?;
    compare(
        &manifest.tables,
        &after,
        "the restored database differs from the backup",
    )
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
    match (target(config), manifest.backend.as_str()) {
        (Target::Sqlite(path), "sqlite") => restore_sqlite(&path, from, force, progress).await?,
        (Target::Postgres(url), "postgres") => {
            restore_postgres(&url, from, &manifest, force, progress).await?
        }
        (_, backend) => bail!(
            "this is a {backend} backup; restore it into a {backend} database \
             (--database-url for PostgreSQL, a data directory for SQLite)"
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_goes_to_the_environment_not_the_command_line() {
        let (dbname, password) = tool_connection(
            "postgres://shop:p%40ss%3Aword@db.internal:5433/emporium?sslmode=require",
        );
        assert_eq!(
            dbname,
            "postgres://shop@db.internal:5433/emporium?sslmode=require"
        );
        assert_eq!(password.as_deref(), Some("p@ss:word"));
        let (dbname, password) = tool_connection("postgres://postgres@127.0.0.1:5432/shop");
        assert_eq!(dbname, "postgres://postgres@127.0.0.1:5432/shop");
        assert_eq!(password, None);
    }
}
