//! What every handler can reach. Domains take their own slice of it through axum's
//! `FromRef`, so a handler names only what it uses.

use axum::extract::FromRef;
use emporium_accounts::Accounts;
use emporium_auth::Auth;
use emporium_catalog::Catalog;
use emporium_checkout::Checkout;
use emporium_core::Config;
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use emporium_payments::Payments;
use emporium_search::Search;
use emporium_shipping::Shipping;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// Shared state of one node.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub metrics: PrometheusHandle,
    pub auth: Auth,
    pub accounts: Accounts,
    pub catalog: Catalog,
    pub inventory: Inventory,
    pub orders: Orders,
    pub payments: Payments,
    pub checkout: Checkout,
    pub search: Search,
    pub shipping: Shipping,
    pub reviews: emporium_reviews::Reviews,
    pub integrations: emporium_integrations::Integrations,
    pub promotions: emporium_promotions::Promotions,
    pub analytics: emporium_analytics::Analytics,
    pub support: emporium_support::Support,
    pub storefront: emporium_storefront::Storefront,
    pub admin: emporium_admin::Admin,
}

impl FromRef<AppState> for Catalog {
    fn from_ref(state: &AppState) -> Self {
        state.catalog.clone()
    }
}

impl FromRef<AppState> for Inventory {
    fn from_ref(state: &AppState) -> Self {
        state.inventory.clone()
    }
}

impl FromRef<AppState> for Shipping {
    fn from_ref(state: &AppState) -> Self {
        state.shipping.clone()
    }
}

impl FromRef<AppState> for emporium_reviews::Reviews {
    fn from_ref(state: &AppState) -> Self {
        state.reviews.clone()
    }
}

impl FromRef<AppState> for emporium_integrations::Integrations {
    fn from_ref(state: &AppState) -> Self {
        state.integrations.clone()
    }
}

impl FromRef<AppState> for emporium_support::Support {
    fn from_ref(state: &AppState) -> Self {
        state.support.clone()
    }
}

impl FromRef<AppState> for emporium_analytics::Analytics {
    fn from_ref(state: &AppState) -> Self {
        state.analytics.clone()
    }
}

impl FromRef<AppState> for emporium_promotions::Promotions {
    fn from_ref(state: &AppState) -> Self {
        state.promotions.clone()
    }
}

impl FromRef<AppState> for Search {
    fn from_ref(state: &AppState) -> Self {
        state.search.clone()
    }
}

impl FromRef<AppState> for Orders {
    fn from_ref(state: &AppState) -> Self {
        state.orders.clone()
    }
}

impl FromRef<AppState> for Payments {
    fn from_ref(state: &AppState) -> Self {
        state.payments.clone()
    }
}

impl FromRef<AppState> for Checkout {
    fn from_ref(state: &AppState) -> Self {
        state.checkout.clone()
    }
}

impl FromRef<AppState> for Accounts {
    fn from_ref(state: &AppState) -> Self {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config.clone()
    }
}
