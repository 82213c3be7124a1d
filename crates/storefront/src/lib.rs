//! The storefront: HTML pages at `/`, rendered on the server from templates built into
//! the binary (a file of the same name under `<data_dir>/templates/store/` replaces
//! one). Pages call the domain services directly, never this node's HTTP API.
//!
//! The shop: home, category, product and search pages in every configured language (the
//! default at `/`, the others under `/{lang}/`) and currency (`?currency=`), with titles,
//! descriptions, canonical URLs, hreflang alternates, OpenGraph and JSON-LD; the cart
//! (a cookie holding the guest cart's id and token) and checkout through the manual
//! provider's payment page to the order's page; `/robots.txt`, the sitemaps and the product
//! feeds for Google and Meta (`feeds.rs`). Also what
//! emails link to: `/account/verify-email`, `/account/reset-password` (and
//! `/account/forgot-password` to ask again), `/account/confirm-email`, and a guest's order
//! page `/orders/{id}?token=`; reviews: a product's summary and newest reviews on its
//! page, every review with sorts and filters, helpful votes and reports, and the review
//! form and opt-out that review-request emails open. Everything works without JavaScript.
//!
//! Shoppers sign in (with their second factor), register and sign out here, with a
//! server-side session (`session.rs`); signed in, the cart is their account's (a guest
//! cart joins it at sign-in) and `/account` lists their orders and saved addresses.
//!
//! Owns: `shop_sessions`. May call: `accounts`, `catalog`, `checkout`, `orders`, `reviews`, `search`,
//! `web`, `core`. Events: none.

mod account;
mod alerts;
mod cart;
mod feeds;
mod order;
mod profile;
mod reviews;
mod seo;
mod session;
mod shop;
mod signin;
mod state;
mod support;
mod text;
mod visit;

pub use state::{Domains, Storefront};

use axum::Router;
use axum::routing::{get, post};

/// The storefront's pages and the assets they use.
pub fn router() -> Router<Storefront> {
    Router::new()
        .route("/", get(shop::home))
        .route("/{lang}", get(shop::home))
        .route("/{lang}/", get(shop::home))
        .route("/products/{slug}", get(shop::product))
        .route("/{lang}/products/{slug}", get(shop::product))
        .route("/categories/{slug}", get(shop::category))
        .route("/{lang}/categories/{slug}", get(shop::category))
        .route("/collections/{slug}", get(shop::collection))
        .route("/{lang}/collections/{slug}", get(shop::collection))
        .route("/search", get(shop::search))
        .route("/{lang}/search", get(shop::search))
        .route("/cart", get(cart::cart_page))
        .route("/cart/items", post(cart::add_item))
        .route("/cart/lines/{id}/remove", post(cart::remove_line))
        .route("/cart/coupons", post(cart::apply_coupon))
        .route("/cart/coupons/{code}/remove", post(cart::remove_coupon))
        .route("/checkout", get(cart::checkout).post(cart::place))
        .route("/stock-notifications", post(alerts::back_in_stock))
        .route("/support", get(support::page).post(support::open))
        .route("/support/tickets/{id}", get(support::ticket))
        .route("/support/tickets/{id}/messages", post(support::reply))
        .route("/products/{slug}/reviews", get(reviews::reviews_page))
        .route(
            "/{lang}/products/{slug}/reviews",
            get(reviews::reviews_page),
        )
        .route("/reviews/{id}/vote", post(reviews::vote))
        .route("/reviews/{id}/report", post(reviews::report))
        .route(
            "/reviews/write",
            get(reviews::write_page).post(reviews::write),
        )
        .route(
            "/reviews/unsubscribe",
            get(reviews::unsubscribe_page).post(reviews::unsubscribe),
        )
        .route("/robots.txt", get(seo::robots))
        .route("/sitemap.xml", get(seo::index))
        .route("/sitemaps/{file}", get(seo::child))
        .route("/feeds/google/{file}", get(feeds::google))
        .route("/feeds/meta/{file}", get(feeds::meta))
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
        .route(
            "/account/sign-in",
            get(signin::sign_in_page).post(signin::sign_in),
        )
        .route("/account/sign-in/code", post(signin::sign_in_code))
        .route(
            "/account/register",
            get(signin::register_page).post(signin::register),
        )
        .route("/account/sign-out", post(signin::sign_out))
        .route("/account", get(profile::account_page))
        .route("/account/orders/{id}", get(profile::order_page))
        .route("/account/addresses", post(profile::add_address))
        .route(
            "/account/addresses/{id}/delete",
            post(profile::delete_address),
        )
        .route("/assets/{file}", get(emporium_web::assets::serve))
}
