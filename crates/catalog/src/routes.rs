//! HTTP handlers of the catalog: the store reads (with ETag, `Content-Language` and
//! currency negotiation) and the admin writes.

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Staff, perm};
use emporium_core::extract::Json;
use emporium_core::extract::{Path, Query};
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::cache::Rendered;
use crate::collections::{CollectionBody, CollectionPatchBody, CollectionView};
use crate::model::ProductStatus;
use crate::reads::{Found, ListQuery, Sort};
use crate::state::Catalog;
use crate::views::*;
use emporium_core::locale::Locale;

type Problem = emporium_core::error::Problem;

/// Renders a JSON body with its weak ETag.
fn render<T: Serialize>(value: &T) -> Rendered {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&body);
    let etag: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Rendered {
        body: body.into(),
        etag: format!("W/\"{etag}\"").into(),
        product: None,
    }
}

/// The node-cache key of a store read: path, query, language and currency.
fn cache_key(uri: &axum::http::Uri, locale: &Locale) -> String {
    format!(
        "{}?{}|{}|{}",
        uri.path(),
        uri.query().unwrap_or(""),
        locale.lang,
        locale.currency
    )
}

/// Answers a store read from the node cache, or computes, caches and answers it.
async fn cached_read<T, F>(
    catalog: &Catalog,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    locale: &Locale,
    compute: F,
) -> AppResult<Response>
where
    T: Serialize,
    F: std::future::Future<Output = AppResult<T>>,
{
    let key = cache_key(uri, locale);
    let rendered = match catalog.cache().get(&key) {
        Some(hit) => hit,
        None => {
            let generation = catalog.cache().generation();
            let rendered = render(&compute.await?);
            catalog.cache().put(key, rendered.clone(), generation);
            rendered
        }
    };
    Ok(cached(headers, locale, rendered))
}

/// A cacheable JSON answer: weak ETag over the body, 304 when the client has it.
fn cached(headers: &HeaderMap, locale: &Locale, rendered: Rendered) -> Response {
    let etag = &*rendered.etag;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            rendered.body.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if let Ok(v) = HeaderValue::from_str(&locale.lang) {
        h.insert(header::CONTENT_LANGUAGE, v);
    }
    response
}

/// The catalog routes, store and admin.
pub fn router<S>() -> OpenApiRouter<S>
where
    Catalog: FromRef<S>,
    emporium_auth::Auth: FromRef<S>,
    std::sync::Arc<emporium_core::Config>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(list_categories))
        .routes(routes!(get_category))
        .routes(routes!(admin_list_products, create_product))
        .routes(routes!(export_products))
        .routes(routes!(import_products))
        .routes(routes!(update_image, delete_image))
        .routes(routes!(media_file))
        .merge(
            // Uploads are limited by `[media] max_upload_bytes`, checked in the handler.
            OpenApiRouter::new()
                .routes(routes!(upload_image))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(admin_get_product, update_product, delete_product))
        .routes(routes!(publish_product))
        .routes(routes!(unpublish_product))
        .routes(routes!(create_variant))
        .routes(routes!(update_variant, delete_variant))
        .routes(routes!(admin_list_categories, create_category))
        .routes(routes!(
            admin_get_category,
            update_category,
            delete_category
        ))
        .routes(routes!(list_rates))
        .routes(routes!(set_rate))
        .routes(routes!(list_collections))
        .routes(routes!(get_collection))
        .routes(routes!(admin_list_collections, create_collection))
        .routes(routes!(
            admin_get_collection,
            update_collection,
            delete_collection
        ))
}

/// Every collection.
#[utoipa::path(get, path = "/api/v1/collections", tag = "catalog", params(LocaleParams),
    responses((status = 200, body = [CollectionView])))]
async fn list_collections(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> AppResult<Response> {
    cached_read(
        &catalog,
        &uri,
        &headers,
        &locale,
        catalog.collections(&locale.lang(), false),
    )
    .await
}

/// One collection by id or slug (its products: `GET /products?collection=`).
#[utoipa::path(get, path = "/api/v1/collections/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "Collection id or slug"), LocaleParams),
    responses((status = 200, body = CollectionView), (status = 404, body = Problem)))]
async fn get_collection(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(id_or_slug): Path<String>,
) -> AppResult<Response> {
    cached_read(
        &catalog,
        &uri,
        &headers,
        &locale,
        catalog.collection(&id_or_slug, &locale.lang(), false),
    )
    .await
}

/// Every collection with its translations and picks (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/collections", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [CollectionView])))]
async fn admin_list_collections(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
) -> AppResult<axum::Json<Vec<CollectionView>>> {
    Ok(axum::Json(catalog.collections(&locale.lang(), true).await?))
}

/// Create a collection: hand-picked products, or a rule (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/collections", tag = "admin", security(("bearer" = [])), request_body = CollectionBody,
    responses((status = 201, body = CollectionView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_collection(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Json(body): Json<CollectionBody>,
) -> AppResult<Response> {
    let id = catalog.create_collection(body).await?;
    let view = catalog
        .collection(&id.to_string(), &locale.lang(), true)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// One collection with its translations and picks (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/collections/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 200, body = CollectionView), (status = 404, body = Problem)))]
async fn admin_get_collection(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
    Path(id): Path<String>,
) -> AppResult<axum::Json<CollectionView>> {
    let id = id_of(&id, "collection")?;
    Ok(axum::Json(
        catalog
            .collection(&id.to_string(), &locale.lang(), true)
            .await?,
    ))
}

/// Change a collection (needs `products.write`).
#[utoipa::path(patch, path = "/api/v1/admin/collections/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")), request_body = CollectionPatchBody,
    responses((status = 200, body = CollectionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_collection(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
    Json(body): Json<CollectionPatchBody>,
) -> AppResult<axum::Json<CollectionView>> {
    let id = id_of(&id, "collection")?;
    catalog.update_collection(id, body).await?;
    Ok(axum::Json(
        catalog
            .collection(&id.to_string(), &locale.lang(), true)
            .await?,
    ))
}

/// Delete a collection; its products stay (needs `products.write`).
#[utoipa::path(delete, path = "/api/v1/admin/collections/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_collection(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    catalog.delete_collection(id_of(&id, "collection")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters and order of a product list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ProductListQuery {
    /// Category id or slug; its subcategories are included.
    category: Option<String>,
    /// Collection id or slug.
    collection: Option<String>,
    /// newest (default), price, -price, title.
    sort: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<u32>,
    cursor: Option<String>,
    /// Language (else Accept-Language, else the store default).
    #[allow(dead_code)] // read by the Locale extractor; listed for the OpenAPI document
    lang: Option<String>,
    /// ISO 4217 code among the store's currencies.
    #[allow(dead_code)]
    currency: Option<String>,
}

/// Published products, one page.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ProductListQuery),
    responses((status = 200, body = ProductPageView), (status = 304), (status = 422, body = Problem)))]
async fn list_products(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<ProductListQuery>,
) -> AppResult<Response> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let sort = Sort::parse(q.sort.as_deref())?;
    cached_read(&catalog, &uri, &headers, &locale, async {
        let prices = catalog.prices(locale.currency).await?;
        let (data, next_cursor) = catalog
            .list_products(
                ListQuery {
                    category: q.category.as_deref(),
                    collection: q.collection.as_deref(),
                    status: None,
                    search: None,
                    sort,
                    cursor: q.cursor.as_deref(),
                    limit,
                },
                true,
                &locale.lang(),
                &prices,
            )
            .await?;
        Ok(ProductPageView { data, next_cursor })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct LocaleParams {
    /// Language (else Accept-Language, else the store default).
    lang: Option<String>,
    /// ISO 4217 code among the store's currencies.
    currency: Option<String>,
}

/// A published product by id or slug, with variants and prices in the asked currency.
/// A renamed product's old slug answers 301 to the new one.
#[utoipa::path(get, path = "/api/v1/products/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "Product id or slug"), LocaleParams),
    responses((status = 200, body = ProductView), (status = 301, description = "Moved to the current slug"), (status = 304), (status = 404, body = Problem)))]
async fn get_product(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(id_or_slug): Path<String>,
) -> AppResult<Response> {
    let key = cache_key(&uri, &locale);
    if let Some(hit) = catalog.cache().get(&key) {
        return Ok(cached(&headers, &locale, hit));
    }
    let generation = catalog.cache().generation();
    let prices = catalog.prices(locale.currency).await?;
    match catalog
        .store_product(&id_or_slug, &locale.lang(), &prices)
        .await?
    {
        Found::Product(view) => {
            let rendered = Rendered {
                product: Some(view.id),
                ..render(&view)
            };
            catalog.cache().put(key, rendered.clone(), generation);
            Ok(cached(&headers, &locale, rendered))
        }
        Found::Moved(slug) => Ok((
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, format!("/api/v1/products/{slug}"))],
        )
            .into_response()),
    }
}

/// The category tree.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", params(LocaleParams),
    responses((status = 200, body = [CategoryView])))]
async fn list_categories(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> AppResult<Response> {
    cached_read(
        &catalog,
        &uri,
        &headers,
        &locale,
        catalog.category_tree(&locale.lang(), false),
    )
    .await
}

/// One category with its subtree.
#[utoipa::path(get, path = "/api/v1/categories/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "Category id or slug"), LocaleParams),
    responses((status = 200, body = CategoryView), (status = 404, body = Problem)))]
async fn get_category(
    State(catalog): State<Catalog>,
    locale: Locale,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(id_or_slug): Path<String>,
) -> AppResult<Response> {
    cached_read(
        &catalog,
        &uri,
        &headers,
        &locale,
        catalog.category(&id_or_slug, &locale.lang(), false),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AdminProductQuery {
    /// draft, published or archived.
    status: Option<ProductStatus>,
    /// Matches title or slug.
    q: Option<String>,
    category: Option<String>,
    sort: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn id_of(text: &str, what: &str) -> AppResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| AppError::not_found(format!("no such {what}")))
}

/// Every product that is not deleted (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/products", tag = "admin", security(("bearer" = [])), params(AdminProductQuery),
    responses((status = 200, body = ProductPageView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn admin_list_products(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
    Query(q): Query<AdminProductQuery>,
) -> AppResult<axum::Json<ProductPageView>> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    if q.q.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(AppError::invalid("q", "must be at most 200 characters"));
    }
    let prices = catalog.prices(locale.currency).await?;
    let (data, next_cursor) = catalog
        .list_products(
            ListQuery {
                category: q.category.as_deref(),
                collection: None,
                status: q.status,
                search: q.q.as_deref(),
                sort: Sort::parse(q.sort.as_deref())?,
                cursor: q.cursor.as_deref(),
                limit,
            },
            false,
            &locale.lang(),
            &prices,
        )
        .await?;
    Ok(axum::Json(ProductPageView { data, next_cursor }))
}

async fn admin_view(
    catalog: &Catalog,
    locale: &Locale,
    id: Uuid,
) -> AppResult<axum::Json<ProductView>> {
    let prices = catalog.prices(locale.currency).await?;
    Ok(axum::Json(
        catalog.admin_product(id, &locale.lang(), &prices).await?,
    ))
}

/// Create a product with its variants (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/products", tag = "admin", security(("bearer" = [])), request_body = ProductBody,
    responses((status = 201, body = ProductView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Json(body): Json<ProductBody>,
) -> AppResult<Response> {
    let id = catalog.create_product(body).await?;
    Ok((
        StatusCode::CREATED,
        admin_view(&catalog, &locale, id).await?,
    )
        .into_response())
}

/// One product with all translations and prices (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
async fn admin_get_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
    Path(id): Path<String>,
) -> AppResult<axum::Json<ProductView>> {
    admin_view(&catalog, &locale, id_of(&id, "product")?).await
}

/// Change a product (needs `products.write`).
#[utoipa::path(patch, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")), request_body = ProductPatchBody,
    responses((status = 200, body = ProductView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
    Json(body): Json<ProductPatchBody>,
) -> AppResult<axum::Json<ProductView>> {
    let id = id_of(&id, "product")?;
    catalog.update_product(id, body).await?;
    admin_view(&catalog, &locale, id).await
}

/// Delete a product (soft; needs `products.write`).
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    catalog.delete_product(id_of(&id, "product")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish a product (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/publish", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
async fn publish_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
) -> AppResult<axum::Json<ProductView>> {
    let id = id_of(&id, "product")?;
    catalog.set_status(id, ProductStatus::Published).await?;
    admin_view(&catalog, &locale, id).await
}

/// Unpublish a product: back to draft (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/unpublish", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
async fn unpublish_product(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
) -> AppResult<axum::Json<ProductView>> {
    let id = id_of(&id, "product")?;
    catalog.set_status(id, ProductStatus::Draft).await?;
    admin_view(&catalog, &locale, id).await
}

/// Add a variant (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/variants", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")), request_body = VariantBody,
    responses((status = 201, body = ProductView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_variant(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
    Json(body): Json<VariantBody>,
) -> AppResult<Response> {
    let id = id_of(&id, "product")?;
    catalog.add_variant(id, body).await?;
    Ok((
        StatusCode::CREATED,
        admin_view(&catalog, &locale, id).await?,
    )
        .into_response())
}

/// Change a variant (needs `products.write`).
#[utoipa::path(patch, path = "/api/v1/admin/products/{id}/variants/{variant_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id"), ("variant_id" = String, Path, description = "Variant id")),
    request_body = VariantPatchBody,
    responses((status = 200, body = ProductView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_variant(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path((id, variant_id)): Path<(String, String)>,
    Json(body): Json<VariantPatchBody>,
) -> AppResult<axum::Json<ProductView>> {
    let id = id_of(&id, "product")?;
    catalog
        .update_variant(id, id_of(&variant_id, "variant")?, body)
        .await?;
    admin_view(&catalog, &locale, id).await
}

/// Remove a variant (needs `products.write`).
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}/variants/{variant_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id"), ("variant_id" = String, Path, description = "Variant id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_variant(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    Path((id, variant_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    catalog
        .delete_variant(id_of(&id, "product")?, id_of(&variant_id, "variant")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The category tree with every translation (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/categories", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [CategoryView])))]
async fn admin_list_categories(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
) -> AppResult<axum::Json<Vec<CategoryView>>> {
    Ok(axum::Json(
        catalog.category_tree(&locale.lang(), true).await?,
    ))
}

/// Create a category (needs `products.write`).
#[utoipa::path(post, path = "/api/v1/admin/categories", tag = "admin", security(("bearer" = [])), request_body = CategoryBody,
    responses((status = 201, body = CategoryView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Json(body): Json<CategoryBody>,
) -> AppResult<Response> {
    let id = catalog.create_category(body).await?;
    let view = catalog
        .category(&id.to_string(), &locale.lang(), true)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// One category with every translation (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/categories/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Category id")),
    responses((status = 200, body = CategoryView), (status = 404, body = Problem)))]
async fn admin_get_category(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
    locale: Locale,
    Path(id): Path<String>,
) -> AppResult<axum::Json<CategoryView>> {
    let id = id_of(&id, "category")?;
    Ok(axum::Json(
        catalog
            .category(&id.to_string(), &locale.lang(), true)
            .await?,
    ))
}

/// Change a category (needs `products.write`).
#[utoipa::path(patch, path = "/api/v1/admin/categories/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Category id")), request_body = CategoryPatchBody,
    responses((status = 200, body = CategoryView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_category(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    locale: Locale,
    Path(id): Path<String>,
    Json(body): Json<CategoryPatchBody>,
) -> AppResult<axum::Json<CategoryView>> {
    let id = id_of(&id, "category")?;
    catalog.update_category(id, body).await?;
    Ok(axum::Json(
        catalog
            .category(&id.to_string(), &locale.lang(), true)
            .await?,
    ))
}

/// Delete a category without subcategories (needs `products.write`).
#[utoipa::path(delete, path = "/api/v1/admin/categories/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Category id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_category(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    catalog.delete_category(id_of(&id, "category")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exchange rates against the default currency (needs `products.read`).
#[utoipa::path(get, path = "/api/v1/admin/exchange-rates", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [RateView])))]
async fn list_rates(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsRead>,
) -> AppResult<axum::Json<Vec<RateView>>> {
    Ok(axum::Json(catalog.rates().await?))
}

/// Set the exchange rate of a currency (needs `products.write`).
#[utoipa::path(put, path = "/api/v1/admin/exchange-rates/{currency}", tag = "admin", security(("bearer" = [])),
    params(("currency" = String, Path, description = "ISO 4217 code")), request_body = RateBody,
    responses((status = 200, body = RateView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_rate(
    State(catalog): State<Catalog>,
    _staff: Staff<perm::ProductsWrite>,
    Path(currency): Path<String>,
    Json(body): Json<RateBody>,
) -> AppResult<axum::Json<RateView>> {
    Ok(axum::Json(catalog.set_rate(&currency, &body.rate).await?))
}

/// The largest CSV import accepted (about 200,000 rows of typical width).
/// The largest CSV file an import takes.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Every product as CSV, one row per variant (the columns the import reads).
#[utoipa::path(get, path = "/api/v1/admin/products/export", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "text/csv", content_type = "text/csv"), (status = 403, body = Problem)))]
async fn export_products(
    _staff: Staff<perm::ProductsRead>,
    State(catalog): State<Catalog>,
) -> AppResult<Response> {
    let csv = catalog.export_csv().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"products.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

const IMPORT_EXAMPLE: &str = "Handle,Title,Status,Option1 Name,Option1 Value,Variant SKU,\
    Variant Grams,Variant Price\n\
    linen-shirt,Linen Shirt,published,Size,M,LS-M,250,25.00\n\
    linen-shirt,Linen Shirt,published,Size,L,LS-L,270,25.00\n";

/// Imports products from CSV (the body, `text/csv`), one row per variant. Rows are
/// checked one by one; a product with a bad row is refused whole and its rows are listed
/// with the reason, while the other products go in. A handle that exists updates that
/// product (variants matched by SKU).
#[utoipa::path(post, path = "/api/v1/admin/products/import", tag = "admin", security(("bearer" = [])),
    request_body(description = "The CSV file, as `text/csv` or as plain bytes",
        content((String = "text/csv", example = json!(IMPORT_EXAMPLE)),
            (String = "application/octet-stream", example = json!(IMPORT_EXAMPLE)))),
    responses((status = 200, body = crate::csv_io::ImportReport), (status = 413, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn import_products(
    _staff: Staff<perm::ProductsWrite>,
    State(catalog): State<Catalog>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> AppResult<axum::Json<crate::csv_io::ImportReport>> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Generated clients send files as octet-stream; the rows are read as CSV either way.
    if !(kind.starts_with("text/csv")
        || kind.starts_with("application/csv")
        || kind.starts_with("text/plain")
        || kind.starts_with("application/octet-stream"))
    {
        return Err(AppError::UnsupportedMediaType {
            detail: "send the file as text/csv".into(),
        });
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || AppError::PayloadTooLarge {
        detail: format!("an import is at most {} MiB", IMPORT_LIMIT / 1024 / 1024),
    };
    // Refused on its declared length before a byte is read, and cut off if it lies.
    if declared.is_some_and(|n| n > IMPORT_LIMIT) {
        return Err(too_large());
    }
    let data = axum::body::to_bytes(body, IMPORT_LIMIT)
        .await
        .map_err(|_| too_large())?;
    Ok(axum::Json(catalog.import_csv(&data, &|_, _| {}).await?))
}

/// Adds an image to a product (`multipart/form-data`): `file` (JPEG, PNG or WebP, checked
/// by content), `alt` (default language) or `alt.<lang>`, `variant_ids` (comma-separated)
/// and `position`. Too large is 413 before the file is read whole; not an image, or too
/// many pixels, is 422. Thumbnails follow shortly.
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/images", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body(content = ImageUploadForm, content_type = "multipart/form-data", description = "file, alt, alt.<lang>, variant_ids, position"),
    responses((status = 201, body = ImageView), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn upload_image(
    _staff: Staff<perm::ProductsWrite>,
    State(catalog): State<Catalog>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    form: axum::extract::Multipart,
) -> AppResult<Response> {
    let upload = catalog.read_image_upload(&headers, form).await?;
    let view = catalog.add_image(id, upload.file, upload.meta).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Changes an image's alt text per language (an empty text removes it), the variants it
/// shows, or its position.
#[utoipa::path(patch, path = "/api/v1/admin/products/{id}/images/{image_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("image_id" = Uuid, Path)), request_body = crate::media::ImagePatchBody,
    responses((status = 200, body = ImageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_image(
    _staff: Staff<perm::ProductsWrite>,
    State(catalog): State<Catalog>,
    Path((id, image_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<crate::media::ImagePatchBody>,
) -> AppResult<axum::Json<ImageView>> {
    Ok(axum::Json(catalog.update_image(id, image_id, body).await?))
}

/// Removes an image from a product.
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}/images/{image_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("image_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_image(
    _staff: Staff<perm::ProductsWrite>,
    State(catalog): State<Catalog>,
    Path((id, image_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    catalog.delete_image(id, image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A stored image or thumbnail. Names are content hashes, so a file never changes: it is
/// served with an immutable, year-long cache lifetime (a CDN may sit in front).
#[utoipa::path(get, path = "/media/images/{name}", tag = "catalog",
    params(("name" = String, Path, description = "<sha256>[-<width>].<ext>")),
    responses((status = 200, description = "The image"), (status = 304), (status = 404, body = Problem)))]
async fn media_file(
    State(catalog): State<Catalog>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = format!("images/{name}");
    let etag = format!("\"{name}\"");
    let cache = "public, max-age=31536000, immutable";
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache.to_string()),
            ],
        )
            .into_response());
    }
    let Some(data) = catalog.media_file(&key).await? else {
        return Err(AppError::not_found("no such file"));
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                crate::media::content_type_of(&key).to_string(),
            ),
            (header::CACHE_CONTROL, cache.to_string()),
            (header::ETAG, etag),
        ],
        data,
    )
        .into_response())
}
