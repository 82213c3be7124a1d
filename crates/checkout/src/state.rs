//! The checkout domain's state.

use emporium_catalog::Catalog;
use emporium_core::{Config, Currency};
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use emporium_payments::Gateways;
use emporium_shipping::Shipping;
use std::sync::Arc;

/// The checkout domain: carts, tax, placing orders, paying for them. Cheap to clone.
#[derive(Clone)]
pub struct Checkout {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) catalog: Catalog,
    pub(crate) inventory: Inventory,
    pub(crate) orders: Orders,
    pub(crate) gateways: Gateways,
    pub(crate) shipping: Shipping,
    /// The hosted test payment page's template.
    pub(crate) pages: emporium_web::Pages,
    /// Customers' saved addresses (the address book is accounts').
    pub(crate) addresses: Arc<dyn emporium_core::address::SavedAddresses>,
}

/// Where a shopper goes back to after paying: the payments return URL, else the
/// storefront (`[store] url`), else this node.
fn shop_url(config: &Config) -> String {
    config
        .payments
        .return_url
        .clone()
        .unwrap_or_else(|| config.store_url())
}

/// The pages checkout serves itself (the manual provider's test page); a shop's file of
/// the same name under `data/templates/store/` replaces one.
const PAGES: emporium_web::TemplateSet =
    &[("payment.html", include_str!("../templates/payment.html"))];

impl Checkout {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        catalog: Catalog,
        inventory: Inventory,
        orders: Orders,
        gateways: Gateways,
        shipping: Shipping,
        addresses: Arc<dyn emporium_core::address::SavedAddresses>,
    ) -> Self {
        let pages = emporium_web::Pages::new(
            PAGES,
            &config.data_dir,
            "store",
            &[
                ("shop", config.shop_name().into()),
                (
                    "shop_url",
                    emporium_web::templates::url_value(&shop_url(&config)),
                ),
            ],
        );
        Self {
            db,
            config,
            catalog,
            inventory,
            orders,
            gateways,
            shipping,
            pages,
            addresses,
        }
    }

    pub(crate) fn default_currency(&self) -> Currency {
        Currency::parse(&self.config.store.default_currency).unwrap_or(Currency::USD)
    }

    pub(crate) fn inclusive(&self) -> bool {
        self.config.checkout.prices_include_tax
    }

    pub(crate) fn public_url(&self) -> String {
        self.config.public_base_url()
    }
}
