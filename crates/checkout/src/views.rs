//! Wire shapes of checkout (API.md's Cart, Order and Checkout response), built from rows;
//! domain types never serialize themselves.

use emporium_core::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use emporium_core::address::Address;
pub use emporium_orders::{OrderView, TotalsView};
use emporium_payments::PaymentView;

/// A promotion applied to a cart: `amount` is what it takes off (lines' shares are in
/// each line's `discount`; a shipping promotion lowers `totals.shipping`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdjustmentView {
    pub label: String,
    pub amount: Money,
    pub promotion_id: Uuid,
    /// `product`, `order` or `shipping`.
    pub class: String,
    /// The coupon code that brought it in, for one that needs a code.
    pub code: Option<String>,
}

/// A coupon code entered on a cart, and whether it applies now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CouponView {
    pub code: String,
    pub applied: bool,
    /// Why not, when it does not apply (`expired`, `min_subtotal`, `not_combinable`...).
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// One cart line, priced now. A line that cannot be bought as it stands says why in
/// `problem` (`unavailable`, `out_of_stock`, `insufficient_stock`) instead of vanishing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartLineView {
    pub id: Uuid,
    pub variant_id: Uuid,
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub options: BTreeMap<String, String>,
    pub quantity: i32,
    /// `null` when the variant is no longer sold in this currency.
    pub unit_price: Option<Money>,
    pub total: Option<Money>,
    /// This line's share of the cart's discounts.
    pub discount: Option<Money>,
    pub tax: Option<Money>,
    pub available: bool,
    pub problem: Option<String>,
}

/// A cart (API.md): lines with current prices and totals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    pub id: Uuid,
    /// The guest's secret for `X-Cart-Token`: shown only when issued.
    pub token: Option<String>,
    pub status: String,
    pub currency: String,
    pub email: Option<String>,
    pub lines: Vec<CartLineView>,
    pub adjustments: Vec<AdjustmentView>,
    pub coupons: Vec<CouponView>,
    pub totals: TotalsView,
    pub tax_inclusive: bool,
    pub shipping_address: Option<Address>,
    pub shipping_option: Option<String>,
    pub order_id: Option<Uuid>,
    /// What changed without being asked (currency switched at sign-in, quantities cut to
    /// stock when carts merged): shown once, on the answer that made the change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<CartNotice>,
}

/// Something the shopper should be told about their cart.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartNotice {
    /// `currency_changed` or `quantity_reduced`.
    pub code: String,
    pub message: String,
    pub variant_id: Option<Uuid>,
}

impl CartNotice {
    pub(crate) fn currency_changed(from: &str, to: &str) -> Self {
        Self {
            code: "currency_changed".into(),
            message: format!("your cart is now priced in {to} (it was in {from})"),
            variant_id: None,
        }
    }

    pub(crate) fn quantity_reduced(variant_id: Uuid, wanted: i32, kept: i32) -> Self {
        Self {
            code: "quantity_reduced".into(),
            message: format!(
                "only {kept} of the {wanted} you had could stay: that is all in stock"
            ),
            variant_id: Some(variant_id),
        }
    }
}

/// A way to ship a cart, with its price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShippingOptionView {
    pub id: String,
    pub name: String,
    pub price: Money,
    /// `flat`, `weight`, `subtotal` or `carrier`.
    pub kind: String,
    pub carrier: Option<String>,
    /// `carrier` when the carrier priced it live, else `table`.
    pub source: String,
    /// Delivery estimate, in days.
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
}

/// What `POST /carts/{id}/checkout` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutView {
    pub order: OrderView,
    pub payment: PaymentView,
    /// For guests: the secret that shows this order at `GET /orders/{id}?token=`.
    pub order_token: Option<String>,
}

/// A tax rate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxRateView {
    pub id: Uuid,
    pub country: String,
    /// Empty: the whole country.
    pub region: String,
    pub tax_class: String,
    /// Percent as a decimal string ("7.25").
    pub rate: String,
    pub name: String,
}
