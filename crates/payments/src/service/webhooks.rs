//! Gateway webhooks: verified, recorded once by event id, then applied; refunds made at
//! the gateway are followed here too.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::id::{OrderId, PaymentId};
use emporium_core::{AppError, AppResult, Currency};
use emporium_db::entity::{orders, payment_events, payments, refunds};
use emporium_orders::{Actor, PaymentStatus as OrderPaymentStatus};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::service::*;
use crate::state::Payments;
use crate::status::PaymentStatus;
use crate::{
    PaymentState, RefundNotice, RefundState, RemotePayment, WebhookAction, WebhookError,
    WebhookEvent,
};

impl WebhookAction {
    /// The gateway's ids of the payment an event is about: its own id and its capture.
    fn payment_refs(&self) -> (Option<String>, Option<String>) {
        match self {
            Self::Paid {
                provider_ref,
                capture_ref,
                ..
            }
            | Self::Failed {
                provider_ref,
                capture_ref,
                ..
            }
            | Self::Refunded {
                provider_ref,
                capture_ref,
                ..
            } => (provider_ref.clone(), capture_ref.clone()),
            Self::Approved { provider_ref } => (Some(provider_ref.clone()), None),
            Self::Ignored => (None, None),
        }
    }
}

/// The signature check's failure as the gateway's caller sees it: a 400 that says why,
/// counted, since a run of them means a wrong secret or someone probing.
fn refused(provider: &str, err: WebhookError) -> AppError {
    match err {
        WebhookError::BadSignature(why) => {
            tracing::warn!(provider, reason = why, "webhook refused");
            metrics::counter!("payment_webhooks_refused_total", "provider" => provider.to_string())
                .increment(1);
            AppError::bad_request(
                ErrorCode::InvalidSignature,
                format!("the webhook signature check failed: {why}"),
            )
        }
        WebhookError::Malformed(why) => {
            tracing::warn!(provider, reason = %why, "webhook malformed");
            AppError::bad_request(
                ErrorCode::MalformedWebhook,
                "the webhook body could not be read",
            )
        }
        WebhookError::Gateway(e) => gateway_error(e),
    }
}

impl Payments {
    /// A gateway's webhook: verified, recorded once by event id, then applied. A replay,
    /// an event for an order we do not know, or a refund before its payment is
    /// acknowledged without a wrong change. Answers what became of it.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn handle_webhook(
        &self,
        provider: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> AppResult<&'static str> {
        let gateway = self
            .gateways
            .get(provider)
            .await?
            .filter(|g| g.name() != "manual")
            .ok_or_else(|| AppError::not_found("no such payment gateway is enabled"))?;
        let event = gateway
            .verify_webhook(headers, body, Utc::now().timestamp())
            .await
            .map_err(|e| refused(provider, e))?;
        if self.seen_event(provider, &event.id).await? {
            return Ok("duplicate");
        }
        let (provider_ref, capture_ref) = event.action.payment_refs();
        let payment = self
            .find_payment(provider, provider_ref.as_deref(), capture_ref.as_deref())
            .await?;
        // An approval (PayPal) is captured now, before the transaction: a gateway call
        // never runs while a write lock is held.
        let remote = match (&event.action, &payment) {
            (WebhookAction::Approved { provider_ref }, Some(p))
                if p.status != PaymentStatus::Succeeded.as_str()
                    && PaymentStatus::is_open(&p.status) =>
            {
                let currency = Currency::parse(&p.currency).unwrap_or(self.default_currency());
                let key = format!("capture-{}", p.id);
                Some(
                    gateway
                        .capture(provider_ref, p.amount, currency, &key)
                        .await
                        .map_err(gateway_error)?,
                )
            }
            _ => None,
        };
        let mut stored = StoredEvent {
            body: String::from_utf8_lossy(body).into_owned(),
            refunds: Vec::new(),
        };
        let txn = self.db.begin().await?;
        let Some(event_row) = record_event(&txn, provider, &event, payment.as_ref()).await? else {
            return Ok("duplicate");
        };
        let outcome = match payment {
            Some(p) => {
                self.apply_event(&txn, &p, &event.action, remote.as_ref(), &mut stored)
                    .await?
            }
            None => "ignored",
        };
        payment_events::Entity::update_many()
            .col_expr(payment_events::Column::Outcome, Expr::value(outcome))
            .col_expr(
                payment_events::Column::Payload,
                Expr::value(serde_json::to_string(&stored).map_err(anyhow::Error::from)?),
            )
            .filter(payment_events::Column::Id.eq(event_row))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(provider, kind = %event.kind, outcome, "payment webhook");
        Ok(outcome)
    }

    /// Whether an event with this id from this gateway was recorded already.
    async fn seen_event(&self, provider: &str, event_id: &str) -> AppResult<bool> {
        Ok(payment_events::Entity::find()
            .filter(payment_events::Column::Provider.eq(provider))
            .filter(payment_events::Column::EventId.eq(event_id))
            .one(self.db.current())
            .await?
            .is_some())
    }

    /// What a verified event does to its payment: settles it, or follows its refunds
    /// (kept for later when they arrive before the payment succeeded).
    async fn apply_event(
        &self,
        txn: &DatabaseTransaction,
        payment: &payments::Model,
        action: &WebhookAction,
        remote: Option<&RemotePayment>,
        stored: &mut StoredEvent,
    ) -> AppResult<&'static str> {
        let id = PaymentId(payment.id);
        let settled = match action {
            WebhookAction::Ignored => return Ok("ignored"),
            WebhookAction::Paid {
                capture_ref,
                amount,
                ..
            } => RemotePayment {
                state: PaymentState::Succeeded,
                captured: *amount,
                capture_ref: capture_ref.clone(),
                failure: None,
            },
            WebhookAction::Approved { .. } => match remote {
                Some(remote) => remote.clone(),
                None => return Ok("ignored"),
            },
            WebhookAction::Failed { reason, .. } => RemotePayment {
                state: PaymentState::Failed,
                captured: 0,
                capture_ref: None,
                failure: Some(reason.clone()),
            },
            WebhookAction::Refunded { refunds, .. } => {
                let current = payments::Entity::find_by_id(payment.id).one(txn).await?;
                if current.is_some_and(|c| c.status == PaymentStatus::Succeeded.as_str()) {
                    self.reconcile_refunds(txn, id, refunds).await?;
                    return Ok("applied");
                }
                stored.refunds = refunds.clone();
                return Ok("deferred");
            }
        };
        self.settle(txn, id, &settled).await?;
        Ok("applied")
    }

    /// Applies refunds a gateway reports: ours change state, ones made in the gateway's
    /// dashboard are recorded (never beyond what was captured), and the order's status
    /// follows.
    pub(crate) async fn reconcile_refunds(
        &self,
        conn: &DatabaseTransaction,
        payment_id: PaymentId,
        notices: &[RefundNotice],
    ) -> AppResult<()> {
        let Some(payment) = payments::Entity::find_by_id(payment_id.uuid())
            .one(conn)
            .await?
        else {
            return Ok(());
        };
        let order = orders::Entity::find_by_id(payment.order_id)
            .one(conn)
            .await?;
        let mut changed = false;
        for notice in notices {
            let mut query =
                refunds::Entity::find().filter(refunds::Column::PaymentId.eq(payment_id));
            query = match notice.refund_id {
                Some(id) => query.filter(
                    refunds::Column::Id
                        .eq(id)
                        .or(refunds::Column::ProviderRef.eq(notice.provider_ref.clone())),
                ),
                None => query.filter(refunds::Column::ProviderRef.eq(notice.provider_ref.clone())),
            };
            let state = notice.state.as_str();
            match query.one(conn).await? {
                Some(ours) if ours.status != state => {
                    if notice.state == RefundState::Failed {
                        // The money did not go back: release what the refund held.
                        shift_refunded(conn, payment_id, -ours.amount, false).await?;
                        if let Some(order) = &order {
                            self.orders
                                .ledger_refund_reversed(conn, order, ours.id)
                                .await?;
                        }
                    } else if ours.status == RefundState::Failed.as_str() {
                        if !shift_refunded(conn, payment_id, ours.amount, true).await? {
                            continue;
                        }
                        if let Some(order) = &order {
                            self.orders
                                .ledger_refund(
                                    conn,
                                    order,
                                    ours.id,
                                    ours.amount,
                                    None,
                                    ours.reason.clone(),
                                )
                                .await?;
                        }
                    }
                    refunds::Entity::update_many()
                        .col_expr(refunds::Column::Status, Expr::value(state))
                        .col_expr(
                            refunds::Column::ProviderRef,
                            Expr::value(notice.provider_ref.clone()),
                        )
                        .col_expr(refunds::Column::UpdatedAt, Expr::value(Utc::now()))
                        .filter(refunds::Column::Id.eq(ours.id))
                        .exec(conn)
                        .await?;
                    changed = true;
                }
                Some(_) => {}
                None if notice.state == RefundState::Failed => {}
                None => {
                    if !shift_refunded(conn, payment_id, notice.amount, true).await? {
                        tracing::warn!(payment_id = %payment_id, "a gateway refund exceeds what we recorded as captured; left for staff");
                        continue;
                    }
                    let now = Utc::now();
                    let refund_id = Uuid::now_v7();
                    if let Some(order) = &order {
                        self.orders
                            .ledger_refund(
                                conn,
                                order,
                                refund_id,
                                notice.amount,
                                None,
                                Some("refunded at the gateway".into()),
                            )
                            .await?;
                    }
                    refunds::ActiveModel {
                        id: Set(refund_id),
                        payment_id: Set(payment_id.uuid()),
                        order_id: Set(payment.order_id),
                        amount: Set(notice.amount),
                        currency: Set(payment.currency.clone()),
                        status: Set(state.into()),
                        reason: Set(Some("refunded at the gateway".into())),
                        restock: Set(false),
                        lines: Set("[]".into()),
                        provider_ref: Set(Some(notice.provider_ref.clone())),
                        created_by: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(conn)
                    .await?;
                    changed = true;
                }
            }
        }
        if changed {
            self.follow_refunds(
                conn,
                payment_id,
                None,
                Some("refunded at the gateway".into()),
            )
            .await?;
        }
        Ok(())
    }

    /// Moves the order to refunded or partially refunded after its payment's refunds
    /// changed, when its status allows (a cancelled order stays cancelled).
    pub(crate) async fn follow_refunds(
        &self,
        conn: &DatabaseTransaction,
        payment_id: PaymentId,
        actor: Option<&Actor>,
        reason: Option<String>,
    ) -> AppResult<()> {
        let Some(payment) = payments::Entity::find_by_id(payment_id.uuid())
            .one(conn)
            .await?
        else {
            return Ok(());
        };
        // Money is the payment status's business; only a full refund also closes the
        // order, and only from a state that may close that way.
        let money = OrderPaymentStatus::of(payment.captured, payment.refunded);
        if money == OrderPaymentStatus::Paid || money == OrderPaymentStatus::Unpaid {
            return Ok(());
        }
        self.orders
            .money_returned(
                conn,
                OrderId(payment.order_id),
                money,
                actor.unwrap_or(&Actor::default()),
                reason,
            )
            .await
    }
}

/// Records a verified event once per gateway and event id: `None` when a concurrent
/// delivery of the same event got there first.
async fn record_event(
    txn: &DatabaseTransaction,
    provider: &str,
    event: &WebhookEvent,
    payment: Option<&payments::Model>,
) -> AppResult<Option<Uuid>> {
    let row = Uuid::now_v7();
    let inserted = payment_events::Entity::insert(payment_events::ActiveModel {
        id: Set(row),
        provider: Set(provider.to_string()),
        event_id: Set(event.id.chars().take(255).collect()),
        kind: Set(event.kind.chars().take(64).collect()),
        payment_id: Set(payment.map(|p| p.id)),
        outcome: Set("received".into()),
        payload: Set(String::new()),
        received_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            payment_events::Column::Provider,
            payment_events::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok((inserted > 0).then_some(row))
}
