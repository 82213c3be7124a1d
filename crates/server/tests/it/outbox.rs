//! The outbox: transactional writes, retries with backoff, dead jobs, exactly-once claims.

use crate::support::Recorder;
use emporium_core::outbox;
use emporium_db::Db;
use emporium_server::{JobRegistry, Worker};
use emporium_testkit::{TestApp, TestOptions};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement, TransactionTrait};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn registry(topic: &str, recorder: &Recorder) -> JobRegistry {
    let mut jobs = JobRegistry::default();
    jobs.register(topic, Arc::new(recorder.clone()));
    jobs
}

#[derive(Debug, FromQueryResult)]
struct Row {
    status: String,
    attempts: i32,
    due_at: i64,
    last_error: Option<String>,
}

async fn rows(db: &Db) -> Vec<Row> {
    let backend = db.reader().get_database_backend();
    let stmt = Statement::from_string(
        backend,
        "SELECT status, attempts, due_at, last_error FROM outbox ORDER BY id",
    );
    let rows = db.reader().query_all_raw(stmt).await.expect("query");
    rows.iter()
        .map(|r| Row::from_query_result(r, "").expect("row"))
        .collect()
}

#[tokio::test]
async fn a_job_from_a_rolled_back_transaction_never_runs() {
    let recorder = Recorder::default();
    let app = TestApp::spawn_with(TestOptions {
        jobs: registry("test.note", &recorder),
        ..TestOptions::default()
    })
    .await;

    let txn = app.db().begin().await.expect("begin");
    outbox::enqueue(&txn, "test.note", &json!({"n": 1}))
        .await
        .expect("enqueue");
    txn.rollback().await.expect("rollback");

    let txn = app.db().writer().begin().await.expect("begin");
    outbox::enqueue(&txn, "test.note", &json!({"n": 2}))
        .await
        .expect("enqueue");
    txn.commit().await.expect("commit");

    assert_eq!(app.drain_outbox().await, 1);
    assert_eq!(recorder.runs().len(), 1);
    assert!(
        rows(app.db()).await.is_empty(),
        "a finished job leaves the table"
    );
}

#[tokio::test]
async fn failing_jobs_back_off_then_park_as_dead() {
    let recorder = Recorder::failing();
    let app = TestApp::spawn_with(TestOptions {
        jobs: registry("test.fail", &recorder),
        configure: Box::new(|c| {
            c.outbox.max_attempts = 3;
            c.outbox.backoff_base_ms = 1_000;
        }),
        ..TestOptions::default()
    })
    .await;
    let t0 = outbox::now_ms();
    outbox::enqueue_at(app.db().writer(), "test.fail", &json!({}), t0)
        .await
        .expect("enqueue");
    let worker = Worker::new(
        app.db().clone(),
        Arc::new(registry("test.fail", &recorder)),
        app.config().outbox.clone(),
    );

    assert_eq!(worker.run_once(t0).await.expect("round"), 1);
    let row = &rows(app.db()).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.due_at, t0 + 1_000, "first retry after the base delay");
    assert!(row.last_error.as_deref().unwrap_or("").contains("refused"));

    assert_eq!(
        worker.run_once(t0 + 999).await.expect("round"),
        0,
        "not due yet"
    );
    assert_eq!(worker.run_once(t0 + 1_000).await.expect("round"), 1);
    let row = &rows(app.db()).await[0];
    assert_eq!(row.attempts, 2);
    assert_eq!(row.due_at, t0 + 1_000 + 2_000, "the delay doubles");

    assert_eq!(worker.run_once(t0 + 3_000).await.expect("round"), 1);
    let row = &rows(app.db()).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 3));
    assert_eq!(
        worker.run_once(i64::MAX / 2).await.expect("round"),
        0,
        "dead jobs stay parked"
    );
    assert_eq!(recorder.runs().len(), 3);

    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("outbox_jobs{status=\"dead\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn two_workers_never_run_the_same_job_twice() {
    let recorder = Recorder::default();
    let app = TestApp::spawn_with(TestOptions {
        jobs: registry("test.once", &recorder),
        ..TestOptions::default()
    })
    .await;
    const JOBS: usize = 300;
    let txn = app.db().begin().await.expect("begin");
    for n in 0..JOBS {
        outbox::enqueue(&txn, "test.once", &json!({"n": n}))
            .await
            .expect("enqueue");
    }
    txn.commit().await.expect("commit");

    // Two nodes: separate pools, separate worker ids, one database.
    let mut config = app.database().config();
    config.outbox.batch_size = 7;
    let other_db = Db::connect(&config).await.expect("second node connects");
    let jobs = Arc::new(registry("test.once", &recorder));
    let a = Worker::new(app.db().clone(), jobs.clone(), config.outbox.clone());
    let b = Worker::new(other_db, jobs, config.outbox.clone());
    let now = outbox::now_ms();
    let (ran_a, ran_b) = tokio::join!(
        tokio::spawn(async move { a.drain(now).await }),
        tokio::spawn(async move { b.drain(now).await })
    );
    let (ran_a, ran_b) = (ran_a.expect("a").expect("a"), ran_b.expect("b").expect("b"));
    assert_eq!(ran_a + ran_b, JOBS);

    let mut counts: HashMap<i64, usize> = HashMap::new();
    for id in recorder.runs() {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), JOBS);
    assert!(counts.values().all(|&n| n == 1), "a job ran twice");
}

#[tokio::test]
async fn the_background_worker_runs_jobs_by_itself() {
    let recorder = Recorder::default();
    let app = TestApp::spawn_with(TestOptions {
        jobs: registry("test.bg", &recorder),
        worker: true,
        configure: Box::new(|c| c.outbox.poll_interval_ms = 20),
        ..TestOptions::default()
    })
    .await;
    outbox::enqueue(app.db().writer(), "test.bg", &json!({}))
        .await
        .expect("enqueue");
    for _ in 0..250 {
        if !recorder.runs().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(recorder.runs().len(), 1);
}

/// A test-only event: domain events are any `Event` type, published in a transaction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Happened {
    n: u32,
}

impl emporium_core::events::Event for Happened {
    const NAME: &'static str = "test.happened";
    const VERSION: u32 = 1;
}

/// Records each envelope it is handed; fails when asked to.
#[derive(Clone, Default)]
struct Listener {
    seen: Arc<std::sync::Mutex<Vec<(uuid::Uuid, u32)>>>,
    fail: bool,
}

#[async_trait::async_trait]
impl emporium_core::events::Subscriber<Happened> for Listener {
    async fn handle(
        &self,
        event: &emporium_core::events::Envelope<Happened>,
    ) -> anyhow::Result<()> {
        self.seen
            .lock()
            .expect("lock")
            .push((event.id, event.data.n));
        if self.fail {
            anyhow::bail!("listener refused");
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_event_reaches_each_subscriber_once_and_a_failing_one_retries_alone() {
    let good = Listener::default();
    let bad = Listener {
        fail: true,
        ..Listener::default()
    };
    let mut jobs = JobRegistry::default();
    jobs.subscribe::<Happened, _>("good", good.clone());
    jobs.subscribe::<Happened, _>("bad", bad.clone());
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.outbox.backoff_base_ms = 1_000),
        ..TestOptions::default()
    })
    .await;
    let worker = Worker::new(
        app.db().clone(),
        Arc::new(jobs),
        app.config().outbox.clone(),
    );

    // Rolled back: never published.
    let txn = app.db().begin().await.expect("begin");
    emporium_core::events::publish(&txn, Happened { n: 1 })
        .await
        .expect("publish");
    txn.rollback().await.expect("rollback");
    let txn = app.db().begin().await.expect("begin");
    emporium_core::events::publish(&txn, Happened { n: 2 })
        .await
        .expect("publish");
    txn.commit().await.expect("commit");

    let t0 = outbox::now_ms();
    // Round one fans the event out; round two runs both subscribers.
    assert_eq!(worker.drain(t0).await.expect("drain"), 3);
    let first = good.seen.lock().expect("lock").clone();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, 2);
    assert_eq!(bad.seen.lock().expect("lock").len(), 1);

    // Only the failing subscriber runs again, with the same envelope.
    assert_eq!(worker.drain(t0 + 1_000).await.expect("drain"), 1);
    assert_eq!(good.seen.lock().expect("lock").len(), 1);
    let retried = bad.seen.lock().expect("lock").clone();
    assert_eq!(retried.len(), 2);
    assert_eq!(retried[0].0, retried[1].0, "the envelope id is stable");
    assert_eq!(retried[0].0, first[0].0);
}
