//! Promotions over HTTP, under `/admin/discounts` (needs `discounts.write`).

use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppResult;
use emporium_core::extract::{Json, Path, Query};
use emporium_core::pagination::{Page, PageQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::model::{PromotionBody, PromotionPatch, PromotionView};
use crate::service::{CodeView, CodesAddedView, CodesBody, PromotionDetailView, RedemptionView};
use crate::state::Promotions;

type Problem = emporium_core::error::Problem;
type Manager = Staff<perm::DiscountsWrite>;

/// The routes of promotions.
pub fn router<S>() -> OpenApiRouter<S>
where
    Promotions: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_promotions, create_promotion))
        .routes(routes!(get_promotion, update_promotion, delete_promotion))
        .routes(routes!(list_codes, add_codes))
        .routes(routes!(export_codes))
        .routes(routes!(list_redemptions))
}

/// Promotions, newest first.
#[utoipa::path(get, path = "/api/v1/admin/discounts", tag = "promotions", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<PromotionView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_promotions(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Query(q): Query<PageQuery>,
) -> AppResult<axum::Json<Page<PromotionView>>> {
    Ok(axum::Json(promotions.list(&q).await?))
}

/// Creates a promotion: automatic, or with a coupon code (`code`; more codes with
/// `POST /admin/discounts/{id}/codes`).
#[utoipa::path(post, path = "/api/v1/admin/discounts", tag = "promotions", security(("bearer" = [])),
    request_body = PromotionBody,
    responses((status = 201, body = PromotionView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_promotion(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Json(body): Json<PromotionBody>,
) -> AppResult<(StatusCode, axum::Json<PromotionView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(promotions.create(body).await?),
    ))
}

/// One promotion with its codes count and performance per currency.
#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PromotionDetailView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_promotion(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<PromotionDetailView>> {
    Ok(axum::Json(promotions.detail(id).await?))
}

/// Changes a promotion; every node prices carts with the change within a second.
#[utoipa::path(patch, path = "/api/v1/admin/discounts/{id}", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = PromotionPatch,
    responses((status = 200, body = PromotionView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_promotion(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Json(patch): Json<serde_json::Value>,
) -> AppResult<axum::Json<PromotionView>> {
    Ok(axum::Json(promotions.update(id, patch).await?))
}

/// Deletes a promotion no order used (409 `promotion_in_use` otherwise: disable it).
#[utoipa::path(delete, path = "/api/v1/admin/discounts/{id}", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_promotion(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    promotions.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a promotion's codes, in code order.
#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}/codes", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<CodeView>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_codes(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> AppResult<axum::Json<Page<CodeView>>> {
    Ok(axum::Json(promotions.codes(id, &q).await?))
}

/// Adds a code, or generates a batch of unique ones.
#[utoipa::path(post, path = "/api/v1/admin/discounts/{id}/codes", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CodesBody,
    responses((status = 201, body = CodesAddedView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_codes(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Json(body): Json<CodesBody>,
) -> AppResult<(StatusCode, axum::Json<CodesAddedView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(promotions.add_codes(id, body).await?),
    ))
}

/// Every code of a promotion as CSV: `code,usage_limit,used`.
#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}/codes.csv", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "text/csv", content_type = "text/csv"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_codes(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let csv = promotions.codes_csv(id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"codes.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// The orders that used a promotion, newest first.
#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}/redemptions", tag = "promotions", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<RedemptionView>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_redemptions(
    State(promotions): State<Promotions>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> AppResult<axum::Json<Page<RedemptionView>>> {
    Ok(axum::Json(promotions.redemptions(id, &q).await?))
}
