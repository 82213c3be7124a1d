//! Reports over HTTP: `/admin/reports/{kind}` and `/admin/dashboard` (need `reports.read`).

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppError;
use emporium_core::AppResult;
use emporium_core::extract::{ClientInfo, Json, Path, Query};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::funnel::Step;
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
        .routes(routes!(get_report))
        .routes(routes!(dashboard))
        .routes(routes!(post_event))
}

/// A report: `sales` (over time, grouped by day, week or month, with a comparison period),
/// `products`, `variants`, `countries`, `coupons`, `customers` (new and returning),
/// `payments` (by provider); JSON, or CSV with `format=csv`. `ledger` streams the sales
/// ledger's rows of the range as CSV.
#[utoipa::path(get, path = "/api/v1/admin/reports/{kind}", tag = "reports", security(("bearer" = [])),
    params(("kind" = String, Path, description = "sales, products, variants, countries, coupons, customers, payments, funnel or ledger", example = "sales"), ReportQuery),
    responses((status = 200, body = Report, description = "the report; CSV with format=csv"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_report(
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

/// A funnel event from a storefront.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"type": "product_viewed", "session": "7f3c2a9e-visit"})))]
pub struct EventBody {
    /// `product_viewed`, `added_to_cart` or `checkout_started` (orders and payments are
    /// counted from the orders themselves).
    #[serde(rename = "type")]
    pub kind: Step,
    /// The storefront's own session id (up to 128 characters); without it, the
    /// `X-Cart-Token` header stands for the session. Only a hash of it is kept.
    pub session: Option<String>,
}

/// Counts a shopper's step for the funnel report. No sign-in; nothing personal is kept;
/// requests from bots (no user agent, or a crawler's) are accepted and not counted; 600 a
/// minute per client IP.
#[utoipa::path(post, path = "/api/v1/events", tag = "reports",
    request_body = EventBody,
    responses((status = 204, description = "Counted (or ignored, for a bot)"), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn post_event(
    State(analytics): State<Analytics>,
    client: ClientInfo,
    headers: HeaderMap,
    Json(body): Json<EventBody>,
) -> AppResult<StatusCode> {
    let ip = client.ip.clone().unwrap_or_default();
    if analytics.limiter.check_key(&ip).is_err() {
        return Err(AppError::RateLimited {
            retry_after_secs: 1,
        });
    }
    let session = match body.session.as_deref().map(str::trim) {
        Some(s) if s.chars().count() > 128 => {
            return Err(AppError::invalid(
                "session",
                "must be at most 128 characters",
            ));
        }
        Some(s) if !s.is_empty() => s.to_string(),
        _ => headers
            .get("x-cart-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                AppError::invalid("session", "is required without an X-Cart-Token header")
            })?,
    };
    analytics.record(body.kind, &session, client.user_agent.as_deref());
    Ok(StatusCode::NO_CONTENT)
}
