//! Inventory in the console: what is running low, and one variant (found by SKU) with its
//! levels per location, its ledger, and an adjustment with a reason.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use emporium_core::AppError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InventoryQuery {
    sku: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

/// `GET /admin/inventory`.
pub(crate) async fn page(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<InventoryQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let low = match admin.inventory.low_stock(100).await {
        Ok(low) => low,
        Err(err) => return err.into_response(),
    };
    let low: Vec<Value> = low
        .iter()
        .map(|l| {
            let href = format!(
                "/admin/inventory?{}",
                serde_urlencoded::to_string([("sku", l.sku.as_str())]).unwrap_or_default()
            );
            json!({"sku": l.sku, "href": href, "available": l.available,
                   "threshold": l.threshold, "incoming": l.incoming})
        })
        .collect();
    let sku = q
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from);
    let mut extra = json!({"title": "Inventory", "low_stock": low, "sku": sku.clone().unwrap_or_default(),
                           "done": q.done, "error": q.error,
                           "can_adjust": console.may("inventory.write")});
    if let Some(sku) = &sku {
        match variant(&admin, sku).await {
            Ok(Some(found)) => extra["variant"] = found,
            Ok(None) => extra["missing"] = json!(true),
            Err(err) => return err.into_response(),
        }
    }
    admin
        .render(
            StatusCode::OK,
            "inventory.html",
            console.context("/admin/inventory", extra),
        )
        .into_response()
}

/// A variant's stock as the page shows it, or `None` for an unknown SKU.
async fn variant(admin: &Admin, sku: &str) -> emporium_core::AppResult<Option<Value>> {
    let conn = admin.db.current();
    let Some(id) = emporium_catalog::variant_id_by_sku(conn, sku).await? else {
        return Ok(None);
    };
    let names: HashMap<Uuid, String> = admin
        .inventory
        .list_locations()
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let name = |id: &Uuid| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let levels: Vec<Value> = admin
        .inventory
        .levels(conn, id)
        .await?
        .iter()
        .map(|l| {
            json!({"location": name(&l.location_id), "on_hand": l.on_hand,
                   "reserved": l.reserved, "available": l.on_hand - l.reserved})
        })
        .collect();
    let ledger: Vec<Value> = admin
        .inventory
        .ledger(conn, id, None, 20)
        .await?
        .iter()
        .map(|r| {
            json!({"at": crate::when(r.created_at),
                   "location": name(&r.location_id), "on_hand": r.on_hand_delta,
                   "reserved": r.reserved_delta, "reason": r.reason, "note": r.note})
        })
        .collect();
    let policy = admin.inventory.policy(conn, id).await?;
    let locations: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    Ok(Some(json!({
        "id": id, "sku": sku, "levels": levels, "ledger": ledger, "locations": locations,
        "allow_backorder": policy.as_ref().is_some_and(|p| p.allow_backorder),
        "backorder_limit": policy.as_ref().and_then(|p| p.backorder_limit),
        "threshold": policy.as_ref().and_then(|p| p.low_stock_threshold),
        "restock_on": policy.as_ref().and_then(|p| p.restock_expected_at).map(|t| t.format("%Y-%m-%d").to_string()),
        "incoming": policy.as_ref().map(|p| p.incoming).unwrap_or(0),
    })))
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

/// A whole number typed in a form, or nothing when the field is blank.
fn optional_number(form: &HashMap<String, String>, name: &str) -> Result<Option<i64>, AppError> {
    match field(form, name) {
        "" => Ok(None),
        raw => raw
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid(name, "must be a whole number of units")),
    }
}

fn back_to_variant(form: &HashMap<String, String>, outcome: Result<String, AppError>) -> Response {
    let (key, message) = match outcome {
        Ok(done) => ("done", done),
        Err(err) => ("error", crate::explain(&err)),
    };
    let query =
        serde_urlencoded::to_string([("sku", field(form, "sku").to_string()), (key, message)])
            .unwrap_or_default();
    Redirect::to(&format!("/admin/inventory?{query}")).into_response()
}

/// `POST /admin/inventory/{variant}/policy`: whether it sells beyond stock (and how
/// far), and when it counts as running low.
pub(crate) async fn set_policy(
    State(admin): State<Admin>,
    console: Console,
    Path(variant_id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "inventory.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let allow = field(&form, "allow_backorder") == "on";
        let limit = optional_number(&form, "backorder_limit")?;
        let threshold = optional_number(&form, "threshold")?;
        admin
            .inventory
            .set_policy(variant_id, allow, limit, threshold)
            .await?;
        console
            .audit(
                &admin,
                "admin.inventory.policy",
                ("variant", variant_id.to_string()),
                json!({"allow_backorder": allow, "backorder_limit": limit, "threshold": threshold}),
            )
            .await?;
        Ok("Selling rules saved.".to_string())
    };
    back_to_variant(&form, outcome.await)
}

/// `POST /admin/inventory/{variant}/restock`: when more is expected, and how much.
pub(crate) async fn set_restock(
    State(admin): State<Admin>,
    console: Console,
    Path(variant_id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "inventory.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let expected = match field(&form, "restock_on") {
            "" => None,
            raw => Some(
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
                    .ok_or_else(|| {
                        AppError::invalid("restock_on", "must be a date (2026-12-24)")
                    })?,
            ),
        };
        let incoming = optional_number(&form, "incoming")?.unwrap_or(0);
        admin
            .inventory
            .set_restock(variant_id, expected, incoming)
            .await?;
        console
            .audit(
                &admin,
                "admin.inventory.restock",
                ("variant", variant_id.to_string()),
                json!({"expected_at": expected, "incoming": incoming}),
            )
            .await?;
        Ok("Restock saved.".to_string())
    };
    back_to_variant(&form, outcome.await)
}

/// `GET /admin/inventory/locations`.
pub(crate) async fn locations(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<InventoryQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let list = match admin.inventory.list_locations().await {
        Ok(list) => list,
        Err(err) => return err.into_response(),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|l| {
            json!({"id": l.id, "code": l.code, "name": l.name, "priority": l.priority,
                        "countries": l.countries.join(", ")})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "locations.html",
            console.context(
                "/admin/inventory",
                json!({"title": "Stock locations", "locations": rows, "done": q.done, "error": q.error,
                       "may_write": console.may("inventory.write")}),
            ),
        )
        .into_response()
}

/// `POST /admin/inventory/locations` (a new one) and `.../locations/{id}` (a change).
pub(crate) async fn save_location(
    State(admin): State<Admin>,
    console: Console,
    id: Option<Path<Uuid>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "inventory.write", &form) {
        return page.into_response();
    }
    let id = id.map(|Path(id)| id);
    let outcome = async {
        let priority = match field(&form, "priority") {
            "" => None,
            raw => Some(raw.parse::<i32>().map_err(|_| {
                AppError::invalid("priority", "must be a whole number (lower ships first)")
            })?),
        };
        let body = emporium_inventory::LocationBody {
            code: Some(field(&form, "code").to_string()).filter(|c| !c.is_empty()),
            name: Some(field(&form, "name").to_string()).filter(|n| !n.is_empty()),
            priority,
            countries: Some(
                field(&form, "countries")
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect(),
            ),
        };
        let saved = admin.inventory.save_location(id, body).await?;
        console
            .audit(
                &admin,
                "admin.inventory.location",
                ("location", saved.id.to_string()),
                json!({"code": saved.code, "countries": saved.countries}),
            )
            .await?;
        Ok(format!("{} saved.", saved.name))
    };
    let (key, message) = match outcome.await {
        Ok(done) => ("done", done),
        Err(err) => ("error", crate::explain(&err)),
    };
    let query = serde_urlencoded::to_string([(key, message)]).unwrap_or_default();
    Redirect::to(&format!("/admin/inventory/locations?{query}")).into_response()
}

/// `POST /admin/inventory/{variant}/adjustments`: units added (or, negative, removed)
/// with the reason the ledger keeps.
pub(crate) async fn adjust(
    State(admin): State<Admin>,
    console: Console,
    Path(variant_id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    if let Err(page) = console.authorize_form(&admin, "inventory.write", &form) {
        return page.into_response();
    }
    let outcome = match (field("delta").parse::<i64>(), field("reason")) {
        (Ok(0), _) | (Err(_), _) => Err(AppError::invalid(
            "delta",
            "must be a whole number of units, not zero",
        )),
        (_, "") => Err(AppError::invalid(
            "reason",
            "say why (received, counted, damaged)",
        )),
        (Ok(delta), reason) => {
            let location = field("location").parse::<Uuid>().ok();
            let adjusted = admin
                .inventory
                .adjust(variant_id, location, delta, reason, console.user_id)
                .await;
            match adjusted {
                Ok(()) => console
                    .audit(
                        &admin,
                        "admin.inventory.adjust",
                        ("variant", variant_id.to_string()),
                        json!({"delta": delta, "reason": reason}),
                    )
                    .await
                    .map(|()| format!("Adjusted by {delta}.")),
                Err(err) => Err(err),
            }
        }
    };
    let (key, message) = match outcome {
        Ok(done) => ("done", done),
        Err(err) => ("error", crate::explain(&err)),
    };
    let query = serde_urlencoded::to_string([("sku", field("sku").to_string()), (key, message)])
        .unwrap_or_default();
    Redirect::to(&format!("/admin/inventory?{query}")).into_response()
}
