//! The outbox writer: services record jobs in the same transaction as the change that
//! causes them, so a rolled-back change never sends an email or a webhook, and a
//! committed one always does (at least once). The worker in `emporium-server` runs them.

use async_trait::async_trait;
use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

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

/// A claimed job, handed to its topic's handler.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub topic: String,
    pub payload: serde_json::Value,
    /// 1 on the first run.
    pub attempt: u32,
    /// The time the worker runs the job at (epoch milliseconds): handlers that schedule
    /// follow-ups count from it, so a test that drains at a later time sees them due.
    pub now_ms: i64,
}

/// Runs the jobs of one topic. Jobs are delivered at least once, so a handler must be
/// idempotent: running the same job twice must leave the same result as once.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &Job) -> anyhow::Result<()>;
}

/// Which handler runs which topic. Domains add theirs when the server is assembled.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    /// Event name -> the topics of its subscribers' copies.
    subscriptions: HashMap<String, Vec<String>>,
}

impl JobRegistry {
    pub fn register(&mut self, topic: impl Into<String>, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(topic.into(), handler);
    }

    /// Subscribes `subscriber` (a domain's name, e.g. `notify`) to event `E`: each event
    /// published from now on reaches it as its own job.
    pub fn subscribe<E, S>(&mut self, subscriber: &str, handler: S)
    where
        E: crate::events::Event,
        S: crate::events::Subscriber<E>,
    {
        let topic = crate::events::subscriber_topic(subscriber, E::NAME);
        self.handlers.insert(
            topic.clone(),
            Arc::new(crate::events::Typed {
                subscriber: handler,
                event: std::marker::PhantomData::<fn() -> E>,
            }),
        );
        let topics = self.subscriptions.entry(E::NAME.to_string()).or_default();
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }

    /// The subscriber topics of event `name` (empty when nobody listens).
    pub fn subscribers(&self, name: &str) -> &[String] {
        self.subscriptions.get(name).map_or(&[], Vec::as_slice)
    }

    /// The handler of `topic`, if one is registered.
    pub fn handler(&self, topic: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(topic)
    }
}
