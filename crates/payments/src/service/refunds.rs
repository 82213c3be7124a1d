//! Refunds: never more than was captured (the cap is checked by the update itself),
//! idempotent by key, line by line to the cent, with restocking, and the order's money
//! status following.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, RefundCreated};
use emporium_core::id::{OrderId, PaymentId, RefundId};
use emporium_core::idempotency::{self, Replay};
use emporium_core::order_line::LineQuantity;
use emporium_core::{AppError, AppResult, Currency, FieldError, Money};
use emporium_db::entity::{order_lines, payments, refunds};
use emporium_orders::{Actor, OrderStatus, RefundSplit, order_ref};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

use crate::service::*;
use crate::state::Payments;
use crate::status::PaymentStatus;
use crate::views::{OrderPaymentsView, RefundView};
use crate::{RefundRequest, RefundState, RemoteRefund};

/// A refund whose amount is held on its payment while the gateway is asked.
struct HeldRefund {
    order: emporium_db::entity::orders::Model,
    payment: payments::Model,
    lines: Vec<order_lines::Model>,
    refund_id: RefundId,
    amount: i64,
    /// How the refund splits over lines and shipping, when it names lines.
    split: Option<RefundSplit>,
    reason: Option<String>,
}

/// `POST /admin/orders/{id}/refunds`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "lines": [{"line_id": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d", "quantity": 1}],
    "include_shipping": true,
    "restock": true,
    "reason": "Arrived damaged"
})))]
pub struct RefundBody {
    /// Minor units, for a refund not tied to lines (a goodwill or shipping refund). Unset:
    /// the value of `lines`, or else everything not yet refunded. Not allowed together
    /// with `lines`, which price themselves.
    pub amount: Option<i64>,
    /// The lines (and how many units) the refund covers: each refunds what the shopper
    /// paid for those units, tax included, less any discount on the line.
    #[serde(default)]
    pub lines: Vec<LineQuantity>,
    /// Put the refunded units back in stock (all of the order's when no lines are named).
    #[serde(default)]
    pub restock: bool,
    /// With `lines`, also refund the shipping that falls on those units: the order's
    /// shipping in proportion to what was paid for them. Refunds of every unit with this
    /// set add up to the shipping charged, to the cent.
    #[serde(default)]
    pub include_shipping: bool,
    pub reason: Option<String>,
}

impl Payments {
    /// An order's payments and refunds.
    pub async fn order_payments(&self, order_id: OrderId) -> AppResult<OrderPaymentsView> {
        let conn = self.db.current();
        self.orders.find(conn, order_id).await?;
        let payments = payments::Entity::find()
            .filter(payments::Column::OrderId.eq(order_id))
            .order_by_asc(payments::Column::CreatedAt)
            .all(conn)
            .await?;
        let refunds = refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(order_id))
            .order_by_asc(refunds::Column::CreatedAt)
            .all(conn)
            .await?;
        Ok(OrderPaymentsView {
            payments: payments
                .iter()
                .map(|p| self.payment_view(p, None))
                .collect(),
            refunds: refunds.iter().map(|r| self.refund_view(r)).collect(),
        })
    }

    fn refund_view(&self, r: &refunds::Model) -> RefundView {
        let currency = Currency::parse(&r.currency).unwrap_or(self.default_currency());
        RefundView {
            id: r.id,
            order_id: r.order_id,
            payment_id: r.payment_id,
            amount: Money::new(r.amount, currency),
            status: r.status.clone(),
            reason: r.reason.clone(),
            restock: r.restock,
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            provider_ref: r.provider_ref.clone(),
            created_at: r.created_at,
        }
    }

    /// Issues a refund: the amount is reserved on the payment first (so two refunds can
    /// never exceed what was captured), then the gateway is called outside any
    /// transaction, then the refund, the order's status, the restock and the customer's
    /// email are written together with the idempotent response.
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn refund(
        &self,
        order_id: OrderId,
        body: RefundBody,
        actor: &Actor,
        key: &str,
        hash: &str,
    ) -> AppResult<Replay> {
        let scope = format!("refund:{order_id}");
        if let Some(replay) = idempotency::find(self.db.current(), &scope, key, hash).await? {
            if replay.status == idempotency::IN_PROGRESS {
                return Err(AppError::conflict(
                    ErrorCode::RequestInProgress,
                    "a refund with this Idempotency-Key is still being made; retry shortly",
                ));
            }
            return Ok(replay);
        }
        let held = self
            .reserve_refund(order_id, &body, actor, &scope, key, hash)
            .await?;
        let currency = Currency::parse(&held.payment.currency).unwrap_or(self.default_currency());
        let result = self
            .refund_at_gateway(&held.payment, held.refund_id, held.amount, currency)
            .await;
        let txn = self.db.begin().await?;
        let remote = match result {
            Ok(remote) if remote.state != RefundState::Failed => remote,
            other => {
                // Nothing went back: the reserved amount is released and the key
                // forgotten, so the same request may be tried again.
                let payment_id = PaymentId(held.payment.id);
                shift_refunded(&txn, payment_id, -held.amount, false).await?;
                set_refund_state(&txn, held.refund_id, RefundState::Failed, None).await?;
                idempotency::forget(&txn, &scope, key).await?;
                txn.commit().await?;
                return Err(match other {
                    Err(e) => e,
                    Ok(_) => AppError::bad_gateway(
                        ErrorCode::RefundFailed,
                        "the gateway could not make the refund",
                    ),
                });
            }
        };
        let view = self
            .record_refund(&txn, &held, &remote, &body, actor, currency)
            .await?;
        let text = serde_json::to_string(&view).map_err(anyhow::Error::from)?;
        idempotency::complete(&txn, &scope, key, 201, &text).await?;
        txn.commit().await?;
        tracing::info!(order_id = %order_id, refund_id = %held.refund_id, amount = held.amount, "refund issued");
        metrics::counter!("refunds_total", "provider" => held.payment.provider.clone())
            .increment(1);
        Ok(Replay {
            status: 201,
            body: text,
        })
    }

    /// The first step of a refund, in its own transaction: the amount is taken from
    /// what is left on the captured payment (so two refunds can never exceed it), a
    /// pending refund row is written and the idempotency key claimed.
    async fn reserve_refund(
        &self,
        order_id: OrderId,
        body: &RefundBody,
        actor: &Actor,
        scope: &str,
        key: &str,
        hash: &str,
    ) -> AppResult<HeldRefund> {
        let reason = check_refund(body)?;
        let txn = self.db.begin().await?;
        let order = self.orders.find(&txn, order_id).await?;
        let payment = payments::Entity::find()
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Status.eq(PaymentStatus::Succeeded.as_str()))
            .order_by_desc(payments::Column::CreatedAt)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    ErrorCode::NothingCaptured,
                    "this order has no captured payment to refund",
                )
            })?;
        let lines = self.orders.lines_of(&txn, order_id).await?;
        let already = refunded_units(&txn, order_id).await?;
        let split = if body.lines.is_empty() && !body.include_shipping {
            None
        } else {
            Some(
                RefundSplit::of_lines(&order, &lines, already, &body.lines, body.include_shipping)
                    .map_err(AppError::Validation)?,
            )
        };
        let from_lines = split.as_ref().map_or(0, RefundSplit::amount);
        let remaining = payment.captured - payment.refunded;
        let amount = body.amount.unwrap_or(if body.lines.is_empty() {
            remaining
        } else {
            from_lines
        });
        let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
        if amount > 0 && amount <= remaining && !status.refundable() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("an order that is {} cannot be refunded", status.as_str()),
            ));
        }
        if amount <= 0 || !shift_refunded(&txn, PaymentId(payment.id), amount, true).await? {
            return Err(AppError::conflict(
                ErrorCode::RefundExceedsCaptured,
                format!(
                    "at most {} can still be refunded",
                    Money::new(
                        Ord::max(remaining, 0),
                        Currency::parse(&payment.currency).unwrap_or(self.default_currency())
                    )
                ),
            ));
        }
        let refund_id = RefundId::new();
        let now = Utc::now();
        refunds::ActiveModel {
            id: Set(refund_id.uuid()),
            payment_id: Set(payment.id),
            order_id: Set(order_id.uuid()),
            amount: Set(amount),
            currency: Set(payment.currency.clone()),
            status: Set(RefundState::Pending.as_str().into()),
            reason: Set(reason.clone()),
            restock: Set(body.restock),
            lines: Set(serde_json::to_string(&body.lines).map_err(anyhow::Error::from)?),
            provider_ref: Set(None),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        idempotency::save(&txn, scope, key, hash, idempotency::IN_PROGRESS, "").await?;
        txn.commit().await?;
        Ok(HeldRefund {
            order,
            payment,
            lines,
            refund_id,
            amount,
            split: split.filter(|s| !s.lines.is_empty()),
            reason,
        })
    }

    /// The last step of a refund the gateway made: its state, the restock, the order's
    /// payment status, the audit entry and `refund.created`, in the caller's transaction.
    async fn record_refund(
        &self,
        txn: &DatabaseTransaction,
        held: &HeldRefund,
        remote: &RemoteRefund,
        body: &RefundBody,
        actor: &Actor,
        currency: Currency,
    ) -> AppResult<RefundView> {
        let order_id = OrderId(held.order.id);
        set_refund_state(
            txn,
            held.refund_id,
            remote.state,
            Some(remote.provider_ref.clone()),
        )
        .await?;
        self.orders
            .ledger_refund(
                txn,
                &held.order,
                held.refund_id.uuid(),
                held.amount,
                held.split.as_ref(),
                held.reason.clone(),
            )
            .await?;
        if body.restock {
            for (variant_id, quantity) in units_to_restock(body, &held.lines) {
                self.inventory
                    .restock_units(txn, order_id, variant_id, quantity, actor.user_id)
                    .await?;
            }
        }
        self.follow_refunds(
            txn,
            PaymentId(held.payment.id),
            Some(actor),
            held.reason.clone().or(Some("refund".into())),
        )
        .await?;
        emporium_core::audit::record(
            txn,
            emporium_core::audit::AuditEntry {
                actor: actor.user_id,
                action: if actor.staff {
                    "admin.order.refund"
                } else {
                    "order.refund"
                },
                target_type: Some("order"),
                target_id: Some(order_id.to_string()),
                ip: actor.ip.clone(),
                detail: serde_json::json!({
                    "refund_id": held.refund_id,
                    "amount": held.amount,
                    "restock": body.restock,
                }),
            },
        )
        .await?;
        events::publish(
            txn,
            RefundCreated {
                order: order_ref(&held.order),
                refund_id: held.refund_id,
                amount: Money::new(held.amount, currency),
                reason: held.reason.clone(),
            },
        )
        .await?;
        let refund = refunds::Entity::find_by_id(held.refund_id.uuid())
            .one(txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("refund vanished"))?;
        Ok(self.refund_view(&refund))
    }

    /// Asks the payment's gateway to refund `amount`, outside any transaction; the
    /// refund's id is the gateway's idempotency key, so a retry never refunds twice.
    async fn refund_at_gateway(
        &self,
        payment: &payments::Model,
        refund_id: RefundId,
        amount: i64,
        currency: Currency,
    ) -> AppResult<RemoteRefund> {
        let Some(gateway) = self.gateways.get(&payment.provider).await? else {
            return Err(AppError::conflict(
                ErrorCode::GatewayDisabled,
                format!(
                    "{} is not enabled; refund it there by hand",
                    payment.provider
                ),
            ));
        };
        gateway
            .refund(&RefundRequest {
                refund_id,
                provider_ref: payment.provider_ref.clone().unwrap_or_default(),
                capture_ref: payment.capture_ref.clone(),
                amount,
                currency,
                idempotency_key: refund_id.to_string(),
            })
            .await
            .map_err(gateway_error)
    }
}

/// Units of each order line that earlier refunds (not failed ones) covered.
async fn refunded_units(
    txn: &DatabaseTransaction,
    order_id: OrderId,
) -> AppResult<HashMap<Uuid, i32>> {
    let mut already: HashMap<Uuid, i32> = HashMap::new();
    for r in refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order_id))
        .filter(refunds::Column::Status.ne(RefundState::Failed.as_str()))
        .all(txn)
        .await?
    {
        for l in serde_json::from_str::<Vec<LineQuantity>>(&r.lines).unwrap_or_default() {
            *already.entry(l.line_id).or_default() += l.quantity;
        }
    }
    Ok(already)
}

/// Records what became of a refund at its gateway.
async fn set_refund_state(
    txn: &DatabaseTransaction,
    refund_id: RefundId,
    state: RefundState,
    provider_ref: Option<String>,
) -> AppResult<()> {
    let mut update = refunds::Entity::update_many()
        .col_expr(refunds::Column::Status, Expr::value(state.as_str()))
        .col_expr(refunds::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(refunds::Column::Id.eq(refund_id));
    if provider_ref.is_some() {
        update = update.col_expr(refunds::Column::ProviderRef, Expr::value(provider_ref));
    }
    update.exec(txn).await?;
    Ok(())
}

/// Adds `delta` to a payment's refunded total; when `capped`, only if the total stays
/// within what was captured (checked by the update itself, so concurrent refunds cannot
/// both pass). Answers whether it did.
pub async fn shift_refunded<C: ConnectionTrait>(
    conn: &C,
    payment_id: PaymentId,
    delta: i64,
    capped: bool,
) -> AppResult<bool> {
    let mut update = payments::Entity::update_many()
        .col_expr(
            payments::Column::Refunded,
            Expr::col(payments::Column::Refunded).add(delta),
        )
        .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payments::Column::Id.eq(payment_id));
    if capped {
        update = update.filter(
            Expr::col(payments::Column::Refunded)
                .add(delta)
                .lte(Expr::col(payments::Column::Captured)),
        );
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// Checks a refund request on its own (before any lookup) and answers its reason.
fn check_refund(body: &RefundBody) -> AppResult<Option<String>> {
    let mut errors = Vec::new();
    let reason = emporium_core::reason::Reason::optional(body.reason.as_deref(), "reason")
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
        .map(emporium_core::reason::Reason::into_string);
    if body.amount.is_some_and(|a| a <= 0) {
        errors.push(FieldError::new(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    if body.amount.is_some() && !body.lines.is_empty() {
        errors.push(FieldError::new(
            "amount",
            "give either an amount or lines, not both: lines are refunded at what \
             the shopper paid for them",
        ));
    }
    if body.include_shipping && body.lines.is_empty() {
        errors.push(FieldError::new(
            "include_shipping",
            "needs lines; to refund shipping alone, give an amount",
        ));
    }
    for (i, line) in body.lines.iter().enumerate() {
        if line.quantity <= 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
    }
    if errors.is_empty() {
        Ok(reason)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The units a refund puts back in stock: the named lines', or every line's.
fn units_to_restock(body: &RefundBody, lines: &[order_lines::Model]) -> Vec<(Uuid, i64)> {
    if body.lines.is_empty() {
        return lines
            .iter()
            .map(|l| (l.variant_id, i64::from(l.quantity)))
            .collect();
    }
    body.lines
        .iter()
        .filter_map(|w| {
            let line = lines.iter().find(|l| l.id == w.line_id)?;
            Some((line.variant_id, i64::from(w.quantity)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use emporium_orders::units_value;

    #[test]
    fn unit_by_unit_values_add_up_to_the_whole() {
        // 10.00 over three units: 3.33, 3.34, 3.33 by differences of cumulative values.
        let steps: Vec<i64> = (0..3)
            .map(|k| units_value(1000, 3, k + 1) - units_value(1000, 3, k))
            .collect();
        assert_eq!(steps.iter().sum::<i64>(), 1000);
        assert_eq!(steps, [333, 334, 333]);
        assert_eq!(units_value(999, 0, 0), 0, "no units, no value");
    }
}
