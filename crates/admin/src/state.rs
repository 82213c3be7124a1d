//! The console's state: its templates and the domains its pages call.

use axum::http::StatusCode;
use emporium_accounts::Accounts;
use emporium_auth::Auth;
use emporium_catalog::Catalog;
use emporium_checkout::Checkout;
use emporium_core::Config;
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use emporium_payments::Payments;
use emporium_shipping::Shipping;
use emporium_web::{Page, Pages, TemplateSet};
use std::sync::Arc;

const TEMPLATES: TemplateSet = &[
    ("base.html", include_str!("../templates/base.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("orders.html", include_str!("../templates/orders.html")),
    ("order.html", include_str!("../templates/order.html")),
    ("audit.html", include_str!("../templates/audit.html")),
    ("reports.html", include_str!("../templates/reports.html")),
    ("reviews.html", include_str!("../templates/reviews.html")),
    ("review.html", include_str!("../templates/review.html")),
    ("document.html", include_str!("../templates/document.html")),
    ("products.html", include_str!("../templates/products.html")),
    ("product.html", include_str!("../templates/product.html")),
    (
        "variant_rows.html",
        include_str!("../templates/variant_rows.html"),
    ),
    ("bulk.html", include_str!("../templates/bulk.html")),
    ("import.html", include_str!("../templates/import.html")),
    (
        "categories.html",
        include_str!("../templates/categories.html"),
    ),
    ("category.html", include_str!("../templates/category.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("staff.html", include_str!("../templates/staff.html")),
    (
        "locations.html",
        include_str!("../templates/locations.html"),
    ),
    (
        "collections.html",
        include_str!("../templates/collections.html"),
    ),
    (
        "collection.html",
        include_str!("../templates/collection.html"),
    ),
    ("names.html", include_str!("../templates/names.html")),
    ("emails.html", include_str!("../templates/emails.html")),
    ("shipping.html", include_str!("../templates/shipping.html")),
    (
        "customers.html",
        include_str!("../templates/customers.html"),
    ),
    ("customer.html", include_str!("../templates/customer.html")),
    (
        "inventory.html",
        include_str!("../templates/inventory.html"),
    ),
    ("webhooks.html", include_str!("../templates/webhooks.html")),
    (
        "discounts.html",
        include_str!("../templates/discounts.html"),
    ),
    ("discount.html", include_str!("../templates/discount.html")),
    ("webhook.html", include_str!("../templates/webhook.html")),
    (
        "webhook_delivery.html",
        include_str!("../templates/webhook_delivery.html"),
    ),
    ("api_keys.html", include_str!("../templates/api_keys.html")),
    ("tickets.html", include_str!("../templates/tickets.html")),
    ("ticket.html", include_str!("../templates/ticket.html")),
    (
        "ticket_settings.html",
        include_str!("../templates/ticket_settings.html"),
    ),
];

/// The admin console. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) auth: Auth,
    pub(crate) accounts: Accounts,
    pub(crate) catalog: Catalog,
    pub(crate) checkout: Checkout,
    pub(crate) orders: Orders,
    pub(crate) payments: Payments,
    pub(crate) shipping: Shipping,
    pub(crate) inventory: Inventory,
    pub(crate) reviews: emporium_reviews::Reviews,
    pub(crate) integrations: emporium_integrations::Integrations,
    pub(crate) promotions: emporium_promotions::Promotions,
    pub(crate) analytics: emporium_analytics::Analytics,
    pub(crate) support: emporium_support::Support,
    pub(crate) pages: Pages,
    /// The home page's sales figures, kept a few seconds.
    pub(crate) figures: crate::home::Figures,
}

/// The domains the console's pages call.
pub struct Domains {
    pub auth: Auth,
    pub accounts: Accounts,
    pub catalog: Catalog,
    pub checkout: Checkout,
    pub orders: Orders,
    pub payments: Payments,
    pub shipping: Shipping,
    pub inventory: Inventory,
    pub reviews: emporium_reviews::Reviews,
    pub integrations: emporium_integrations::Integrations,
    pub promotions: emporium_promotions::Promotions,
    pub analytics: emporium_analytics::Analytics,
    pub support: emporium_support::Support,
}

impl Admin {
    pub fn new(db: Db, config: Arc<Config>, domains: Domains) -> Self {
        let pages = Pages::new(
            TEMPLATES,
            &config.data_dir,
            "admin",
            &[("shop", config.shop_name().into())],
        );
        Self {
            db,
            config,
            auth: domains.auth,
            accounts: domains.accounts,
            catalog: domains.catalog,
            checkout: domains.checkout,
            orders: domains.orders,
            payments: domains.payments,
            shipping: domains.shipping,
            inventory: domains.inventory,
            reviews: domains.reviews,
            integrations: domains.integrations,
            promotions: domains.promotions,
            analytics: domains.analytics,
            support: domains.support,
            pages,
            figures: crate::home::Figures::default(),
        }
    }

    /// Renders a console page; every console page is private (no cache, no index).
    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        context: serde_json::Value,
    ) -> Page {
        self.pages.private_page(status, template, &context)
    }

    /// Whether cookies must be `Secure`: the console is served over TLS.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.config.public_base_url().starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::TEMPLATES;

    #[test]
    fn every_template_file_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).expect("templates dir") {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                TEMPLATES.iter().any(|(n, _)| *n == name),
                "{name} is not in TEMPLATES"
            );
        }
    }
}
