//! Review requests: when an order is delivered, a request is scheduled for
//! `[reviews] request_delay_days` later; a worker sweep sends what is due (one email per
//! order, with a link per product) and, `reminder_delay_days` after that, one reminder
//! for the products not yet reviewed. Each send is claimed by a guarded update, so two
//! nodes never send the same one, and an address that opted out gets nothing.

use chrono::Utc;
use emporium_core::AppResult;
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::events::{DeliveredProduct, Envelope, OrderDelivered};
use emporium_db::entity::{review_opt_outs, review_requests, reviews};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::state::Reviews;

const DAY_MS: i64 = 86_400_000;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestReport {
    pub requests: usize,
    pub reminders: usize,
    /// Due, but the address opted out or every product was reviewed already.
    pub skipped: usize,
}

impl Reviews {
    /// Schedules the review request of a delivered order (once per order, whatever
    /// number of times the event arrives).
    pub async fn schedule_request(&self, event: &Envelope<OrderDelivered>) -> AppResult<()> {
        let days = i64::from(self.config.reviews.request_delay_days);
        if days == 0 || event.data.products.is_empty() {
            return Ok(());
        }
        let order = &event.data.order;
        let row = review_requests::ActiveModel {
            order_id: Set(order.order_id.uuid()),
            email: Set(order.email.clone()),
            lang: Set(order.lang.clone()),
            customer_id: Set(order.customer_id.map(|c| c.0)),
            products: Set(serde_json::to_string(&event.data.products).map_err(anyhow::Error::from)?),
            due_at: Set(event.occurred_at.timestamp_millis() + days * DAY_MS),
            sent_at: Set(None),
            reminded_at: Set(None),
            token_hash: Set(None),
            reminder_token_hash: Set(None),
            created_at: Set(Utc::now()),
        };
        review_requests::Entity::insert(row)
            .on_conflict(
                OnConflict::column(review_requests::Column::OrderId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.db.writer())
            .await?;
        Ok(())
    }

    /// Sends the requests and reminders due at `now_ms` (the sweep passes the clock, so
    /// tests can move it).
    pub async fn send_due_requests(&self, now_ms: i64) -> AppResult<RequestReport> {
        let mut report = RequestReport::default();
        let reminder_ms = i64::from(self.config.reviews.reminder_delay_days) * DAY_MS;
        loop {
            let due = review_requests::Entity::find()
                .filter(review_requests::Column::SentAt.is_null())
                .filter(review_requests::Column::DueAt.lte(now_ms))
                .limit(100)
                .all(self.db.writer())
                .await?;
            if due.is_empty() {
                break;
            }
            for request in due {
                self.send(request, now_ms, false, &mut report).await?;
            }
        }
        if reminder_ms == 0 {
            return Ok(report);
        }
        loop {
            let due = review_requests::Entity::find()
                .filter(review_requests::Column::SentAt.lte(now_ms - reminder_ms))
                .filter(review_requests::Column::RemindedAt.is_null())
                .limit(100)
                .all(self.db.writer())
                .await?;
            if due.is_empty() {
                break;
            }
            for request in due {
                self.send(request, now_ms, true, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn send(
        &self,
        request: review_requests::Model,
        now_ms: i64,
        reminder: bool,
        report: &mut RequestReport,
    ) -> AppResult<()> {
        let token = random_token(24);
        let txn = self.db.begin().await?;
        let claim = review_requests::Entity::update_many()
            .filter(review_requests::Column::OrderId.eq(request.order_id));
        let claim = if reminder {
            claim
                .col_expr(review_requests::Column::RemindedAt, Expr::value(now_ms))
                .col_expr(
                    review_requests::Column::ReminderTokenHash,
                    Expr::value(token_hash(&token)),
                )
                .filter(review_requests::Column::RemindedAt.is_null())
        } else {
            claim
                .col_expr(review_requests::Column::SentAt, Expr::value(now_ms))
                .col_expr(
                    review_requests::Column::TokenHash,
                    Expr::value(token_hash(&token)),
                )
                .filter(review_requests::Column::SentAt.is_null())
        };
        if claim.exec(&txn).await?.rows_affected == 0 {
            // Another node sent it.
            return Ok(());
        }
        let products: Vec<DeliveredProduct> =
            serde_json::from_str(&request.products).unwrap_or_default();
        let waiting = self.not_yet_reviewed(&txn, &request, products).await?;
        if waiting.is_empty() || opted_out(&txn, &request.email).await? {
            txn.commit().await?;
            report.skipped += 1;
            return Ok(());
        }
        let base = self.config.store_url();
        let order = request.order_id;
        let links: Vec<serde_json::Value> = waiting
            .iter()
            .map(|p| {
                serde_json::json!({
                    "title": p.title,
                    "link": format!("{base}/reviews/write?order={order}&token={token}&product={}", p.product_id),
                })
            })
            .collect();
        enqueue_email(
            &txn,
            &EmailJob {
                to: request.email.clone(),
                template: "review_request".into(),
                context: serde_json::json!({
                    "products": links,
                    "reminder": reminder,
                    "unsubscribe": format!("{base}/reviews/unsubscribe?order={order}&token={token}"),
                }),
                lang: Some(request.lang.clone()),
                thread: None,
            },
        )
        .await?;
        txn.commit().await?;
        if reminder {
            report.reminders += 1;
        } else {
            report.requests += 1;
        }
        Ok(())
    }

    /// The request's products its buyer has not reviewed yet.
    async fn not_yet_reviewed<C: ConnectionTrait>(
        &self,
        conn: &C,
        request: &review_requests::Model,
        products: Vec<DeliveredProduct>,
    ) -> AppResult<Vec<DeliveredProduct>> {
        let author = match request.customer_id {
            Some(id) => format!("customer:{id}"),
            None => format!("order:{}", request.order_id),
        };
        let ids: Vec<Uuid> = products.iter().map(|p| p.product_id).collect();
        let done: Vec<Uuid> = reviews::Entity::find()
            .select_only()
            .column(reviews::Column::ProductId)
            .filter(reviews::Column::AuthorKey.eq(author))
            .filter(reviews::Column::ProductId.is_in(ids))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(products
            .into_iter()
            .filter(|p| !done.contains(&p.product_id))
            .collect())
    }

    /// The holder of a review link asks for no more review requests at its address.
    pub async fn opt_out(&self, order_id: Uuid, token: &str) -> AppResult<String> {
        let request = self
            .request_by_link(self.db.writer(), order_id, token)
            .await?;
        review_opt_outs::Entity::insert(review_opt_outs::ActiveModel {
            email: Set(request.email.to_lowercase()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(review_opt_outs::Column::Email)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.db.writer())
        .await?;
        Ok(request.email)
    }
}

async fn opted_out<C: ConnectionTrait>(conn: &C, email: &str) -> AppResult<bool> {
    Ok(review_opt_outs::Entity::find_by_id(email.to_lowercase())
        .count(conn)
        .await?
        > 0)
}
