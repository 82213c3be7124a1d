//! Connection setup. SQLite gets one writer connection (SQLite has a single writer, so
//! queueing in the pool beats retrying on `SQLITE_BUSY`) and a pool of readers over WAL;
//! PostgreSQL gets one pool, plus an optional pool on a read replica.

use anyhow::Context;
use emporium_core::Config;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions,
    TransactionTrait,
};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// Which database a node runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The node's database handles: a writer for transactions and a reader for queries that
/// may be served by a replica (or, on SQLite, by concurrent WAL readers).
#[derive(Clone)]
pub struct Db {
    write: DatabaseConnection,
    read: DatabaseConnection,
    backend: Backend,
}

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Connects as `config` says: `database_url`, or a SQLite file in the data dir.
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let url = match &config.database_url {
            Some(url) => url.expose_secret().to_string(),
            None => {
                std::fs::create_dir_all(&config.data_dir).with_context(|| {
                    format!("cannot create data dir {}", config.data_dir.display())
                })?;
                format!("sqlite://{}", config.data_dir.join("emporium.db").display())
            }
        };
        let acquire = Duration::from_secs(config.db_acquire_timeout_secs.max(1));
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(&url, config.db_max_connections, acquire).await
        } else {
            let read_url = config
                .database_read_url
                .as_ref()
                .map(|u| u.expose_secret().to_string());
            Self::connect_postgres(
                &url,
                read_url.as_deref(),
                config.db_max_connections,
                acquire,
            )
            .await
        }
    }

    async fn connect_sqlite(url: &str, readers: u32, acquire: Duration) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .context("invalid SQLite database_url")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(acquire.max(Duration::from_secs(10)))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open SQLite database {}", redact(url)))?;
        let read = SqlitePoolOptions::new()
            .max_connections(readers.max(2))
            .acquire_timeout(acquire)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open SQLite database {}", redact(url)))?;
        Ok(Self {
            write: SqlxSqliteConnector::from_sqlx_sqlite_pool(write),
            read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read),
            backend: Backend::Sqlite,
        })
    }

    async fn connect_postgres(
        url: &str,
        read_url: Option<&str>,
        max: u32,
        acquire: Duration,
    ) -> anyhow::Result<Self> {
        let pool = |url: &str| -> anyhow::Result<_> {
            let options =
                PgConnectOptions::from_str(url).context("invalid PostgreSQL database_url")?;
            Ok(PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(acquire)
                .connect_lazy_with(options))
        };
        let write = pool(url)?;
        // Fail at start, with the cause, rather than on the first request.
        sqlx::query("SELECT 1")
            .execute(&write)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
        let read = match read_url {
            Some(read_url) => pool(read_url)?,
            None => write.clone(),
        };
        Ok(Self {
            write: SqlxPostgresConnector::from_sqlx_postgres_pool(write),
            read: SqlxPostgresConnector::from_sqlx_postgres_pool(read),
            backend: Backend::Postgres,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection for writes and for reads that must see them.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    /// The connection for reads that tolerate replica lag (catalog pages, lists).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    /// The connection for reads that must see every commit but write nothing: SQLite's WAL
    /// readers (never behind the writer, and they do not queue behind it) or PostgreSQL's
    /// primary (a replica may lag).
    pub fn current(&self) -> &DatabaseConnection {
        match self.backend {
            Backend::Sqlite => &self.read,
            Backend::Postgres => &self.write,
        }
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so it takes the
    /// write lock up front and never fails half-way on a lock upgrade.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = match self.backend {
            Backend::Sqlite => TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            },
            Backend::Postgres => TransactionOptions {
                access_mode: Some(AccessMode::ReadWrite),
                ..TransactionOptions::default()
            },
        };
        self.write.begin_with_options(options).await
    }

    /// Checks that the database answers, within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbErr> {
        let check = async {
            self.write.execute_unprepared("SELECT 1").await?;
            if self.backend == Backend::Postgres {
                self.read.execute_unprepared("SELECT 1").await?;
            }
            Ok(())
        };
        match tokio::time::timeout(timeout, check).await {
            Ok(result) => result,
            Err(_) => Err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
        }
    }

    /// Pool figures of the writer pool.
    pub fn pool_stats(&self) -> PoolStats {
        match self.backend {
            Backend::Sqlite => {
                let pool = self.read.get_sqlite_connection_pool();
                PoolStats {
                    size: pool.size(),
                    idle: pool.num_idle() as u32,
                    max: pool.options().get_max_connections(),
                }
            }
            Backend::Postgres => {
                let pool = self.write.get_postgres_connection_pool();
                PoolStats {
                    size: pool.size(),
                    idle: pool.num_idle() as u32,
                    max: pool.options().get_max_connections(),
                }
            }
        }
    }

    /// The PostgreSQL pool, for what only it offers (`LISTEN`); `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<sqlx::PgPool> {
        match self.backend {
            Backend::Postgres => Some(self.write.get_postgres_connection_pool().clone()),
            Backend::Sqlite => None,
        }
    }

    /// Closes every pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        let _ = self.write.clone().close().await;
        let _ = self.read.clone().close().await;
    }
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://shop:hunter2@db:5432/shop"),
            "postgres://shop:***@db:5432/shop"
        );
        assert_eq!(
            redact("sqlite://data/emporium.db"),
            "sqlite://data/emporium.db"
        );
    }
}
