//! Every status change of an order goes through one function: the transition table
//! decides ([`OrderStatus::can_transition_to`]), a guarded update makes it (a concurrent
//! change is 409, never lost), stock follows (paid commits the reservation, cancelled
//! releases it), other domains' hooks run in the same transaction, and a history row is
//! written; staff changes are audited.

use chrono::Utc;
use emporium_core::AppError;
use emporium_core::AppResult;
use emporium_core::audit::{self, AuditEntry};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, DeliveredProduct, OrderCancelled, OrderDelivered};
use emporium_core::id::OrderId;
use emporium_db::entity::{order_events, order_lines, orders};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::events::{initiator, order_ref};
use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus};
use crate::state::Orders;

/// Who changes an order.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    /// Staff act with the admin API's rules; customers with the store's.
    pub staff: bool,
    /// The order's own shopper (signed in, or a guest holding the order's token).
    /// Neither staff nor shopper: the system (expiry, webhooks).
    pub shopper: bool,
    pub ip: Option<String>,
}

impl Actor {
    /// A staff member acting through the admin API.
    pub fn staff(user_id: Uuid, ip: Option<String>) -> Self {
        Self {
            user_id: Some(user_id),
            staff: true,
            shopper: false,
            ip,
        }
    }
}

/// Optional particulars of a transition.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetail {
    pub reason: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

/// A status change as hooks see it, after the order row changed and before the
/// transaction commits.
pub struct Transition<'a> {
    /// The order as it was before the change.
    pub order: &'a orders::Model,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub actor: &'a Actor,
}

/// What another domain does to its own tables when an order changes status, inside the
/// change's transaction (payments closes the open attempts of a cancelled order). Hooks
/// are given to [`Orders::new`], so orders never depends on the domains that react.
#[async_trait::async_trait]
pub trait TransitionHook: Send + Sync {
    async fn transitioned(
        &self,
        txn: &DatabaseTransaction,
        change: &Transition<'_>,
    ) -> AppResult<()>;
}

impl Orders {
    pub async fn record_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        from: Option<OrderStatus>,
        to: OrderStatus,
        actor: &Actor,
        reason: Option<String>,
    ) -> AppResult<order_events::Model> {
        Ok(order_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id.uuid()),
            from_status: Set(from.map(|s| s.as_str().to_string())),
            to_status: Set(to.as_str().into()),
            actor_id: Set(actor.user_id),
            reason: Set(reason),
            created_at: Set(Utc::now()),
        }
        .insert(conn)
        .await?)
    }

    /// Moves an order to `to` if the transition table allows it (else 409), with its
    /// stock effects (paid commits the reservation, cancelled releases or restocks) and
    /// a history row; staff changes are audited.
    #[tracing::instrument(skip_all, fields(order_id = %order_id, to = to.as_str()))]
    pub async fn transition(
        &self,
        order_id: OrderId,
        to: OrderStatus,
        actor: &Actor,
        detail: TransitionDetail,
    ) -> AppResult<orders::Model> {
        let txn = self.db.begin().await?;
        let order = self
            .transition_in(&txn, order_id, to, actor, detail)
            .await?;
        txn.commit().await?;
        Ok(order)
    }

    /// [`Orders::transition`] inside the caller's transaction.
    pub async fn transition_in(
        &self,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        to: OrderStatus,
        actor: &Actor,
        detail: TransitionDetail,
    ) -> AppResult<orders::Model> {
        let order = orders::Entity::find_by_id(order_id.uuid())
            .one(txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let from = OrderStatus::parse(&order.status)
            .ok_or_else(|| anyhow::anyhow!("order {order_id} has unknown status"))?;
        if !from.can_transition_to(to) {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!(
                    "an order that is {} cannot become {}",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        let mut update = orders::Entity::update_many()
            .col_expr(orders::Column::Status, Expr::value(to.as_str()))
            .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.eq(from.as_str()));
        if let Some(carrier) = &detail.carrier {
            update = update.col_expr(orders::Column::Carrier, Expr::value(carrier.clone()));
        }
        if let Some(tracking) = &detail.tracking_number {
            update = update.col_expr(
                orders::Column::TrackingNumber,
                Expr::value(tracking.clone()),
            );
        }
        let fulfillment = match to {
            OrderStatus::Shipped => Some(FulfillmentStatus::Shipped),
            OrderStatus::Delivered => Some(FulfillmentStatus::Delivered),
            OrderStatus::Returned => Some(FulfillmentStatus::Returned),
            _ => None,
        };
        if let Some(f) = fulfillment {
            update = update.col_expr(orders::Column::FulfillmentStatus, Expr::value(f.as_str()));
        }
        if to == OrderStatus::Paid {
            update = update.col_expr(
                orders::Column::PaymentStatus,
                Expr::value(PaymentStatus::Paid.as_str()),
            );
        }
        if update.exec(txn).await?.rows_affected == 0 {
            return Err(AppError::conflict(
                ErrorCode::OrderChanged,
                "the order changed meanwhile; reload it and try again",
            ));
        }
        match to {
            OrderStatus::Paid => {
                self.inventory.commit_order(txn, order_id).await?;
                if actor.staff {
                    // Staff took the money themselves (cash, a bank transfer): the ledger
                    // counts it as taken, as a gateway's capture would be.
                    self.ledger_payment(txn, &order, None, order.total, &order.payment_provider)
                        .await?;
                }
            }
            OrderStatus::Cancelled => {
                self.inventory
                    .release_order(txn, order_id, actor.user_id)
                    .await?;
                let by = initiator(actor);
                let paid = from != OrderStatus::PendingPayment;
                self.ledger_cancellation(txn, &order, paid, detail.reason.clone())
                    .await?;
                events::publish(
                    txn,
                    OrderCancelled {
                        order: order_ref(&order),
                        by,
                        reason: detail.reason.clone(),
                        expired: by == events::Initiator::System,
                        paid,
                    },
                )
                .await?;
            }
            OrderStatus::Delivered => {
                let lines = order_lines::Entity::find()
                    .filter(order_lines::Column::OrderId.eq(order_id.uuid()))
                    .order_by_asc(order_lines::Column::Position)
                    .all(txn)
                    .await?;
                let mut products: Vec<DeliveredProduct> = Vec::new();
                for line in lines {
                    if !products.iter().any(|p| p.product_id == line.product_id) {
                        products.push(DeliveredProduct {
                            product_id: line.product_id,
                            title: line.title,
                        });
                    }
                }
                events::publish(
                    txn,
                    OrderDelivered {
                        order: order_ref(&order),
                        products,
                    },
                )
                .await?;
            }
            _ => {}
        }
        let change = Transition {
            order: &order,
            from,
            to,
            actor,
        };
        for hook in self.hooks.iter() {
            hook.transitioned(txn, &change).await?;
        }
        self.record_event(txn, order_id, Some(from), to, actor, detail.reason.clone())
            .await?;
        if actor.staff {
            audit::record(
                txn,
                AuditEntry {
                    actor: actor.user_id,
                    action: "admin.order.transition",
                    target_type: Some("order"),
                    target_id: Some(order_id.to_string()),
                    ip: actor.ip.clone(),
                    detail: serde_json::json!({
                        "from": from.as_str(), "to": to.as_str(), "reason": detail.reason,
                        "tracking_number": detail.tracking_number,
                    }),
                },
            )
            .await?;
        }
        let order = orders::Entity::find_by_id(order_id.uuid())
            .one(txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        Ok(order)
    }
}
