//! Collections in the console: hand-picked (products named by slug, in order) or by
//! rule (a tag, a price range in the default currency), with names per language; added,
//! changed, deleted.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_catalog::{CollectionBody, CollectionPatchBody, RuleBody};
use emporium_core::locale::Lang;
use emporium_core::{AppError, AppResult, Currency, from_decimal, to_decimal};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::after_form as back;
use crate::categories::texts;
use crate::product_edit::{Fields, Notice, field, non_empty};
use crate::session::Console;
use crate::state::Admin;

fn currency(admin: &Admin) -> Currency {
    Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD)
}

/// The rule a form describes: a tag and a price range typed in the currency's units.
fn rule(admin: &Admin, form: &Fields) -> AppResult<RuleBody> {
    let currency = currency(admin);
    let price = |name: &str| match field(form, name) {
        "" => Ok(None),
        raw => from_decimal(raw, currency).map(Some).ok_or_else(|| {
            AppError::invalid(name, format!("must be an amount in {}", currency.code()))
        }),
    };
    Ok(RuleBody {
        tag: non_empty(field(form, "tag")),
        price_min: price("price_min")?,
        price_max: price("price_max")?,
    })
}

async fn products(admin: &Admin, form: &Fields) -> AppResult<Vec<Uuid>> {
    let slugs: Vec<String> = field(form, "products")
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    admin.catalog.product_ids_by_slug(&slugs).await
}

fn lang(admin: &Admin) -> Lang<'_> {
    Lang {
        asked: &admin.config.store.default_language,
        default: &admin.config.store.default_language,
    }
}

/// `GET /admin/collections`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let all = match admin.catalog.collections(&lang(&admin), true).await {
        Ok(all) => all,
        Err(err) => return err.into_response(),
    };
    let currency = currency(&admin);
    let rows: Vec<Value> = all
        .iter()
        .map(|c| {
            let what = match (&c.rule, &c.product_ids) {
                (Some(rule), _) => {
                    let mut parts = Vec::new();
                    if let Some(tag) = &rule.tag {
                        parts.push(format!("tagged {tag}"));
                    }
                    if let Some(min) = rule.price_min {
                        parts.push(format!("from {}", to_decimal(min, currency)));
                    }
                    if let Some(max) = rule.price_max {
                        parts.push(format!("up to {}", to_decimal(max, currency)));
                    }
                    parts.join(", ")
                }
                (None, Some(ids)) => format!("{} products picked", ids.len()),
                (None, None) => String::new(),
            };
            json!({"id": c.id, "name": c.name, "slug": c.slug, "kind": c.kind, "what": what})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "collections.html",
            console.context(
                "/admin/collections",
                json!({"title": "Collections", "collections": rows, "currency": currency.code(),
                       "lang": admin.config.store.default_language,
                       "may_write": console.may("products.write"),
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/collections`.
pub(crate) async fn create(
    State(admin): State<Admin>,
    console: Console,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let kind = field(&form, "kind").to_string();
        let body = CollectionBody {
            slug: non_empty(field(&form, "slug")),
            rule: (kind == "rule").then(|| rule(&admin, &form)).transpose()?,
            product_ids: if kind == "manual" {
                Some(products(&admin, &form).await?)
            } else {
                None
            },
            kind,
            position: None,
            translations: texts(&admin, &form),
        };
        let id = admin.catalog.create_collection(body).await?;
        console
            .audit(
                &admin,
                "admin.collection.create",
                ("collection", id.to_string()),
                json!({}),
            )
            .await?;
        Ok(format!(
            "Added {}.",
            field(
                &form,
                &format!("name.{}", admin.config.store.default_language)
            )
        ))
    };
    back("/admin/collections", outcome.await)
}

/// `GET /admin/collections/{id}`.
pub(crate) async fn edit_page(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let loaded = async {
        let c = admin
            .catalog
            .collection(&id.to_string(), &lang(&admin), true)
            .await?;
        let slugs = match &c.product_ids {
            Some(ids) => admin.catalog.product_slugs(ids).await?,
            None => Vec::new(),
        };
        Ok::<_, AppError>((c, slugs))
    };
    let (c, slugs) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return err.into_response(),
    };
    let currency = currency(&admin);
    let langs = crate::categories::name_langs(&admin, c.translations.as_ref());
    let rule = c.rule.clone().unwrap_or_default();
    admin
        .render(
            StatusCode::OK,
            "collection.html",
            console.context(
                "/admin/collections",
                json!({"title": c.name, "collection": {"id": c.id, "slug": c.slug, "kind": c.kind,
                       "tag": rule.tag, "price_min": rule.price_min.map(|p| to_decimal(p, currency)),
                       "price_max": rule.price_max.map(|p| to_decimal(p, currency)),
                       "products": slugs.join("\n")},
                       "langs": langs, "currency": currency.code(),
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/collections/{id}`.
pub(crate) async fn save(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let manual = field(&form, "kind") == "manual";
        let body = CollectionPatchBody {
            slug: non_empty(field(&form, "slug")),
            rule: if manual {
                None
            } else {
                Some(rule(&admin, &form)?)
            },
            product_ids: if manual {
                Some(products(&admin, &form).await?)
            } else {
                None
            },
            position: None,
            translations: Some(texts(&admin, &form)),
        };
        admin.catalog.update_collection(id, body).await?;
        console
            .audit(
                &admin,
                "admin.collection.update",
                ("collection", id.to_string()),
                json!({}),
            )
            .await?;
        Ok("Saved.".to_string())
    };
    back(&format!("/admin/collections/{id}"), outcome.await)
}

/// `POST /admin/collections/{id}/delete`.
pub(crate) async fn delete(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    match admin.catalog.delete_collection(id).await {
        Ok(()) => {
            let audited = console
                .audit(
                    &admin,
                    "admin.collection.delete",
                    ("collection", id.to_string()),
                    json!({}),
                )
                .await;
            back(
                "/admin/collections",
                audited.map(|()| "Deleted.".to_string()),
            )
        }
        Err(err) => back(&format!("/admin/collections/{id}"), Err(err)),
    }
}
