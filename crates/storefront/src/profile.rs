//! The signed-in shopper's pages: their account (orders, saved addresses), one of their
//! orders, and adding or removing an address. Without a session each sends to sign-in
//! and back.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use emporium_accounts::AddressBody;
use emporium_core::id::{CustomerId, OrderId};
use emporium_orders::Viewer;
use serde::Deserialize;
use serde_json::{Map, json};
use uuid::Uuid;

use crate::cart::{cross_site, explain, refused, see_other};
use crate::session::Shopper;
use crate::state::Storefront;

async fn signed_in(sf: &Storefront, headers: &HeaderMap, here: &str) -> Result<Shopper, Response> {
    match sf.shopper(headers).await {
        Some(shopper) => Ok(shopper),
        None => {
            let query = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
            Err(see_other(&format!("/account/sign-in?{query}")))
        }
    }
}

/// `GET /account`: orders and saved addresses.
pub(crate) async fn account_page(State(sf): State<Storefront>, headers: HeaderMap) -> Response {
    let shopper = match signed_in(&sf, &headers, "/account").await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    account(&sf, &shopper, StatusCode::OK, None).await
}

async fn account(
    sf: &Storefront,
    shopper: &Shopper,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let orders = sf
        .orders
        .customer_orders(CustomerId(shopper.user_id), None, 50)
        .await;
    let addresses = sf.accounts.addresses_of(shopper.user_id).await;
    let (orders, addresses) = match (orders, addresses) {
        (Ok(o), Ok(a)) => (o, a),
        (Err(err), _) | (_, Err(err)) => return err.into_response(),
    };
    let mut context = Map::new();
    context.insert("email".into(), json!(shopper.email));
    context.insert("verified".into(), json!(shopper.email_verified));
    context.insert(
        "orders".into(),
        json!(
            orders
                .data
                .iter()
                .map(|o| json!({
                    "id": o.id, "number": o.number, "status": json!(o.status).as_str().unwrap_or_default().replace('_', " "),
                    "total": o.total.to_string(), "placed_on": o.created_at.format("%-d %B %Y").to_string(),
                }))
                .collect::<Vec<_>>()
        ),
    );
    let addresses: Vec<_> = addresses
        .iter()
        .map(|a| {
            let place = format!(
                "{} {}",
                a.address.postal_code.clone().unwrap_or_default(),
                a.address.city
            );
            let lines: Vec<String> = [
                Some(a.address.name.clone()),
                Some(a.address.line1.clone()),
                a.address.line2.clone(),
                Some(place),
                Some(a.address.country.clone()),
            ]
            .into_iter()
            .flatten()
            .filter(|l| !l.trim().is_empty())
            .collect();
            json!({"id": a.id, "label": a.label, "default_shipping": a.default_shipping, "lines": lines})
        })
        .collect();
    context.insert("addresses".into(), json!(addresses));
    context.insert("error".into(), json!(error));
    context.insert("countries".into(), crate::cart::countries());
    sf.private(status, "account.html", context, None)
}

/// `GET /account/orders/{id}`: one of the shopper's orders.
pub(crate) async fn order_page(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let shopper = match signed_in(&sf, &headers, &format!("/account/orders/{id}")).await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    let Ok(order_id) = id.parse::<OrderId>() else {
        return sf.missing(None, "We could not find that order.");
    };
    match sf
        .orders
        .order_for(order_id, &Viewer::Customer(CustomerId(shopper.user_id)))
        .await
    {
        Ok(order) => sf
            .page(
                StatusCode::OK,
                "order.html",
                json!({"order": crate::order::context(&order), "account": true}),
            )
            .into_response(),
        Err(_) => sf.missing(None, "We could not find that order."),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AddressForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    default_shipping: Option<String>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `POST /account/addresses`: saves an address to the book.
pub(crate) async fn add_address(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(f): Form<AddressForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let shopper = match signed_in(&sf, &headers, "/account").await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    let body = AddressBody {
        label: some(&f.label),
        default_shipping: Some(f.default_shipping.is_some()),
        default_billing: None,
        name: Some(f.name.clone()),
        line1: Some(f.line1.clone()),
        line2: some(&f.line2),
        city: Some(f.city.clone()),
        region: some(&f.region),
        postal_code: some(&f.postal_code),
        country: Some(f.country.trim().to_uppercase()),
        phone: None,
    };
    match sf.accounts.save_address(shopper.user_id, None, body).await {
        Ok(_) => see_other("/account#addresses"),
        Err(err) => account(&sf, &shopper, err.status(), Some(explain(&err))).await,
    }
}

/// `POST /account/addresses/{id}/delete`.
pub(crate) async fn delete_address(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let shopper = match signed_in(&sf, &headers, "/account").await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    if let Err(err) = sf.accounts.delete_address(shopper.user_id, id).await {
        tracing::debug!(error = %err, "deleting an address");
    }
    see_other("/account#addresses")
}
