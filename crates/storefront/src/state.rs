//! What the storefront's pages reach: their templates and the services they call.

use axum::http::StatusCode;
use emporium_accounts::Accounts;
use emporium_core::Config;
use emporium_orders::Orders;
use emporium_web::{Page, Pages, TemplateSet};
use serde_json::json;

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
];

/// The storefront's state.
#[derive(Clone)]
pub struct Storefront {
    pub(crate) pages: Pages,
    pub(crate) accounts: Accounts,
    pub(crate) orders: Orders,
}

impl Storefront {
    pub fn new(config: &Config, accounts: Accounts, orders: Orders) -> Self {
        let globals = [
            ("shop", config.shop_name().into()),
            (
                "shop_url",
                emporium_web::templates::url_value(&format!("{}/", config.store_url())),
            ),
        ];
        Self {
            pages: Pages::new(TEMPLATES, &config.data_dir, "store", &globals),
            accounts,
            orders,
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
