//! The sweep that cancels orders left unpaid, after asking their gateways once more.

use chrono::Utc;
use emporium_core::id::{OrderId, PaymentId};
use emporium_core::{AppError, AppResult};
use emporium_db::entity::payments;
use emporium_orders::{Actor, OrderStatus, TransitionDetail};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::PaymentState;
use crate::state::Payments;
use crate::status::PaymentStatus;

impl Payments {
    /// Cancels orders still unpaid after `[payments] unpaid_expiry_mins`, releasing their
    /// stock. A payment the gateway reports as made after all is settled instead. Each
    /// order moves by one guarded update, so nodes sweeping at once never double up.
    #[tracing::instrument(skip_all)]
    pub async fn expire_unpaid(&self, now_ms: i64) -> AppResult<usize> {
        let minutes = self.config.payments.unpaid_expiry_mins as i64;
        let Some(cutoff) = chrono::DateTime::from_timestamp_millis(now_ms)
            .map(|now| now - chrono::Duration::minutes(minutes))
        else {
            return Ok(0);
        };
        let stale = self.orders.unpaid_before(cutoff, 200).await?;
        let mut expired = 0;
        for order in stale {
            let open = payments::Entity::find()
                .filter(payments::Column::OrderId.eq(order.id))
                .filter(payments::Column::Status.is_in(PaymentStatus::open()))
                .all(self.db.current())
                .await?;
            let mut paid = false;
            for p in &open {
                if p.provider == "manual" {
                    continue;
                }
                let (Some(gateway), Some(provider_ref)) = (
                    self.gateways.get(&p.provider).await?,
                    p.provider_ref.as_deref(),
                ) else {
                    continue;
                };
                match gateway.fetch(provider_ref).await {
                    Ok(remote) if remote.state == PaymentState::Succeeded => {
                        let txn = self.db.begin().await?;
                        self.settle(&txn, PaymentId(p.id), &remote).await?;
                        txn.commit().await?;
                        paid = true;
                    }
                    Ok(_) => {
                        if let Err(e) = gateway.cancel(provider_ref).await {
                            tracing::warn!(payment_id = %p.id, error = %e, "could not cancel an expired payment at its gateway");
                        }
                    }
                    // The gateway cannot say: try again on the next sweep rather than
                    // cancel an order that may have been paid.
                    Err(e) => {
                        tracing::warn!(payment_id = %p.id, error = %e, "gateway unreachable; expiry postponed");
                        paid = true;
                    }
                }
            }
            if paid {
                continue;
            }
            let txn = self.db.begin().await?;
            payments::Entity::update_many()
                .col_expr(
                    payments::Column::Status,
                    Expr::value(PaymentStatus::Expired.as_str()),
                )
                .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(payments::Column::OrderId.eq(order.id))
                .filter(payments::Column::Status.is_in(PaymentStatus::open()))
                .exec(&txn)
                .await?;
            match self
                .orders
                .transition_in(
                    &txn,
                    OrderId(order.id),
                    OrderStatus::Cancelled,
                    &Actor::default(),
                    TransitionDetail {
                        reason: Some(format!("not paid within {minutes} minutes")),
                        ..TransitionDetail::default()
                    },
                )
                .await
            {
                Ok(_) => {}
                // Paid or cancelled meanwhile.
                Err(AppError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
            txn.commit().await?;
            expired += 1;
        }
        if expired > 0 {
            metrics::counter!("orders_expired_total").increment(expired as u64);
        }
        Ok(expired)
    }
}
