//! Prices a cart from current catalog prices, stock and tax rates: each line's amounts
//! and problem, shipping, and the totals. Carts are priced on every read, and checkout
//! prices again inside its transaction.

use emporium_catalog::SellableVariant;
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, Currency, Money};
use emporium_db::entity::{cart_lines, carts, tax_rates};
use emporium_inventory::Want;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

use crate::model::{self, Address, LineAmounts, Totals};
use crate::state::Checkout;
use crate::views::{
    AdjustmentView, CartLineView, CartView, CouponView, ShippingOptionView, TotalsView,
};
use emporium_promotions::engine::{self, Applied, CustomerRule};
use emporium_shipping::{CartMoney, Coverage, Parcel, Place};

/// The one option while no shipping zone is set up: the store's flat rate.
pub const SHIPPING_OPTIONS: &[&str] = &["standard"];

/// How a cart ships as priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shipment {
    /// Priced by this option (a method id, or `standard` without zones).
    Option(String),
    /// No address yet while zones exist: shipping is counted once one is given.
    NoAddress,
    /// No zone covers the address, or no method can take the parcel.
    NotShipped,
}

/// The tax class of goods with none set.
pub const DEFAULT_TAX_CLASS: &str = "standard";

/// A cart line with its current price and standing.
#[derive(Debug, Clone)]
pub(crate) struct PricedLine {
    pub line: cart_lines::Model,
    pub variant: Option<SellableVariant>,
    pub unit_price: Option<i64>,
    pub amounts: Option<LineAmounts>,
    /// The line's share of the discounts, in `amounts.total`'s units.
    pub discount: i64,
    pub rate_ppm: i64,
    /// Why the line cannot be bought as it stands.
    pub problem: Option<&'static str>,
}

/// A priced cart.
#[derive(Debug, Clone)]
pub(crate) struct Priced {
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub currency: Currency,
    pub address: Option<Address>,
    pub shipment: Shipment,
    /// The promotions that apply.
    pub applied: Vec<Applied>,
    /// The cart's coupon codes, each applied or refused with a reason.
    pub coupons: Vec<CouponView>,
}

/// The coupon codes a cart holds, as entered (upper case).
pub(crate) fn coupons_of(cart: &carts::Model) -> Vec<String> {
    cart.coupons
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

impl Priced {
    /// What checkout must reserve.
    pub fn wants(&self) -> Vec<Want> {
        self.lines
            .iter()
            .map(|l| Want {
                variant_id: l.line.variant_id,
                quantity: i64::from(l.line.quantity),
            })
            .collect()
    }
}

/// Tax rates by class for a place: a region's own rate wins over the country's.
async fn rates_for<C: ConnectionTrait>(
    conn: &C,
    country: &str,
    region: Option<&str>,
) -> AppResult<HashMap<String, i64>> {
    let region = region.unwrap_or("").to_ascii_uppercase();
    let rows = tax_rates::Entity::find()
        .filter(tax_rates::Column::Country.eq(country))
        .filter(tax_rates::Column::Region.is_in([String::new(), region.clone()]))
        .all(conn)
        .await?;
    let mut out = HashMap::new();
    for row in rows.iter().filter(|r| r.region.is_empty()) {
        out.insert(row.tax_class.clone(), i64::from(row.rate_ppm));
    }
    for row in rows.iter().filter(|r| !r.region.is_empty()) {
        out.insert(row.tax_class.clone(), i64::from(row.rate_ppm));
    }
    Ok(out)
}

/// Moves an amount between currencies by their minor digits only (5.00 USD -> 5.00 EUR):
/// the fallback for a flat rate when no exchange rate is stored.
/// A cart in a currency the store has no exchange rate for: amounts set in the default
/// currency (shipping rates, thresholds) cannot be priced in it.
pub(crate) fn no_rate(default: Currency, currency: Currency) -> AppError {
    AppError::conflict(
        ErrorCode::NoExchangeRate,
        format!(
            "the store has no exchange rate from {} to {}, so this cart cannot be priced in \
             {}; set a rate or use {}",
            default.code(),
            currency.code(),
            currency.code(),
            default.code()
        ),
    )
}

impl Checkout {
    pub(crate) fn cart_address(cart: &carts::Model) -> Option<Address> {
        cart.shipping_address
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
    }

    /// An amount set in the default currency, in `currency`: converted at the stored rate
    /// with the currency's rounding, never taken over 1:1.
    async fn default_to<C: ConnectionTrait>(
        &self,
        conn: &C,
        amount: i64,
        currency: Currency,
    ) -> AppResult<i64> {
        self.catalog
            .convert_from_default(conn, amount, currency)
            .await?
            .map(|m| m.amount)
            .ok_or_else(|| no_rate(self.default_currency(), currency))
    }

    /// The flat shipping price for a subtotal, in `currency`.
    pub(crate) async fn shipping_price<C: ConnectionTrait>(
        &self,
        conn: &C,
        currency: Currency,
        subtotal: i64,
    ) -> AppResult<i64> {
        let settings = &self.config.checkout;
        if let Some(threshold) = settings.free_shipping_over
            && subtotal >= self.default_to(conn, threshold, currency).await?
        {
            return Ok(0);
        }
        self.default_to(conn, settings.flat_shipping, currency)
            .await
    }

    /// What a product feed says shipping costs, in `currency`: the flat rate and the
    /// subtotal from which it is free, when no shipping zones are set up (every address
    /// pays it); `None` with zones, where the price hangs on the address and the parcel,
    /// or when no exchange rate reaches `currency`.
    pub async fn flat_shipping(&self, currency: Currency) -> AppResult<Option<(i64, Option<i64>)>> {
        let conn = self.db.reader();
        if !matches!(
            self.shipping.coverage(conn, "", None).await?,
            Coverage::NoZones
        ) {
            return Ok(None);
        }
        let settings = &self.config.checkout;
        let Ok(rate) = self
            .default_to(conn, settings.flat_shipping, currency)
            .await
        else {
            return Ok(None);
        };
        let free = match settings.free_shipping_over {
            Some(threshold) => Some(self.default_to(conn, threshold, currency).await?),
            None => None,
        };
        Ok(Some((rate, free)))
    }

    /// The parcel of a priced cart: weight (variants without one count the store's
    /// default) and subtotal.
    fn parcel(&self, lines: &[PricedLine], subtotal: i64) -> Parcel {
        let default = self.config.shipping.default_weight_grams;
        let weight_grams = lines
            .iter()
            .filter(|l| l.amounts.is_some())
            .map(|l| {
                let each = l
                    .variant
                    .as_ref()
                    .and_then(|v| v.weight_grams)
                    .map(i64::from)
                    .unwrap_or(default);
                each * i64::from(l.line.quantity)
            })
            .sum();
        Parcel {
            weight_grams,
            subtotal,
        }
    }

    /// The weight of a priced cart's parcel.
    pub(crate) fn parcel_weight(&self, priced: &Priced) -> i64 {
        self.parcel(&priced.lines, priced.totals.subtotal)
            .weight_grams
    }

    /// Shipping for a cart: the store's flat rate without zones; with zones, the chosen
    /// method of the address's zone (or its first that can take the parcel), a carrier
    /// method at the quote stored when it was chosen, else its table rate.
    async fn shipping_for<C: ConnectionTrait>(
        &self,
        conn: &C,
        cart: &carts::Model,
        address: Option<&Address>,
        parcel: Parcel,
        currency: Currency,
    ) -> AppResult<(i64, Shipment)> {
        let chosen = cart.shipping_option.as_deref();
        let Some(address) = address else {
            return Ok(match self.shipping.coverage(conn, "", None).await? {
                Coverage::NoZones => (
                    self.shipping_price(conn, currency, parcel.subtotal).await?,
                    Shipment::Option(SHIPPING_OPTIONS[0].into()),
                ),
                _ => (0, Shipment::NoAddress),
            });
        };
        let methods = match self
            .shipping
            .coverage(conn, &address.country, address.region.as_deref())
            .await?
        {
            Coverage::NoZones => {
                return Ok((
                    self.shipping_price(conn, currency, parcel.subtotal).await?,
                    Shipment::Option(SHIPPING_OPTIONS[0].into()),
                ));
            }
            Coverage::NotShipped => return Ok((0, Shipment::NotShipped)),
            Coverage::Zone(methods) => methods,
        };
        let converter = self.catalog.converter(conn, currency).await?;
        if !converter.can_convert() {
            return Err(no_rate(self.default_currency(), currency));
        }
        let to_cart = |a: i64| converter.convert(a).unwrap_or(a);
        // A choice that no longer applies (another address, zones changed, too heavy now)
        // gives way to the first method that can take the parcel; checkout refuses an
        // option it was explicitly asked for and could not use.
        let method = chosen.and_then(|id| methods.iter().find(|m| m.id.to_string() == id));
        let key = quote_key(address, parcel.weight_grams, currency);
        let price_of = |m: &emporium_db::entity::shipping_methods::Model| {
            if m.kind == "carrier"
                && chosen == Some(m.id.to_string().as_str())
                && cart.shipping_quote_key.as_deref() == Some(key.as_str())
                && let Some(quote) = cart.shipping_quote
            {
                return Some(match m.free_over {
                    Some(threshold) if parcel.subtotal >= to_cart(threshold) => 0,
                    _ => quote,
                });
            }
            self.shipping.table_price(m, parcel, &to_cart)
        };
        let picked = method
            .and_then(|m| price_of(m).map(|p| (p, m)))
            .or_else(|| methods.iter().find_map(|m| price_of(m).map(|p| (p, m))));
        Ok(match picked {
            Some((price, m)) => (price, Shipment::Option(m.id.to_string())),
            None => (0, Shipment::NotShipped),
        })
    }

    /// Prices `lines` of `cart` now.
    pub(crate) async fn price<C: ConnectionTrait>(
        &self,
        conn: &C,
        cart: &carts::Model,
        lines: Vec<cart_lines::Model>,
    ) -> AppResult<Priced> {
        let currency = Currency::parse(&cart.currency).unwrap_or(self.default_currency());
        let ids: Vec<Uuid> = lines.iter().map(|l| l.variant_id).collect();
        let mut variants = self
            .catalog
            .sellable_variants(conn, &ids, &cart.lang, currency)
            .await?;
        let stock = self.inventory.availability(conn, &ids).await?;
        let address = Self::cart_address(cart);
        let place = address
            .as_ref()
            .map(|a| (a.country.clone(), a.region.clone()))
            .or_else(|| {
                self.config
                    .checkout
                    .default_tax_country
                    .clone()
                    .map(|c| (c.to_ascii_uppercase(), None))
            });
        let rates = match &place {
            Some((country, region)) => rates_for(conn, country, region.as_deref()).await?,
            None => HashMap::new(),
        };
        let inclusive = self.inclusive();
        let mut priced = Vec::with_capacity(lines.len());
        for line in lines {
            let variant = variants.remove(&line.variant_id);
            let availability = stock.get(&line.variant_id).copied().unwrap_or_default();
            let quantity = i64::from(line.quantity);
            let price = variant.as_ref().filter(|v| v.on_sale).and_then(|v| v.price);
            let rate_ppm = variant
                .as_ref()
                .and_then(|v| {
                    rates
                        .get(&v.tax_class)
                        .or_else(|| rates.get(DEFAULT_TAX_CLASS))
                })
                .copied()
                .unwrap_or(0);
            let problem = if price.is_none() {
                Some("unavailable")
            } else if !availability.can_sell(quantity) {
                if availability.sellable() == Some(0) {
                    Some("out_of_stock")
                } else {
                    Some("insufficient_stock")
                }
            } else {
                None
            };
            let amounts =
                price.map(|p| model::line_amounts(p.amount, quantity, rate_ppm, inclusive));
            priced.push(PricedLine {
                line,
                variant,
                unit_price: price.map(|p| p.amount),
                amounts,
                discount: 0,
                rate_ppm,
                problem,
            });
        }
        let amounts: Vec<LineAmounts> = priced.iter().filter_map(|l| l.amounts).collect();
        let subtotal: i64 = amounts.iter().map(|a| a.total).sum();
        let parcel = self.parcel(&priced, subtotal);
        let (shipping, shipment) = if amounts.is_empty() {
            (
                0,
                Shipment::Option(
                    cart.shipping_option
                        .clone()
                        .unwrap_or_else(|| SHIPPING_OPTIONS[0].into()),
                ),
            )
        } else {
            self.shipping_for(conn, cart, address.as_ref(), parcel, currency)
                .await?
        };
        let (applied, coupons, shipping_discount) = self
            .discount(
                conn,
                cart,
                &mut priced,
                currency,
                address.as_ref(),
                shipping,
            )
            .await?;
        let amounts: Vec<LineAmounts> = priced.iter().filter_map(|l| l.amounts).collect();
        let discount: i64 = priced.iter().map(|l| l.discount).sum();
        let totals = model::totals(&amounts, discount, shipping - shipping_discount, inclusive);
        Ok(Priced {
            lines: priced,
            totals,
            currency,
            address,
            shipment,
            applied,
            coupons,
        })
    }
}

impl Checkout {
    /// Applies the store's promotions and the cart's codes to priced lines: each line
    /// gets its share of the discounts and its tax on the discounted amount. Answers the
    /// promotions that applied, every code's standing, and the discount on shipping.
    async fn discount<C: ConnectionTrait>(
        &self,
        conn: &C,
        cart: &carts::Model,
        priced: &mut [PricedLine],
        currency: Currency,
        address: Option<&Address>,
        shipping: i64,
    ) -> AppResult<(Vec<Applied>, Vec<CouponView>, i64)> {
        let codes = coupons_of(cart);
        let active = self.promotions.active().await?;
        let lookups = self.promotions.lookup_codes(conn, &codes).await?;
        let mut coupons: Vec<CouponView> = lookups
            .iter()
            .map(|l| CouponView {
                code: l.code.clone(),
                applied: false,
                reason: l.problem.as_ref().map(|p| p.0.to_string()),
                message: l.problem.as_ref().map(|p| p.1.clone()),
            })
            .collect();
        let entered: Vec<(String, Uuid)> = lookups
            .iter()
            .filter_map(|l| l.promotion_id.map(|id| (l.code.clone(), id)))
            .collect();
        let relevant: Vec<&engine::Promotion> = active
            .iter()
            .filter(|p| p.automatic || entered.iter().any(|(_, id)| *id == p.id))
            .collect();
        if relevant.is_empty() || priced.iter().all(|l| l.amounts.is_none()) {
            for c in coupons.iter_mut().filter(|c| c.reason.is_none()) {
                c.reason = Some("no_effect".into());
                c.message = Some("nothing in the cart is discounted by this code".into());
            }
            return Ok((Vec::new(), coupons, 0));
        }
        let priced_ids: Vec<Uuid> = priced
            .iter()
            .filter(|l| l.amounts.is_some())
            .filter_map(|l| l.variant.as_ref().map(|v| v.product_id))
            .collect();
        let groups = if relevant.iter().any(|p| p.conditions.needs_groups()) {
            self.catalog.product_groups(conn, &priced_ids).await?
        } else {
            HashMap::new()
        };
        let first_order = if relevant
            .iter()
            .any(|p| p.conditions.customer == CustomerRule::FirstOrder)
        {
            !self
                .orders
                .has_ordered(
                    conn,
                    cart.customer_id.map(emporium_core::id::CustomerId),
                    cart.email.as_deref(),
                )
                .await?
        } else {
            false
        };
        let mut at = Vec::new();
        let mut lines = Vec::new();
        for (i, l) in priced.iter().enumerate() {
            let (Some(variant), Some(unit_price)) = (&l.variant, l.unit_price) else {
                continue;
            };
            if l.amounts.is_none() {
                continue;
            }
            let (categories, collections) =
                groups.get(&variant.product_id).cloned().unwrap_or_default();
            at.push(i);
            lines.push(engine::Line {
                key: l.line.id,
                variant_id: variant.variant_id,
                product_id: variant.product_id,
                categories,
                collections,
                unit_price,
                quantity: i64::from(l.line.quantity),
            });
        }
        let capped = self.promotions.current(conn, &relevant).await?;
        let candidates = relevant
            .iter()
            .copied()
            .filter(|p| !p.limited)
            .chain(capped.iter());
        let outcome = engine::evaluate(
            candidates,
            &engine::Cart {
                lines: &lines,
                currency: currency.code(),
                shipping,
                country: address.map(|a| a.country.as_str()),
                signed_in: cart.customer_id.is_some(),
                first_order,
                now_ms: chrono::Utc::now().timestamp_millis(),
                codes: &entered,
            },
        );
        let inclusive = self.inclusive();
        for (&i, &discount) in at.iter().zip(&outcome.line_discounts) {
            let line = &mut priced[i];
            line.discount = discount;
            if let Some(amounts) = line.amounts.as_mut() {
                amounts.tax = model::tax_on(amounts.total - discount, line.rate_ppm, inclusive);
            }
        }
        for c in coupons.iter_mut().filter(|c| c.reason.is_none()) {
            if outcome
                .applied
                .iter()
                .any(|a| a.code.as_deref() == Some(&c.code))
            {
                c.applied = true;
            } else {
                let why = outcome
                    .refused
                    .iter()
                    .find(|(code, _)| code == &c.code)
                    .map(|(_, why)| why.clone())
                    .unwrap_or(engine::Refusal::NoEffect);
                c.reason = Some(why.reason().into());
                c.message = Some(why.message());
            }
        }
        Ok((outcome.applied, coupons, outcome.shipping_discount))
    }

    /// A cart as its holder sees it, priced now. `token` is shown only when just issued.
    pub async fn cart_view(
        &self,
        cart: &carts::Model,
        token: Option<String>,
    ) -> AppResult<CartView> {
        let conn = self.db.writer();
        let lines = crate::carts::lines_of(conn, cart.id).await?;
        let priced = self.price(conn, cart, lines).await?;
        let currency = priced.currency;
        let money = |a| Money::new(a, currency);
        let lines = priced
            .lines
            .into_iter()
            .map(|l| CartLineView {
                id: l.line.id,
                variant_id: l.line.variant_id,
                product_id: l.variant.as_ref().map(|v| v.product_id),
                sku: l.variant.as_ref().map(|v| v.sku.clone()),
                title: l.variant.as_ref().map(|v| v.title.clone()),
                options: l.variant.map(|v| v.options).unwrap_or_default(),
                quantity: l.line.quantity,
                unit_price: l.unit_price.map(money),
                total: l.amounts.map(|a| money(a.total)),
                discount: l.amounts.map(|_| money(l.discount)),
                tax: l.amounts.map(|a| money(a.tax)),
                available: l.problem.is_none(),
                problem: l.problem.map(str::to_string),
            })
            .collect();
        Ok(CartView {
            id: cart.id,
            token,
            status: cart.status.clone(),
            currency: currency.code().to_string(),
            email: cart.email.clone(),
            lines,
            adjustments: priced
                .applied
                .iter()
                .map(|a| AdjustmentView {
                    label: a.name.clone(),
                    amount: money(a.amount),
                    promotion_id: a.promotion_id,
                    class: a.class.as_str().into(),
                    code: a.code.clone(),
                })
                .collect(),
            coupons: priced.coupons,
            totals: TotalsView::new(priced.totals, currency),
            tax_inclusive: self.inclusive(),
            shipping_address: priced.address,
            shipping_option: cart.shipping_option.clone(),
            order_id: cart.order_id,
            notices: Vec::new(),
        })
    }

    /// The ways a cart can ship to its address, priced for it now (carriers asked live,
    /// with their table rate when they fail). Without zones: the store's flat rate.
    pub async fn shipping_options(
        &self,
        cart: &carts::Model,
    ) -> AppResult<Vec<ShippingOptionView>> {
        let conn = self.db.writer();
        let lines = crate::carts::lines_of(conn, cart.id).await?;
        let mut unchosen = cart.clone();
        unchosen.shipping_option = None;
        let priced = self.price(conn, &unchosen, lines).await?;
        let Some(address) = priced.address.clone() else {
            return Ok(match self.shipping.coverage(conn, "", None).await? {
                Coverage::NoZones => vec![self.standard_option(conn, &priced).await?],
                _ => Vec::new(),
            });
        };
        let methods = match self
            .shipping
            .coverage(conn, &address.country, address.region.as_deref())
            .await?
        {
            Coverage::NoZones => return Ok(vec![self.standard_option(conn, &priced).await?]),
            Coverage::NotShipped => return Ok(Vec::new()),
            Coverage::Zone(methods) => methods,
        };
        let currency = priced.currency;
        let converter = self.catalog.converter(conn, currency).await?;
        if !converter.can_convert() {
            return Err(no_rate(self.default_currency(), currency));
        }
        let to_cart = move |a: i64| converter.convert(a).unwrap_or(a);
        let parcel = self.parcel(&priced.lines, priced.totals.subtotal);
        let destination = Place {
            country: address.country.clone(),
            postal_code: address.postal_code.clone(),
            city: Some(address.city.clone()),
            region: address.region.clone(),
        };
        let quotes = self
            .shipping
            .quotes(
                &methods,
                &destination,
                parcel,
                &CartMoney {
                    currency,
                    default: self.default_currency(),
                    to_cart: &to_cart,
                },
                &cart.id.to_string(),
            )
            .await;
        Ok(quotes
            .into_iter()
            .map(|q| ShippingOptionView {
                id: q.method_id.to_string(),
                name: q.name,
                price: Money::new(q.amount, currency),
                kind: q.kind,
                carrier: q.carrier,
                source: q.source,
                min_days: q.min_days,
                max_days: q.max_days,
            })
            .collect())
    }

    async fn standard_option<C: ConnectionTrait>(
        &self,
        conn: &C,
        priced: &Priced,
    ) -> AppResult<ShippingOptionView> {
        let price = self
            .shipping_price(conn, priced.currency, priced.totals.subtotal)
            .await?;
        Ok(ShippingOptionView {
            id: SHIPPING_OPTIONS[0].into(),
            name: "Standard shipping".into(),
            price: Money::new(price, priced.currency),
            kind: "flat".into(),
            carrier: None,
            source: "table".into(),
            min_days: None,
            max_days: None,
        })
    }
}

/// What a stored carrier quote was priced for: the address, the parcel's weight and the
/// currency. A change to any of them falls back to the table until the shopper chooses
/// again.
pub(crate) fn quote_key(address: &Address, weight_grams: i64, currency: Currency) -> String {
    emporium_core::crypto::token_hash(&format!(
        "{}|{}|{}|{}|{weight_grams}|{}",
        address.country,
        address.postal_code.as_deref().unwrap_or(""),
        address.city,
        address.region.as_deref().unwrap_or(""),
        currency.code()
    ))
}
