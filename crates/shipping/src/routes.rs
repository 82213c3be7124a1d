//! Admin routes of shipping: zones and their methods.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppResult;
use emporium_core::extract::Json;
use emporium_core::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::zones::{MethodBody, MethodView, Shipping, ZoneBody, ZoneView};

type Problem = emporium_core::error::Problem;

/// Shipping's admin routes.
pub fn router<S>() -> OpenApiRouter<S>
where
    Shipping: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_zones, create_zone))
        .routes(routes!(update_zone, delete_zone))
        .routes(routes!(create_method))
        .routes(routes!(update_method, delete_method))
}

/// Every zone with its methods, in the order they are matched.
#[utoipa::path(get, path = "/api/v1/admin/shipping-zones", tag = "shipping",
    responses((status = 200, body = [ZoneView]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_zones(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
) -> AppResult<axum::Json<Vec<ZoneView>>> {
    Ok(axum::Json(shipping.zones().await?))
}

/// A new zone: country codes (`US`) or regions of them (`US-CA`, which win over their
/// country's zone).
#[utoipa::path(post, path = "/api/v1/admin/shipping-zones", tag = "shipping",
    request_body = ZoneBody,
    responses((status = 201, body = ZoneView), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_zone(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Json(body): Json<ZoneBody>,
) -> AppResult<(StatusCode, axum::Json<ZoneView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(shipping.save_zone(None, body).await?),
    ))
}

/// Changes a zone's name, codes or position.
#[utoipa::path(patch, path = "/api/v1/admin/shipping-zones/{id}", tag = "shipping",
    params(("id" = Uuid, Path)), request_body = ZoneBody,
    responses((status = 200, body = ZoneView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_zone(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Path(id): Path<Uuid>,
    Json(body): Json<ZoneBody>,
) -> AppResult<axum::Json<ZoneView>> {
    Ok(axum::Json(shipping.save_zone(Some(id), body).await?))
}

/// Removes a zone and its methods.
#[utoipa::path(delete, path = "/api/v1/admin/shipping-zones/{id}", tag = "shipping",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_zone(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    shipping.delete_zone(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new method in a zone: a flat rate, weight tiers, subtotal tiers, or a carrier's live
/// rate with a table fallback; optionally free over a subtotal, with delivery days.
#[utoipa::path(post, path = "/api/v1/admin/shipping-zones/{id}/methods", tag = "shipping",
    params(("id" = Uuid, Path)), request_body = MethodBody,
    responses((status = 201, body = MethodView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_method(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Path(id): Path<Uuid>,
    Json(body): Json<MethodBody>,
) -> AppResult<(StatusCode, axum::Json<MethodView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(shipping.save_method(Some(id), None, body).await?),
    ))
}

/// Changes a shipping method.
#[utoipa::path(patch, path = "/api/v1/admin/shipping-methods/{id}", tag = "shipping",
    params(("id" = Uuid, Path)), request_body = MethodBody,
    responses((status = 200, body = MethodView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_method(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Path(id): Path<Uuid>,
    Json(body): Json<MethodBody>,
) -> AppResult<axum::Json<MethodView>> {
    Ok(axum::Json(
        shipping.save_method(None, Some(id), body).await?,
    ))
}

/// Removes a shipping method.
#[utoipa::path(delete, path = "/api/v1/admin/shipping-methods/{id}", tag = "shipping",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_method(
    _staff: Staff<perm::SettingsManage>,
    State(shipping): State<Shipping>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    shipping.delete_method(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
