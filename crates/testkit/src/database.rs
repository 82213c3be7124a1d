//! A fresh database per test. SQLite: a copy of a template file migrated once per test
//! process. PostgreSQL: `CREATE DATABASE ... TEMPLATE` from a template migrated once per
//! migration set, dropped again when the test ends.

use emporium_core::Config;
use emporium_db::Db;
use emporium_db::migration::Migrator;
use sea_orm_migration::MigratorTrait;
use secrecy::SecretString;
use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;
use tokio::sync::OnceCell;

/// The PostgreSQL server tests run on, if any (`EMPORIUM_TEST_DATABASE_URL`).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("EMPORIUM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// One test's database and data directory.
pub struct TestDatabase {
    dir: tempfile::TempDir,
    url: String,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, migrated database.
    pub async fn create() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("emporium-test-")
            .tempdir()
            .expect("temp dir");
        match postgres_admin_url() {
            Some(admin) => {
                let template = postgres_template(&admin).await;
                let name = format!("emporium_t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                // Cloning from a template fails while another session is connected to it;
                // that only happens for an instant while the template is made.
                let mut tries = 0;
                loop {
                    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
                    match ddl(&mut conn, sql).await {
                        Ok(_) => break,
                        Err(err) if tries < 50 => {
                            tries += 1;
                            tracing::debug!(error = %err, "retrying database clone");
                            tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
                        }
                        Err(err) => panic!("cannot create test database: {err}"),
                    }
                }
                let _ = conn.close().await;
                Self {
                    url: with_database(&admin, &name),
                    dir,
                    postgres: Some((admin, name)),
                }
            }
            None => {
                let template = sqlite_template().await;
                let file = dir.path().join("emporium.db");
                std::fs::copy(template, &file).expect("copy SQLite template");
                Self {
                    url: format!("sqlite://{}", file.display()),
                    dir,
                    postgres: None,
                }
            }
        }
    }

    /// A configuration pointing at this database and data directory.
    pub fn config(&self) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            data_dir: self.dir.path().to_path_buf(),
            database_url: Some(SecretString::from(self.url.clone())),
            ..Config::default()
        }
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside async code paths; use a small runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(mut conn) = PgConnection::connect(&admin).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = ddl(&mut conn, sql).await;
                            let _ = conn.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// Runs a statement on database names, which SQL cannot take as parameters; every name
/// here is one this module generated.
async fn ddl(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

/// `postgres://u@h:5432/x?opts` with `x` replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{database}?{q}"),
        None => format!("{prefix}/{database}"),
    }
}

fn migration_fingerprint() -> String {
    // Migrations are append-only, so their names identify the schema.
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in names.join(",").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

async fn postgres_template(admin: &str) -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("emporium_tpl_{}", migration_fingerprint());
            let mut conn = PgConnection::connect(admin)
                .await
                .expect("connect to PostgreSQL");
            // One process at a time makes templates; others wait here.
            conn.execute("SELECT pg_advisory_lock(727274)")
                .await
                .expect("lock");
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut conn)
                    .await
                    .expect("query pg_database");
            if exists.is_none() {
                let building = format!("{name}_building");
                let _ = ddl(
                    &mut conn,
                    format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
                )
                .await;
                ddl(&mut conn, format!("CREATE DATABASE \"{building}\""))
                    .await
                    .expect("create template database");
                let config = Config {
                    database_url: Some(SecretString::from(with_database(admin, &building))),
                    db_max_connections: 2,
                    ..Config::default()
                };
                let db = Db::connect(&config).await.expect("connect to template");
                Migrator::up(db.writer(), None)
                    .await
                    .expect("migrate template");
                db.close().await;
                ddl(
                    &mut conn,
                    format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
                )
                .await
                .expect("publish template");
            }
            conn.execute("SELECT pg_advisory_unlock(727274)")
                .await
                .expect("unlock");
            let _ = conn.close().await;
            name
        })
        .await
        .clone()
}

async fn sqlite_template() -> PathBuf {
    static TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::Builder::new()
                .prefix("emporium-template-")
                .tempdir()
                .expect("temp dir");
            let file = dir.path().join("template.db");
            let config = Config {
                database_url: Some(SecretString::from(format!("sqlite://{}", file.display()))),
                ..Config::default()
            };
            let db = Db::connect(&config).await.expect("open template");
            Migrator::up(db.writer(), None)
                .await
                .expect("migrate template");
            // Fold the WAL into the main file so that a plain copy is complete.
            use sea_orm::ConnectionTrait;
            db.writer()
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .expect("checkpoint");
            db.close().await;
            (dir, file)
        })
        .await
        .1
        .clone()
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
    }
}
