//! The checkout domain's state.

use emporium_catalog::Catalog;
use emporium_core::{Config, Currency};
use emporium_db::Db;
use emporium_inventory::Inventory;
use emporium_orders::Orders;
use emporium_payments::Payments;
use emporium_promotions::Promotions;
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
    pub(crate) payments: Payments,
    pub(crate) shipping: Shipping,
    pub(crate) promotions: Promotions,
    /// Customers' saved addresses (the address book is accounts').
    pub(crate) addresses: Arc<dyn emporium_core::address::SavedAddresses>,
}

/// The domains checkout orchestrates.
pub struct Domains {
    pub catalog: Catalog,
    pub inventory: Inventory,
    pub orders: Orders,
    pub payments: Payments,
    pub shipping: Shipping,
    pub promotions: Promotions,
    pub addresses: Arc<dyn emporium_core::address::SavedAddresses>,
}

impl Checkout {
    pub fn new(db: Db, config: Arc<Config>, domains: Domains) -> Self {
        let Domains {
            catalog,
            inventory,
            orders,
            payments,
            shipping,
            promotions,
            addresses,
        } = domains;
        Self {
            db,
            config,
            catalog,
            inventory,
            orders,
            payments,
            shipping,
            promotions,
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
