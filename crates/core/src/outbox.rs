//! The outbox writer: services record jobs in the same transaction as the change that
//! causes them, so a rolled-back change never sends an email or a webhook, and a
//! committed one always does (at least once). The worker in `emporium-server` runs them.

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

/// The table both the writer and the worker use.
pub const TABLE: &str = "outbox";

/// Job states kept in the `status` column.
pub mod status {
    /// Waiting to run, or running under a lease.
    pub const PENDING: &str = "pending";
    /// Failed every allowed attempt; kept for admins to inspect or retry.
    pub const DEAD: &str = "dead";
}

/// Milliseconds since the Unix epoch: how the outbox stores every time, so that both
/// backends compare them as plain integers.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Records a job for `topic` inside the caller's transaction (or connection), due now.
pub async fn enqueue<C, P>(conn: &C, topic: &str, payload: &P) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    P: Serialize + ?Sized,
{
    enqueue_at(conn, topic, payload, now_ms()).await
}

/// Records a job due at `due_at_ms` (epoch milliseconds).
pub async fn enqueue_at<C, P>(
    conn: &C,
    topic: &str,
    payload: &P,
    due_at_ms: i64,
) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    P: Serialize + ?Sized,
{
    let payload = serde_json::to_string(payload)
        .map_err(|e| DbErr::Custom(format!("outbox payload for {topic}: {e}")))?;
    let insert = Query::insert()
        .into_table(TABLE)
        .columns([
            "topic",
            "payload",
            "status",
            "attempts",
            "due_at",
            "created_at",
        ])
        .values_panic([
            topic.into(),
            payload.into(),
            status::PENDING.into(),
            0i32.into(),
            due_at_ms.into(),
            now_ms().into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}
