//! Bulk edit: the variants of a selection of products in one table, their prices in the
//! default currency (typed one by one, or all moved by a percentage), units available
//! and each product's status. Prices change in one catalog transaction, all or none;
//! only the fields a person changed are applied, so an edit made elsewhere since the
//! page was loaded is not overwritten by its stale copy.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use emporium_catalog::PriceBody;
use emporium_catalog::model::ProductStatus;
use emporium_core::{AppError, AppResult, Currency, apply_ppm, from_decimal, to_decimal};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::explain;
use crate::session::Console;
use crate::state::Admin;

/// The most products and variants one bulk edit takes.
const MAX_PRODUCTS: usize = 250;
const MAX_VARIANTS: usize = 1_000;

type Pairs = Vec<(String, String)>;

fn one<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// The products picked: the ticked ones, or every one on the list's page.
fn selection(pairs: &Pairs) -> Vec<Uuid> {
    let key = if one(pairs, "all") == "1" {
        "page"
    } else {
        "id"
    };
    let mut ids: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == key)
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    ids.dedup();
    ids
}

fn currency(admin: &Admin) -> Currency {
    Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD)
}

/// A product of the selection with what the table shows of it.
struct Picked {
    id: Uuid,
    title: String,
    status: ProductStatus,
    variants: Vec<PickedVariant>,
}

struct PickedVariant {
    id: Uuid,
    sku: String,
    label: String,
    price: Option<PriceBody>,
    available: i64,
}

async fn load(admin: &Admin, ids: &[Uuid]) -> AppResult<Vec<Picked>> {
    if ids.len() > MAX_PRODUCTS {
        return Err(AppError::invalid(
            "id",
            format!("pick at most {MAX_PRODUCTS} products at once"),
        ));
    }
    let store = &admin.config.store;
    let lang = emporium_core::locale::Lang {
        asked: &store.default_language,
        default: &store.default_language,
    };
    let currency = currency(admin);
    let prices = admin.catalog.prices(currency).await?;
    let mut picked = Vec::with_capacity(ids.len());
    for product in admin.catalog.admin_products(ids, &lang, &prices).await? {
        picked.push(Picked {
            id: product.id,
            title: product.title,
            status: product.status,
            variants: product
                .variants
                .into_iter()
                .map(|v| PickedVariant {
                    id: v.id,
                    label: v.options.values().cloned().collect::<Vec<_>>().join(" / "),
                    sku: v.sku,
                    price: v
                        .prices
                        .as_ref()
                        .and_then(|p| p.get(currency.code()))
                        .cloned(),
                    available: 0,
                })
                .collect(),
        });
    }
    let variant_ids: Vec<Uuid> = picked
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    if variant_ids.len() > MAX_VARIANTS {
        return Err(AppError::invalid(
            "id",
            format!("these products have more than {MAX_VARIANTS} variants; pick fewer"),
        ));
    }
    let stock = admin
        .inventory
        .availability(admin.db.current(), &variant_ids)
        .await?;
    for v in picked.iter_mut().flat_map(|p| p.variants.iter_mut()) {
        v.available = stock.get(&v.id).map(|a| a.net).unwrap_or(0);
    }
    Ok(picked)
}

fn render(
    admin: &Admin,
    console: &Console,
    status: StatusCode,
    picked: &[Picked],
    done: Option<String>,
    error: Option<String>,
) -> Response {
    let currency = currency(admin);
    let products: Vec<Value> = picked
        .iter()
        .map(|p| {
            let variants: Vec<Value> = p
                .variants
                .iter()
                .map(|v| {
                    json!({"id": v.id, "sku": v.sku, "label": v.label,
                           "price": v.price.as_ref().map(|p| to_decimal(p.amount, currency)).unwrap_or_default(),
                           "available": v.available})
                })
                .collect();
            json!({"id": p.id, "title": p.title, "status": p.status.as_str(), "variants": variants})
        })
        .collect();
    let count: usize = picked.iter().map(|p| p.variants.len()).sum();
    admin
        .render(
            status,
            "bulk.html",
            console.context(
                "/admin/products",
                json!({"title": "Bulk edit", "products": products, "count": count,
                       "currency": currency.code(), "statuses": ["draft", "published", "archived"],
                       "done": done, "error": error}),
            ),
        )
        .into_response()
}

/// `GET /admin/products/bulk?id=..`: the table for the picked products.
pub(crate) async fn page(
    State(admin): State<Admin>,
    console: Console,
    Query(pairs): Query<Pairs>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.write") {
        return page.into_response();
    }
    let (done, error) = (
        Some(one(&pairs, "done").to_string()).filter(|d| !d.is_empty()),
        Some(one(&pairs, "error").to_string()).filter(|e| !e.is_empty()),
    );
    match load(&admin, &selection(&pairs)).await {
        Ok(picked) => render(&admin, &console, StatusCode::OK, &picked, done, error),
        Err(err) => render(
            &admin,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[],
            None,
            Some(explain(&err)),
        ),
    }
}

/// The new prices a bulk form asks for: every variant moved by `percent`, or the ones
/// whose field was changed.
fn price_changes(
    pairs: &Pairs,
    picked: &[Picked],
    currency: Currency,
) -> AppResult<BTreeMap<Uuid, BTreeMap<String, PriceBody>>> {
    let percent = one(pairs, "percent");
    let ppm = match percent {
        "" => None,
        raw => match raw.replace(',', ".").parse::<f64>() {
            // The percentage becomes integer parts per million at once; amounts are
            // never multiplied in floating point.
            Ok(p) if p.is_finite() && p > -100.0 && p <= 1000.0 => {
                Some(1_000_000 + (p * 10_000.0).round() as i64)
            }
            _ => {
                return Err(AppError::invalid(
                    "percent",
                    "must be a number above -100 and at most 1000",
                ));
            }
        },
    };
    let mut changes = BTreeMap::new();
    let mut errors = Vec::new();
    for v in picked.iter().flat_map(|p| p.variants.iter()) {
        let amount = match (ppm, &v.price) {
            (Some(ppm), Some(current)) => Some(apply_ppm(current.amount, ppm)),
            (Some(_), None) => None,
            (None, _) => {
                let typed = one(pairs, &format!("price.{}", v.id));
                let was = one(pairs, &format!("was_price.{}", v.id));
                if typed == was || typed.is_empty() {
                    None
                } else {
                    match from_decimal(typed, currency) {
                        Some(amount) => Some(amount),
                        None => {
                            errors.push(emporium_core::FieldError::new(
                                format!("price of {}", v.sku),
                                format!("must be an amount in {}", currency.code()),
                            ));
                            None
                        }
                    }
                }
            }
        };
        if let Some(amount) = amount {
            // A reduction shown against the old price stays only while it is still one.
            let compare_at = v
                .price
                .as_ref()
                .and_then(|p| p.compare_at)
                .filter(|c| *c >= amount);
            changes.insert(
                v.id,
                BTreeMap::from([(
                    currency.code().to_string(),
                    PriceBody { amount, compare_at },
                )]),
            );
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(changes)
}

/// `POST /admin/products/bulk`.
pub(crate) async fn save(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Pairs>,
) -> Response {
    let csrf: HashMap<String, String> =
        HashMap::from([("csrf".to_string(), one(&pairs, "csrf").to_string())]);
    if let Err(page) = console.authorize_form(&admin, "products.write", &csrf) {
        return page.into_response();
    }
    let ids = selection(&pairs);
    let outcome = apply(&admin, &console, &pairs, &ids).await;
    let mut query: Vec<(String, String)> =
        ids.iter().map(|id| ("id".into(), id.to_string())).collect();
    match outcome {
        Ok(done) => query.push(("done".into(), done)),
        Err(err) => query.push(("error".into(), explain(&err))),
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    Redirect::to(&format!("/admin/products/bulk?{query}")).into_response()
}

async fn apply(admin: &Admin, console: &Console, pairs: &Pairs, ids: &[Uuid]) -> AppResult<String> {
    let picked = load(admin, ids).await?;
    let currency = currency(admin);
    let prices = price_changes(pairs, &picked, currency)?;
    let priced = if prices.is_empty() {
        0
    } else {
        admin.catalog.set_prices(&prices).await?
    };
    let mut statuses = 0;
    for p in &picked {
        let typed = one(pairs, &format!("status.{}", p.id));
        if typed.is_empty() || typed == p.status.as_str() {
            continue;
        }
        let status = ProductStatus::parse(typed)
            .ok_or_else(|| AppError::invalid("status", "must be draft, published or archived"))?;
        admin.catalog.set_status(p.id, status).await?;
        statuses += 1;
    }
    let mut stocked = 0;
    for v in picked.iter().flat_map(|p| p.variants.iter()) {
        let typed = one(pairs, &format!("available.{}", v.id));
        let was = one(pairs, &format!("was_available.{}", v.id));
        if typed.is_empty() || typed == was {
            continue;
        }
        let (Ok(typed), Ok(was)) = (typed.parse::<i64>(), was.parse::<i64>()) else {
            return Err(AppError::invalid(
                format!("available of {}", v.sku),
                "must be a whole number of units",
            ));
        };
        if typed != was {
            admin
                .inventory
                .adjust(v.id, None, typed - was, "bulk edit", console.user_id)
                .await?;
            stocked += 1;
        }
    }
    console
        .audit(
            admin,
            "admin.product.bulk",
            ("products", ids.len().to_string()),
            json!({"prices": priced, "statuses": statuses, "stock": stocked}),
        )
        .await?;
    Ok(format!(
        "{priced} prices, {statuses} statuses and {stocked} stock levels changed."
    ))
}
