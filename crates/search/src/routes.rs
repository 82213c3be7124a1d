//! Search routes: `GET /search`, `GET /search/suggest`, and the admin rebuild.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use emporium_auth::{Staff, perm};
use emporium_catalog::Catalog;
use emporium_core::error::ErrorCode;
use emporium_core::extract::Query;
use emporium_core::locale::Locale;
use emporium_core::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query::{self, SearchView};
use crate::state::{Search, Suggestion};

type Problem = emporium_core::error::Problem;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read from the raw query (attr.* keys are open-ended); listed for OpenAPI
struct SearchQuery {
    /// Words to find (typos tolerated); empty lists by the filters.
    q: Option<String>,
    /// Category slug (its subcategories included), or a path `men/shirts`.
    category: Option<String>,
    /// Minor units of the asked currency.
    price_min: Option<i64>,
    price_max: Option<i64>,
    in_stock: Option<bool>,
    rating_min: Option<f64>,
    /// relevance (default), price, -price, newest, popularity.
    sort: Option<String>,
    /// 1 to 100 (default 20).
    limit: Option<u32>,
    /// Up to 10000.
    offset: Option<u32>,
    lang: Option<String>,
    currency: Option<String>,
    /// Attribute and option filters, one per name: `attr[color]=red&attr[size]=m`
    /// (`attr.color=red` is the same filter).
    #[param(style = DeepObject, explode, value_type = Option<Object>,
        example = json!({"color": "red", "size": "m"}))]
    attr: Option<std::collections::HashMap<String, String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SuggestQuery {
    /// What the shopper has typed so far.
    q: String,
    /// 1 to 20 (default 8).
    limit: Option<usize>,
    #[allow(dead_code)]
    lang: Option<String>,
}

/// Completions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestView {
    pub suggestions: Vec<Suggestion>,
}

/// The search routes.
pub fn router<S>() -> OpenApiRouter<S>
where
    Search: FromRef<S>,
    Catalog: FromRef<S>,
    emporium_auth::Auth: FromRef<S>,
    std::sync::Arc<emporium_core::Config>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(search_products))
        .routes(routes!(suggest))
        .routes(routes!(rebuild_index))
}

/// Full-text product search with typo tolerance, filters (`attr[<name>]=<value>` or
/// `attr.<name>=<value>` for any attribute or option), sorts, facet counts and the total.
#[utoipa::path(get, path = "/api/v1/search", tag = "catalog", params(SearchQuery),
    responses((status = 200, body = SearchView), (status = 422, body = Problem)))]
async fn search_products(
    State(search): State<Search>,
    locale: Locale,
    uri: axum::http::Uri,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let raw: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| {
            AppError::bad_request(ErrorCode::MalformedQuery, "the query string is malformed")
        })?;
    let q = raw.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone());
    let params = query::check(q, locale.lang.clone(), locale.currency, &raw)?;
    let body = search.search_json(&params)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Completions of what the shopper is typing: product titles, brands, categories.
#[utoipa::path(get, path = "/api/v1/search/suggest", tag = "catalog", params(SuggestQuery),
    responses((status = 200, body = SuggestView), (status = 422, body = Problem)))]
async fn suggest(
    State(search): State<Search>,
    locale: Locale,
    Query(q): Query<SuggestQuery>,
) -> AppResult<axum::Json<SuggestView>> {
    let limit = q.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 20"));
    }
    if q.q.chars().count() > query::MAX_QUERY_CHARS {
        return Err(AppError::invalid("q", "is too long"));
    }
    Ok(axum::Json(SuggestView {
        suggestions: search.suggest(&q.q, &locale.lang, limit)?,
    }))
}

/// Rebuilds this node's index from the database in the background; search keeps
/// answering from the current index until the new one is swapped in.
#[utoipa::path(post, path = "/api/v1/admin/search/reindex", tag = "admin",
    responses((status = 202, description = "Rebuild started"), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn rebuild_index(
    _staff: Staff<perm::ProductsWrite>,
    State(search): State<Search>,
) -> StatusCode {
    tokio::spawn(async move {
        match search.rebuild(|_, _| {}).await {
            Ok(r) => tracing::info!(
                documents = r.documents,
                seconds = r.seconds,
                "search index rebuilt"
            ),
            Err(err) => tracing::error!(error = %err, "search rebuild failed"),
        }
    });
    StatusCode::ACCEPTED
}
