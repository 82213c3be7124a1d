//! Routes of inventory: levels per location, adjustments with reasons, backorder policy,
//! restock dates, the ledger, low-stock alerts and report, stock locations; and for
//! shoppers, back-in-stock requests.

use axum::extract::{FromRef, State};
use emporium_auth::{Staff, perm};
use emporium_core::extract::Json;
use emporium_core::extract::{Path, Query};
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::alerts::{LocationBody, LocationView, LowStockView, NotifyBody, NotifyView};
use crate::listing::{StockFilter, StockRowView};
use crate::model;
use crate::state::Inventory;

type Problem = emporium_core::error::Problem;

/// Stock of one variant at one location.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelView {
    pub location_id: Uuid,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

/// Stock of a variant across locations, with its policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockView {
    pub variant_id: Uuid,
    pub levels: Vec<LevelView>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub allow_backorder: bool,
    pub backorder_limit: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// When more is expected, and how many units are on their way.
    pub restock_expected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub incoming: i64,
}

/// `PUT /admin/inventory/{variant_id}/restock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "expected_at": "2026-12-08T09:00:00Z",
    "incoming": 48
})))]
pub struct RestockBody {
    /// RFC 3339; `null` when nothing is expected.
    pub expected_at: Option<String>,
    #[serde(default)]
    pub incoming: i64,
}

/// `PUT /admin/inventory/alerts`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "subscribed": true
})))]
pub struct AlertsBody {
    /// Whether the signed-in staff member gets low-stock emails.
    pub subscribed: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LowStockQuery {
    /// At most this many (default and most: 100). For more, page through
    /// `GET /admin/inventory?low=true`.
    limit: Option<u64>,
}

/// `GET /admin/inventory` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StockListQuery {
    /// Only this location.
    location_id: Option<Uuid>,
    /// Only rows at or under their low-stock threshold.
    #[serde(default)]
    low: bool,
    /// Only rows with nothing left to sell.
    #[serde(default)]
    out: bool,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Stock levels, one row per variant and location, paged.
#[utoipa::path(get, path = "/api/v1/admin/inventory", tag = "inventory",
    params(StockListQuery),
    responses((status = 200, body = StockPageView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn list_stock(
    _staff: Staff<perm::ProductsRead>,
    State(inventory): State<Inventory>,
    Query(q): Query<StockListQuery>,
) -> AppResult<axum::Json<StockPageView>> {
    let limit = emporium_core::pagination::PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let page = inventory
        .stock_list(
            StockFilter {
                location_id: q.location_id,
                low: q.low,
                out: q.out,
            },
            q.cursor.as_deref(),
            limit,
        )
        .await?;
    Ok(axum::Json(StockPageView {
        data: page.data,
        next_cursor: page.next_cursor,
    }))
}

/// A page of stock rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockPageView {
    pub data: Vec<StockRowView>,
    pub next_cursor: Option<String>,
}

/// A change to on-hand stock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "delta": 24,
    "reason": "Received purchase order PO-1042",
    "location_id": "0192e9b0-5d3c-7a12-8b4e-9c0d1e2f3a4b"
})))]
pub struct AdjustmentBody {
    /// Units to add (negative to remove); never takes on-hand stock below zero.
    pub delta: i64,
    /// Why (received, counted, damaged...), kept in the ledger.
    pub reason: String,
    /// The location; the first by priority when absent.
    pub location_id: Option<Uuid>,
}

/// A variant's backorder policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "allow_backorder": true,
    "backorder_limit": 20,
    "low_stock_threshold": 5
})))]
pub struct PolicyBody {
    pub allow_backorder: bool,
    /// Most units that may be sold beyond stock (no limit when absent).
    pub backorder_limit: Option<i64>,
    pub low_stock_threshold: Option<i64>,
}

/// One ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: i64,
    pub location_id: Uuid,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: String,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of ledger rows, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPageView {
    pub data: Vec<LedgerEntryView>,
    pub next_cursor: Option<String>,
}

/// Inventory's admin routes.
pub fn router<S>() -> OpenApiRouter<S>
where
    Inventory: FromRef<S>,
    emporium_auth::Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_stock))
        .routes(routes!(get_stock))
        .routes(routes!(create_adjustment))
        .routes(routes!(set_policy))
        .routes(routes!(list_ledger))
        .routes(routes!(set_restock))
        .routes(routes!(low_stock))
        .routes(routes!(set_alerts))
        .routes(routes!(list_locations, create_location))
        .routes(routes!(update_location))
        .routes(routes!(request_back_in_stock))
}

async fn stock_view(inventory: &Inventory, variant_id: Uuid) -> AppResult<StockView> {
    let conn = inventory.db().writer();
    if !emporium_catalog::variant_exists(conn, variant_id).await? {
        return Err(AppError::not_found("no such variant"));
    }
    let levels: Vec<LevelView> = inventory
        .levels(conn, variant_id)
        .await?
        .into_iter()
        .map(|l| LevelView {
            location_id: l.location_id,
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: model::available(l.on_hand, l.reserved),
        })
        .collect();
    let policy = inventory.policy(conn, variant_id).await?;
    Ok(StockView {
        variant_id,
        on_hand: levels.iter().map(|l| l.on_hand).sum(),
        reserved: levels.iter().map(|l| l.reserved).sum(),
        available: levels.iter().map(|l| l.available).sum(),
        levels,
        allow_backorder: policy.as_ref().is_some_and(|p| p.allow_backorder),
        backorder_limit: policy.as_ref().and_then(|p| p.backorder_limit),
        low_stock_threshold: policy.as_ref().and_then(|p| p.low_stock_threshold),
        restock_expected_at: policy.as_ref().and_then(|p| p.restock_expected_at),
        incoming: policy.as_ref().map(|p| p.incoming).unwrap_or(0),
    })
}

/// A variant's stock per location.
#[utoipa::path(get, path = "/api/v1/admin/inventory/{variant_id}", tag = "inventory",
    params(("variant_id" = Uuid, Path)),
    responses((status = 200, body = StockView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_stock(
    _staff: Staff<perm::ProductsRead>,
    State(inventory): State<Inventory>,
    Path(variant_id): Path<Uuid>,
) -> AppResult<axum::Json<StockView>> {
    Ok(axum::Json(stock_view(&inventory, variant_id).await?))
}

/// Adds or removes on-hand units with a reason; every adjustment is a ledger row.
#[utoipa::path(post, path = "/api/v1/admin/inventory/{variant_id}/adjustments", tag = "inventory",
    params(("variant_id" = Uuid, Path)), request_body = AdjustmentBody,
    responses((status = 200, body = StockView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_adjustment(
    staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Path(variant_id): Path<Uuid>,
    Json(body): Json<AdjustmentBody>,
) -> AppResult<axum::Json<StockView>> {
    let mut errors = Vec::new();
    if body.delta == 0 || body.delta.abs() > 1_000_000_000 {
        errors.push(FieldError::new(
            "delta",
            "must be a non-zero number of units, at most 10^9",
        ));
    }
    let reason = emporium_core::reason::Reason::required(&body.reason, "reason")
        .map_err(|e| errors.push(e))
        .ok();
    let Some(reason) = reason.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let reason = reason.as_str();
    inventory
        .adjust(
            variant_id,
            body.location_id,
            body.delta,
            reason,
            staff.user_id,
        )
        .await?;
    Ok(axum::Json(stock_view(&inventory, variant_id).await?))
}

/// Sets whether a variant may be sold beyond its stock, and how far.
#[utoipa::path(put, path = "/api/v1/admin/inventory/{variant_id}/policy", tag = "inventory",
    params(("variant_id" = Uuid, Path)), request_body = PolicyBody,
    responses((status = 200, body = StockView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_policy(
    _staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Path(variant_id): Path<Uuid>,
    Json(body): Json<PolicyBody>,
) -> AppResult<axum::Json<StockView>> {
    let mut errors = Vec::new();
    if body
        .backorder_limit
        .is_some_and(|l| !(0..=1_000_000_000).contains(&l))
    {
        errors.push(FieldError::new("backorder_limit", "must be 0 to 10^9"));
    }
    if body
        .low_stock_threshold
        .is_some_and(|l| !(0..=1_000_000_000).contains(&l))
    {
        errors.push(FieldError::new("low_stock_threshold", "must be 0 to 10^9"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    inventory
        .set_policy(
            variant_id,
            body.allow_backorder,
            body.backorder_limit,
            body.low_stock_threshold,
        )
        .await?;
    Ok(axum::Json(stock_view(&inventory, variant_id).await?))
}

/// Every change to a variant's stock, newest first: the levels are the ledger's sums.
#[utoipa::path(get, path = "/api/v1/admin/inventory/{variant_id}/ledger", tag = "inventory",
    params(("variant_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = LedgerPageView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn list_ledger(
    _staff: Staff<perm::ProductsRead>,
    State(inventory): State<Inventory>,
    Path(variant_id): Path<Uuid>,
    Query(page): Query<PageQuery>,
) -> AppResult<axum::Json<LedgerPageView>> {
    let limit = page.limit()?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::invalid("cursor", "is not a cursor from this list"))?,
        ),
    };
    let conn = inventory.db().reader();
    if !emporium_catalog::variant_exists(conn, variant_id).await? {
        return Err(AppError::not_found("no such variant"));
    }
    let rows = inventory
        .ledger(conn, variant_id, before, u64::from(limit) + 1)
        .await?;
    let more = rows.len() > limit as usize;
    let data: Vec<LedgerEntryView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| LedgerEntryView {
            id: r.id,
            location_id: r.location_id,
            on_hand_delta: r.on_hand_delta,
            reserved_delta: r.reserved_delta,
            reason: r.reason,
            note: r.note,
            order_id: r.order_id,
            actor_id: r.actor_id,
            created_at: r.created_at,
        })
        .collect();
    let next_cursor = if more {
        data.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(axum::Json(LedgerPageView { data, next_cursor }))
}

/// Says when more of a variant is expected and how much (shown to shoppers who ask to be
/// told when it is back).
#[utoipa::path(put, path = "/api/v1/admin/inventory/{variant_id}/restock", tag = "inventory",
    params(("variant_id" = Uuid, Path)), request_body = RestockBody,
    responses((status = 200, body = StockView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_restock(
    _staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Path(variant_id): Path<Uuid>,
    Json(body): Json<RestockBody>,
) -> AppResult<axum::Json<StockView>> {
    let expected_at = match body.expected_at.as_deref() {
        None => None,
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| AppError::invalid("expected_at", "must be an RFC 3339 time"))?
                .with_timezone(&chrono::Utc),
        ),
    };
    if !(0..=1_000_000_000).contains(&body.incoming) {
        return Err(AppError::invalid("incoming", "must be 0 to 10^9"));
    }
    inventory
        .set_restock(variant_id, expected_at, body.incoming)
        .await?;
    Ok(axum::Json(stock_view(&inventory, variant_id).await?))
}

/// Variants at or under their low-stock threshold (their own, else the store's), lowest
/// first, with what is on its way.
#[utoipa::path(get, path = "/api/v1/admin/inventory/low-stock", tag = "inventory",
    params(LowStockQuery),
    responses((status = 200, body = [LowStockView]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn low_stock(
    _staff: Staff<perm::ProductsRead>,
    State(inventory): State<Inventory>,
    Query(q): Query<LowStockQuery>,
) -> AppResult<axum::Json<Vec<LowStockView>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 100);
    Ok(axum::Json(inventory.low_stock(limit).await?))
}

/// Starts or stops low-stock emails to the signed-in staff member.
#[utoipa::path(put, path = "/api/v1/admin/inventory/alerts", tag = "inventory",
    request_body = AlertsBody,
    responses((status = 200, body = AlertsBody), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn set_alerts(
    staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Json(body): Json<AlertsBody>,
) -> AppResult<axum::Json<AlertsBody>> {
    inventory
        .set_alert_subscription(staff.user_id, &staff.email, body.subscribed)
        .await?;
    Ok(axum::Json(body))
}

/// Stock locations in the order checkout takes from them.
#[utoipa::path(get, path = "/api/v1/admin/stock-locations", tag = "inventory",
    responses((status = 200, body = [LocationView]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_locations(
    _staff: Staff<perm::ProductsRead>,
    State(inventory): State<Inventory>,
) -> AppResult<axum::Json<Vec<LocationView>>> {
    Ok(axum::Json(inventory.list_locations().await?))
}

/// A new stock location (a warehouse, a store) with the countries it ships to.
#[utoipa::path(post, path = "/api/v1/admin/stock-locations", tag = "inventory",
    request_body = LocationBody,
    responses((status = 201, body = LocationView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_location(
    _staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Json(body): Json<LocationBody>,
) -> AppResult<(axum::http::StatusCode, axum::Json<LocationView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(inventory.save_location(None, body).await?),
    ))
}

/// Changes a stock location (name, priority, countries it ships to).
#[utoipa::path(patch, path = "/api/v1/admin/stock-locations/{id}", tag = "inventory",
    params(("id" = Uuid, Path)), request_body = LocationBody,
    responses((status = 200, body = LocationView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_location(
    _staff: Staff<perm::InventoryWrite>,
    State(inventory): State<Inventory>,
    Path(id): Path<Uuid>,
    Json(body): Json<LocationBody>,
) -> AppResult<axum::Json<LocationView>> {
    Ok(axum::Json(inventory.save_location(Some(id), body).await?))
}

/// Asks for one email when a sold-out variant is back in stock. Asking again is the same
/// request; a variant in stock now is 409.
#[utoipa::path(post, path = "/api/v1/stock-notifications", tag = "inventory",
    request_body = NotifyBody,
    responses((status = 201, body = NotifyView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn request_back_in_stock(
    State(inventory): State<Inventory>,
    Json(body): Json<NotifyBody>,
) -> AppResult<(axum::http::StatusCode, axum::Json<NotifyView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(inventory.request_back_in_stock(body).await?),
    ))
}
