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
    Ok(Some(
        json!({"id": id, "sku": sku, "levels": levels, "ledger": ledger}),
    ))
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
            let adjusted = admin
                .inventory
                .adjust(variant_id, None, delta, reason, console.user_id)
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
