//! The payments domain's state.

use emporium_core::{Config, Currency};
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use std::sync::Arc;

use crate::Gateways;

/// Where a shopper goes back to after paying: the payments return URL, else the
/// storefront (`[store] url`), else this node.
fn shop_url(config: &Config) -> String {
    config
        .payments
        .return_url
        .clone()
        .unwrap_or_else(|| config.store_url())
}

/// The pages payments serves itself (the manual provider's test page); a shop's file of
/// the same name under `data/templates/store/` replaces one.
const PAGES: emporium_web::TemplateSet =
    &[("payment.html", include_str!("../templates/payment.html"))];

/// The payments domain: attempts, webhooks, refunds, expiry. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) gateways: Gateways,
    pub(crate) orders: Orders,
    /// Refunds may put units back in stock.
    pub(crate) inventory: Inventory,
    /// The hosted test payment page's template.
    pub(crate) pages: emporium_web::Pages,
}

impl Payments {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        gateways: Gateways,
        orders: Orders,
        inventory: Inventory,
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
            gateways,
            orders,
            inventory,
            pages,
        }
    }

    /// The gateways' registry (their keys and switches).
    pub fn gateways(&self) -> &Gateways {
        &self.gateways
    }

    pub(crate) fn default_currency(&self) -> Currency {
        Currency::parse(&self.config.store.default_currency).unwrap_or(Currency::USD)
    }

    pub(crate) fn public_url(&self) -> String {
        self.config.public_base_url()
    }
}
