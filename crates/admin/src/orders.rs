//! Orders in the console: the list with filters kept in the URL (bookmarkable, and kept
//! when coming back from an order), keyset pages, and one order with its lines, money,
//! parcels and timeline, where staff move it, ship some or all of it, and refund lines.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use emporium_core::AppError;
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::id::OrderId;
use emporium_core::order_line::LineQuantity;
use emporium_orders::{
    FulfillmentStatus, OrderFilter, OrderStatus, OrderView, PaymentStatus, TransitionDetail, Viewer,
};
use emporium_payments::RefundBody;
use emporium_shipping::ShipmentBody;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;
use crate::{explain, when};

/// How many orders a list page shows.
const PAGE: u32 = 50;

/// The list's filters, as the URL carries them.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fulfillment_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// A flash message after an action, carried in the URL of the page it lands on.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DetailQuery {
    done: Option<String>,
    error: Option<String>,
    /// The list's query, to go back to the same filtered page.
    back: Option<String>,
}

fn blank_to_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /admin/orders`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "orders.read") {
        return page.into_response();
    }
    let filter = OrderFilter {
        q: blank_to_none(&q.q).map(String::from),
        status: blank_to_none(&q.status).and_then(OrderStatus::parse),
        payment_status: blank_to_none(&q.payment_status).and_then(PaymentStatus::parse),
        fulfillment_status: blank_to_none(&q.fulfillment_status).and_then(FulfillmentStatus::parse),
        ..OrderFilter::default()
    };
    let cursor = blank_to_none(&q.cursor).and_then(|c| c.parse::<i64>().ok());
    let page = match admin.orders.admin_orders(filter, cursor, PAGE).await {
        Ok(page) => page,
        Err(err) => return err.into_response(),
    };
    let this = ListQuery { cursor: None, ..q };
    let back = serde_urlencoded::to_string(&this).unwrap_or_default();
    let next = page.next_cursor.as_ref().map(|c| {
        let next = ListQuery {
            cursor: Some(c.clone()),
            q: this.q.clone(),
            status: this.status.clone(),
            payment_status: this.payment_status.clone(),
            fulfillment_status: this.fulfillment_status.clone(),
        };
        format!(
            "/admin/orders?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let back_param = serde_urlencoded::to_string([("back", back.as_str())]).unwrap_or_default();
    let rows: Vec<Value> = page
        .data
        .iter()
        .map(|o| {
            json!({
                "number": o.number,
                "href": format!("/admin/orders/{}?{back_param}", o.number),
                "email": o.email,
                "status": o.status,
                "payment_status": o.payment_status,
                "fulfillment_status": o.fulfillment_status,
                "total": o.total.to_string(),
                "backordered": o.backordered,
                "created_at": when(o.created_at),
            })
        })
        .collect();
    let statuses: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    admin
        .render(
            StatusCode::OK,
            "orders.html",
            console.context(
                "/admin/orders",
                json!({
                    "title": "Orders",
                    "rows": rows,
                    "next": next,
                    "filter": this,
                    "statuses": statuses,
                    "payment_statuses": ["unpaid", "paid", "partially_refunded", "refunded"],
                    "fulfillment_statuses": ["unfulfilled", "partially_shipped", "shipped", "delivered", "returned"],
                }),
            ),
        )
        .into_response()
}

/// An order named in a console path by its number (`1001`) or its id.
async fn order_id(admin: &Admin, raw: &str) -> Result<OrderId, Response> {
    admin
        .orders
        .resolve(raw)
        .await
        .map_err(IntoResponse::into_response)
}

/// Units of each line already in a parcel, and already refunded.
fn line_counts(order: &OrderView, refunds: &[emporium_payments::RefundView]) -> Vec<Value> {
    let mut shipped: HashMap<Uuid, i32> = HashMap::new();
    for s in &order.shipments {
        for l in &s.lines {
            *shipped.entry(l.line_id).or_default() += l.quantity;
        }
    }
    let mut refunded: HashMap<Uuid, i32> = HashMap::new();
    for r in refunds.iter().filter(|r| r.status != "failed") {
        for l in &r.lines {
            *refunded.entry(l.line_id).or_default() += l.quantity;
        }
    }
    order
        .lines
        .iter()
        .map(|l| {
            let options: Vec<String> = l.options.values().cloned().collect();
            let shipped = shipped.get(&l.id).copied().unwrap_or(0);
            let refunded = refunded.get(&l.id).copied().unwrap_or(0);
            json!({
                "id": l.id, "sku": l.sku, "title": l.title, "options": options.join(", "),
                "quantity": l.quantity, "unit_price": l.unit_price.to_string(),
                "total": l.total.to_string(), "shipped": shipped,
                "to_ship": l.quantity - shipped, "refunded": refunded,
                "to_refund": l.quantity - refunded, "backordered": l.backordered,
            })
        })
        .collect()
}

/// `GET /admin/orders/{number}`.
pub(crate) async fn detail(
    State(admin): State<Admin>,
    console: Console,
    Path(raw): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "orders.read") {
        return page.into_response();
    }
    let id = match order_id(&admin, &raw).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let (order, money) = match order_and_money(&admin, id).await {
        Ok(both) => both,
        Err(err) => return err.into_response(),
    };
    let lines = line_counts(&order, &money.refunds);
    let moves: Vec<&str> = OrderStatus::ALL
        .into_iter()
        .filter(|to| order.status.can_transition_to(*to) && !to.needs_refund())
        .map(|s| s.as_str())
        .collect();
    let payments: Vec<Value> = money
        .payments
        .iter()
        .map(|p| {
            json!({"provider": p.provider, "status": p.status, "amount": p.amount.to_string(),
                   "captured": p.captured.to_string(), "refunded": p.refunded.to_string(),
                   "failure": p.failure, "created_at": when(p.created_at)})
        })
        .collect();
    let refunds: Vec<Value> = money
        .refunds
        .iter()
        .map(|r| {
            json!({"amount": r.amount.to_string(), "status": r.status, "reason": r.reason,
                   "restock": r.restock, "created_at": when(r.created_at)})
        })
        .collect();
    let shipments: Vec<Value> = order
        .shipments
        .iter()
        .map(|s| {
            let units: i32 = s.lines.iter().map(|l| l.quantity).sum();
            json!({"carrier": s.carrier, "tracking_number": s.tracking_number,
                   "tracking_url": s.tracking_url, "status": s.status, "units": units,
                   "created_at": when(s.created_at)})
        })
        .collect();
    let events: Vec<Value> = order
        .events
        .iter()
        .rev()
        .map(|e| json!({"from": e.from, "to": e.to, "reason": e.reason, "at": when(e.created_at)}))
        .collect();
    let back = q
        .back
        .as_deref()
        .map(|b| format!("/admin/orders?{b}"))
        .unwrap_or_else(|| "/admin/orders".into());
    let a = &order.shipping_address;
    let address = [
        a.name.as_str(),
        a.line1.as_str(),
        a.line2.as_deref().unwrap_or(""),
        &format!("{} {}", a.postal_code.as_deref().unwrap_or(""), a.city),
        a.region.as_deref().unwrap_or(""),
        a.country.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.trim().is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    admin
        .render(
            StatusCode::OK,
            "order.html",
            console.context(
                "/admin/orders",
                json!({
                    "title": format!("Order #{}", order.number),
                    "order": {
                        "number": order.number, "status": order.status,
                        "payment_status": order.payment_status,
                        "fulfillment_status": order.fulfillment_status,
                        "email": order.email, "created_at": when(order.created_at),
                        "subtotal": order.totals.subtotal.to_string(),
                        "discount": (order.totals.discount.amount != 0).then(|| order.totals.discount.to_string()),
                        "shipping": order.totals.shipping.to_string(),
                        "tax": order.totals.tax.to_string(),
                        "total": order.totals.total.to_string(),
                        "tax_inclusive": order.tax_inclusive,
                        "address": address,
                        "shipping_option": order.shipping_option,
                        "payment_provider": order.payment_provider,
                    },
                    "lines": lines, "payments": payments, "refunds": refunds,
                    "shipments": shipments, "events": events, "moves": moves,
                    "can_write": console.may("orders.write"),
                    "can_refund": console.may("orders.refund"),
                    "can_ship": matches!(order.status, OrderStatus::Paid | OrderStatus::Processing),
                    "refund_key": random_token(16),
                    "done": q.done, "error": q.error, "back": back,
                    "back_query": q.back.unwrap_or_default(),
                }),
            ),
        )
        .into_response()
}

async fn order_and_money(
    admin: &Admin,
    id: OrderId,
) -> emporium_core::AppResult<(OrderView, emporium_payments::OrderPaymentsView)> {
    let order = admin.orders.order_for(id, &Viewer::Staff).await?;
    let money = admin.payments.order_payments(id).await?;
    Ok((order, money))
}

/// `GET /admin/orders/{number}/packing-slip` and `/invoice`: a page made for printing
/// (the browser's print stylesheet drops the menu): the packing slip lists what goes in
/// the box, the invoice adds prices, tax and totals.
pub(crate) async fn document(
    State(admin): State<Admin>,
    console: Console,
    Path((raw, kind)): Path<(String, String)>,
) -> Response {
    if let Err(page) = console.require(&admin, "orders.read") {
        return page.into_response();
    }
    let invoice = match kind.as_str() {
        "invoice" => true,
        "packing-slip" => false,
        _ => return AppError::not_found("no such document").into_response(),
    };
    let id = match order_id(&admin, &raw).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let order = match admin.orders.order_for(id, &Viewer::Staff).await {
        Ok(order) => order,
        Err(err) => return err.into_response(),
    };
    let a = &order.shipping_address;
    let address: Vec<String> = [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(format!(
            "{} {}",
            a.postal_code.as_deref().unwrap_or(""),
            a.city
        )),
        a.region.clone(),
        Some(a.country.clone()),
        a.phone.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|l| l.trim().to_string())
    .filter(|l| !l.is_empty())
    .collect();
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            let options: Vec<String> = l.options.values().cloned().collect();
            json!({"sku": l.sku, "title": l.title, "options": options.join(", "),
                   "quantity": l.quantity, "unit_price": l.unit_price.to_string(),
                   "tax": l.tax.to_string(), "total": l.total.to_string()})
        })
        .collect();
    let title = if invoice {
        format!("Invoice for order #{}", order.number)
    } else {
        format!("Packing slip for order #{}", order.number)
    };
    admin
        .render(
            StatusCode::OK,
            "document.html",
            console.context(
                "/admin/orders",
                json!({
                    "title": title, "invoice": invoice, "lines": lines, "address": address,
                    "order": {
                        "number": order.number, "created_at": when(order.created_at),
                        "email": order.email,
                        "subtotal": order.totals.subtotal.to_string(),
                        "discount": (order.totals.discount.amount != 0).then(|| order.totals.discount.to_string()),
                        "shipping": order.totals.shipping.to_string(),
                        "tax": order.totals.tax.to_string(),
                        "total": order.totals.total.to_string(),
                        "tax_inclusive": order.tax_inclusive,
                    },
                }),
            ),
        )
        .into_response()
}

/// Back to the order's page, saying what happened, with the list's filters kept for its
/// way back.
fn back_to(
    number: &str,
    form: &HashMap<String, String>,
    outcome: Result<String, AppError>,
) -> Response {
    let (key, message) = match outcome {
        Ok(done) => ("done", done),
        Err(err) => ("error", explain(&err)),
    };
    let mut pairs = vec![(key, message)];
    if let Some(back) = form.get("back").filter(|b| !b.is_empty()) {
        pairs.push(("back", back.clone()));
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    Redirect::to(&format!("/admin/orders/{number}?{query}")).into_response()
}

/// The units per line a form names (`qty_<line id>` fields), leaving out empty ones.
fn quantities(form: &HashMap<String, String>) -> Result<Vec<LineQuantity>, AppError> {
    let mut lines = Vec::new();
    for (key, value) in form {
        let Some(id) = key.strip_prefix("qty_") else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() || value == "0" {
            continue;
        }
        let (Ok(line_id), Ok(quantity)) = (id.parse::<Uuid>(), value.parse::<i32>()) else {
            return Err(AppError::invalid("quantity", "must be a whole number"));
        };
        lines.push(LineQuantity { line_id, quantity });
    }
    lines.sort_by_key(|l| l.line_id);
    Ok(lines)
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

/// The checks every action starts with: the permission, the CSRF token, the order.
async fn action(
    admin: &Admin,
    console: &Console,
    permission: &str,
    form: &HashMap<String, String>,
    raw: &str,
) -> Result<OrderId, Response> {
    console
        .authorize_form(admin, permission, form)
        .map_err(IntoResponse::into_response)?;
    order_id(admin, raw).await
}

/// [`action`], and the units per line the form names.
async fn action_on_lines(
    admin: &Admin,
    console: &Console,
    permission: &str,
    form: &HashMap<String, String>,
    raw: &str,
) -> Result<(OrderId, Vec<LineQuantity>), Response> {
    let id = action(admin, console, permission, form, raw).await?;
    let lines = quantities(form).map_err(|err| back_to(raw, form, Err(err)))?;
    Ok((id, lines))
}

/// `POST /admin/orders/{number}/transition`.
pub(crate) async fn transition(
    State(admin): State<Admin>,
    console: Console,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match action(&admin, &console, "orders.write", &form, &raw).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Some(to) = OrderStatus::parse(field(&form, "to")).filter(|to| !to.needs_refund()) else {
        return back_to(&raw, &form, Err(AppError::invalid("to", "choose a status")));
    };
    let reason = Some(field(&form, "reason").to_string()).filter(|r| !r.is_empty());
    let outcome = admin
        .orders
        .transition(
            id,
            to,
            &console.actor(),
            TransitionDetail {
                reason,
                ..TransitionDetail::default()
            },
        )
        .await
        .map(|_| format!("The order is now {}.", to.as_str().replace('_', " ")));
    admin.figures.clear();
    back_to(&raw, &form, outcome)
}

/// `POST /admin/orders/{number}/shipments`: the units typed per line, or everything left
/// when none are.
pub(crate) async fn ship(
    State(admin): State<Admin>,
    console: Console,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, lines) = match action_on_lines(&admin, &console, "orders.write", &form, &raw).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let body = ShipmentBody {
        carrier: field(&form, "carrier").to_string(),
        tracking_number: field(&form, "tracking_number").to_string(),
        lines: (!lines.is_empty()).then_some(lines),
    };
    let outcome = match admin.orders.create_shipment(id, body, &console.actor()).await {
        Ok(s) => console
            .audit(
                &admin,
                "admin.order.ship",
                ("order", id.to_string()),
                json!({"shipment_id": s.id, "carrier": s.carrier, "tracking_number": s.tracking_number}),
            )
            .await
            .map(|()| format!("Shipped with {} ({}).", s.carrier, s.tracking_number)),
        Err(err) => Err(err),
    };
    admin.figures.clear();
    back_to(&raw, &form, outcome)
}

/// `POST /admin/orders/{number}/refunds`: the units typed per line (with their share of
/// shipping when asked), or an amount. The form's key makes a double submit refund once.
pub(crate) async fn refund(
    State(admin): State<Admin>,
    console: Console,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, lines) = match action_on_lines(&admin, &console, "orders.refund", &form, &raw).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let amount = match field(&form, "amount") {
        "" => None,
        text => {
            let currency = match admin.orders.find(admin.db.current(), id).await {
                Ok(order) => emporium_core::Currency::parse(&order.currency),
                Err(err) => return back_to(&raw, &form, Err(err)),
            };
            match currency.and_then(|c| emporium_core::from_decimal(text, c)) {
                Some(a) => Some(a),
                None => {
                    return back_to(
                        &raw,
                        &form,
                        Err(AppError::invalid(
                            "amount",
                            "must be an amount such as 12.50",
                        )),
                    );
                }
            }
        }
    };
    let body = RefundBody {
        amount,
        lines,
        restock: form.contains_key("restock"),
        include_shipping: form.contains_key("include_shipping"),
        reason: Some(field(&form, "reason").to_string()).filter(|r| !r.is_empty()),
    };
    let key = match field(&form, "key") {
        "" => random_token(16),
        k => k.to_string(),
    };
    let hash = token_hash(&format!(
        "{:?}|{:?}|{}|{}|{:?}",
        body.amount, body.lines, body.restock, body.include_shipping, body.reason
    ));
    let outcome = admin
        .payments
        .refund(id, body, &console.actor(), &format!("console:{key}"), &hash)
        .await
        .map(|_| "Refunded.".to_string());
    admin.figures.clear();
    back_to(&raw, &form, outcome)
}
