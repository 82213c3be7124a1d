//! What an order's status change does to its payments, run by orders inside the
//! change's transaction (registered with `Orders::new`).

use chrono::Utc;
use emporium_core::AppResult;
use emporium_core::id::OrderId;
use emporium_db::entity::payments;
use emporium_orders::{OrderStatus, Transition, TransitionHook};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::status::PaymentStatus;

/// What an order's status change does to its payments, in the change's transaction:
/// staff marking an order paid (cash, bank transfer) captures its manual payment, so it
/// can be refunded later; a cancelled order's unfinished payments can no longer complete.
pub struct PaymentHooks;

impl PaymentHooks {
    /// Staff marked an order paid themselves: its open manual payment is captured.
    async fn capture_manual_offline<C: ConnectionTrait>(
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<()> {
        payments::Entity::update_many()
            .col_expr(
                payments::Column::Status,
                Expr::value(PaymentStatus::Succeeded.as_str()),
            )
            .col_expr(
                payments::Column::Captured,
                Expr::col(payments::Column::Amount),
            )
            .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Provider.eq("manual"))
            .filter(payments::Column::Status.is_in(PaymentStatus::open()))
            .exec(conn)
            .await?;
        Ok(())
    }

    /// The order was cancelled: its unfinished payments can no longer complete here (a
    /// late success is still recorded, and flagged for a refund).
    async fn close_open_payments<C: ConnectionTrait>(conn: &C, order_id: OrderId) -> AppResult<()> {
        payments::Entity::update_many()
            .col_expr(
                payments::Column::Status,
                Expr::value(PaymentStatus::Cancelled.as_str()),
            )
            .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Status.is_in(PaymentStatus::open()))
            .exec(conn)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl TransitionHook for PaymentHooks {
    async fn transitioned(
        &self,
        txn: &DatabaseTransaction,
        change: &Transition<'_>,
    ) -> AppResult<()> {
        match change.to {
            OrderStatus::Paid if change.actor.staff => {
                Self::capture_manual_offline(txn, OrderId(change.order.id)).await
            }
            OrderStatus::Cancelled => {
                Self::close_open_payments(txn, OrderId(change.order.id)).await
            }
            _ => Ok(()),
        }
    }
}
