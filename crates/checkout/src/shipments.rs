//! Shipments: parcels sent for an order, each carrying some or all of its lines, with the
//! carrier's tracking number and link, and a history of tracking events set by staff or
//! by a signed carrier webhook. The order follows: a first partial shipment makes it
//! processing, the last unshipped unit makes it shipped, and every parcel delivered makes
//! it delivered.

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, OrderShipped};
use emporium_core::extract::Path;
use emporium_core::extract::{ClientInfo, Json};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{order_lines, orders, shipment_events, shipments};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::events::order_ref;
use crate::history::AdminOrder;
use crate::model::{FulfillmentStatus, OrderStatus};
use crate::orders::{Actor, TransitionDetail};
use crate::state::Checkout;
use crate::views::RefundLine;

type Problem = emporium_core::error::Problem;

/// Tracking states, in the order a parcel goes through them.
pub const TRACKING_STATES: [&str; 5] = [
    "label_created",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
];

fn rank(status: &str) -> usize {
    match status {
        "label_created" => 0,
        "in_transit" | "exception" => 1,
        "out_for_delivery" => 2,
        "delivered" => 3,
        _ => 0,
    }
}

/// The public tracking page of a carrier's parcel, where the carrier has one.
pub fn tracking_url(carrier: &str, number: &str) -> Option<String> {
    let pattern = match carrier {
        "ups" => "https://www.ups.com/track?tracknum={}",
        "fedex" => "https://www.fedex.com/fedextrack/?trknbr={}",
        "dhl" => "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
        "usps" => "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
        "royal_mail" => "https://www.royalmail.com/track-your-item#/tracking-results/{}",
        "dpd" => "https://tracking.dpd.de/status/en_US/parcel/{}",
        _ => return None,
    };
    let safe: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(pattern.replace("{}", &safe))
}

/// One tracking event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentEventView {
    pub status: String,
    pub note: Option<String>,
    /// `admin` or `carrier`.
    pub source: String,
    pub occurred_at: DateTime<Utc>,
}

/// A parcel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: String,
    pub lines: Vec<RefundLine>,
    pub events: Vec<ShipmentEventView>,
    pub created_at: DateTime<Utc>,
}

/// `POST /admin/orders/{id}/shipments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "carrier": "ups",
    "tracking_number": "1Z999AA10123456784",
    "lines": [
        { "line_id": "0192f3d5-2b7e-7f10-a4c8-6d7e8f9a0b1c", "quantity": 1 }
    ]
})))]
pub struct ShipmentBody {
    /// `ups`, `fedex`, `dhl`, `usps`, `royal_mail`, `dpd`, or any other name.
    pub carrier: String,
    pub tracking_number: String,
    /// The lines (and units) in the parcel; all that is left to ship when unset.
    pub lines: Option<Vec<RefundLine>>,
}

/// `POST /admin/shipments/{id}/events` and a carrier's webhook.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "status": "in_transit",
    "note": "Departed facility, Louisville, KY",
    "occurred_at": "2026-11-18T14:32:00Z",
    "tracking_number": "1Z999AA10123456784"
})))]
pub struct TrackingBody {
    /// One of `in_transit`, `out_for_delivery`, `delivered`, `exception`.
    pub status: String,
    pub note: Option<String>,
    /// RFC 3339; now when unset.
    pub occurred_at: Option<String>,
    /// Webhooks name the parcel by its tracking number.
    pub tracking_number: Option<String>,
}

fn event_view(e: shipment_events::Model) -> ShipmentEventView {
    ShipmentEventView {
        status: e.status,
        note: e.note,
        source: e.source,
        occurred_at: e.occurred_at,
    }
}

impl Checkout {
    /// An order's shipments with their events (two queries).
    pub(crate) async fn shipments_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: Uuid,
    ) -> AppResult<Vec<ShipmentView>> {
        let rows = shipments::Entity::find()
            .filter(shipments::Column::OrderId.eq(order_id))
            .order_by_asc(shipments::Column::CreatedAt)
            .all(conn)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut events: HashMap<Uuid, Vec<ShipmentEventView>> = HashMap::new();
        for e in shipment_events::Entity::find()
            .filter(shipment_events::Column::ShipmentId.is_in(rows.iter().map(|r| r.id)))
            .order_by_asc(shipment_events::Column::OccurredAt)
            .order_by_asc(shipment_events::Column::Id)
            .all(conn)
            .await?
        {
            events.entry(e.shipment_id).or_default().push(event_view(e));
        }
        Ok(rows
            .into_iter()
            .map(|r| ShipmentView {
                events: events.remove(&r.id).unwrap_or_default(),
                lines: serde_json::from_str(&r.lines).unwrap_or_default(),
                id: r.id,
                order_id: r.order_id,
                carrier: r.carrier,
                tracking_number: r.tracking_number,
                tracking_url: r.tracking_url,
                status: r.status,
                created_at: r.created_at,
            })
            .collect())
    }

    /// Ships some or all of what is left of an order.
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn create_shipment(
        &self,
        order_id: Uuid,
        body: ShipmentBody,
        actor: &Actor,
    ) -> AppResult<ShipmentView> {
        let carrier = body.carrier.trim().to_ascii_lowercase();
        let number = body.tracking_number.trim().to_string();
        let mut errors = Vec::new();
        if carrier.is_empty() || carrier.len() > 32 {
            errors.push(FieldError::new("carrier", "must be 1 to 32 characters"));
        }
        if number.is_empty() || number.len() > 100 {
            errors.push(FieldError::new(
                "tracking_number",
                "must be 1 to 100 characters",
            ));
        }
        let txn = self.db.begin().await?;
        let order = orders::Entity::find_by_id(order_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
        if !matches!(status, OrderStatus::Paid | OrderStatus::Processing) {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("an order that is {} cannot ship", status.as_str()),
            ));
        }
        let lines = order_lines::Entity::find()
            .filter(order_lines::Column::OrderId.eq(order_id))
            .order_by_asc(order_lines::Column::Position)
            .all(&txn)
            .await?;
        let mut shipped: HashMap<Uuid, i32> = HashMap::new();
        for s in shipments::Entity::find()
            .filter(shipments::Column::OrderId.eq(order_id))
            .all(&txn)
            .await?
        {
            for l in serde_json::from_str::<Vec<RefundLine>>(&s.lines).unwrap_or_default() {
                *shipped.entry(l.line_id).or_default() += l.quantity;
            }
        }
        let left =
            |line: &order_lines::Model| line.quantity - shipped.get(&line.id).copied().unwrap_or(0);
        let parcel: Vec<RefundLine> = match body.lines {
            None => lines
                .iter()
                .filter(|l| left(l) > 0)
                .map(|l| RefundLine {
                    line_id: l.id,
                    quantity: left(l),
                })
                .collect(),
            Some(wanted) => {
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
        };
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
        let now = Utc::now();
        let url = tracking_url(&carrier, &number);
        let shipment = shipments::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id),
            carrier: Set(carrier.clone()),
            tracking_number: Set(number.clone()),
            tracking_url: Set(url.clone()),
            status: Set("label_created".into()),
            lines: Set(serde_json::to_string(&parcel).map_err(anyhow::Error::from)?),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        shipment_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            shipment_id: Set(shipment.id),
            status: Set("label_created".into()),
            note: Set(None),
            source: Set("admin".into()),
            occurred_at: Set(now),
        }
        .insert(&txn)
        .await?;
        if !complete {
            orders::Entity::update_many()
                .col_expr(
                    orders::Column::FulfillmentStatus,
                    Expr::value(FulfillmentStatus::PartiallyShipped.as_str()),
                )
                .filter(orders::Column::Id.eq(order_id))
                .exec(&txn)
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
                carrier: carrier.clone(),
                tracking_number: number.clone(),
                tracking_url: url.clone(),
                complete,
            },
        )
        .await?;
        let view = self
            .shipments_of(&txn, order_id)
            .await?
            .into_iter()
            .find(|s| s.id == shipment.id)
            .ok_or_else(|| anyhow::anyhow!("shipment vanished"))?;
        txn.commit().await?;
        Ok(view)
    }

    /// A tracking event for a shipment; delivering the last parcel of a fully shipped
    /// order makes the order delivered. Events never move a parcel backwards.
    pub async fn track(
        &self,
        shipment_id: Uuid,
        body: TrackingBody,
        source: &str,
        actor: &Actor,
    ) -> AppResult<ShipmentView> {
        let status = body.status.trim().to_ascii_lowercase();
        let mut errors = Vec::new();
        if !TRACKING_STATES[1..].contains(&status.as_str()) {
            errors.push(FieldError::new(
                "status",
                "must be in_transit, out_for_delivery, delivered or exception",
            ));
        }
        let note = body
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            errors.push(FieldError::new("note", "must be at most 500 characters"));
        }
        let occurred_at = match body.occurred_at.as_deref() {
            None => Utc::now(),
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.push(FieldError::new("occurred_at", "must be an RFC 3339 time"));
                    Utc::now()
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let shipment = shipments::Entity::find_by_id(shipment_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such shipment"))?;
        shipment_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            shipment_id: Set(shipment.id),
            status: Set(status.clone()),
            note: Set(note),
            source: Set(source.into()),
            occurred_at: Set(occurred_at),
        }
        .insert(&txn)
        .await?;
        if rank(&status) >= rank(&shipment.status) && shipment.status != "delivered" {
            shipments::Entity::update_many()
                .col_expr(shipments::Column::Status, Expr::value(status.clone()))
                .col_expr(shipments::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(shipments::Column::Id.eq(shipment.id))
                .exec(&txn)
                .await?;
        }
        if status == "delivered" {
            let order = orders::Entity::find_by_id(shipment.order_id)
                .one(&txn)
                .await?
                .ok_or_else(|| anyhow::anyhow!("shipment without order"))?;
            let all_delivered = shipments::Entity::find()
                .filter(shipments::Column::OrderId.eq(order.id))
                .all(&txn)
                .await?
                .iter()
                .all(|s| s.status == "delivered");
            if all_delivered && order.status == OrderStatus::Shipped.as_str() {
                self.transition_in(
                    &txn,
                    order.id,
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
            .shipments_of(&txn, shipment.order_id)
            .await?
            .into_iter()
            .find(|s| s.id == shipment.id)
            .ok_or_else(|| anyhow::anyhow!("shipment vanished"))?;
        txn.commit().await?;
        Ok(view)
    }

    /// A carrier's tracking webhook: HMAC-SHA256 of the body under
    /// `[shipping] tracking_webhook_secret`, hex in `X-Emporium-Signature`.
    pub async fn carrier_webhook(
        &self,
        carrier: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> AppResult<&'static str> {
        let Some(secret) = &self.config.shipping.tracking_webhook_secret else {
            return Err(AppError::not_found("tracking webhooks are not set up"));
        };
        let signature = headers
            .get("x-emporium-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !emporium_payments::signature::verify_hex_hmac(secret.expose_secret(), body, signature) {
            tracing::warn!(carrier, "tracking webhook refused: bad signature");
            return Err(AppError::bad_request(
                ErrorCode::InvalidSignature,
                "the webhook signature check failed",
            ));
        }
        let body: TrackingBody = emporium_core::extract::parse_json(body)?;
        let Some(number) = body.tracking_number.clone() else {
            return Err(AppError::invalid("tracking_number", "is required"));
        };
        let Some(shipment) = shipments::Entity::find()
            .filter(shipments::Column::Carrier.eq(carrier.to_ascii_lowercase()))
            .filter(shipments::Column::TrackingNumber.eq(number.trim()))
            .one(self.db.current())
            .await?
        else {
            return Ok("ignored");
        };
        self.track(shipment.id, body, "carrier", &Actor::default())
            .await?;
        Ok("applied")
    }
}

pub(crate) fn router<S>() -> OpenApiRouter<S>
where
    Checkout: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_shipments, create_shipment))
        .routes(routes!(add_tracking_event))
        .routes(routes!(carrier_webhook))
}

/// An order's shipments with their tracking.
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}/shipments", tag = "shipping",
    params(("id" = String, Path, description = "The order's id, or its number")),
    responses((status = 200, body = [ShipmentView]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn list_shipments(
    _staff: Staff<perm::OrdersRead>,
    State(checkout): State<Checkout>,
    AdminOrder(id): AdminOrder,
) -> AppResult<axum::Json<Vec<ShipmentView>>> {
    let conn = checkout.db.current();
    orders::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("no such order"))?;
    Ok(axum::Json(checkout.shipments_of(conn, id).await?))
}

/// Ships some lines (or all that is left) with a carrier and tracking number; the
/// tracking link is built from the carrier's pattern and the customer is emailed.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/shipments", tag = "shipping",
    params(("id" = String, Path, description = "The order's id, or its number")), request_body = ShipmentBody,
    responses((status = 201, body = ShipmentView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_shipment(
    staff: Staff<perm::OrdersWrite>,
    State(checkout): State<Checkout>,
    client: ClientInfo,
    AdminOrder(id): AdminOrder,
    Json(body): Json<ShipmentBody>,
) -> AppResult<(StatusCode, axum::Json<ShipmentView>)> {
    let actor = Actor::staff(staff.user_id, client.ip);
    Ok((
        StatusCode::CREATED,
        axum::Json(checkout.create_shipment(id, body, &actor).await?),
    ))
}

/// Records a tracking event (in transit, out for delivery, delivered, exception).
#[utoipa::path(post, path = "/api/v1/admin/shipments/{id}/events", tag = "shipping",
    params(("id" = Uuid, Path)), request_body = TrackingBody,
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn add_tracking_event(
    staff: Staff<perm::OrdersWrite>,
    State(checkout): State<Checkout>,
    client: ClientInfo,
    Path(id): Path<Uuid>,
    Json(body): Json<TrackingBody>,
) -> AppResult<axum::Json<ShipmentView>> {
    let actor = Actor::staff(staff.user_id, client.ip);
    Ok(axum::Json(checkout.track(id, body, "admin", &actor).await?))
}

/// A carrier's (or a tracking aggregator's) status update for a parcel, signed with the
/// shop's tracking webhook secret. An unknown parcel is acknowledged and ignored.
#[utoipa::path(post, path = "/api/v1/webhooks/carriers/{carrier}", tag = "shipping",
    params(("carrier" = String, Path)),
    request_body(content = TrackingBody, description = "Signed: X-Emporium-Signature is the hex HMAC-SHA256 of the body"),
    responses((status = 200, description = "Received"), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn carrier_webhook(
    State(checkout): State<Checkout>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<axum::Json<serde_json::Value>> {
    let outcome = checkout.carrier_webhook(&carrier, &headers, &body).await?;
    Ok(axum::Json(
        serde_json::json!({"received": true, "outcome": outcome}),
    ))
}
