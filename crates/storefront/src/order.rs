//! A guest's order page, opened from the order confirmation email's link.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use emporium_core::id::OrderId;
use emporium_orders::{OrderView, Viewer};
use emporium_web::Page;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::Storefront;

#[derive(Debug, Deserialize)]
pub(crate) struct OrderQuery {
    #[serde(default)]
    token: String,
}

/// `GET /orders/{id}?token=`: the order, its lines, totals and parcels. Without the
/// right token the page answers 404, the same as for an order that does not exist.
pub(crate) async fn order_page(
    State(sf): State<Storefront>,
    Path(id): Path<String>,
    Query(q): Query<OrderQuery>,
) -> Page {
    let not_found = |sf: &Storefront| {
        sf.notice(
            StatusCode::NOT_FOUND,
            "Order not found",
            "Open the link from your order confirmation email again.",
            "bad",
            None,
        )
    };
    let (Ok(id), false) = (id.parse::<OrderId>(), q.token.is_empty()) else {
        return not_found(&sf);
    };
    match sf.orders.order_for(id, &Viewer::Guest(q.token)).await {
        Ok(order) => sf.page(
            StatusCode::OK,
            "order.html",
            json!({"order": context(&order)}),
        ),
        Err(err) if err.status() == StatusCode::NOT_FOUND => not_found(&sf),
        Err(err) => {
            tracing::warn!(error = %err, "order page failed");
            sf.notice(
                err.status(),
                "Something went wrong",
                "We could not show this order. Please try again in a moment.",
                "bad",
                None,
            )
        }
    }
}

/// The order as the template sees it: money already written out in its currency.
pub(crate) fn context(order: &OrderView) -> Value {
    let words = |s: &str| s.replace('_', " ");
    // Statuses serialize as their API names (`pending_payment`); pages show words.
    let status = |v: Value| v.as_str().map(words).unwrap_or_default();
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            let options = l
                .options
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            json!({"title": l.title, "options": options, "sku": l.sku, "quantity": l.quantity,
                   "unit_price": l.unit_price.to_string(), "total": l.total.to_string()})
        })
        .collect();
    let a = &order.shipping_address;
    let address: Vec<String> = [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(
            [
                a.postal_code.clone(),
                Some(a.city.clone()),
                a.region.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        ),
        Some(a.country.clone()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect();
    let shipments: Vec<Value> = order
        .shipments
        .iter()
        .map(|s| {
            json!({"carrier": s.carrier, "tracking_number": s.tracking_number,
                   "tracking_url": s.tracking_url, "status": words(&s.status)})
        })
        .collect();
    let t = &order.totals;
    json!({
        "number": order.number,
        "status": status(json!(order.status)),
        "payment_status": status(json!(order.payment_status)),
        "fulfillment_status": status(json!(order.fulfillment_status)),
        "placed_at": order.created_at.to_rfc3339(),
        "placed_on": order.created_at.format("%-d %B %Y").to_string(),
        "lines": lines,
        "subtotal": t.subtotal.to_string(),
        "has_discount": t.discount.amount != 0,
        "discount": t.discount.to_string(),
        "shipping": t.shipping.to_string(),
        "tax": t.tax.to_string(),
        "tax_inclusive": order.tax_inclusive,
        "total": t.total.to_string(),
        "address": address,
        "shipments": shipments,
    })
}
