//! Promotions in the console: the list with each one's status and use, a form to make
//! one (what it takes off, on what, for whom, when, and with which code), and a page per
//! promotion to switch it on or off, change its window, limits and priority, generate
//! codes (and download them as CSV) and see the orders that used it with what it gave.
//! The same service as `/api/v1/admin/discounts`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, Currency, FieldError};
use emporium_promotions::model::{ActionBody, ConditionsBody, TierBody};
use emporium_promotions::service::CodesBody;
use emporium_promotions::{PromotionBody, PromotionView};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::form::{Pairs, all, csrf, one};
use crate::session::Console;
use crate::state::Admin;

const PERMISSION: &str = "discounts.write";

/// What a promotion can do, as the form's one choice: class and action together.
const KINDS: &[(&str, &str)] = &[
    ("order:percent_off", "Percent off the order"),
    ("order:amount_off", "Amount off the order"),
    ("product:percent_off", "Percent off products"),
    ("product:amount_off", "Amount off products"),
    ("product:buy_x_get_y", "Buy X get Y"),
    ("order:tiered", "Spend tiers (percent off from each amount)"),
    ("shipping:free_shipping", "Free shipping"),
    ("shipping:shipping_percent_off", "Percent off shipping"),
];

/// Notices of a page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    done: Option<String>,
    error: Option<String>,
}

/// A `datetime-local` field (read as UTC), empty as none.
fn moment(pairs: &Pairs, name: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let text = one(pairs, name);
    if text.is_empty() {
        return None;
    }
    match NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        Ok(t) => Some(t.and_utc()),
        Err(_) => {
            errors.push(FieldError::new(name, "must be a date and time"));
            None
        }
    }
}

/// A decimal amount field in `currency`, empty as none.
fn amount(
    pairs: &Pairs,
    name: &str,
    currency: Option<Currency>,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let text = one(pairs, name);
    if text.is_empty() {
        return None;
    }
    let parsed = currency.and_then(|c| emporium_core::from_decimal(text, c));
    if parsed.is_none() {
        errors.push(FieldError::new(
            name,
            "must be an amount in the chosen currency (12.50)",
        ));
    }
    parsed
}

/// A whole-number field, empty as none.
fn whole<T: std::str::FromStr>(
    pairs: &Pairs,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let text = one(pairs, name);
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(name, "must be a whole number"));
    }
    parsed
}

/// The new-promotion form as the API's body; the form's own problems (amounts that do
/// not read) are reported with the service's.
fn body_of(pairs: &Pairs) -> Result<PromotionBody, AppError> {
    let mut errors = Vec::new();
    let currency_text = one(pairs, "currency");
    let currency = Currency::parse(currency_text);
    let (class, kind) = one(pairs, "kind")
        .split_once(':')
        .unwrap_or(("order", "percent_off"));
    let percent = one(pairs, "percent").to_string();
    let action = match kind {
        "amount_off" => ActionBody::AmountOff {
            amount: amount(pairs, "amount", currency, &mut errors).unwrap_or(0),
        },
        "buy_x_get_y" => ActionBody::BuyXGetY {
            buy: whole(pairs, "buy", &mut errors).unwrap_or(0),
            get: whole(pairs, "get", &mut errors).unwrap_or(0),
            percent: (!percent.is_empty()).then_some(percent),
            max_per_order: whole(pairs, "max_per_order", &mut errors),
        },
        "tiered" => {
            // "100.00=10, 200.00=15": from 100.00, 10% off; from 200.00, 15% off.
            let mut tiers = Vec::new();
            for part in one(pairs, "tiers")
                .split(',')
                .filter(|p| !p.trim().is_empty())
            {
                let parsed = part.split_once('=').and_then(|(from, pct)| {
                    let from =
                        currency.and_then(|c| emporium_core::from_decimal(from.trim(), c))?;
                    Some(TierBody {
                        min_subtotal: from,
                        percent: pct.trim().trim_end_matches('%').to_string(),
                    })
                });
                match parsed {
                    Some(t) => tiers.push(t),
                    None => errors.push(FieldError::new(
                        "tiers",
                        "write each tier as amount=percent, separated by commas (100.00=10, 200.00=15)",
                    )),
                }
            }
            ActionBody::Tiered { tiers }
        }
        "free_shipping" => ActionBody::FreeShipping,
        "shipping_percent_off" => ActionBody::ShippingPercentOff { percent },
        _ => ActionBody::PercentOff { percent },
    };
    let min_subtotal = amount(pairs, "min_subtotal", currency, &mut errors);
    let conditions = ConditionsBody {
        min_subtotal,
        min_quantity: whole(pairs, "min_quantity", &mut errors),
        customer: Some(one(pairs, "customer").to_string()).filter(|c| !c.is_empty()),
        countries: one(pairs, "countries")
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        ..ConditionsBody::default()
    };
    let code = Some(one(pairs, "code").to_string()).filter(|c| !c.is_empty());
    let body = PromotionBody {
        name: one(pairs, "name").to_string(),
        description: Some(one(pairs, "description").to_string()),
        class: class.to_string(),
        action,
        conditions,
        currency: (!currency_text.is_empty()).then(|| currency_text.to_string()),
        automatic: Some(code.is_none()),
        code,
        enabled: Some(true),
        starts_at: moment(pairs, "starts_at", &mut errors),
        ends_at: moment(pairs, "ends_at", &mut errors),
        priority: whole(pairs, "priority", &mut errors),
        combines_with: Some(all(pairs, "combines_with")),
        usage_limit: whole(pairs, "usage_limit", &mut errors),
        per_customer_limit: whole(pairs, "per_customer_limit", &mut errors),
        budget: amount(pairs, "budget", currency, &mut errors),
    };
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// What a promotion does, in a few words.
fn summary(p: &PromotionView) -> String {
    let money = |a: i64| match p.currency.as_deref().and_then(Currency::parse) {
        Some(c) => emporium_core::Money::new(a, c).to_string(),
        None => a.to_string(),
    };
    let what = match &p.action {
        ActionBody::PercentOff { percent } => format!("{percent}% off"),
        ActionBody::AmountOff { amount } => format!("{} off", money(*amount)),
        ActionBody::FreeShipping => "free shipping".into(),
        ActionBody::ShippingPercentOff { percent } => format!("{percent}% off shipping"),
        ActionBody::ShippingAmountOff { amount } => format!("{} off shipping", money(*amount)),
        ActionBody::BuyXGetY {
            buy, get, percent, ..
        } => match percent.as_deref() {
            None | Some("100") => format!("buy {buy} get {get} free"),
            Some(p) => format!("buy {buy} get {get} at {p}% off"),
        },
        ActionBody::Tiered { tiers } => tiers
            .iter()
            .map(|t| format!("{}% from {}", t.percent, money(t.min_subtotal)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    match p.conditions.min_subtotal {
        Some(min) => format!("{what} over {}", money(min)),
        None => what,
    }
}

fn row(p: &PromotionView) -> Value {
    json!({"id": p.id, "name": p.name, "class": p.class, "summary": summary(p),
           "automatic": p.automatic, "status": p.status, "used": p.used,
           "usage_limit": p.usage_limit, "priority": p.priority,
           "starts_at": p.starts_at.map(crate::when), "ends_at": p.ends_at.map(crate::when)})
}

/// `GET /admin/discounts`.
pub(crate) async fn discounts(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let page = PageQuery {
        limit: Some(100),
        cursor: None,
    };
    let list = match admin.promotions.list(&page).await {
        Ok(list) => list,
        Err(err) => return err.into_response(),
    };
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect();
    admin
        .render(
            StatusCode::OK,
            "discounts.html",
            console.context(
                "/admin/discounts",
                json!({"title": "Discounts", "promotions": list.data.iter().map(row).collect::<Vec<_>>(),
                       "kinds": kinds, "currencies": admin.config.store.currencies.clone(),
                       "default_currency": admin.config.store.default_currency.clone(),
                       "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/discounts`: a new promotion.
pub(crate) async fn create_discount(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let created = match body_of(&pairs) {
        Ok(body) => admin.promotions.create(body).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(p) => crate::after_form(
            &format!("/admin/discounts/{}", p.id),
            Ok(format!("{} is saved.", p.name)),
        ),
        Err(err) => crate::after_form("/admin/discounts", Err(err)),
    }
}

/// `GET /admin/discounts/{id}`: the promotion, its codes and the orders that used it.
pub(crate) async fn discount(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(q): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let promotions = &admin.promotions;
    let page = PageQuery {
        limit: Some(50),
        cursor: None,
    };
    let loaded = async {
        let detail = promotions.detail(id).await?;
        let codes = promotions.codes(id, &page).await?;
        let redemptions = promotions.redemptions(id, &page).await?;
        Ok::<_, AppError>((detail, codes, redemptions))
    };
    let (detail, codes, redemptions) = match loaded.await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let p = &detail.promotion;
    let local = |t: Option<DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%dT%H:%M").to_string());
    let money = |a: i64, c: &str| match Currency::parse(c) {
        Some(c) => emporium_core::Money::new(a, c).to_string(),
        None => a.to_string(),
    };
    let redemptions: Vec<Value> = redemptions
        .data
        .iter()
        .map(|r| {
            json!({"order_id": r.order_id, "code": r.code, "amount": money(r.amount, &r.currency),
                   "order_total": money(r.order_total, &r.currency), "status": r.status,
                   "created_at": crate::when(r.created_at)})
        })
        .collect();
    let performance: Vec<Value> = detail
        .performance
        .iter()
        .map(|f| {
            json!({"currency": f.currency, "orders": f.orders, "revenue": money(f.revenue, &f.currency),
                   "discount": money(f.discount, &f.currency)})
        })
        .collect();
    let classes: Vec<Value> = ["product", "order", "shipping"]
        .iter()
        .map(|c| json!({"name": c, "chosen": p.combines_with.iter().any(|x| x == c)}))
        .collect();
    admin
        .render(
            StatusCode::OK,
            "discount.html",
            console.context(
                "/admin/discounts",
                json!({"title": p.name, "promotion": row(p), "enabled": p.enabled,
                       "description": p.description, "currency": p.currency,
                       "starts_at": local(p.starts_at), "ends_at": local(p.ends_at),
                       "per_customer_limit": p.per_customer_limit, "budget": p.budget,
                       "discount_given": p.discount_given, "classes": classes,
                       "codes_count": detail.codes,
                       "codes": codes.data.iter().map(|c| json!({"code": c.code, "used": c.used, "usage_limit": c.usage_limit})).collect::<Vec<_>>(),
                       "performance": performance, "redemptions": redemptions,
                       "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/discounts/{id}`: on or off, window, limits, priority, combinations.
pub(crate) async fn save_discount(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let mut errors = Vec::new();
    let starts_at = moment(&pairs, "starts_at", &mut errors);
    let ends_at = moment(&pairs, "ends_at", &mut errors);
    let priority: Option<i32> = whole(&pairs, "priority", &mut errors);
    let usage_limit: Option<i32> = whole(&pairs, "usage_limit", &mut errors);
    let per_customer_limit: Option<i32> = whole(&pairs, "per_customer_limit", &mut errors);
    let path = format!("/admin/discounts/{id}");
    if !errors.is_empty() {
        return crate::after_form(&path, Err(AppError::Validation(errors)));
    }
    let patch = json!({
        "name": one(&pairs, "name"),
        "enabled": one(&pairs, "enabled") == "on",
        "starts_at": starts_at, "ends_at": ends_at,
        "priority": priority.unwrap_or(0),
        "usage_limit": usage_limit, "per_customer_limit": per_customer_limit,
        "combines_with": all(&pairs, "combines_with"),
    });
    let outcome = admin
        .promotions
        .update(id, patch)
        .await
        .map(|p| format!("Saved; the promotion is {}.", p.status.replace('_', " ")));
    crate::after_form(&path, outcome)
}

/// `POST /admin/discounts/{id}/codes`: one code, or a batch generated.
pub(crate) async fn add_codes(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let mut errors = Vec::new();
    let count: Option<u32> = whole(&pairs, "count", &mut errors);
    let usage_limit: Option<i32> = whole(&pairs, "code_usage_limit", &mut errors);
    let path = format!("/admin/discounts/{id}");
    if !errors.is_empty() {
        return crate::after_form(&path, Err(AppError::Validation(errors)));
    }
    let code = Some(one(&pairs, "code").to_string()).filter(|c| !c.is_empty());
    let body = CodesBody {
        count: if code.is_some() { None } else { count },
        code,
        prefix: Some(one(&pairs, "prefix").to_string()).filter(|p| !p.is_empty()),
        length: None,
        usage_limit,
    };
    let outcome = admin
        .promotions
        .add_codes(id, body)
        .await
        .map(|added| format!("{} code(s) added.", added.added));
    crate::after_form(&path, outcome)
}

/// `GET /admin/discounts/{id}/codes.csv`.
pub(crate) async fn codes_csv(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    match admin.promotions.codes_csv(id).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"codes.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}
