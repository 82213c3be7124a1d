//! Admin routes of inventory: levels per location, adjustments with reasons, backorder
//! policy, and the ledger.

use axum::extract::{FromRef, Path, Query, State};
use emporium_accounts::{Staff, perm};
use emporium_core::extract::Json;
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

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
}

/// A change to on-hand stock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    emporium_accounts::Accounts: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(get_stock))
        .routes(routes!(create_adjustment))
        .routes(routes!(set_policy))
        .routes(routes!(list_ledger))
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
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        errors.push(FieldError::new("reason", "must be 1 to 500 characters"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
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
