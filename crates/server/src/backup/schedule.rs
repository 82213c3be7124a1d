//! Scheduled backups: every node with a worker and `[backup] to` set looks for a due
//! backup, and one of them claims it with a guarded update of its `schedules` row (the
//! same lease rule as outbox jobs), renews the lease while it works, and records how it
//! went. A node that dies mid-backup loses its lease and another node runs the backup.
//!
//! The first failure after a success publishes `backup.failed` (staff get an email); the
//! failures that follow show in `/readyz` detail and `/metrics` on every node, because
//! they are read from the row, not from the node that ran them.

use chrono::{DateTime, Utc};
use emporium_core::Config;
use emporium_core::events::{self, BackupFailed};
use emporium_core::outbox;
use emporium_db::{Backend, Db};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::store::{self, Location, Pruned, Retention};

/// The schedule's row name.
pub const NAME: &str = "backup";
/// A failed backup is tried again after this long (or the interval, when shorter).
const RETRY_MS: i64 = 5 * 60 * 1000;
/// How often an idle node looks for a due backup.
const POLL: Duration = Duration::from_secs(15);

/// The scheduled backups of one node.
#[derive(Clone)]
pub struct BackupScheduler {
    db: Db,
    config: Arc<Config>,
    location: Location,
    node: String,
    lease_ms: i64,
}

/// What one look for a due backup did.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing was due, or another node holds it.
    NotDue,
    Succeeded {
        location: Location,
        pruned: Pruned,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, FromQueryResult)]
struct Claimed {
    failures: i32,
    last_success_at: Option<i64>,
}

/// How scheduled backups are going, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackupHealth {
    /// `ok` (the last backup worked), `failing`, or `pending` (none has run yet).
    pub status: &'static str,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub failures: i32,
    pub next_due_at: Option<DateTime<Utc>>,
    /// How long the last run took, in seconds.
    pub last_duration_secs: Option<f64>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    due_at: i64,
    last_success_at: Option<i64>,
    last_failure_at: Option<i64>,
    failures: i32,
    last_duration_ms: Option<i64>,
}

/// The statement with `$n` placeholders written for `db`'s backend.
fn statement(db: &Db, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.writer().get_database_backend();
    let sql = match db.backend() {
        Backend::Postgres => sql.to_string(),
        Backend::Sqlite => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// How scheduled backups are going; `None` when none was ever scheduled.
pub async fn health(db: &Db) -> Result<Option<BackupHealth>, DbErr> {
    let row = db
        .reader()
        .query_one_raw(statement(
            db,
            "SELECT due_at, last_success_at, last_failure_at, failures, last_duration_ms \
             FROM schedules WHERE name = $1",
            vec![NAME.into()],
        ))
        .await?;
    let Some(row) = row.map(|r| Row::from_query_result(&r, "")).transpose()? else {
        return Ok(None);
    };
    let status = if row.failures > 0 {
        "failing"
    } else if row.last_success_at.is_some() {
        "ok"
    } else {
        "pending"
    };
    Ok(Some(BackupHealth {
        status,
        last_success_at: time(row.last_success_at),
        last_failure_at: time(row.last_failure_at),
        failures: row.failures,
        next_due_at: time(Some(row.due_at)),
        last_duration_secs: row.last_duration_ms.map(|ms| ms as f64 / 1000.0),
    }))
}

impl BackupScheduler {
    /// The node's scheduler, when `[backup] to` is set.
    pub fn new(db: Db, config: Arc<Config>) -> anyhow::Result<Option<Self>> {
        let Some(to) = &config.backup.to else {
            return Ok(None);
        };
        let location = Location::parse(to)?;
        Ok(Some(Self {
            db,
            location,
            lease_ms: (config.outbox.lease_secs.max(10) as i64) * 1000,
            config,
            node: uuid::Uuid::now_v7().to_string(),
        }))
    }

    fn interval_ms(&self) -> i64 {
        (self.config.backup.interval_minutes.max(1) as i64) * 60_000
    }

    /// Takes the backup if it is due at `now_ms` and no other node holds it. Tests call
    /// this with a time of their choosing; the node's loop calls it with the clock.
    pub async fn run_due(&self, now_ms: i64) -> Result<Outcome, DbErr> {
        let Some(claimed) = self.claim(now_ms).await? else {
            return Ok(Outcome::NotDue);
        };
        let started = std::time::Instant::now();
        tracing::info!(location = %self.location, "scheduled backup started");
        let renewing = self.renew_lease();
        let result = self.take_and_prune(now_ms).await;
        renewing.cancel();
        let took_ms = started.elapsed().as_millis() as i64;
        let finished_ms = now_ms + took_ms;
        match result {
            Ok((location, pruned)) => {
                tracing::info!(%location, kept = pruned.backups_kept, deleted = pruned.backups_deleted,
                    media_deleted = pruned.media_deleted, seconds = took_ms as f64 / 1000.0, "scheduled backup done");
                metrics::counter!("backup_runs_total", "outcome" => "ok").increment(1);
                // The next start counts from this one's, so backups do not drift later.
                let due = (now_ms + self.interval_ms()).max(finished_ms);
                self.db
                    .writer()
                    .execute_raw(statement(
                        &self.db,
                        "UPDATE schedules SET due_at = $1, locked_by = NULL, locked_until = NULL, \
                         last_success_at = $2, failures = 0, last_error = NULL, \
                         last_duration_ms = $3, last_location = $4 WHERE name = $5 AND locked_by = $6",
                        vec![
                            due.into(),
                            finished_ms.into(),
                            took_ms.into(),
                            location.to_string().into(),
                            NAME.into(),
                            self.node.clone().into(),
                        ],
                    ))
                    .await?;
                Ok(Outcome::Succeeded { location, pruned })
            }
            Err(err) => {
                let error = format!("{err:#}");
                tracing::error!(location = %self.location, error = %error, "scheduled backup failed");
                metrics::counter!("backup_runs_total", "outcome" => "error").increment(1);
                let due = finished_ms + RETRY_MS.min(self.interval_ms());
                let txn = self.db.begin().await?;
                txn.execute_raw(statement(
                    &self.db,
                    "UPDATE schedules SET due_at = $1, locked_by = NULL, locked_until = NULL, \
                     last_failure_at = $2, failures = failures + 1, last_error = $3, \
                     last_duration_ms = $4 WHERE name = $5 AND locked_by = $6",
                    vec![
                        due.into(),
                        finished_ms.into(),
                        error.chars().take(2000).collect::<String>().into(),
                        took_ms.into(),
                        NAME.into(),
                        self.node.clone().into(),
                    ],
                ))
                .await?;
                if claimed.failures == 0 {
                    events::publish(
                        &txn,
                        BackupFailed {
                            location: self.location.to_string(),
                            error: error.clone(),
                            failed_at: time(Some(finished_ms)).unwrap_or_else(Utc::now),
                            last_success_at: time(claimed.last_success_at),
                        },
                    )
                    .await?;
                }
                txn.commit().await?;
                Ok(Outcome::Failed { error })
            }
        }
    }

    async fn take_and_prune(&self, now_ms: i64) -> anyhow::Result<(Location, Pruned)> {
        let quiet = |_: &str, _: u64, _: u64| {};
        let now = time(Some(now_ms)).unwrap_or_else(Utc::now);
        let (location, _manifest) =
            store::backup_to(&self.config, &self.location, now, &quiet).await?;
        let pruned = store::prune(
            &self.config,
            &self.location,
            Retention::from_config(&self.config),
            now,
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!("the backup {location} was taken, but pruning failed: {e:#}")
        })?;
        Ok((location, pruned))
    }

    /// Claims the schedule when it is due and free; answers its state before the claim.
    async fn claim(&self, now_ms: i64) -> Result<Option<Claimed>, DbErr> {
        let due = self
            .db
            .reader()
            .query_one_raw(statement(
                &self.db,
                "SELECT due_at FROM schedules WHERE name = $1",
                vec![NAME.into()],
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?;
        match due {
            // Most looks end here, on the reader, without taking the write lock.
            Some(due) if due > now_ms => return Ok(None),
            Some(_) => {}
            None => {
                // The first backup is due at once: a shop that just turned backups on
                // wants one now, not an interval later.
                self.db
                    .writer()
                    .execute_raw(statement(
                        &self.db,
                        "INSERT INTO schedules (name, due_at, failures) VALUES ($1, $2, 0) \
                         ON CONFLICT (name) DO NOTHING",
                        vec![NAME.into(), now_ms.into()],
                    ))
                    .await?;
            }
        }
        let row = self
            .db
            .writer()
            .query_one_raw(statement(
                &self.db,
                "UPDATE schedules SET locked_by = $1, locked_until = $2, last_started_at = $3 \
                 WHERE name = $4 AND due_at <= $3 AND (locked_until IS NULL OR locked_until < $3) \
                 RETURNING failures, last_success_at",
                vec![
                    self.node.clone().into(),
                    (now_ms + self.lease_ms).into(),
                    now_ms.into(),
                    NAME.into(),
                ],
            ))
            .await?;
        row.map(|r| Claimed::from_query_result(&r, "")).transpose()
    }

    /// Keeps the lease while a backup runs (a large one takes longer than a lease).
    fn renew_lease(&self) -> CancellationToken {
        let stop = CancellationToken::new();
        let (db, node, lease_ms) = (self.db.clone(), self.node.clone(), self.lease_ms);
        let token = stop.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis((lease_ms / 3).max(1000) as u64);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
                let renewed = db
                    .writer()
                    .execute_raw(statement(
                        &db,
                        "UPDATE schedules SET locked_until = $1 WHERE name = $2 AND locked_by = $3",
                        vec![
                            (outbox::now_ms() + lease_ms).into(),
                            NAME.into(),
                            node.clone().into(),
                        ],
                    ))
                    .await;
                if let Err(err) = renewed {
                    tracing::warn!(error = %err, "could not renew the backup's lease");
                }
            }
        });
        stop
    }

    /// Looks for a due backup until `shutdown`; a backup in progress is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(location = %self.location, every_minutes = self.config.backup.interval_minutes,
            "scheduled backups on");
        loop {
            if let Err(err) = self.run_due(outbox::now_ms()).await {
                tracing::warn!(error = %err, "could not look for a due backup");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
