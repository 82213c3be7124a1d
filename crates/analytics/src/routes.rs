//! Reports over HTTP: `/admin/reports/{kind}` and `/admin/dashboard` (need `reports.read`).

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppError;
use emporium_core::AppResult;
use emporium_core::extract::{Path, Query};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::reports::{DashboardView, Report, ReportKind, ReportQuery, unknown};
use crate::state::Analytics;

type Problem = emporium_core::error::Problem;
type Reader = Staff<perm::ReportsRead>;

/// The routes of analytics.
pub fn router<S>() -> OpenApiRouter<S>
where
    Analytics: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(dashboard))
}

/// A report: `sales` (over time, grouped by day, week or month, with a comparison period),
/// `products`, `variants`, `countries`, `coupons`, `customers` (new and returning),
/// `payments` (by provider); JSON, or CSV with `format=csv`. `ledger` streams the sales
/// ledger's rows of the range as CSV.
#[utoipa::path(get, path = "/api/v1/admin/reports/{kind}", tag = "reports", security(("bearer" = [])),
    params(("kind" = String, Path, description = "sales, products, variants, countries, coupons, customers, payments or ledger", example = "sales"), ReportQuery),
    responses((status = 200, body = Report, description = "the report; CSV with format=csv"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn report(
    State(analytics): State<Analytics>,
    _staff: Reader,
    Path(kind): Path<String>,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    match q.format.as_deref() {
        _ if kind == "ledger" => analytics.csv_download(&kind, &q).await,
        Some("csv") => analytics.csv_download(&kind, &q).await,
        None | Some("json") => {
            let kind = ReportKind::parse(&kind).ok_or_else(|| unknown(&kind))?;
            Ok(axum::Json(analytics.report(kind, &q).await?).into_response())
        }
        Some(_) => Err(AppError::invalid("format", "must be json or csv")),
    }
}

/// The home page's figures: today (by hour), yesterday, the last 30 days against the 30
/// before, the daily net sales and the best-selling products.
#[utoipa::path(get, path = "/api/v1/admin/dashboard", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = DashboardView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn dashboard(
    State(analytics): State<Analytics>,
    _staff: Reader,
) -> AppResult<axum::Json<DashboardView>> {
    Ok(axum::Json(analytics.dashboard().await?))
}
