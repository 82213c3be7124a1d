//! Admin routes of checkout: tax rates.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppResult;
use emporium_core::extract::{Json, Path};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::state::Checkout;
use crate::tax::TaxRateBody;
use crate::views::*;

type Problem = emporium_core::error::Problem;

pub(crate) fn router<S>() -> OpenApiRouter<S>
where
    Checkout: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_tax_rates, set_tax_rate))
        .routes(routes!(delete_tax_rate))
}

/// Every tax rate.
#[utoipa::path(get, path = "/api/v1/admin/tax-rates", tag = "checkout",
    responses((status = 200, body = [TaxRateView]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_tax_rates(
    _staff: Staff<perm::SettingsManage>,
    State(checkout): State<Checkout>,
) -> AppResult<axum::Json<Vec<TaxRateView>>> {
    Ok(axum::Json(checkout.tax_rates().await?))
}

/// Sets the tax rate for a country (or region) and tax class.
#[utoipa::path(put, path = "/api/v1/admin/tax-rates", tag = "checkout",
    request_body = TaxRateBody,
    responses((status = 200, body = TaxRateView), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_tax_rate(
    _staff: Staff<perm::SettingsManage>,
    State(checkout): State<Checkout>,
    Json(body): Json<TaxRateBody>,
) -> AppResult<axum::Json<TaxRateView>> {
    Ok(axum::Json(checkout.set_tax_rate(body).await?))
}

/// Deletes a tax rate.
#[utoipa::path(delete, path = "/api/v1/admin/tax-rates/{id}", tag = "checkout",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_tax_rate(
    _staff: Staff<perm::SettingsManage>,
    State(checkout): State<Checkout>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    checkout.delete_tax_rate(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
