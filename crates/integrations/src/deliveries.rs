//! Delivering events to endpoints. An event reaches integrations through the outbox (its
//! row was written in the transaction of the change); [`Integrations::fan_out`] turns it
//! into one delivery per endpoint that wants it, each with its own outbox job, so one
//! slow or failing receiver never holds up another. A delivery is retried on the
//! configured schedule (about three days by default) with jitter, later when the
//! receiver's `Retry-After` asks for it; a 410 switches its endpoint off; a delivery that
//! fails every retry, on an endpoint that has not taken one since, switches it off too.
//! Delivery is at least once: a receiver dedupes by `webhook-id`, which stays the same
//! on every retry and redelivery of an event.

use chrono::{DateTime, TimeZone, Utc};
use emporium_core::outbox;
use emporium_core::{AppError, AppResult};
use emporium_db::entity::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::state::Integrations;

/// The outbox topic of one delivery attempt.
pub const DELIVER_TOPIC: &str = "webhooks.deliver";

/// Delivery states.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    /// Not sent: its endpoint was off or gone when its turn came.
    pub const CANCELLED: &str = "cancelled";
    pub const ALL: &[&str] = &[PENDING, SUCCEEDED, FAILED, CANCELLED];
}

/// A `Retry-After` longer than this is capped: a receiver cannot park an event for weeks.
const MAX_RETRY_AFTER_SECS: u64 = 86_400;

#[derive(Debug, Serialize, Deserialize)]
struct DeliverJob {
    delivery_id: Uuid,
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` header: the same on every attempt of this event.
    pub message_id: String,
    pub event_type: String,
    /// `pending`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One attempt: what was sent and what came back.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// The `webhook-*` headers sent (the signature is shown: it proves nothing without
    /// the secret).
    #[schema(value_type = Object)]
    pub request_headers: serde_json::Value,
    pub status_code: Option<i32>,
    /// The start of the receiver's answer.
    pub response_excerpt: String,
    /// Why no answer came (refused address, timeout, connection error).
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// A delivery with the request body and every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailView {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// The body POSTed: `{"type", "timestamp", "data"}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts_log: Vec<AttemptView>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageView {
    pub data: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// `GET /admin/webhooks/{id}/deliveries` filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `succeeded`, `failed` or `cancelled`.
    #[param(example = "failed")]
    pub status: Option<String>,
    /// Only deliveries of this event type.
    #[param(example = "order.placed")]
    pub event_type: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /admin/webhooks/{id}/redeliver`: every delivery of the endpoint made in a time
/// range, again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "statuses": ["failed"]})))]
pub struct RedeliverRangeBody {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Which deliveries to send again (default: `failed` and `cancelled`).
    pub statuses: Option<Vec<String>>,
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveredView {
    pub queued: u64,
}

fn ms_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

impl From<webhook_deliveries::Model> for DeliveryView {
    fn from(row: webhook_deliveries::Model) -> Self {
        Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            message_id: row.message_id,
            event_type: row.event_type,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_then(ms_time),
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// What one attempt came to.
struct Outcome {
    status: Option<u16>,
    excerpt: String,
    error: Option<String>,
    retry_after: Option<u64>,
    duration_ms: i32,
    headers: serde_json::Value,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Whether an endpoint subscribed to `event`.
fn wants(endpoint: &webhook_endpoints::Model, event: &str) -> bool {
    let types: Vec<String> = serde_json::from_str(&endpoint.event_types).unwrap_or_default();
    types.is_empty() || types.iter().any(|t| t == event)
}

impl Integrations {
    /// Queues `event` (its name, the envelope's id and time, its data) for every enabled
    /// endpoint that wants it. Running it again for the same event queues nothing more.
    pub async fn fan_out(
        &self,
        event: &str,
        event_id: Uuid,
        occurred_at: DateTime<Utc>,
        data: serde_json::Value,
    ) -> AppResult<usize> {
        let endpoints: Vec<_> = webhook_endpoints::Entity::find()
            .filter(webhook_endpoints::Column::Enabled.eq(true))
            .all(self.db.writer())
            .await?
            .into_iter()
            .filter(|e| wants(e, event))
            .collect();
        if endpoints.is_empty() {
            return Ok(0);
        }
        let message_id = format!("msg_{}", event_id.simple());
        let payload = serde_json::json!({
            "type": event,
            "timestamp": occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        let txn = self.db.begin().await?;
        let mut queued = 0;
        for endpoint in endpoints {
            if self
                .queue(
                    &txn,
                    endpoint.id,
                    &message_id,
                    event,
                    &payload,
                    outbox::now_ms(),
                )
                .await?
            {
                queued += 1;
            }
        }
        txn.commit().await?;
        Ok(queued)
    }

    /// Inserts a delivery and its job; false when the endpoint already has this message.
    async fn queue<C: ConnectionTrait>(
        &self,
        conn: &C,
        endpoint_id: Uuid,
        message_id: &str,
        event: &str,
        payload: &str,
        due_ms: i64,
    ) -> AppResult<bool> {
        let id = Uuid::now_v7();
        let inserted = webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
            id: Set(id),
            endpoint_id: Set(endpoint_id),
            message_id: Set(message_id.to_string()),
            event_type: Set(event.to_string()),
            payload: Set(payload.to_string()),
            status: Set(status::PENDING.into()),
            attempts: Set(0),
            next_attempt_at: Set(Some(due_ms)),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(Utc::now()),
            finished_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                webhook_deliveries::Column::EndpointId,
                webhook_deliveries::Column::MessageId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        if inserted == 0 {
            return Ok(false);
        }
        outbox::enqueue_at(conn, DELIVER_TOPIC, &DeliverJob { delivery_id: id }, due_ms).await?;
        Ok(true)
    }

    /// Sends a `webhook.test` event to one endpoint (even a disabled one is not sent to:
    /// turn it on first).
    pub async fn send_test(&self, endpoint_id: Uuid) -> AppResult<DeliveryView> {
        let endpoint = self.endpoint_row(self.db.writer(), endpoint_id).await?;
        let id = Uuid::now_v7();
        let message_id = format!("msg_{}", id.simple());
        let payload = serde_json::json!({
            "type": crate::endpoints::TEST_EVENT,
            "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": {"endpoint_id": endpoint.id, "message": "a test event from Emporium"},
        })
        .to_string();
        let txn = self.db.begin().await?;
        self.queue(
            &txn,
            endpoint.id,
            &message_id,
            crate::endpoints::TEST_EVENT,
            &payload,
            outbox::now_ms(),
        )
        .await?;
        txn.commit().await?;
        let row = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::EndpointId.eq(endpoint.id))
            .filter(webhook_deliveries::Column::MessageId.eq(message_id))
            .one(self.db.writer())
            .await?
            .ok_or_else(|| AppError::not_found("no such delivery"))?;
        Ok(row.into())
    }

    /// One attempt of delivery `id` at `now_ms` (the outbox job's time); schedules the
    /// next one when it fails. Errors only when the database does (the outbox retries).
    pub async fn deliver(&self, id: Uuid, now_ms: i64) -> anyhow::Result<()> {
        let Some(delivery) = webhook_deliveries::Entity::find_by_id(id)
            .one(self.db.writer())
            .await?
        else {
            return Ok(());
        };
        if delivery.status != status::PENDING {
            return Ok(());
        }
        let endpoint = webhook_endpoints::Entity::find_by_id(delivery.endpoint_id)
            .one(self.db.writer())
            .await?;
        let Some(endpoint) = endpoint.filter(|e| e.enabled) else {
            self.finish(
                &delivery,
                status::CANCELLED,
                None,
                Some("the endpoint is off"),
            )
            .await?;
            return Ok(());
        };
        let outcome = self.send(&endpoint, &delivery).await;
        let attempt = delivery.attempts + 1;
        let txn = self.db.begin().await?;
        // Only the runner that saw this attempt count records it: a job run twice (its
        // lease ran out mid-send) sends twice, as at-least-once allows, but schedules once.
        let mut update = webhook_deliveries::Entity::update_many()
            .filter(webhook_deliveries::Column::Id.eq(delivery.id))
            .filter(webhook_deliveries::Column::Status.eq(status::PENDING))
            .filter(webhook_deliveries::Column::Attempts.eq(delivery.attempts))
            .col_expr(webhook_deliveries::Column::Attempts, Expr::value(attempt))
            .col_expr(
                webhook_deliveries::Column::LastStatus,
                Expr::value(outcome.status.map(i32::from)),
            )
            .col_expr(
                webhook_deliveries::Column::LastError,
                Expr::value(outcome.error.clone().or_else(|| {
                    outcome
                        .status
                        .filter(|_| !outcome.succeeded())
                        .map(|s| format!("the receiver answered {s}"))
                })),
            );
        let schedule = &self.config.webhooks.retry_schedule_secs;
        let mut next_due = None;
        let mut give_up = None;
        // A delivery that is over: its last state, nothing next.
        let close = |update: sea_orm::UpdateMany<webhook_deliveries::Entity>, state: &str| {
            update
                .col_expr(webhook_deliveries::Column::Status, Expr::value(state))
                .col_expr(
                    webhook_deliveries::Column::NextAttemptAt,
                    Expr::value(None::<i64>),
                )
                .col_expr(
                    webhook_deliveries::Column::FinishedAt,
                    Expr::value(Utc::now()),
                )
        };
        if outcome.succeeded() {
            update = close(update, status::SUCCEEDED);
        } else if outcome.status == Some(410) {
            give_up = Some(format!(
                "the receiver answered 410 Gone to {}",
                delivery.message_id
            ));
        } else if let Some(delay) = schedule.get(delivery.attempts.max(0) as usize) {
            let delay_ms = jittered_ms(*delay);
            let asked_ms = outcome
                .retry_after
                .map(|s| s.min(MAX_RETRY_AFTER_SECS) as i64 * 1000)
                .unwrap_or(0);
            let due = now_ms + delay_ms.max(asked_ms);
            next_due = Some(due);
            update = update.col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(due));
        } else {
            // Every retry failed: the endpoint goes off when nothing reached it since this
            // event was queued, so one poisonous event does not silence a working endpoint.
            let since = webhook_deliveries::Entity::find()
                .filter(webhook_deliveries::Column::EndpointId.eq(endpoint.id))
                .filter(webhook_deliveries::Column::Status.eq(status::SUCCEEDED))
                .filter(webhook_deliveries::Column::FinishedAt.gt(delivery.created_at))
                .count(&txn)
                .await?;
            if since == 0 {
                give_up = Some(format!(
                    "every delivery failed for {} attempts since {}",
                    attempt,
                    delivery.created_at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
        }
        if next_due.is_none() && !outcome.succeeded() {
            update = close(update, status::FAILED);
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(());
        }
        let label = if outcome.succeeded() {
            "succeeded"
        } else if next_due.is_some() {
            "retry"
        } else {
            "failed"
        };
        webhook_attempts::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(delivery.id),
            endpoint_id: Set(endpoint.id),
            attempt: Set(attempt),
            attempted_at: Set(Utc::now()),
            request_headers: Set(outcome.headers.to_string()),
            status_code: Set(outcome.status.map(i32::from)),
            response_excerpt: Set(outcome.excerpt),
            error: Set(outcome.error),
            duration_ms: Set(outcome.duration_ms),
        }
        .insert(&txn)
        .await?;
        if let Some(due) = next_due {
            outbox::enqueue_at(&txn, DELIVER_TOPIC, &DeliverJob { delivery_id: id }, due).await?;
        }
        if let Some(reason) = give_up {
            self.disable(&txn, &endpoint, reason).await?;
        }
        txn.commit().await?;
        metrics::counter!("webhook_attempts_total", "outcome" => label).increment(1);
        Ok(())
    }

    async fn finish(
        &self,
        delivery: &webhook_deliveries::Model,
        to: &str,
        status_code: Option<i32>,
        error: Option<&str>,
    ) -> AppResult<()> {
        webhook_deliveries::Entity::update_many()
            .filter(webhook_deliveries::Column::Id.eq(delivery.id))
            .filter(webhook_deliveries::Column::Status.eq(status::PENDING))
            .col_expr(webhook_deliveries::Column::Status, Expr::value(to))
            .col_expr(
                webhook_deliveries::Column::LastStatus,
                Expr::value(status_code),
            )
            .col_expr(
                webhook_deliveries::Column::LastError,
                Expr::value(error.map(str::to_string)),
            )
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                Expr::value(None::<i64>),
            )
            .col_expr(
                webhook_deliveries::Column::FinishedAt,
                Expr::value(Utc::now()),
            )
            .exec(self.db.writer())
            .await?;
        Ok(())
    }

    /// Signs and POSTs one attempt.
    async fn send(
        &self,
        endpoint: &webhook_endpoints::Model,
        delivery: &webhook_deliveries::Model,
    ) -> Outcome {
        // The header tells the receiver when this was sent (it checks it against its
        // clock to refuse replays), so it is the wall clock, not the job's time.
        let timestamp = Utc::now().timestamp();
        let started = Instant::now();
        let mut outcome = Outcome {
            status: None,
            excerpt: String::new(),
            error: None,
            retry_after: None,
            duration_ms: 0,
            headers: serde_json::json!({
                "webhook-id": delivery.message_id,
                "webhook-timestamp": timestamp.to_string(),
            }),
        };
        if let Some(why) = crate::guard::check_url(&endpoint.url, self.allow_private()) {
            outcome.error = Some(format!("refused: {why}"));
            return outcome;
        }
        let mut secrets = Vec::new();
        match self.open(&endpoint.secret) {
            Ok(secret) => secrets.push(secret),
            Err(err) => {
                outcome.error = Some(err.to_string());
                return outcome;
            }
        }
        if let (Some(previous), Some(until)) =
            (&endpoint.previous_secret, endpoint.previous_secret_until)
            && until > Utc::now()
            && let Ok(previous) = self.open(previous)
        {
            secrets.push(previous);
        }
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let body = delivery.payload.as_bytes();
        let signature =
            crate::signing::signature_header(&refs, &delivery.message_id, timestamp, body);
        outcome.headers["webhook-signature"] = signature.clone().into();
        let result = self
            .http
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                outcome.status = Some(status);
                outcome.retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let limit = self.config.webhooks.response_excerpt_bytes;
                let bytes = read_prefix(response, limit).await;
                outcome.excerpt = String::from_utf8_lossy(&bytes).into_owned();
            }
            Err(err) => {
                outcome.error = Some(describe(&err));
            }
        }
        outcome.duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        outcome
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        endpoint_id: Uuid,
        q: DeliveryQuery,
    ) -> AppResult<DeliveryPageView> {
        self.endpoint_row(self.db.reader(), endpoint_id).await?;
        let limit = emporium_core::pagination::PageQuery {
            limit: q.limit,
            cursor: None,
        }
        .limit()?;
        let mut select = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id));
        if let Some(s) = &q.status {
            if !status::ALL.contains(&s.as_str()) {
                return Err(AppError::invalid(
                    "status",
                    format!("must be one of {}", status::ALL.join(", ")),
                ));
            }
            select = select.filter(webhook_deliveries::Column::Status.eq(s.as_str()));
        }
        if let Some(t) = &q.event_type {
            select = select.filter(webhook_deliveries::Column::EventType.eq(t.as_str()));
        }
        if let Some(cursor) = &q.cursor {
            let after: Uuid = cursor
                .parse()
                .map_err(|_| AppError::invalid("cursor", "is not a cursor this list gave"))?;
            select = select.filter(webhook_deliveries::Column::Id.lt(after));
        }
        let mut rows = select
            .order_by_desc(webhook_deliveries::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.db.reader())
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok(DeliveryPageView {
            data: rows.into_iter().map(DeliveryView::from).collect(),
            next_cursor,
        })
    }

    async fn delivery_row(
        &self,
        endpoint_id: Uuid,
        id: Uuid,
    ) -> AppResult<webhook_deliveries::Model> {
        webhook_deliveries::Entity::find_by_id(id)
            .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
            .one(self.db.writer())
            .await?
            .ok_or_else(|| AppError::not_found("no such delivery of this endpoint"))
    }

    /// A delivery with its body and every attempt.
    pub async fn delivery(&self, endpoint_id: Uuid, id: Uuid) -> AppResult<DeliveryDetailView> {
        let row = self.delivery_row(endpoint_id, id).await?;
        let attempts = webhook_attempts::Entity::find()
            .filter(webhook_attempts::Column::DeliveryId.eq(id))
            .order_by_asc(webhook_attempts::Column::Attempt)
            .order_by_asc(webhook_attempts::Column::Id)
            .all(self.db.writer())
            .await?;
        Ok(DeliveryDetailView {
            payload: serde_json::from_str(&row.payload).unwrap_or_default(),
            delivery: row.into(),
            attempts_log: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    attempted_at: a.attempted_at,
                    request_headers: serde_json::from_str(&a.request_headers).unwrap_or_default(),
                    status_code: a.status_code,
                    response_excerpt: a.response_excerpt,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        })
    }

    /// Sends one delivery again now, with the same `webhook-id` (a pending one is sent
    /// at once instead of waiting for its retry).
    pub async fn redeliver(&self, endpoint_id: Uuid, id: Uuid) -> AppResult<DeliveryView> {
        let endpoint = self.endpoint_row(self.db.writer(), endpoint_id).await?;
        if !endpoint.enabled {
            return Err(AppError::conflict(
                emporium_core::error::ErrorCode::InvalidState,
                "the endpoint is off: turn it on before sending to it again",
            ));
        }
        let row = self.delivery_row(endpoint_id, id).await?;
        let txn = self.db.begin().await?;
        self.requeue(&txn, &row).await?;
        txn.commit().await?;
        Ok(self.delivery_row(endpoint_id, id).await?.into())
    }

    /// Sends again every delivery of an endpoint made between `from` and `to` whose
    /// status is one of `statuses`.
    pub async fn redeliver_range(
        &self,
        endpoint_id: Uuid,
        body: RedeliverRangeBody,
    ) -> AppResult<RedeliveredView> {
        let endpoint = self.endpoint_row(self.db.writer(), endpoint_id).await?;
        let statuses = body
            .statuses
            .unwrap_or_else(|| vec![status::FAILED.into(), status::CANCELLED.into()]);
        let mut errors = Vec::new();
        for (i, s) in statuses.iter().enumerate() {
            if !status::ALL.contains(&s.as_str()) {
                errors.push(emporium_core::FieldError::new(
                    format!("statuses[{i}]"),
                    format!("must be one of {}", status::ALL.join(", ")),
                ));
            }
        }
        if body.to <= body.from {
            errors.push(emporium_core::FieldError::new("to", "must be after from"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if !endpoint.enabled {
            return Err(AppError::conflict(
                emporium_core::error::ErrorCode::InvalidState,
                "the endpoint is off: turn it on before sending to it again",
            ));
        }
        let rows = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
            .filter(
                Condition::all()
                    .add(webhook_deliveries::Column::CreatedAt.gte(body.from))
                    .add(webhook_deliveries::Column::CreatedAt.lt(body.to)),
            )
            .filter(webhook_deliveries::Column::Status.is_in(statuses))
            .all(self.db.writer())
            .await?;
        let txn = self.db.begin().await?;
        let mut queued = 0;
        for row in &rows {
            self.requeue(&txn, row).await?;
            queued += 1;
        }
        txn.commit().await?;
        Ok(RedeliveredView { queued })
    }

    async fn requeue<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &webhook_deliveries::Model,
    ) -> AppResult<()> {
        let now = outbox::now_ms();
        webhook_deliveries::Entity::update_many()
            .filter(webhook_deliveries::Column::Id.eq(row.id))
            .col_expr(
                webhook_deliveries::Column::Status,
                Expr::value(status::PENDING),
            )
            .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(now))
            .col_expr(
                webhook_deliveries::Column::FinishedAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .exec(conn)
            .await?;
        outbox::enqueue_at(
            conn,
            DELIVER_TOPIC,
            &DeliverJob {
                delivery_id: row.id,
            },
            now,
        )
        .await?;
        Ok(())
    }
}

/// The outbox handler of [`DELIVER_TOPIC`].
pub(crate) struct DeliverHandler(pub(crate) Integrations);

#[async_trait::async_trait]
impl outbox::JobHandler for DeliverHandler {
    async fn run(&self, job: &outbox::Job) -> anyhow::Result<()> {
        let job_data: DeliverJob = serde_json::from_value(job.payload.clone())?;
        self.0.deliver(job_data.delivery_id, job.now_ms).await
    }
}

/// `secs` seconds give or take a tenth, so endpoints that failed together do not all
/// come back at the same instant.
fn jittered_ms(secs: u64) -> i64 {
    let base = secs.saturating_mul(1000) as i64;
    let spread = base / 10;
    if spread == 0 {
        return base;
    }
    base + rand::thread_rng().gen_range(-spread..=spread)
}

/// Up to `limit` bytes of a response body.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(limit);
    out
}

/// An error in words, its causes included (reqwest hides the useful part in them).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "the receiver did not answer in time".to_string()
    } else if err.is_connect() {
        "could not connect".to_string()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
