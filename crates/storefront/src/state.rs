//! What the storefront's pages reach: their templates and the services they call.

use axum::http::StatusCode;
use emporium_accounts::Accounts;
use emporium_catalog::Catalog;
use emporium_checkout::Checkout;
use emporium_core::Config;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use emporium_search::Search;
use emporium_web::{Page, Pages, TemplateSet};
use serde_json::json;
use std::sync::Arc;

const TEMPLATES: TemplateSet = &[
    ("base.html", include_str!("../templates/base.html")),
    ("notice.html", include_str!("../templates/notice.html")),
    (
        "account_verify_email.html",
        include_str!("../templates/account_verify_email.html"),
    ),
    (
        "account_confirm_email.html",
        include_str!("../templates/account_confirm_email.html"),
    ),
    (
        "account_reset_password.html",
        include_str!("../templates/account_reset_password.html"),
    ),
    (
        "account_forgot_password.html",
        include_str!("../templates/account_forgot_password.html"),
    ),
    ("order.html", include_str!("../templates/order.html")),
    (
        "product_card.html",
        include_str!("../templates/product_card.html"),
    ),
    ("home.html", include_str!("../templates/home.html")),
    ("product.html", include_str!("../templates/product.html")),
    ("listing.html", include_str!("../templates/listing.html")),
    ("cart.html", include_str!("../templates/cart.html")),
    ("checkout.html", include_str!("../templates/checkout.html")),
    (
        "not_found.html",
        include_str!("../templates/not_found.html"),
    ),
    ("seo_head.html", include_str!("../templates/seo_head.html")),
    (
        "account_sign_in.html",
        include_str!("../templates/account_sign_in.html"),
    ),
    (
        "account_register.html",
        include_str!("../templates/account_register.html"),
    ),
    ("account.html", include_str!("../templates/account.html")),
    (
        "review_summary.html",
        include_str!("../templates/review_summary.html"),
    ),
    (
        "review_item.html",
        include_str!("../templates/review_item.html"),
    ),
    ("reviews.html", include_str!("../templates/reviews.html")),
    (
        "review_write.html",
        include_str!("../templates/review_write.html"),
    ),
    ("support.html", include_str!("../templates/support.html")),
    (
        "support_ticket.html",
        include_str!("../templates/support_ticket.html"),
    ),
    (
        "review_unsubscribe.html",
        include_str!("../templates/review_unsubscribe.html"),
    ),
];

/// The domains the shop's pages call.
#[derive(Clone)]
pub struct Domains {
    pub db: emporium_db::Db,
    pub auth: emporium_auth::Auth,
    pub accounts: Accounts,
    pub orders: Orders,
    pub catalog: Catalog,
    pub checkout: Checkout,
    pub inventory: Inventory,
    pub search: Search,
    pub reviews: emporium_reviews::Reviews,
    pub analytics: emporium_analytics::Analytics,
    pub support: emporium_support::Support,
}

/// The storefront's state.
#[derive(Clone)]
pub struct Storefront {
    pub(crate) pages: Pages,
    pub(crate) db: emporium_db::Db,
    pub(crate) auth: emporium_auth::Auth,
    pub(crate) accounts: Accounts,
    pub(crate) orders: Orders,
    pub(crate) catalog: Catalog,
    pub(crate) checkout: Checkout,
    pub(crate) inventory: Inventory,
    pub(crate) search: Search,
    pub(crate) reviews: emporium_reviews::Reviews,
    pub(crate) analytics: emporium_analytics::Analytics,
    pub(crate) support: emporium_support::Support,
    pub(crate) config: Arc<Config>,
}

impl Storefront {
    pub fn new(config: Arc<Config>, domains: Domains) -> Self {
        let globals = [
            ("shop", config.shop_name().into()),
            (
                "shop_url",
                emporium_web::templates::url_value(&format!("{}/", config.store_url())),
            ),
        ];
        Self {
            pages: Pages::new(TEMPLATES, &config.data_dir, "store", &globals),
            db: domains.db,
            auth: domains.auth,
            accounts: domains.accounts,
            orders: domains.orders,
            catalog: domains.catalog,
            checkout: domains.checkout,
            inventory: domains.inventory,
            search: domains.search,
            reviews: domains.reviews,
            analytics: domains.analytics,
            support: domains.support,
            config,
        }
    }

    /// Renders a private page (no cache, no index): every page here carries a secret
    /// in its URL or someone's personal data.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        template: &str,
        context: serde_json::Value,
    ) -> Page {
        // Every page has the shop's header, which reads the language and currency.
        let mut context = context;
        if let (Some(map), Some(ctx)) = (context.as_object_mut(), self.ctx(None, None)) {
            for (key, value) in self.base(&ctx) {
                map.entry(key).or_insert(value);
            }
            map.insert("noindex".into(), serde_json::Value::Bool(true));
        }
        self.pages.private_page(status, template, &context)
    }

    /// A message page: a finished action, or a link that no longer works.
    pub(crate) fn notice(
        &self,
        status: StatusCode,
        heading: &str,
        message: &str,
        tone: &str,
        next: Option<(&str, &str)>,
    ) -> Page {
        let (next_url, next_label) = next.unwrap_or_default();
        self.page(
            status,
            "notice.html",
            json!({"heading": heading, "message": message, "tone": tone,
                   "next_url": next_url, "next_label": next_label}),
        )
    }
}
