//! The customer cancels an order: orders moves it, and when it was paid, payments gives
//! the money back. Checkout orchestrates the two; neither calls the other.

use emporium_core::config::PaidCancellation;
use emporium_core::error::ErrorCode;
use emporium_core::id::OrderId;
use emporium_core::{AppError, AppResult};
use emporium_orders::{OrderStatus, OrderView, Viewer, shopper};

use crate::state::Checkout;
use emporium_payments::RefundBody;

/// What a customer's cancel did.
pub enum Cancellation {
    /// The order is cancelled (and refunded, if it was paid).
    Cancelled(OrderView),
    /// The order was paid; staff were asked to cancel it.
    Requested(OrderView),
}

impl Checkout {
    /// The customer cancels before anything ships; the stock goes back. A paid order is
    /// refunded in full through its gateway at once, or, when the store says
    /// `paid_cancellation = "request"`, stays as it is while staff are asked to decide
    /// (answered as [`Cancellation::Requested`]). Either way the shopper and staff hear of it.
    #[tracing::instrument(skip_all, fields(order_id = %id))]
    pub async fn cancel_order(
        &self,
        id: OrderId,
        viewer: &Viewer,
        reason: Option<String>,
    ) -> AppResult<Cancellation> {
        let order = self.orders.order_for(id, viewer).await?;
        if !order.status.customer_may_cancel() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                "this order has shipped or is closed and can no longer be cancelled",
            ));
        }
        let paid = order.status != OrderStatus::PendingPayment;
        if paid && self.config.store.paid_cancellation == PaidCancellation::Request {
            return self
                .orders
                .request_cancellation(id, viewer, reason)
                .await
                .map(Cancellation::Requested);
        }
        let cancelled = self
            .orders
            .customer_move(id, viewer, OrderStatus::Cancelled, reason)
            .await?;
        if !paid {
            return Ok(Cancellation::Cancelled(cancelled));
        }
        let actor = shopper(viewer);
        let body = RefundBody {
            reason: Some("cancelled by the customer".into()),
            ..RefundBody::default()
        };
        // One key per order: a retried cancel can never refund twice.
        let key = format!("customer-cancel:{id}");
        match self
            .payments
            .refund(id, body, &actor, &key, "customer-cancel")
            .await
        {
            Ok(_) => {}
            // Nothing was captured after all (a manual order never paid online).
            Err(AppError::Conflict {
                code: ErrorCode::NothingCaptured,
                ..
            }) => {}
            Err(err) => {
                // The cancel stands; staff finish the refund from the admin, and the order's
                // history says why.
                tracing::error!(order_id = %id, error = %err, "refund of a customer's cancellation failed");
                self.orders
                    .note_on_order(
                        id,
                        OrderStatus::Cancelled,
                        &actor,
                        format!("automatic refund failed ({err}); refund it from the admin"),
                    )
                    .await?;
            }
        }
        Ok(Cancellation::Cancelled(
            self.orders.order_for(id, &Viewer::Staff).await?,
        ))
    }
}
