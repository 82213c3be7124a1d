//! Shipping in the console: zones (the countries or regions they serve) and each zone's
//! methods with their price table, free-shipping threshold, delivery days and whether
//! they are offered. Prices are typed in the default currency's units.
//!
//! A price table is written as text, one rule per line: a flat method is one amount
//! (`4.90`); a weight method is `up to grams: amount` lines with `*` for everything
//! heavier (`500: 4.90`, `*: 12.00`); a subtotal method is `from: amount` lines
//! (`0: 5.90`, `50.00: 0`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_core::{AppError, AppResult, Currency, from_decimal, to_decimal};
use emporium_shipping::{MethodBody, SubtotalTier, TableRule, WeightTier, ZoneBody};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::after_form as back;
use crate::product_edit::{Fields, Notice, field, non_empty};
use crate::session::Console;
use crate::state::Admin;

const PAGE: &str = "/admin/shipping";

fn currency(admin: &Admin) -> Currency {
    Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD)
}

/// A price table as the form shows it.
fn table_text(rule: &TableRule, currency: Currency) -> String {
    match rule {
        TableRule::Flat { amount } => to_decimal(*amount, currency),
        TableRule::Weight { tiers } => tiers
            .iter()
            .map(|t| {
                let up_to = t.up_to_grams.map_or("*".to_string(), |g| g.to_string());
                format!("{up_to}: {}", to_decimal(t.amount, currency))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        TableRule::Subtotal { tiers } => tiers
            .iter()
            .map(|t| {
                format!(
                    "{}: {}",
                    to_decimal(t.from, currency),
                    to_decimal(t.amount, currency)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A price table from its text (see the module doc).
fn parse_table(kind: &str, text: &str, currency: Currency) -> AppResult<TableRule> {
    let amount = |raw: &str| {
        from_decimal(raw.trim(), currency).ok_or_else(|| {
            AppError::invalid(
                "rates",
                format!("{raw:?} is not an amount in {}", currency.code()),
            )
        })
    };
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(':').unwrap_or(("", l)))
        .collect();
    match kind {
        "flat" => Ok(TableRule::Flat {
            amount: amount(text.trim())?,
        }),
        "weight" => Ok(TableRule::Weight {
            tiers: lines
                .iter()
                .map(|(up_to, price)| {
                    let up_to_grams = match up_to.trim() {
                        "*" | "" => None,
                        grams => Some(grams.trim_end_matches('g').trim().parse::<i64>().map_err(
                            |_| {
                                AppError::invalid(
                                    "rates",
                                    format!("{grams:?} is not a weight in grams"),
                                )
                            },
                        )?),
                    };
                    Ok(WeightTier {
                        up_to_grams,
                        amount: amount(price)?,
                    })
                })
                .collect::<AppResult<_>>()?,
        }),
        "subtotal" => Ok(TableRule::Subtotal {
            tiers: lines
                .iter()
                .map(|(from, price)| {
                    Ok(SubtotalTier {
                        from: amount(from)?,
                        amount: amount(price)?,
                    })
                })
                .collect::<AppResult<_>>()?,
        }),
        _ => Err(AppError::invalid(
            "kind",
            "must be flat, weight or subtotal",
        )),
    }
}

fn countries(form: &Fields) -> Vec<String> {
    field(form, "countries")
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn days(form: &Fields, name: &str) -> AppResult<Option<i32>> {
    match field(form, name) {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(name, "must be a whole number of days")),
    }
}

/// A method's body from its form: `kind` comes from the form for a new method and
/// from the method itself for a change.
fn method_body(admin: &Admin, form: &Fields, kind: &str) -> AppResult<MethodBody> {
    let currency = currency(admin);
    let free_over = match field(form, "free_over") {
        "" => None,
        raw => Some(from_decimal(raw, currency).ok_or_else(|| {
            AppError::invalid(
                "free_over",
                format!("must be an amount in {}", currency.code()),
            )
        })?),
    };
    // A carrier's method keeps its carrier and its fallback table; the API edits those.
    let carrier = kind == "carrier";
    Ok(MethodBody {
        name: non_empty(field(form, "name")),
        kind: (!carrier).then(|| kind.to_string()),
        rates: if carrier {
            None
        } else {
            Some(parse_table(kind, field(form, "rates"), currency)?)
        },
        free_over: Some(free_over),
        min_days: days(form, "min_days")?,
        max_days: days(form, "max_days")?,
        carrier: None,
        service: None,
        position: None,
        active: Some(field(form, "active") == "on"),
    })
}

/// `GET /admin/shipping`.
pub(crate) async fn page(
    State(admin): State<Admin>,
    console: Console,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "settings.manage") {
        return page.into_response();
    }
    let zones = match admin.shipping.zones().await {
        Ok(zones) => zones,
        Err(err) => return err.into_response(),
    };
    let currency = currency(&admin);
    let zones: Vec<Value> = zones
        .iter()
        .map(|z| {
            let methods: Vec<Value> = z
                .methods
                .iter()
                .map(|m| {
                    json!({"id": m.id, "name": m.name, "kind": m.kind, "active": m.active,
                           "rates": table_text(&m.rates, currency),
                           "free_over": m.free_over.map(|f| to_decimal(f, currency)),
                           "min_days": m.min_days, "max_days": m.max_days,
                           "carrier": m.carrier})
                })
                .collect();
            json!({"id": z.id, "name": z.name, "countries": z.countries.join(", "),
                   "position": z.position, "methods": methods})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "shipping.html",
            console.context(
                PAGE,
                json!({"title": "Shipping", "zones": zones, "currency": currency.code(),
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

async fn audited(
    admin: &Admin,
    console: &Console,
    action: &str,
    target: (&str, String),
    done: String,
) -> AppResult<String> {
    console.audit(admin, action, target, json!({})).await?;
    Ok(done)
}

/// `POST /admin/shipping/zones` (new) and `.../zones/{id}` (a change).
pub(crate) async fn save_zone(
    State(admin): State<Admin>,
    console: Console,
    id: Option<Path<Uuid>>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let id = id.map(|Path(id)| id);
    let outcome = async {
        let position = match field(&form, "position") {
            "" => None,
            raw => Some(
                raw.parse()
                    .map_err(|_| AppError::invalid("position", "must be a whole number"))?,
            ),
        };
        let body = ZoneBody {
            name: non_empty(field(&form, "name")),
            countries: Some(countries(&form)),
            position,
        };
        let zone = admin.shipping.save_zone(id, body).await?;
        let done = format!("{} saved.", zone.name);
        audited(
            &admin,
            &console,
            "admin.shipping.zone",
            ("shipping_zone", zone.id.to_string()),
            done,
        )
        .await
    };
    back(PAGE, outcome.await)
}

/// `POST /admin/shipping/zones/{id}/delete`.
pub(crate) async fn delete_zone(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let outcome = async {
        admin.shipping.delete_zone(id).await?;
        audited(
            &admin,
            &console,
            "admin.shipping.zone.delete",
            ("shipping_zone", id.to_string()),
            "Zone removed.".into(),
        )
        .await
    };
    back(PAGE, outcome.await)
}

/// `POST /admin/shipping/zones/{zone}/methods`: a new method in a zone.
pub(crate) async fn add_method(
    State(admin): State<Admin>,
    console: Console,
    Path(zone): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let outcome = async {
        let body = method_body(&admin, &form, field(&form, "kind"))?;
        let method = admin.shipping.save_method(Some(zone), None, body).await?;
        let done = format!("{} added.", method.name);
        audited(
            &admin,
            &console,
            "admin.shipping.method",
            ("shipping_method", method.id.to_string()),
            done,
        )
        .await
    };
    back(PAGE, outcome.await)
}

/// `POST /admin/shipping/methods/{id}`: a change (`do=delete` removes it).
pub(crate) async fn save_method(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let outcome = async {
        if field(&form, "do") == "delete" {
            admin.shipping.delete_method(id).await?;
            return audited(
                &admin,
                &console,
                "admin.shipping.method.delete",
                ("shipping_method", id.to_string()),
                "Method removed.".into(),
            )
            .await;
        }
        let body = method_body(&admin, &form, field(&form, "kind"))?;
        let method = admin.shipping.save_method(None, Some(id), body).await?;
        let done = format!("{} saved.", method.name);
        audited(
            &admin,
            &console,
            "admin.shipping.method",
            ("shipping_method", method.id.to_string()),
            done,
        )
        .await
    };
    back(PAGE, outcome.await)
}
