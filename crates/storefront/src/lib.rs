//! The storefront: HTML pages at `/`, rendered on the server from templates built into
//! the binary (a file of the same name under `<data_dir>/templates/store/` replaces
//! one). Pages call the domain services directly, never this node's HTTP API.
//!
//! Today it serves what emails link to: `/account/verify-email`,
//! `/account/reset-password` (and `/account/forgot-password` to ask again),
//! `/account/confirm-email`, and a guest's order page `/orders/{id}?token=`. Each works
//! without JavaScript.
//!
//! Owns: no table. May call: `accounts`, `checkout`, `web`, `core`.
//! Events: none.

mod account;
mod order;
mod state;

pub use state::Storefront;

use axum::Router;
use axum::routing::get;

/// The storefront's pages and the assets they use.
pub fn router() -> Router<Storefront> {
    Router::new()
        .route(
            "/account/verify-email",
            get(account::verify_email_page).post(account::verify_email),
        )
        .route(
            "/account/confirm-email",
            get(account::confirm_email_page).post(account::confirm_email),
        )
        .route(
            "/account/reset-password",
            get(account::reset_password_page).post(account::reset_password),
        )
        .route(
            "/account/forgot-password",
            get(account::forgot_password_page).post(account::forgot_password),
        )
        .route("/orders/{id}", get(order::order_page))
        .route("/assets/{file}", get(emporium_web::assets::serve))
}
