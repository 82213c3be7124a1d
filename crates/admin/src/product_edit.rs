//! One product in the console: created with its variants, then edited (texts and SEO
//! fields per language, options, variants with prices per currency, images with alt
//! text and order), published or unpublished, deleted. Every change goes through the
//! catalog service in one transaction and lands in the audit log.
//!
//! Prices are typed in the currency's units (`12.50`) and stored in minor units; a form
//! that does not check out is shown again with what was typed and what is wrong.

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use emporium_catalog::model::{OptionSpec, ProductStatus};
use emporium_catalog::{
    ImagePatchBody, PriceBody, ProductBody, ProductPatchBody, ProductText, ProductView,
    VariantBody, VariantPatchBody,
};
use emporium_core::locale::Lang;
use emporium_core::{AppError, AppResult, Currency, FieldError, from_decimal, to_decimal};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::explain;
use crate::session::Console;
use crate::state::Admin;

/// Blank variant rows a new product's form offers (more are added on the edit page).
const NEW_ROWS: usize = 3;
/// The most variant rows one form may carry.
const MAX_ROWS: usize = 100;

pub(crate) type Fields = HashMap<String, String>;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    pub(crate) done: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

pub(crate) fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

pub(crate) fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The store's languages, its default first.
pub(crate) fn languages(admin: &Admin) -> Vec<String> {
    let store = &admin.config.store;
    let mut langs = vec![store.default_language.clone()];
    langs.extend(
        store
            .languages
            .iter()
            .filter(|l| **l != store.default_language)
            .cloned(),
    );
    langs
}

/// The store's currencies, its default first.
fn currencies(admin: &Admin) -> Vec<Currency> {
    let store = &admin.config.store;
    let default = default_currency(admin);
    let mut out = vec![default];
    out.extend(
        store
            .currencies
            .iter()
            .filter_map(|c| Currency::parse(c))
            .filter(|c| *c != default),
    );
    out
}

fn default_currency(admin: &Admin) -> Currency {
    Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD)
}

/// `Size: S, M, L` per line, as the catalog's option types.
fn parse_options(text: &str, errors: &mut Vec<FieldError>) -> Vec<OptionSpec> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter_map(|line| match line.split_once(':') {
            Some((name, values)) => Some(OptionSpec {
                name: name.trim().to_string(),
                values: values
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect(),
            }),
            None => {
                errors.push(FieldError::new(
                    "options",
                    format!("\"{line}\" needs its values after a colon: Size: S, M"),
                ));
                None
            }
        })
        .collect()
}

fn options_text(options: &[OptionSpec]) -> String {
    options
        .iter()
        .map(|o| format!("{}: {}", o.name, o.values.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Size=M, Color=Red` as a variant's chosen values.
fn parse_choice(text: &str, row: usize, errors: &mut Vec<FieldError>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((name, value)) => {
                out.insert(name.trim().to_string(), value.trim().to_string());
            }
            None => errors.push(FieldError::new(
                format!("variants[{row}].options"),
                format!("\"{part}\" should read Name=value"),
            )),
        }
    }
    out
}

fn choice_text(options: &BTreeMap<String, String>) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A price typed in the currency's units, as minor units.
fn parse_amount(
    text: &str,
    currency: Currency,
    name: String,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = from_decimal(text, currency);
    if parsed.is_none() {
        errors.push(FieldError::new(
            name,
            format!(
                "must be an amount in {} with at most {} decimals",
                currency.code(),
                currency.minor_units()
            ),
        ));
    }
    parsed
}

/// One variant row of a form: its id (an existing variant) and what it should be.
struct Row {
    id: Option<Uuid>,
    body: VariantBody,
}

/// The variant rows a form carries; rows without a SKU are left out.
fn parse_rows(admin: &Admin, form: &Fields, errors: &mut Vec<FieldError>) -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0..MAX_ROWS {
        let sku = field(form, &format!("sku.{i}"));
        if sku.is_empty() {
            continue;
        }
        let id = match field(form, &format!("id.{i}")) {
            "" => None,
            raw => match raw.parse::<Uuid>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(format!("variants[{i}]"), "unknown variant"));
                    continue;
                }
            },
        };
        let mut prices = BTreeMap::new();
        for currency in currencies(admin) {
            let code = currency.code();
            let amount = parse_amount(
                field(form, &format!("price.{i}.{code}")),
                currency,
                format!("variants[{i}].prices.{code}"),
                errors,
            );
            let compare_at = parse_amount(
                field(form, &format!("compare.{i}.{code}")),
                currency,
                format!("variants[{i}].prices.{code}.compare_at"),
                errors,
            );
            if let Some(amount) = amount {
                prices.insert(code.to_string(), PriceBody { amount, compare_at });
            }
        }
        let weight_grams = match field(form, &format!("weight.{i}")) {
            "" => None,
            raw => match raw.parse::<i32>() {
                Ok(w) => Some(w),
                Err(_) => {
                    errors.push(FieldError::new(
                        format!("variants[{i}].weight_grams"),
                        "must be a whole number of grams",
                    ));
                    None
                }
            },
        };
        rows.push(Row {
            id,
            body: VariantBody {
                sku: sku.to_string(),
                barcode: None,
                options: parse_choice(field(form, &format!("opts.{i}")), i, errors),
                prices,
                weight_grams,
                length_mm: None,
                width_mm: None,
                height_mm: None,
                tax_class: None,
            },
        });
    }
    rows
}

/// The texts per language a form carries: a language with a title.
fn parse_texts(admin: &Admin, form: &Fields) -> BTreeMap<String, ProductText> {
    languages(admin)
        .into_iter()
        .filter_map(|lang| {
            let title = non_empty(field(form, &format!("title.{lang}")))?;
            let text = ProductText {
                title,
                description: field(form, &format!("description.{lang}")).to_string(),
                meta_title: non_empty(field(form, &format!("meta_title.{lang}"))),
                meta_description: non_empty(field(form, &format!("meta_description.{lang}"))),
            };
            Some((lang, text))
        })
        .collect()
}

fn parse_status(form: &Fields, errors: &mut Vec<FieldError>) -> Option<ProductStatus> {
    match field(form, "status") {
        "" => None,
        raw => {
            let status = ProductStatus::parse(raw);
            if status.is_none() {
                errors.push(FieldError::new(
                    "status",
                    "must be draft, published or archived",
                ));
            }
            status
        }
    }
}

fn parse_tags(form: &Fields) -> Vec<String> {
    field(form, "tags")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A new product's body from its form.
fn product_body(admin: &Admin, form: &Fields) -> AppResult<ProductBody> {
    let mut errors = Vec::new();
    let status = parse_status(form, &mut errors);
    let options = parse_options(field(form, "options"), &mut errors);
    let variants = parse_rows(admin, form, &mut errors)
        .into_iter()
        .map(|r| r.body)
        .collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(ProductBody {
        slug: non_empty(field(form, "slug")),
        status,
        brand: non_empty(field(form, "brand")),
        tags: parse_tags(form),
        attributes: BTreeMap::new(),
        tax_class: non_empty(field(form, "tax_class")),
        translations: parse_texts(admin, form),
        options,
        category_ids: Vec::new(),
        variants,
    })
}

/// The product part of the page: from the catalog's view, or from a form sent back.
fn product_context(admin: &Admin, product: Option<&ProductView>, form: Option<&Fields>) -> Value {
    let text = |name: &str, from_view: String| match form {
        Some(form) => field(form, name).to_string(),
        None => from_view,
    };
    let view_text = |lang: &str| {
        product
            .and_then(|p| p.translations.as_ref())
            .and_then(|t| t.get(lang))
            .cloned()
    };
    let default = admin.config.store.default_language.clone();
    let langs: Vec<Value> = languages(admin)
        .into_iter()
        .map(|code| {
            let t = view_text(&code);
            json!({
                "code": code, "default": code == default,
                "title": text(&format!("title.{code}"), t.as_ref().map(|t| t.title.clone()).unwrap_or_default()),
                "description": text(&format!("description.{code}"), t.as_ref().map(|t| t.description.clone()).unwrap_or_default()),
                "meta_title": text(&format!("meta_title.{code}"), t.as_ref().and_then(|t| t.meta_title.clone()).unwrap_or_default()),
                "meta_description": text(&format!("meta_description.{code}"), t.as_ref().and_then(|t| t.meta_description.clone()).unwrap_or_default()),
            })
        })
        .collect();
    let status = product
        .map(|p| p.status.as_str().to_string())
        .unwrap_or_else(|| "draft".into());
    json!({
        "product": {
            "id": product.map(|p| p.id),
            "slug": text("slug", product.map(|p| p.slug.clone()).unwrap_or_default()),
            "status": match form { Some(f) if !field(f, "status").is_empty() => field(f, "status").to_string(), _ => status },
            "brand": text("brand", product.and_then(|p| p.brand.clone()).unwrap_or_default()),
            "tags": text("tags", product.map(|p| p.tags.join(", ")).unwrap_or_default()),
            "tax_class": text("tax_class", product.map(|p| p.tax_class.clone()).unwrap_or_default()),
            "store_url": product.map(|p| format!("/api/v1/products/{}", p.slug)),
        },
        "langs": langs,
        "options_text": text("options", product.map(|p| options_text(&p.options)).unwrap_or_default()),
        "statuses": ["draft", "published", "archived"],
        "currencies": currencies(admin).iter().map(|c| c.code().to_string()).collect::<Vec<_>>(),
    })
}

/// Variant rows: the product's variants then `blank` empty rows, or the rows of a form
/// sent back.
fn variant_rows(
    admin: &Admin,
    product: Option<&ProductView>,
    form: Option<&Fields>,
    blank: usize,
) -> Vec<Value> {
    let currencies = currencies(admin);
    if let Some(form) = form {
        return (0..MAX_ROWS)
            .filter(|i| {
                !field(form, &format!("sku.{i}")).is_empty()
                    || form.contains_key(&format!("id.{i}"))
                    || *i < blank
            })
            .map(|i| {
                let prices: Vec<Value> = currencies
                    .iter()
                    .map(|c| {
                        json!({"cur": c.code(),
                               "amount": field(form, &format!("price.{i}.{}", c.code())),
                               "compare": field(form, &format!("compare.{i}.{}", c.code()))})
                    })
                    .collect();
                json!({"i": i, "id": non_empty(field(form, &format!("id.{i}"))),
                       "sku": field(form, &format!("sku.{i}")),
                       "opts": field(form, &format!("opts.{i}")),
                       "weight": field(form, &format!("weight.{i}")), "prices": prices})
            })
            .collect();
    }
    let existing = product.map(|p| p.variants.as_slice()).unwrap_or(&[]);
    let mut rows: Vec<Value> = existing
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let set = v.prices.clone().unwrap_or_default();
            let prices: Vec<Value> = currencies
                .iter()
                .map(|c| {
                    let p = set.get(c.code());
                    json!({"cur": c.code(),
                           "amount": p.map(|p| to_decimal(p.amount, *c)).unwrap_or_default(),
                           "compare": p.and_then(|p| p.compare_at).map(|a| to_decimal(a, *c)).unwrap_or_default()})
                })
                .collect();
            json!({"i": i, "id": v.id, "sku": v.sku, "opts": choice_text(&v.options),
                   "weight": v.weight_grams.map(|w| w.to_string()).unwrap_or_default(),
                   "prices": prices})
        })
        .collect();
    let start = rows.len();
    rows.extend((start..start + blank).map(|i| {
        let prices: Vec<Value> = currencies
            .iter()
            .map(|c| json!({"cur": c.code(), "amount": "", "compare": ""}))
            .collect();
        json!({"i": i, "id": null, "sku": "", "opts": "", "weight": "", "prices": prices})
    }));
    rows
}

fn render_form(
    admin: &Admin,
    console: &Console,
    status: StatusCode,
    product: Option<&ProductView>,
    form: Option<&Fields>,
    notice: Notice,
) -> Response {
    let is_new = product.is_none();
    let mut context = product_context(admin, product, form);
    let title = match product {
        Some(p) => p.title.clone(),
        None => "New product".into(),
    };
    let images: Vec<Value> = product
        .map(|p| {
            p.images
                .iter()
                .enumerate()
                .map(|(i, img)| {
                    json!({"id": img.id, "url": img.thumbnails.values().next().unwrap_or(&img.url),
                           "alt": img.alt.clone().unwrap_or_default(), "position": i})
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = variant_rows(
        admin,
        product,
        form.filter(|_| is_new),
        if is_new { NEW_ROWS } else { 1 },
    );
    if let Value::Object(map) = &mut context {
        map.insert("title".into(), json!(title));
        map.insert("is_new".into(), json!(is_new));
        map.insert(
            "action".into(),
            json!(match product {
                Some(p) => format!("/admin/products/{}", p.id),
                None => "/admin/products/new".into(),
            }),
        );
        map.insert("variants".into(), json!(rows));
        map.insert("images".into(), json!(images));
        map.insert("done".into(), json!(notice.done));
        map.insert("error".into(), json!(notice.error));
    }
    admin
        .render(
            status,
            "product.html",
            console.context("/admin/products", context),
        )
        .into_response()
}

async fn load(admin: &Admin, id: Uuid) -> AppResult<ProductView> {
    let store = &admin.config.store;
    let lang = Lang {
        asked: &store.default_language,
        default: &store.default_language,
    };
    let prices = admin.catalog.prices(default_currency(admin)).await?;
    admin.catalog.admin_product(id, &lang, &prices).await
}

fn back_to(id: Uuid, outcome: Result<String, AppError>) -> Response {
    crate::after_form(&format!("/admin/products/{id}"), outcome)
}

/// `GET /admin/products/new`.
pub(crate) async fn new_page(State(admin): State<Admin>, console: Console) -> Response {
    if let Err(page) = console.require(&admin, "products.write") {
        return page.into_response();
    }
    render_form(
        &admin,
        &console,
        StatusCode::OK,
        None,
        None,
        Notice::default(),
    )
}

/// `POST /admin/products/new`: the product with its variants, in one transaction.
pub(crate) async fn create(
    State(admin): State<Admin>,
    console: Console,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let created = match product_body(&admin, &form) {
        Ok(body) => admin.catalog.create_product(body).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(id) => {
            let audited = console
                .audit(
                    &admin,
                    "admin.product.create",
                    ("product", id.to_string()),
                    json!({}),
                )
                .await;
            back_to(id, audited.map(|()| "Created.".to_string()))
        }
        Err(err) => render_form(
            &admin,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(&form),
            Notice {
                done: None,
                error: Some(explain(&err)),
            },
        ),
    }
}

/// `GET /admin/products/{id}`.
pub(crate) async fn edit_page(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    match load(&admin, id).await {
        Ok(product) => render_form(
            &admin,
            &console,
            StatusCode::OK,
            Some(&product),
            None,
            notice,
        ),
        Err(err) => err.into_response(),
    }
}

/// `POST /admin/products/{id}`: texts, SEO fields, options, slug, brand, tags, status.
pub(crate) async fn save_details(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let mut errors = Vec::new();
    let status = parse_status(&form, &mut errors);
    let options = parse_options(field(&form, "options"), &mut errors);
    let saved = if errors.is_empty() {
        let body = ProductPatchBody {
            slug: non_empty(field(&form, "slug")),
            status,
            brand: Some(field(&form, "brand").to_string()),
            tags: Some(parse_tags(&form)),
            attributes: None,
            tax_class: non_empty(field(&form, "tax_class")),
            translations: Some(parse_texts(&admin, &form)),
            options: Some(options),
            category_ids: None,
        };
        admin.catalog.update_product(id, body).await
    } else {
        Err(AppError::Validation(errors))
    };
    match saved {
        Ok(()) => {
            let audited = console
                .audit(
                    &admin,
                    "admin.product.update",
                    ("product", id.to_string()),
                    json!({}),
                )
                .await;
            back_to(id, audited.map(|()| "Saved.".to_string()))
        }
        Err(err) => match load(&admin, id).await {
            Ok(product) => render_form(
                &admin,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&product),
                Some(&form),
                Notice {
                    done: None,
                    error: Some(explain(&err)),
                },
            ),
            Err(missing) => missing.into_response(),
        },
    }
}

/// `POST /admin/products/{id}/variants`: every row at once, all or none.
pub(crate) async fn save_variants(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let mut errors = Vec::new();
    let rows = parse_rows(&admin, &form, &mut errors);
    let outcome = if errors.is_empty() {
        let (mut changed, mut added) = (Vec::new(), Vec::new());
        for row in rows {
            match row.id {
                Some(variant) => changed.push((
                    variant,
                    VariantPatchBody {
                        sku: Some(row.body.sku),
                        barcode: None,
                        options: Some(row.body.options),
                        prices: Some(row.body.prices),
                        weight_grams: row.body.weight_grams,
                    },
                )),
                None => added.push(row.body),
            }
        }
        let counts = (changed.len(), added.len());
        match admin.catalog.save_variants(id, changed, added).await {
            Ok(()) => console
                .audit(
                    &admin,
                    "admin.product.variants",
                    ("product", id.to_string()),
                    json!({"changed": counts.0, "added": counts.1}),
                )
                .await
                .map(|()| "Variants saved.".to_string()),
            Err(err) => Err(err),
        }
    } else {
        Err(AppError::Validation(errors))
    };
    back_to(id, outcome)
}

/// `POST /admin/products/{id}/status`: publish, or back to draft.
pub(crate) async fn set_status(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = match ProductStatus::parse(field(&form, "status")) {
        Some(status) => match admin.catalog.set_status(id, status).await {
            Ok(()) => console
                .audit(
                    &admin,
                    "admin.product.status",
                    ("product", id.to_string()),
                    json!({"status": status.as_str()}),
                )
                .await
                .map(|()| match status {
                    ProductStatus::Published => "Published.".to_string(),
                    other => format!("Now {}.", other.as_str()),
                }),
            Err(err) => Err(err),
        },
        None => Err(AppError::invalid(
            "status",
            "must be draft, published or archived",
        )),
    };
    back_to(id, outcome)
}

/// `POST /admin/products/{id}/delete`.
pub(crate) async fn delete(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    match admin.catalog.delete_product(id).await {
        Ok(()) => {
            if let Err(err) = console
                .audit(
                    &admin,
                    "admin.product.delete",
                    ("product", id.to_string()),
                    json!({}),
                )
                .await
            {
                return err.into_response();
            }
            Redirect::to("/admin/products").into_response()
        }
        Err(err) => back_to(id, Err(err)),
    }
}

/// `POST /admin/products/{id}/images`: an upload (multipart, with the CSRF token as a
/// field), checked by content like the API's.
pub(crate) async fn upload(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let upload = match admin.catalog.read_image_upload(&headers, form).await {
        Ok(upload) => upload,
        Err(err) => return back_to(id, Err(err)),
    };
    if let Err(page) = console.authorize_form(&admin, "products.write", &upload.fields) {
        return page.into_response();
    }
    let outcome = match admin.catalog.add_image(id, upload.file, upload.meta).await {
        Ok(image) => console
            .audit(
                &admin,
                "admin.product.image.add",
                ("product", id.to_string()),
                json!({"image_id": image.id}),
            )
            .await
            .map(|()| "Image added.".to_string()),
        Err(err) => Err(err),
    };
    back_to(id, outcome)
}

/// `POST /admin/products/{id}/images/{image}`: its alt text and position, or removal.
pub(crate) async fn image(
    State(admin): State<Admin>,
    console: Console,
    Path((id, image)): Path<(Uuid, Uuid)>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = if field(&form, "do") == "delete" {
        match admin.catalog.delete_image(id, image).await {
            Ok(()) => Ok(("admin.product.image.delete", "Image removed.")),
            Err(err) => Err(err),
        }
    } else {
        let position = match field(&form, "position") {
            "" => Ok(None),
            raw => raw
                .parse::<i32>()
                .map(Some)
                .map_err(|_| AppError::invalid("position", "must be a whole number, 0 or more")),
        };
        match position {
            Ok(position) => {
                let lang = admin.config.store.default_language.clone();
                let body = ImagePatchBody {
                    alt: Some(BTreeMap::from([(lang, field(&form, "alt").to_string())])),
                    variant_ids: None,
                    position,
                };
                match admin.catalog.update_image(id, image, body).await {
                    Ok(_) => Ok(("admin.product.image.update", "Image saved.")),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    };
    let outcome = match outcome {
        Ok((action, done)) => console
            .audit(
                &admin,
                action,
                ("product", id.to_string()),
                json!({"image_id": image}),
            )
            .await
            .map(|()| done.to_string()),
        Err(err) => Err(err),
    };
    back_to(id, outcome)
}
