//! Staff routes of orders: the list with filters, one order, status transitions, and
//! shipments with their tracking (with the carriers' signed webhook).

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::error::ErrorCode;
use emporium_core::extract::{ClientInfo, Json};
use emporium_core::extract::{Path, Query};
use emporium_core::reason::Reason;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_shipping::{ShipmentBody, ShipmentView, TrackingBody};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::history::{AdminOrder, OrderFilter, Viewer, parse_cursor};
use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus};
use crate::state::Orders;
use crate::transition::{Actor, TransitionDetail};
use crate::views::{OrderPageView, OrderView};

type Problem = emporium_core::error::Problem;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AdminOrderQuery {
    /// An order number (`1001` or `#1001`), or part of the customer's email address.
    q: Option<String>,
    /// `unpaid`, `paid`, `partially_refunded` or `refunded`.
    payment_status: Option<String>,
    /// `unfulfilled`, `partially_shipped`, `shipped`, `delivered` or `returned`.
    fulfillment_status: Option<String>,
    /// One of the order statuses.
    status: Option<String>,
    customer_id: Option<Uuid>,
    email: Option<String>,
    /// RFC 3339; orders placed at or after.
    created_from: Option<String>,
    /// RFC 3339; orders placed before.
    created_to: Option<String>,
    /// Minor units.
    total_min: Option<i64>,
    total_max: Option<i64>,
    /// Only orders with lines sold beyond stock (`true`) or without (`false`).
    backordered: Option<bool>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `POST /admin/orders/{id}/transitions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "to": "shipped",
    "carrier": "ups",
    "tracking_number": "1Z999AA10123456784"
})))]
pub struct TransitionBody {
    pub to: String,
    pub reason: Option<String>,
    /// With `shipped`: the carrier and tracking number.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    Orders: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(admin_list_orders))
        .routes(routes!(admin_get_order))
        .routes(routes!(transition_order))
        .routes(routes!(list_shipments, create_shipment))
        .routes(routes!(add_tracking_event))
        .routes(routes!(carrier_webhook))
}

fn time(field: &str, value: Option<String>) -> AppResult<Option<chrono::DateTime<chrono::Utc>>> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(&v)
                .map(|t| t.to_utc())
                .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time"))
        })
        .transpose()
}

/// Orders, newest first, filtered by status, customer, email, date range and total.
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "orders", params(AdminOrderQuery),
    responses((status = 200, body = OrderPageView), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_list_orders(
    _staff: Staff<perm::OrdersRead>,
    State(orders): State<Orders>,
    Query(q): Query<AdminOrderQuery>,
) -> AppResult<axum::Json<OrderPageView>> {
    let limit = emporium_core::pagination::PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s)
                .ok_or_else(|| AppError::invalid("status", "is not an order status"))
        })
        .transpose()?;
    let payment_status = q
        .payment_status
        .as_deref()
        .map(|s| {
            PaymentStatus::parse(s)
                .ok_or_else(|| AppError::invalid("payment_status", "is not a payment status"))
        })
        .transpose()?;
    let fulfillment_status = q
        .fulfillment_status
        .as_deref()
        .map(|s| {
            FulfillmentStatus::parse(s).ok_or_else(|| {
                AppError::invalid("fulfillment_status", "is not a fulfillment status")
            })
        })
        .transpose()?;
    let filter = OrderFilter {
        q: q.q,
        payment_status,
        fulfillment_status,
        status,
        customer_id: q.customer_id,
        email: q.email,
        created_from: time("created_from", q.created_from)?,
        created_to: time("created_to", q.created_to)?,
        total_min: q.total_min,
        total_max: q.total_max,
        backordered: q.backordered,
    };
    let cursor = parse_cursor(q.cursor.as_deref())?;
    Ok(axum::Json(
        orders.admin_orders(filter, cursor, limit).await?,
    ))
}

/// One order with lines and history.
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "The order's id, or its number")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_get_order(
    _staff: Staff<perm::OrdersRead>,
    State(orders): State<Orders>,
    AdminOrder(id): AdminOrder,
) -> AppResult<axum::Json<OrderView>> {
    Ok(axum::Json(orders.order_for(id, &Viewer::Staff).await?))
}

/// Moves an order to another status with a reason; an illegal transition is 409.
/// Refund states are reached through refunds, which move money.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/transitions", tag = "orders",
    params(("id" = String, Path, description = "The order's id, or its number")), request_body = TransitionBody,
    responses((status = 200, body = OrderView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn transition_order(
    staff: Staff<perm::OrdersWrite>,
    State(orders): State<Orders>,
    client: ClientInfo,
    AdminOrder(id): AdminOrder,
    Json(body): Json<TransitionBody>,
) -> AppResult<axum::Json<OrderView>> {
    let mut errors = Vec::new();
    let to = OrderStatus::parse(&body.to);
    if to.is_none() {
        errors.push(FieldError::new("to", "is not an order status"));
    }
    let short =
        |v: &Option<String>, max: usize| v.as_ref().is_some_and(|s| s.chars().count() > max);
    let reason = Reason::optional(body.reason.as_deref(), "reason")
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    if short(&body.carrier, 64) {
        errors.push(FieldError::new("carrier", "must be at most 64 characters"));
    }
    if short(&body.tracking_number, 100) {
        errors.push(FieldError::new(
            "tracking_number",
            "must be at most 100 characters",
        ));
    }
    let Some(to) = to.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    if to.needs_refund() {
        return Err(AppError::conflict(
            ErrorCode::InvalidTransition,
            "refund states are reached by issuing a refund",
        ));
    }
    let actor = Actor::staff(staff.user_id, client.ip);
    orders
        .transition(
            id,
            to,
            &actor,
            TransitionDetail {
                reason: reason.map(Reason::into_string),
                carrier: body.carrier,
                tracking_number: body.tracking_number,
            },
        )
        .await?;
    Ok(axum::Json(orders.order_for(id, &Viewer::Staff).await?))
}

/// An order's shipments with their tracking.
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}/shipments", tag = "shipping",
    params(("id" = String, Path, description = "The order's id, or its number")),
    responses((status = 200, body = [ShipmentView]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn list_shipments(
    _staff: Staff<perm::OrdersRead>,
    State(orders): State<Orders>,
    AdminOrder(id): AdminOrder,
) -> AppResult<axum::Json<Vec<ShipmentView>>> {
    Ok(axum::Json(orders.shipments(id).await?))
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
    State(orders): State<Orders>,
    client: ClientInfo,
    AdminOrder(id): AdminOrder,
    Json(body): Json<ShipmentBody>,
) -> AppResult<(StatusCode, axum::Json<ShipmentView>)> {
    let actor = Actor::staff(staff.user_id, client.ip);
    Ok((
        StatusCode::CREATED,
        axum::Json(orders.create_shipment(id, body, &actor).await?),
    ))
}

/// Records a tracking event (in transit, out for delivery, delivered, exception).
#[utoipa::path(post, path = "/api/v1/admin/shipments/{id}/events", tag = "shipping",
    params(("id" = Uuid, Path)), request_body = TrackingBody,
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn add_tracking_event(
    staff: Staff<perm::OrdersWrite>,
    State(orders): State<Orders>,
    client: ClientInfo,
    Path(id): Path<Uuid>,
    Json(body): Json<TrackingBody>,
) -> AppResult<axum::Json<ShipmentView>> {
    let actor = Actor::staff(staff.user_id, client.ip);
    Ok(axum::Json(orders.track(id, body, "admin", &actor).await?))
}

/// A carrier's (or a tracking aggregator's) status update for a parcel, signed with the
/// shop's tracking webhook secret. An unknown parcel is acknowledged and ignored.
#[utoipa::path(post, path = "/api/v1/webhooks/carriers/{carrier}", tag = "shipping",
    params(("carrier" = String, Path)),
    request_body(content = TrackingBody, description = "Signed: X-Emporium-Signature is the hex HMAC-SHA256 of the body"),
    responses((status = 200, description = "Received"), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn carrier_webhook(
    State(orders): State<Orders>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<axum::Json<serde_json::Value>> {
    let outcome = orders.carrier_webhook(&carrier, &headers, &body).await?;
    Ok(axum::Json(
        serde_json::json!({"received": true, "outcome": outcome}),
    ))
}
