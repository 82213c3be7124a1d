//! Fulfilment: what parcels do to their order. A first partial shipment makes a paid
//! order processing, the last unshipped unit makes it shipped, and every parcel
//! delivered makes it delivered. The parcel records themselves are shipping's.

use axum::http::HeaderMap;
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, OrderShipped};
use emporium_core::id::OrderId;
use emporium_core::order_line::LineQuantity;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::order_lines;
use emporium_shipping::{ShipmentBody, ShipmentView, TrackingBody, tracking_url};
use std::collections::HashMap;
use uuid::Uuid;

use crate::events::order_ref;
use crate::model::{FulfillmentStatus, OrderStatus};
use crate::state::Orders;
use crate::transition::{Actor, TransitionDetail};

/// The parcel a shipment asks for: the named lines, checked against what is left to
/// ship, or everything left when none are named.
fn parcel_of(
    wanted: Option<Vec<LineQuantity>>,
    lines: &[order_lines::Model],
    shipped: &HashMap<Uuid, i32>,
    errors: &mut Vec<FieldError>,
) -> Vec<LineQuantity> {
    let left =
        |line: &order_lines::Model| line.quantity - shipped.get(&line.id).copied().unwrap_or(0);
    let Some(wanted) = wanted else {
        return lines
            .iter()
            .filter(|l| left(l) > 0)
            .map(|l| LineQuantity {
                line_id: l.id,
                quantity: left(l),
            })
            .collect();
    };
    for (i, w) in wanted.iter().enumerate() {
        match lines.iter().find(|l| l.id == w.line_id) {
            None => errors.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "is not a line of this order",
            )),
            Some(_) if w.quantity <= 0 => errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            )),
            Some(l) if w.quantity > left(l) => errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("only {} of this line are left to ship", left(l)),
            )),
            Some(_) => {}
        }
    }
    wanted
}

impl Orders {
    /// An order's parcels (404 when there is no such order).
    pub async fn shipments(&self, order_id: OrderId) -> AppResult<Vec<ShipmentView>> {
        let conn = self.db.current();
        self.find(conn, order_id).await?;
        self.shipping.shipments_of(conn, order_id).await
    }

    /// Ships some or all of what is left of an order.
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn create_shipment(
        &self,
        order_id: OrderId,
        body: ShipmentBody,
        actor: &Actor,
    ) -> AppResult<ShipmentView> {
        let mut errors = Vec::new();
        let (carrier, number) = body.label(&mut errors);
        let txn = self.db.begin().await?;
        let order = self.find(&txn, order_id).await?;
        let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
        if !matches!(status, OrderStatus::Paid | OrderStatus::Processing) {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("an order that is {} cannot ship", status.as_str()),
            ));
        }
        let lines = self.lines_of(&txn, order_id).await?;
        let mut shipped = self.shipping.shipped_units(&txn, order_id).await?;
        let parcel = parcel_of(body.lines, &lines, &shipped, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if parcel.is_empty() {
            return Err(AppError::conflict(
                ErrorCode::NothingToShip,
                "every line has shipped",
            ));
        }
        for l in &parcel {
            *shipped.entry(l.line_id).or_default() += l.quantity;
        }
        let complete = lines
            .iter()
            .all(|l| shipped.get(&l.id).copied().unwrap_or(0) >= l.quantity);
        let shipment = self
            .shipping
            .record_shipment(&txn, order_id, &carrier, &number, &parcel)
            .await?;
        if !complete {
            self.set_fulfillment(&txn, order_id, FulfillmentStatus::PartiallyShipped)
                .await?;
        }
        let to = if complete {
            Some(OrderStatus::Shipped)
        } else if status == OrderStatus::Paid {
            Some(OrderStatus::Processing)
        } else {
            None
        };
        if let Some(to) = to {
            self.transition_in(
                &txn,
                order_id,
                to,
                actor,
                TransitionDetail {
                    reason: Some(if complete {
                        "everything shipped".into()
                    } else {
                        "partly shipped".into()
                    }),
                    carrier: Some(carrier.clone()),
                    tracking_number: Some(number.clone()),
                },
            )
            .await?;
        }
        events::publish(
            &txn,
            OrderShipped {
                order: order_ref(&order),
                shipment_id: shipment.id,
                tracking_url: tracking_url(&carrier, &number),
                carrier,
                tracking_number: number,
                complete,
            },
        )
        .await?;
        let view = self
            .shipping
            .shipment_of(&txn, order_id, shipment.id)
            .await?;
        txn.commit().await?;
        Ok(view)
    }

    /// A tracking event for a shipment; delivering the last parcel of a fully shipped
    /// order makes the order delivered.
    pub async fn track(
        &self,
        shipment_id: Uuid,
        body: TrackingBody,
        source: &str,
        actor: &Actor,
    ) -> AppResult<ShipmentView> {
        let update = body.check()?;
        let txn = self.db.begin().await?;
        let tracked = self
            .shipping
            .record_tracking(&txn, shipment_id, &update, source)
            .await?;
        if tracked.all_delivered {
            let order = self.find(&txn, tracked.order_id).await?;
            if order.status == OrderStatus::Shipped.as_str() {
                self.transition_in(
                    &txn,
                    OrderId(order.id),
                    OrderStatus::Delivered,
                    actor,
                    TransitionDetail {
                        reason: Some(format!("delivered ({source})")),
                        ..TransitionDetail::default()
                    },
                )
                .await?;
            }
        }
        let view = self
            .shipping
            .shipment_of(&txn, tracked.order_id, tracked.shipment_id)
            .await?;
        txn.commit().await?;
        Ok(view)
    }

    /// A carrier's signed tracking webhook (see `Shipping::tracking_webhook`).
    pub async fn carrier_webhook(
        &self,
        carrier: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> AppResult<&'static str> {
        let Some((shipment_id, body)) = self
            .shipping
            .tracking_webhook(carrier, headers, body)
            .await?
        else {
            return Ok("ignored");
        };
        self.track(shipment_id, body, "carrier", &Actor::default())
            .await?;
        Ok("applied")
    }
}
