//! Products in the console: the catalog searched and filtered by status, a page at a
//! time (keyset pages, so the hundredth page costs what the first does).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_catalog::model::ProductStatus;
use emporium_catalog::{ListQuery, Sort};
use emporium_core::Currency;
use emporium_core::locale::Lang;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::session::Console;
use crate::state::Admin;

/// Products a page shows.
const PAGE_SIZE: u32 = 50;
/// With a stock filter, the most catalog pages one page of the list reads.
const PAGES_SCANNED: usize = 10;

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ProductsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    /// A category's slug (its subcategories' products included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    /// A collection's slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collection: Option<String>,
    /// `in` (can be bought now) or `out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stock: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// `GET /admin/products`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<ProductsQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let search =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>());
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(ProductStatus::parse);
    let category = q
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let collection = q
        .collection
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let store = &admin.config.store;
    let currency = Currency::parse(&store.default_currency).unwrap_or(Currency::USD);
    let lang = Lang {
        asked: &store.default_language,
        default: &store.default_language,
    };
    let stock = match q.stock.as_deref() {
        Some("in") => Some(true),
        Some("out") => Some(false),
        _ => None,
    };
    let listed = async {
        let prices = admin.catalog.prices(currency).await?;
        let mut cursor = q.cursor.clone().filter(|c| !c.is_empty());
        let mut rows = Vec::new();
        // Stock is a filter on the page (whether a product can be bought comes from
        // inventory), so a page is read on until it is full, at most PAGES_SCANNED pages
        // at a time; the cursor then continues from the last product looked at.
        for _ in 0..PAGES_SCANNED {
            let (data, next) = admin
                .catalog
                .list_products(
                    ListQuery {
                        category,
                        collection,
                        status,
                        search: search.as_deref(),
                        sort: Sort::Newest,
                        cursor: cursor.as_deref(),
                        limit: PAGE_SIZE,
                    },
                    false,
                    &lang,
                    &prices,
                )
                .await?;
            rows.extend(
                data.into_iter()
                    .filter(|p| stock.is_none_or(|wanted| p.available == wanted)),
            );
            cursor = next;
            if stock.is_none() || rows.len() >= PAGE_SIZE as usize || cursor.is_none() {
                break;
            }
        }
        Ok::<_, emporium_core::AppError>((rows, cursor))
    };
    let (data, next_cursor) = match listed.await {
        Ok(page) => page,
        Err(err) => return err.into_response(),
    };
    let pickers = async {
        let mut categories = Vec::new();
        crate::categories::flat(
            &admin.catalog.category_tree(&lang, true).await?,
            0,
            &mut categories,
        );
        let collections: Vec<Value> = admin
            .catalog
            .collections(&lang, true)
            .await?
            .iter()
            .map(|c| json!({"slug": c.slug, "label": c.name}))
            .collect();
        Ok::<_, emporium_core::AppError>((categories, collections))
    };
    let (categories, collections) = match pickers.await {
        Ok(pickers) => pickers,
        Err(err) => return err.into_response(),
    };
    let rows: Vec<Value> = data
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "title": p.title, "slug": p.slug, "status": p.status.as_str(),
                "price": p.price.map(|m| m.to_string()).unwrap_or_default(),
                "available": p.available,
            })
        })
        .collect();
    let next = next_cursor.map(|c| {
        let next = ProductsQuery {
            q: search.clone(),
            status: status.map(|s| s.as_str().to_string()),
            category: category.map(String::from),
            collection: collection.map(String::from),
            stock: q.stock.clone().filter(|s| !s.is_empty()),
            cursor: Some(c),
        };
        format!(
            "/admin/products?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    admin
        .render(
            StatusCode::OK,
            "products.html",
            console.context(
                "/admin/products",
                json!({"title": "Products", "rows": rows, "next": next,
                       "q": search.unwrap_or_default(),
                       "status": status.map(|s| s.as_str()).unwrap_or(""),
                       "statuses": ["draft", "published", "archived"],
                       "categories": categories, "collections": collections,
                       "category": category.unwrap_or(""), "collection": collection.unwrap_or(""),
                       "stock": q.stock.as_deref().unwrap_or(""),
                       "may_write": console.may("products.write")}),
            ),
        )
        .into_response()
}
