//! The admin console: the shop run from a browser at `/admin`, server-rendered from
//! templates built into the binary (a file of the same name under
//! `<data_dir>/templates/admin/` replaces one). Forms work without JavaScript; every asset
//! is this node's, under the strict Content-Security-Policy of the `web` crate.
//!
//! Staff sign in with their account (password, then the authenticator code when they
//! have two-factor sign-in) and get a server-side session ([`session`]); each page checks
//! the same named permission as the API route it stands for, and the menu shows only
//! what they may open ([`menu`]). Changes go through the domain services with the staff
//! member as the actor, so they are in the audit log like the API's.
//!
//! Owns: `admin_sessions`. May call: `core`, `db`, `auth`, `web`, `accounts` (sign-in, the
//! audit log), `catalog`, `checkout` (tax rates), `orders`, `payments`, `shipping` (zones and methods), `inventory`, `reviews` (moderation). Events: publishes and consumes none itself.

mod audit;
mod bulk;
mod categories;
mod chart;
mod collections;
mod csv;
mod customers;
mod discounts;
mod form;
mod home;
mod integrations;
mod inventory;
pub mod menu;
mod orders;
mod product_edit;
mod products;
mod reports;
mod reviews;
pub mod session;
mod settings;
mod shipping;
mod sign_in;
mod staff;
mod state;
mod tickets;

pub use session::Console;

/// A time as the console shows it.
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What went wrong, in words for a page: each field's problem, or the error's own text.
pub(crate) fn explain(err: &emporium_core::AppError) -> String {
    match err {
        emporium_core::AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
/// Back to `path` after a form, with what happened for the page to say (`done` or
/// `error` in the query; post, redirect, get, so a reload does not post again).
pub(crate) fn after_form(
    path: &str,
    outcome: Result<String, emporium_core::AppError>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (key, message) = match outcome {
        Ok(done) => ("done", done),
        Err(err) => ("error", explain(&err)),
    };
    let query = serde_urlencoded::to_string([(key, message)]).unwrap_or_default();
    let joiner = if path.contains('?') { '&' } else { '?' };
    axum::response::Redirect::to(&format!("{path}{joiner}{query}")).into_response()
}

pub use state::{Admin, Domains};

use axum::Router;
use axum::routing::{get, post};

/// The console's pages.
pub fn router() -> Router<Admin> {
    Router::new()
        .route("/admin", get(home::home))
        .route(
            "/admin/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in),
        )
        .route("/admin/sign-in/code", post(sign_in::sign_in_code))
        .route("/admin/sign-out", post(sign_in::sign_out))
        .route("/admin/audit", get(audit::list))
        .route("/admin/reports", get(reports::page))
        .route("/admin/reports/{file}", get(reports::csv))
        .route("/admin/orders", get(orders::list))
        .route("/admin/tickets", get(tickets::list))
        .route("/admin/tickets/settings", get(tickets::settings))
        .route("/admin/tickets/canned", post(tickets::save_canned))
        .route("/admin/tickets/agents/{id}", post(tickets::save_agent))
        .route("/admin/tickets/sla/{priority}", post(tickets::save_sla))
        .route(
            "/admin/tickets/{id}",
            get(tickets::detail).post(tickets::update),
        )
        .route("/admin/tickets/{id}/messages", post(tickets::message))
        .route("/admin/tickets/{id}/merge", post(tickets::merge))
        .route("/admin/tickets/{id}/live", get(tickets::live))
        .route(
            "/admin/tickets/{id}/attachments/{file}",
            get(tickets::attachment),
        )
        .route("/admin/products", get(products::list))
        .route(
            "/admin/products/new",
            get(product_edit::new_page).post(product_edit::create),
        )
        .route("/admin/products/bulk", get(bulk::page).post(bulk::save))
        .route(
            "/admin/products/import",
            get(csv::import_page)
                .post(csv::import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    emporium_catalog::IMPORT_LIMIT + 64 * 1024,
                )),
        )
        .route("/admin/products/export.csv", get(csv::export))
        .route(
            "/admin/categories",
            get(categories::list).post(categories::create),
        )
        .route(
            "/admin/categories/{id}",
            get(categories::edit_page).post(categories::save),
        )
        .route("/admin/categories/{id}/move", post(categories::move_one))
        .route("/admin/categories/{id}/delete", post(categories::delete))
        .route(
            "/admin/collections",
            get(collections::list).post(collections::create),
        )
        .route(
            "/admin/collections/{id}",
            get(collections::edit_page).post(collections::save),
        )
        .route("/admin/collections/{id}/delete", post(collections::delete))
        .route(
            "/admin/products/{id}",
            get(product_edit::edit_page).post(product_edit::save_details),
        )
        .route(
            "/admin/products/{id}/status",
            post(product_edit::set_status),
        )
        .route(
            "/admin/products/{id}/variants",
            post(product_edit::save_variants),
        )
        // The upload's own reader enforces the media size limit, before and while reading.
        .route(
            "/admin/products/{id}/images",
            post(product_edit::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/admin/products/{id}/images/{image}",
            post(product_edit::image),
        )
        .route("/admin/products/{id}/delete", post(product_edit::delete))
        .route("/admin/inventory", get(inventory::page))
        .route(
            "/admin/inventory/{variant}/adjustments",
            post(inventory::adjust),
        )
        .route(
            "/admin/inventory/{variant}/policy",
            post(inventory::set_policy),
        )
        .route(
            "/admin/inventory/{variant}/restock",
            post(inventory::set_restock),
        )
        .route(
            "/admin/inventory/locations",
            get(inventory::locations).post(inventory::save_location),
        )
        .route(
            "/admin/inventory/locations/{id}",
            post(inventory::save_location),
        )
        .route(
            "/admin/discounts",
            get(discounts::discounts).post(discounts::create_discount),
        )
        .route(
            "/admin/discounts/{id}",
            get(discounts::discount).post(discounts::save_discount),
        )
        .route("/admin/discounts/{id}/codes", post(discounts::add_codes))
        .route("/admin/discounts/{id}/codes.csv", get(discounts::codes_csv))
        .route(
            "/admin/webhooks",
            get(integrations::webhooks).post(integrations::create_webhook),
        )
        .route(
            "/admin/webhooks/{id}",
            get(integrations::webhook).post(integrations::save_webhook),
        )
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}",
            get(integrations::delivery),
        )
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(integrations::redeliver),
        )
        .route(
            "/admin/webhooks/{id}/{action}",
            post(integrations::webhook_action),
        )
        .route(
            "/admin/api-keys",
            get(integrations::api_keys).post(integrations::create_api_key),
        )
        .route(
            "/admin/api-keys/{id}/revoke",
            post(integrations::revoke_api_key),
        )
        .route("/admin/staff", get(staff::list))
        .route("/admin/staff/invite", post(staff::invite))
        .route("/admin/staff/{id}", post(staff::update))
        .route("/admin/shipping", get(shipping::page))
        .route("/admin/shipping/zones", post(shipping::save_zone))
        .route("/admin/shipping/zones/{id}", post(shipping::save_zone))
        .route(
            "/admin/shipping/zones/{id}/delete",
            post(shipping::delete_zone),
        )
        .route(
            "/admin/shipping/zones/{id}/methods",
            post(shipping::add_method),
        )
        .route("/admin/shipping/methods/{id}", post(shipping::save_method))
        .route("/admin/settings", get(settings::page))
        .route("/admin/settings/emails", get(settings::emails))
        .route("/admin/settings/emails/{name}", get(settings::emails))
        .route("/admin/settings/rates/{currency}", post(settings::set_rate))
        .route("/admin/settings/taxes", post(settings::set_tax))
        .route(
            "/admin/settings/taxes/{id}/delete",
            post(settings::delete_tax),
        )
        .route(
            "/admin/settings/gateways/{provider}",
            post(settings::set_gateway),
        )
        .route("/admin/reviews", get(reviews::list))
        .route("/admin/reviews/bulk", post(reviews::bulk))
        .route("/admin/reviews/{id}", get(reviews::detail))
        .route("/admin/reviews/{id}/moderation", post(reviews::moderate))
        .route("/admin/reviews/{id}/reply", post(reviews::reply))
        .route("/admin/customers", get(customers::list))
        .route("/admin/customers/{id}", get(customers::detail))
        .route("/admin/customers/{id}/status", post(customers::set_status))
        .route(
            "/admin/customers/{id}/password-reset",
            post(customers::reset_password),
        )
        .route("/admin/orders/{number}", get(orders::detail))
        .route("/admin/orders/{number}/{document}", get(orders::document))
        .route(
            "/admin/orders/{number}/transition",
            post(orders::transition),
        )
        .route("/admin/orders/{number}/shipments", post(orders::ship))
        .route("/admin/orders/{number}/refunds", post(orders::refund))
}
