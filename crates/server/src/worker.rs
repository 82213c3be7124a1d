//! The outbox worker inside every node: claims due jobs, runs each topic's handler,
//! retries failures with exponential backoff and parks a job as dead after the last
//! allowed attempt. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets every node's worker
//! claim jobs without two of them ever taking the same one; on SQLite the single writer
//! makes the claiming `UPDATE` atomic.

use emporium_core::config::OutboxConfig;
use emporium_core::outbox::{self, Job, JobRegistry, status};
use emporium_db::{Backend, Db};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One node's worker. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    registry: Arc<JobRegistry>,
    config: OutboxConfig,
    id: String,
}

#[derive(Debug, FromQueryResult)]
struct ClaimedRow {
    id: i64,
    topic: String,
    payload: String,
    attempts: i32,
}

/// How long to wait before attempt `attempts + 1`, given `attempts` failures so far.
pub fn backoff_ms(config: &OutboxConfig, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(32);
    let delay = config.backoff_base_ms.saturating_mul(1u64 << exp);
    delay.min(config.backoff_max_ms) as i64
}

impl Worker {
    pub fn new(db: Db, registry: Arc<JobRegistry>, config: OutboxConfig) -> Self {
        Self {
            db,
            registry,
            config,
            id: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Claims the jobs due at `now_ms` and runs them; returns how many ran (passed or
    /// failed). Jobs in flight are always finished before this returns.
    pub async fn run_once(&self, now_ms: i64) -> Result<usize, DbErr> {
        let jobs = self.claim(now_ms).await?;
        let count = jobs.len();
        futures::stream::iter(jobs)
            .for_each_concurrent(8, |job| async move {
                let started = std::time::Instant::now();
                if let Some(name) = job.topic.strip_prefix("event:") {
                    // A published event becomes one job per subscriber, atomically with
                    // its own removal; only a failure goes through the retry path.
                    if let Err(err) = self.fan_out(&job, name, now_ms).await {
                        let result = Err(anyhow::anyhow!("fanning out {name}: {err}"));
                        if let Err(err) = self.finish(&job, result, now_ms).await {
                            tracing::warn!(job_id = job.id, error = %err, "could not record job outcome");
                        }
                    }
                    return;
                }
                let result = match self.registry.handler(&job.topic) {
                    Some(handler) => handler.run(&job).await,
                    None => Err(anyhow::anyhow!("no handler for topic {}", job.topic)),
                };
                let outcome = if result.is_ok() { "ok" } else { "error" };
                metrics::histogram!("outbox_job_duration_seconds", "topic" => job.topic.clone(), "outcome" => outcome)
                    .record(started.elapsed().as_secs_f64());
                if let Err(err) = self.finish(&job, result, now_ms).await {
                    // The lease expires and another round retries the job.
                    tracing::warn!(job_id = job.id, error = %err, "could not record job outcome");
                }
            })
            .await;
        Ok(count)
    }

    /// Replaces a claimed event row by one job per subscriber, in one transaction, so
    /// each subscriber gets the event exactly once from here (and at least once overall).
    async fn fan_out(&self, job: &Job, name: &str, now_ms: i64) -> Result<(), DbErr> {
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let sql = if self.db.backend() == Backend::Postgres {
            "DELETE FROM outbox WHERE id = $1 AND locked_by = $2"
        } else {
            "DELETE FROM outbox WHERE id = ?1 AND locked_by = ?2"
        };
        let deleted = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [job.id.into(), self.id.clone().into()],
            ))
            .await?;
        if deleted.rows_affected() == 0 {
            // Our lease ran out and another worker took the row: it fans out instead.
            return txn.rollback().await;
        }
        for topic in self.registry.subscribers(name) {
            // Due as of this round, so a drain at `now_ms` runs them too.
            outbox::enqueue_at(&txn, topic, &job.payload, now_ms).await?;
        }
        txn.commit().await?;
        metrics::counter!("events_published_total", "event" => name.to_string()).increment(1);
        Ok(())
    }

    async fn claim(&self, now_ms: i64) -> Result<Vec<Job>, DbErr> {
        let backend = self.db.writer().get_database_backend();
        let sql = match self.db.backend() {
            Backend::Postgres => {
                "UPDATE outbox SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE status = $3 AND due_at <= $4 \
                 AND (locked_until IS NULL OR locked_until < $4) ORDER BY due_at, id LIMIT $5 \
                 FOR UPDATE SKIP LOCKED) RETURNING id, topic, payload, attempts"
            }
            Backend::Sqlite => {
                "UPDATE outbox SET locked_by = ?1, locked_until = ?2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE status = ?3 AND due_at <= ?4 \
                 AND (locked_until IS NULL OR locked_until < ?4) ORDER BY due_at, id LIMIT ?5) \
                 RETURNING id, topic, payload, attempts"
            }
        };
        let lease_until = now_ms + (self.config.lease_secs as i64) * 1000;
        let values: Vec<Value> = vec![
            self.id.clone().into(),
            lease_until.into(),
            status::PENDING.into(),
            now_ms.into(),
            i64::from(self.config.batch_size).into(),
        ];
        let rows = self
            .db
            .writer()
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        rows.iter()
            .map(|row| {
                let row = ClaimedRow::from_query_result(row, "")?;
                Ok(Job {
                    id: row.id,
                    payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
                    topic: row.topic,
                    attempt: row.attempts.max(0) as u32,
                    now_ms,
                })
            })
            .collect()
    }

    async fn finish(
        &self,
        job: &Job,
        result: anyhow::Result<()>,
        now_ms: i64,
    ) -> Result<(), DbErr> {
        let backend = self.db.writer().get_database_backend();
        let pg = self.db.backend() == Backend::Postgres;
        let stmt = match result {
            Ok(()) => {
                metrics::counter!("outbox_jobs_total", "topic" => job.topic.clone(), "outcome" => "done").increment(1);
                let sql = if pg {
                    "DELETE FROM outbox WHERE id = $1 AND locked_by = $2"
                } else {
                    "DELETE FROM outbox WHERE id = ?1 AND locked_by = ?2"
                };
                Statement::from_sql_and_values(
                    backend,
                    sql,
                    [job.id.into(), self.id.clone().into()],
                )
            }
            Err(err) => {
                let error = format!("{err:#}");
                let dead = job.attempt >= self.config.max_attempts;
                let (next_status, due_at, dead_at) = if dead {
                    tracing::error!(job_id = job.id, topic = %job.topic, attempts = job.attempt, error = %error, "job parked as dead");
                    metrics::counter!("outbox_jobs_total", "topic" => job.topic.clone(), "outcome" => "dead").increment(1);
                    (status::DEAD, now_ms, Some(now_ms))
                } else {
                    tracing::warn!(job_id = job.id, topic = %job.topic, attempt = job.attempt, error = %error, "job failed; will retry");
                    metrics::counter!("outbox_jobs_total", "topic" => job.topic.clone(), "outcome" => "retry").increment(1);
                    (
                        status::PENDING,
                        now_ms + backoff_ms(&self.config, job.attempt),
                        None,
                    )
                };
                let sql = if pg {
                    "UPDATE outbox SET status = $1, due_at = $2, dead_at = $3, last_error = $4, \
                     locked_by = NULL, locked_until = NULL WHERE id = $5 AND locked_by = $6"
                } else {
                    "UPDATE outbox SET status = ?1, due_at = ?2, dead_at = ?3, last_error = ?4, \
                     locked_by = NULL, locked_until = NULL WHERE id = ?5 AND locked_by = ?6"
                };
                Statement::from_sql_and_values(
                    backend,
                    sql,
                    [
                        next_status.into(),
                        due_at.into(),
                        dead_at.into(),
                        truncate(&error, 2000).into(),
                        job.id.into(),
                        self.id.clone().into(),
                    ],
                )
            }
        };
        self.db.writer().execute_raw(stmt).await.map(|_| ())
    }

    /// Runs rounds until no job is due at `now_ms`; returns how many ran. Tests use it to
    /// make side effects happen deterministically.
    pub async fn drain(&self, now_ms: i64) -> Result<usize, DbErr> {
        let mut total = 0;
        loop {
            let ran = self.run_once(now_ms).await?;
            if ran == 0 {
                return Ok(total);
            }
            total += ran;
        }
    }

    /// Polls for due jobs until `shutdown` is cancelled; the round in progress finishes.
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = Duration::from_millis(self.config.poll_interval_ms.max(10));
        tracing::info!(worker = %self.id, "outbox worker started");
        loop {
            let ran = match self.run_once(outbox::now_ms()).await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox round failed");
                    0
                }
            };
            // Go again at once after any work: a full batch suggests more is waiting, and
            // the jobs a round makes (an event's subscribers, a webhook's delivery) are due
            // now, so waiting a poll interval for each step would stack up the latency.
            if ran > 0 {
                if shutdown.is_cancelled() {
                    break;
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(idle) => {}
            }
        }
        tracing::info!(worker = %self.id, "outbox worker stopped");
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = OutboxConfig {
            backoff_base_ms: 100,
            backoff_max_ms: 1000,
            ..OutboxConfig::default()
        };
        assert_eq!(backoff_ms(&config, 1), 100);
        assert_eq!(backoff_ms(&config, 2), 200);
        assert_eq!(backoff_ms(&config, 3), 400);
        assert_eq!(backoff_ms(&config, 5), 1000);
        assert_eq!(backoff_ms(&config, 60), 1000);
    }
}
