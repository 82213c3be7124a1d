//! Customers in the console: search by email or name, and one customer with their orders
//! and lifetime value, where staff suspend or reinstate the account or send a password
//! reset (which also signs out their sessions).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use emporium_accounts::RequestMeta;
use emporium_core::id::CustomerId;
use emporium_core::{AppError, Currency};
use emporium_orders::OrderFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;
use crate::{explain, when};

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct CustomersQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    done: Option<String>,
    error: Option<String>,
}

/// `GET /admin/customers`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<CustomersQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "users.read") {
        return page.into_response();
    }
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
    let (users, next) = match admin
        .accounts
        .list_users(search, Some("customer"), cursor, 50)
        .await
    {
        Ok(page) => page,
        Err(err) => return err.into_response(),
    };
    let rows: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"id": u.id, "email": u.email, "name": u.name, "status": u.status,
                   "verified": u.email_verified_at.is_some(), "created_at": when(u.created_at)})
        })
        .collect();
    let next = next.map(|c| {
        let next = CustomersQuery {
            q: search.map(String::from),
            cursor: Some(c),
        };
        format!(
            "/admin/customers?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    admin
        .render(
            StatusCode::OK,
            "customers.html",
            console.context(
                "/admin/customers",
                json!({"title": "Customers", "rows": rows, "next": next,
                       "q": search.unwrap_or_default()}),
            ),
        )
        .into_response()
}

/// `GET /admin/customers/{id}`.
pub(crate) async fn detail(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(flash): Query<Flash>,
) -> Response {
    if let Err(page) = console.require(&admin, "users.read") {
        return page.into_response();
    }
    let user = match admin.accounts.get_user(id).await {
        Ok(user) => user,
        Err(err) => return err.into_response(),
    };
    let mut extra = json!({
        "title": user.email,
        "customer": {"id": user.id, "email": user.email, "name": user.name, "phone": user.phone,
                     "status": user.status, "verified": user.email_verified_at.is_some(),
                     "mfa": user.totp_enabled_at.is_some(), "created_at": when(user.created_at),
                     "last_login_at": user.last_login_at.map(when)},
        "can_manage": console.may("users.manage"),
        "done": flash.done, "error": flash.error,
    });
    if console.may("orders.read") {
        let currency =
            Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD);
        let filter = OrderFilter {
            customer_id: Some(id),
            ..OrderFilter::default()
        };
        let orders = admin.orders.admin_orders(filter, None, 20).await;
        let value = admin.orders.customer_value(CustomerId(id), currency).await;
        match (orders, value) {
            (Ok(page), Ok((count, total))) => {
                extra["orders"] = json!(
                    page.data
                        .iter()
                        .map(|o| json!({"number": o.number, "status": o.status,
                                        "total": o.total.to_string(), "created_at": when(o.created_at)}))
                        .collect::<Vec<_>>()
                );
                extra["value"] = json!({"count": count, "total": total.to_string()});
            }
            (Err(err), _) | (_, Err(err)) => return err.into_response(),
        }
    }
    let book = admin.accounts.addresses_of(id).await;
    let carts = admin.checkout.customer_carts(id, 5).await;
    match (book, carts) {
        (Ok(book), Ok(carts)) => {
            extra["addresses"] = json!(
                book.iter()
                    .map(|a| {
                        let lines = [
                            Some(a.address.name.clone()),
                            Some(a.address.line1.clone()),
                            a.address.line2.clone(),
                            Some(format!(
                                "{} {}",
                                a.address.postal_code.clone().unwrap_or_default(),
                                a.address.city
                            )),
                            a.address.region.clone(),
                            Some(a.address.country.clone()),
                        ];
                        json!({"label": a.label, "lines": lines.into_iter().flatten().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>(),
                               "shipping": a.default_shipping, "billing": a.default_billing})
                    })
                    .collect::<Vec<_>>()
            );
            extra["carts"] = json!(
                carts
                    .iter()
                    .map(|c| json!({"units": c.units, "currency": c.currency,
                                    "updated_at": when(c.updated_at)}))
                    .collect::<Vec<_>>()
            );
        }
        (Err(err), _) | (_, Err(err)) => return err.into_response(),
    }
    admin
        .render(
            StatusCode::OK,
            "customer.html",
            console.context("/admin/customers", extra),
        )
        .into_response()
}

fn back_to(id: Uuid, outcome: Result<&str, AppError>) -> Response {
    let pair = match outcome {
        Ok(done) => ("done", done.to_string()),
        Err(err) => ("error", explain(&err)),
    };
    let query = serde_urlencoded::to_string([pair]).unwrap_or_default();
    Redirect::to(&format!("/admin/customers/{id}?{query}")).into_response()
}

pub(crate) fn meta(console: &Console) -> RequestMeta {
    RequestMeta {
        ip: console.ip.clone(),
        user_agent: None,
    }
}

/// `POST /admin/customers/{id}/status`: `suspended=true` or `false`.
pub(crate) async fn set_status(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "users.manage", &form) {
        return page.into_response();
    }
    let suspend = form.get("suspended").is_some_and(|v| v == "true");
    let outcome = admin
        .accounts
        .set_suspended(console.user_id, id, suspend, &meta(&console))
        .await
        .map(|_| {
            if suspend {
                "Suspended: they cannot sign in, and their sessions are closed."
            } else {
                "Reinstated."
            }
        });
    back_to(id, outcome)
}

/// `POST /admin/customers/{id}/password-reset`.
pub(crate) async fn reset_password(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "users.manage", &form) {
        return page.into_response();
    }
    let outcome = admin
        .accounts
        .force_password_reset(console.user_id, id, &meta(&console))
        .await
        .map(|()| "A password reset link was emailed, and their sessions are closed.");
    back_to(id, outcome)
}
