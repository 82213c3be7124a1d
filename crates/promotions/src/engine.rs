//! Promotions applied to a cart, with no I/O: which promotions apply, in which order,
//! and how much each takes off which line, in integer minor units.
//!
//! The rules, so that a result never depends on the order of the cart's lines:
//! - lines are handled in a canonical order (variant, then line key), whatever order they
//!   arrive in; ties anywhere are broken by it;
//! - product promotions apply first, to the lines they match; order promotions then apply
//!   to what is left of the subtotal; shipping promotions last, to the shipping price;
//! - of the promotions that could apply, a set that combines is chosen greedily by
//!   priority (higher first), then by what each saves the shopper alone (more first),
//!   then by id: two promotions combine only when each names the other's class;
//! - a discount spread over several lines is split by the largest-remainder method, so
//!   the line shares are whole minor units that add up to the discount exactly, and no
//!   line is ever discounted below zero.

use emporium_core::apply_ppm;
pub use emporium_core::money::allocate;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::HashMap;
use uuid::Uuid;

/// What a promotion discounts, and so when it applies and what it combines with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Product,
    Order,
    Shipping,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Product, Class::Order, Class::Shipping];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Order => "order",
            Self::Shipping => "shipping",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One spend tier: from `min_subtotal` on, `ppm` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub min_subtotal: i64,
    pub ppm: i64,
}

/// What a promotion takes off. Percentages are parts per million.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// A percentage off the matching lines.
    PercentOff { ppm: i64 },
    /// A fixed amount off the matching lines together, spread over them.
    AmountOff { amount: i64 },
    /// Shipping costs nothing.
    FreeShipping,
    /// A percentage off shipping.
    ShippingPercentOff { ppm: i64 },
    /// A fixed amount off shipping.
    ShippingAmountOff { amount: i64 },
    /// For every `buy` matching units, the next `get` cheapest are `ppm` off (a million:
    /// free), at most `max_per_order` times.
    BuyXGetY {
        buy: i64,
        get: i64,
        ppm: i64,
        max_per_order: Option<i64>,
    },
    /// The highest tier the matching subtotal reaches.
    Tiered { tiers: Vec<Tier> },
}

/// Who may use a promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerRule {
    #[default]
    Anyone,
    SignedIn,
    FirstOrder,
}

/// When a promotion applies. Empty lists do not restrict.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Conditions {
    /// The matching lines' subtotal must reach this (for order and shipping
    /// promotions, after product discounts).
    pub min_subtotal: Option<i64>,
    /// The matching lines' units must reach this.
    pub min_quantity: Option<i64>,
    pub products: Vec<Uuid>,
    pub variants: Vec<Uuid>,
    pub categories: Vec<Uuid>,
    pub collections: Vec<Uuid>,
    pub exclude_products: Vec<Uuid>,
    pub exclude_categories: Vec<Uuid>,
    pub exclude_collections: Vec<Uuid>,
    pub customer: CustomerRule,
    /// Shipping countries (ISO 3166-1 alpha-2).
    pub countries: Vec<String>,
}

impl Conditions {
    fn includes_all(&self) -> bool {
        self.products.is_empty()
            && self.variants.is_empty()
            && self.categories.is_empty()
            && self.collections.is_empty()
    }

    /// Whether a line is one the promotion is about.
    pub fn matches(&self, line: &Line) -> bool {
        let included = self.includes_all()
            || self.products.contains(&line.product_id)
            || self.variants.contains(&line.variant_id)
            || line.categories.iter().any(|c| self.categories.contains(c))
            || line
                .collections
                .iter()
                .any(|c| self.collections.contains(c));
        let excluded = self.exclude_products.contains(&line.product_id)
            || line
                .categories
                .iter()
                .any(|c| self.exclude_categories.contains(c))
            || line
                .collections
                .iter()
                .any(|c| self.exclude_collections.contains(c));
        included && !excluded
    }

    /// Whether deciding needs the lines' categories and collections.
    pub fn needs_groups(&self) -> bool {
        !(self.categories.is_empty()
            && self.collections.is_empty()
            && self.exclude_categories.is_empty()
            && self.exclude_collections.is_empty())
    }
}

/// A promotion as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub id: Uuid,
    pub name: String,
    pub class: Class,
    pub action: Action,
    pub conditions: Conditions,
    pub priority: i32,
    pub combines_with: Vec<Class>,
    /// Amounts (and thresholds) are in this currency; the promotion applies only to carts
    /// in it. `None` for a percentage-only promotion, which applies in every currency.
    pub currency: Option<String>,
    /// Unix milliseconds.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// Applies without a code.
    pub automatic: bool,
    /// What is left of its discount budget, when it has one.
    pub budget_left: Option<i64>,
    /// Its uses or its discount are capped: checkout reads where it stands for every
    /// cart rather than trusting a cached copy.
    pub limited: bool,
}

impl Promotion {
    fn combines(&self, other: &Promotion) -> bool {
        self.combines_with.contains(&other.class) && other.combines_with.contains(&self.class)
    }
}

/// A cart line as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's own id: the last tie-breaker.
    pub key: Uuid,
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub categories: Vec<Uuid>,
    pub collections: Vec<Uuid>,
    pub unit_price: i64,
    pub quantity: i64,
}

impl Line {
    fn total(&self) -> i64 {
        self.unit_price.saturating_mul(self.quantity)
    }
}

/// The cart and its shopper.
#[derive(Debug, Clone)]
pub struct Cart<'a> {
    pub lines: &'a [Line],
    pub currency: &'a str,
    pub shipping: i64,
    pub country: Option<&'a str>,
    pub signed_in: bool,
    pub first_order: bool,
    pub now_ms: i64,
    /// The codes entered, upper case, with the promotion each belongs to.
    pub codes: &'a [(String, Uuid)],
}

/// Why a promotion does not apply to a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotStarted,
    Expired,
    /// The cart is in another currency than the promotion's amounts.
    Currency(String),
    /// A condition is not met: which one, for people.
    Condition(&'static str, String),
    /// It conflicts with a promotion that was chosen: that one's name.
    NotCombinable(String),
    /// Nothing in the cart is discounted by it.
    NoEffect,
}

impl Refusal {
    /// The stable reason clients switch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Expired => "expired",
            Self::Currency(_) => "currency",
            Self::Condition(which, _) => which,
            Self::NotCombinable(_) => "not_combinable",
            Self::NoEffect => "no_effect",
        }
    }

    /// What to tell the shopper.
    pub fn message(&self) -> String {
        match self {
            Self::NotStarted => "this code is not valid yet".into(),
            Self::Expired => "this code has expired".into(),
            Self::Currency(c) => format!("this code is only for carts in {c}"),
            Self::Condition(_, message) => message.clone(),
            Self::NotCombinable(name) => format!("this code cannot be combined with {name}"),
            Self::NoEffect => "nothing in the cart is discounted by this code".into(),
        }
    }
}

/// One promotion that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub promotion_id: Uuid,
    pub name: String,
    pub class: Class,
    /// The code that brought it in, when it needed one.
    pub code: Option<String>,
    pub amount: i64,
}

/// What the promotions do to a cart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The discount on each line, in the order the lines were given.
    pub line_discounts: Vec<i64>,
    pub shipping_discount: i64,
    pub applied: Vec<Applied>,
    /// Entered codes that do not apply, and why.
    pub refused: Vec<(String, Refusal)>,
}

impl Outcome {
    pub fn discount(&self) -> i64 {
        self.line_discounts.iter().sum()
    }
}

/// What is left to discount while promotions apply, in canonical line order.
#[derive(Clone)]
struct State {
    remaining: Vec<i64>,
    shipping: i64,
}

/// One promotion's effect on a state.
struct Effect {
    lines: Vec<i64>,
    shipping: i64,
}

impl Effect {
    fn amount(&self) -> i64 {
        self.lines.iter().sum::<i64>() + self.shipping
    }
}

/// Applies `promotions` to `cart`: the candidates (automatic ones, and those whose code
/// was entered) that pass their window, currency, shopper and place, chosen and applied
/// by the rules in this module's documentation.
pub fn evaluate<'p>(
    promotions: impl IntoIterator<Item = &'p Promotion>,
    cart: &Cart<'_>,
) -> Outcome {
    let mut order: Vec<usize> = (0..cart.lines.len()).collect();
    order.sort_by_key(|&i| (cart.lines[i].variant_id, cart.lines[i].key));
    let lines: Vec<&Line> = order.iter().map(|&i| &cart.lines[i]).collect();
    let fresh = State {
        remaining: lines.iter().map(|l| l.total().max(0)).collect(),
        shipping: cart.shipping.max(0),
    };
    let code_of: HashMap<Uuid, &str> = cart
        .codes
        .iter()
        .map(|(code, id)| (*id, code.as_str()))
        .collect();
    let mut refused = Vec::new();
    let mut candidates: Vec<(&Promotion, i64)> = Vec::new();
    for promotion in promotions {
        let code = code_of.get(&promotion.id).copied();
        if !promotion.automatic && code.is_none() {
            continue;
        }
        let standing = admissible(promotion, cart).and_then(|()| {
            let effect = effect(promotion, &lines, &fresh)?;
            match effect.amount() {
                0 => Err(Refusal::NoEffect),
                amount => Ok(amount),
            }
        });
        match (standing, code) {
            (Ok(amount), _) => candidates.push((promotion, amount)),
            (Err(why), Some(code)) => refused.push((code.to_string(), why)),
            (Err(_), None) => {}
        }
    }
    candidates.sort_by_key(|(p, amount)| (Reverse(p.priority), Reverse(*amount), p.id));
    let mut chosen: Vec<&Promotion> = Vec::new();
    for (promotion, _) in candidates {
        match chosen.iter().find(|c| !c.combines(promotion)) {
            None => chosen.push(promotion),
            Some(conflict) => {
                if let Some(code) = code_of.get(&promotion.id) {
                    refused.push((
                        code.to_string(),
                        Refusal::NotCombinable(conflict.name.clone()),
                    ));
                }
            }
        }
    }
    // Stable: within a class, the chosen order (priority, saving, id) is kept.
    chosen.sort_by_key(|p| p.class);
    let mut state = fresh;
    let mut discounts = vec![0i64; lines.len()];
    let mut shipping_discount = 0;
    let mut applied = Vec::new();
    for promotion in chosen {
        let code = code_of.get(&promotion.id).map(|c| c.to_string());
        match effect(promotion, &lines, &state) {
            Ok(effect) if effect.amount() > 0 => {
                for (i, d) in effect.lines.iter().enumerate() {
                    state.remaining[i] -= d;
                    discounts[i] += d;
                }
                state.shipping -= effect.shipping;
                shipping_discount += effect.shipping;
                applied.push(Applied {
                    promotion_id: promotion.id,
                    name: promotion.name.clone(),
                    class: promotion.class,
                    code,
                    amount: effect.amount(),
                });
            }
            // Product discounts took the subtotal under an order promotion's threshold.
            Ok(_) => {
                if let Some(code) = code {
                    refused.push((code, Refusal::NoEffect));
                }
            }
            Err(why) => {
                if let Some(code) = code {
                    refused.push((code, why));
                }
            }
        }
    }
    let mut line_discounts = vec![0; cart.lines.len()];
    for (canonical, &given) in order.iter().enumerate() {
        line_discounts[given] = discounts[canonical];
    }
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    Outcome {
        line_discounts,
        shipping_discount,
        applied,
        refused,
    }
}

/// The checks that need no lines: window, currency, shopper, place.
fn admissible(p: &Promotion, cart: &Cart<'_>) -> Result<(), Refusal> {
    if p.starts_at.is_some_and(|s| cart.now_ms < s) {
        return Err(Refusal::NotStarted);
    }
    if p.ends_at.is_some_and(|e| cart.now_ms >= e) {
        return Err(Refusal::Expired);
    }
    if let Some(currency) = &p.currency
        && currency != cart.currency
    {
        return Err(Refusal::Currency(currency.clone()));
    }
    match p.conditions.customer {
        CustomerRule::Anyone => {}
        CustomerRule::SignedIn if !cart.signed_in => {
            return Err(Refusal::Condition(
                "signed_in",
                "sign in to use this code".into(),
            ));
        }
        CustomerRule::FirstOrder if !cart.first_order => {
            return Err(Refusal::Condition(
                "first_order",
                "this code is for a first order only".into(),
            ));
        }
        _ => {}
    }
    let countries = &p.conditions.countries;
    if !countries.is_empty()
        && !cart
            .country
            .is_some_and(|c| countries.iter().any(|k| k == c))
    {
        return Err(Refusal::Condition(
            "country",
            format!(
                "this code is for orders shipped to {}",
                countries.join(", ")
            ),
        ));
    }
    Ok(())
}

/// What one promotion takes off `state`, or why it does not apply to it.
fn effect(p: &Promotion, lines: &[&Line], state: &State) -> Result<Effect, Refusal> {
    let n = lines.len();
    let matching: Vec<usize> = (0..n).filter(|&i| p.conditions.matches(lines[i])).collect();
    let units: i64 = matching.iter().map(|&i| lines[i].quantity).sum();
    let subtotal: i64 = matching.iter().map(|&i| state.remaining[i]).sum();
    let is_shipping = p.class == Class::Shipping;
    if matching.is_empty() && !is_shipping {
        return Err(Refusal::Condition(
            "products",
            "none of the products in the cart are part of this offer".into(),
        ));
    }
    if let Some(min) = p.conditions.min_quantity
        && units < min
    {
        return Err(Refusal::Condition(
            "min_quantity",
            format!("add {} more item(s) to use this code", min - units),
        ));
    }
    if let Some(min) = p.conditions.min_subtotal
        && subtotal < min
    {
        return Err(Refusal::Condition(
            "min_subtotal",
            format!(
                "spend {} more (in minor units) to use this code",
                min - subtotal
            ),
        ));
    }
    let cap = |amount: i64| match p.budget_left {
        Some(left) => amount.min(left.max(0)),
        None => amount,
    };
    let spread = |amount: i64| {
        let weights: Vec<i64> = matching.iter().map(|&i| state.remaining[i]).collect();
        let amount = cap(amount.min(weights.iter().sum()));
        let mut out = vec![0; n];
        for (share, &i) in allocate(amount, &weights).into_iter().zip(&matching) {
            out[i] = share;
        }
        Effect {
            lines: out,
            shipping: 0,
        }
    };
    let on_shipping = |amount: i64| Effect {
        lines: vec![0; n],
        shipping: cap(amount.clamp(0, state.shipping)),
    };
    Ok(match &p.action {
        Action::PercentOff { ppm } => spread(apply_ppm(subtotal, *ppm)),
        Action::AmountOff { amount } => spread(*amount),
        Action::Tiered { tiers } => {
            let tier = tiers
                .iter()
                .filter(|t| subtotal >= t.min_subtotal)
                .max_by_key(|t| t.min_subtotal);
            match tier {
                Some(t) => spread(apply_ppm(subtotal, t.ppm)),
                None => {
                    let lowest = tiers.iter().map(|t| t.min_subtotal).min().unwrap_or(0);
                    return Err(Refusal::Condition(
                        "min_subtotal",
                        format!(
                            "spend {} more (in minor units) to use this code",
                            lowest - subtotal
                        ),
                    ));
                }
            }
        }
        Action::FreeShipping => on_shipping(state.shipping),
        Action::ShippingPercentOff { ppm } => on_shipping(apply_ppm(state.shipping, *ppm)),
        Action::ShippingAmountOff { amount } => on_shipping(*amount),
        Action::BuyXGetY {
            buy,
            get,
            ppm,
            max_per_order,
        } => {
            let group = buy + get;
            if group <= 0 {
                return Err(Refusal::NoEffect);
            }
            let mut times = units / group;
            if let Some(max) = max_per_order {
                times = times.min(*max);
            }
            let mut free = times * get;
            if free == 0 {
                return Err(Refusal::Condition(
                    "min_quantity",
                    format!(
                        "add {} more item(s) to use this code",
                        group - units % group
                    ),
                ));
            }
            // The cheapest units go first; equal prices by canonical line order.
            let mut cheapest: Vec<usize> = matching.clone();
            cheapest.sort_by_key(|&i| (lines[i].unit_price, i));
            let mut out = vec![0; n];
            let mut left_in_budget = p.budget_left.unwrap_or(i64::MAX);
            for i in cheapest {
                if free == 0 {
                    break;
                }
                let take = free.min(lines[i].quantity);
                free -= take;
                let off = apply_ppm(lines[i].unit_price, *ppm)
                    .saturating_mul(take)
                    .min(state.remaining[i])
                    .min(left_in_budget.max(0));
                left_in_budget -= off;
                out[i] = off;
            }
            Effect {
                lines: out,
                shipping: 0,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(n: u128, price: i64, quantity: i64) -> Line {
        Line {
            key: Uuid::from_u128(1000 + n),
            variant_id: Uuid::from_u128(n),
            product_id: Uuid::from_u128(500 + n),
            categories: Vec::new(),
            collections: Vec::new(),
            unit_price: price,
            quantity,
        }
    }

    fn promo(n: u128, class: Class, action: Action) -> Promotion {
        Promotion {
            id: Uuid::from_u128(n),
            name: format!("promo {n}"),
            class,
            action,
            conditions: Conditions::default(),
            priority: 0,
            combines_with: Class::ALL.to_vec(),
            currency: None,
            starts_at: None,
            ends_at: None,
            automatic: true,
            budget_left: None,
            limited: false,
        }
    }

    fn cart<'a>(lines: &'a [Line], shipping: i64, codes: &'a [(String, Uuid)]) -> Cart<'a> {
        Cart {
            lines,
            currency: "EUR",
            shipping,
            country: Some("DE"),
            signed_in: false,
            first_order: true,
            now_ms: 1_000,
            codes,
        }
    }

    #[test]
    fn allocation_adds_up_and_breaks_ties_in_order() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(10, &[0, 5, 5]), vec![0, 5, 5]);
        assert_eq!(allocate(7, &[3, 3, 3]), vec![3, 2, 2]);
        assert_eq!(allocate(0, &[3, 3]), vec![0, 0]);
        assert_eq!(allocate(9, &[3, 3, 3]), vec![3, 3, 3]);
    }

    #[test]
    fn percent_and_free_shipping_combine() {
        // 2 x 19.99 + 1 x 5.00 = 44.98; 10% = 4.498 -> 4.50, split 4.00 / 0.50 by weight.
        let lines = [line(1, 1999, 2), line(2, 500, 1)];
        let promos = [
            promo(1, Class::Order, Action::PercentOff { ppm: 100_000 }),
            promo(2, Class::Shipping, Action::FreeShipping),
        ];
        let out = evaluate(&promos, &cart(&lines, 490, &[]));
        assert_eq!(out.line_discounts, vec![400, 50]);
        assert_eq!(out.shipping_discount, 490);
        assert_eq!(out.applied.len(), 2);
    }

    #[test]
    fn bogo_by_priority_before_ten_percent_over_fifty() {
        // 3 x 20.00 and 1 x 15.00 = 75.00. BOGO (priority 10): 4 units -> 2 free, the
        // cheapest: 15.00 and 20.00. Left 40.00: under 50, so 10% does not apply.
        let lines = [line(1, 2000, 3), line(2, 1500, 1)];
        let mut bogo = promo(
            1,
            Class::Product,
            Action::BuyXGetY {
                buy: 1,
                get: 1,
                ppm: 1_000_000,
                max_per_order: None,
            },
        );
        bogo.priority = 10;
        let mut ten = promo(2, Class::Order, Action::PercentOff { ppm: 100_000 });
        ten.conditions.min_subtotal = Some(5000);
        let out = evaluate(&[ten.clone(), bogo.clone()], &cart(&lines, 0, &[]));
        assert_eq!(out.line_discounts, vec![2000, 1500]);
        assert_eq!(out.applied.len(), 1);
        // Five units at 20.00: two free (40.00), 60.00 left, 10% = 6.00.
        let lines = [line(1, 2000, 5)];
        let out = evaluate(&[ten, bogo], &cart(&lines, 0, &[]));
        assert_eq!(out.line_discounts, vec![4600]);
        assert_eq!(out.applied.len(), 2);
    }

    #[test]
    fn tiers_apply_from_their_boundary() {
        let tiered = promo(
            1,
            Class::Order,
            Action::Tiered {
                tiers: vec![
                    Tier {
                        min_subtotal: 10_000,
                        ppm: 100_000,
                    },
                    Tier {
                        min_subtotal: 20_000,
                        ppm: 150_000,
                    },
                ],
            },
        );
        let at = |cents| {
            evaluate(
                std::slice::from_ref(&tiered),
                &cart(&[line(1, cents, 1)], 0, &[]),
            )
            .discount()
        };
        assert_eq!(at(9_999), 0);
        assert_eq!(at(10_000), 1_000);
        assert_eq!(at(19_999), 2_000); // 1999.9 -> 2000
        assert_eq!(at(20_000), 3_000);
    }

    #[test]
    fn the_best_of_two_that_do_not_combine_wins_and_a_code_says_why() {
        let lines = [line(1, 10_000, 1)];
        let mut five = promo(1, Class::Order, Action::AmountOff { amount: 500 });
        five.combines_with = Vec::new();
        let mut twenty = promo(2, Class::Order, Action::PercentOff { ppm: 200_000 });
        twenty.combines_with = Vec::new();
        twenty.automatic = false;
        twenty.name = "TWENTY".into();
        let codes = [("TWENTY".to_string(), twenty.id)];
        let out = evaluate(&[five.clone(), twenty.clone()], &cart(&lines, 0, &codes));
        assert_eq!(out.discount(), 2_000);
        assert_eq!(out.applied[0].code.as_deref(), Some("TWENTY"));
        // The other way round, the automatic one is better and the code is refused.
        five.action = Action::AmountOff { amount: 5_000 };
        five.name = "Half off".into();
        let out = evaluate(&[five, twenty], &cart(&lines, 0, &codes));
        assert_eq!(out.discount(), 5_000);
        assert_eq!(
            out.refused,
            vec![("TWENTY".into(), Refusal::NotCombinable("Half off".into()))]
        );
    }

    #[test]
    fn refusals_name_the_condition() {
        let lines = [line(1, 1_000, 1)];
        let mut p = promo(1, Class::Order, Action::PercentOff { ppm: 100_000 });
        p.automatic = false;
        p.conditions.min_subtotal = Some(5_000);
        let codes = [("X".to_string(), p.id)];
        let out = evaluate(std::slice::from_ref(&p), &cart(&lines, 0, &codes));
        assert_eq!(out.refused[0].1.reason(), "min_subtotal");
        p.conditions.min_subtotal = None;
        p.ends_at = Some(500);
        let out = evaluate(std::slice::from_ref(&p), &cart(&lines, 0, &codes));
        assert_eq!(out.refused[0].1, Refusal::Expired);
        p.ends_at = None;
        p.currency = Some("USD".into());
        let out = evaluate(std::slice::from_ref(&p), &cart(&lines, 0, &codes));
        assert_eq!(out.refused[0].1.reason(), "currency");
    }

    #[test]
    fn zero_and_three_decimal_currencies_round_to_whole_units() {
        // JPY: 3 lines of 333 yen, 10% of 999 = 99.9 -> 100, split 34/33/33.
        let lines = [line(1, 333, 1), line(2, 333, 1), line(3, 333, 1)];
        let p = promo(1, Class::Order, Action::PercentOff { ppm: 100_000 });
        let out = evaluate(std::slice::from_ref(&p), &cart(&lines, 0, &[]));
        assert_eq!(out.line_discounts, vec![34, 33, 33]);
        // KWD: 1.255 and 2.500 (fils), 15% of 3.755 = 0.56325 -> 0.563.
        let lines = [line(1, 1255, 1), line(2, 2500, 1)];
        let p = promo(1, Class::Order, Action::PercentOff { ppm: 150_000 });
        let out = evaluate(std::slice::from_ref(&p), &cart(&lines, 0, &[]));
        assert_eq!(out.discount(), 563);
        assert_eq!(out.line_discounts, vec![188, 375]);
    }

    fn arb_action() -> impl Strategy<Value = (Class, Action)> {
        prop_oneof![
            (1i64..1_000_000).prop_map(|ppm| (Class::Order, Action::PercentOff { ppm })),
            (1i64..1_000_000).prop_map(|ppm| (Class::Product, Action::PercentOff { ppm })),
            (1i64..50_000).prop_map(|amount| (Class::Order, Action::AmountOff { amount })),
            (1i64..50_000).prop_map(|amount| (Class::Product, Action::AmountOff { amount })),
            Just((Class::Shipping, Action::FreeShipping)),
            (1i64..1_000)
                .prop_map(|amount| (Class::Shipping, Action::ShippingAmountOff { amount })),
            (
                1i64..4,
                1i64..3,
                1i64..=1_000_000,
                proptest::option::of(1i64..4)
            )
                .prop_map(|(buy, get, ppm, max_per_order)| (
                    Class::Product,
                    Action::BuyXGetY {
                        buy,
                        get,
                        ppm,
                        max_per_order
                    }
                )),
            (1i64..30_000, 1i64..500_000).prop_map(|(min, ppm)| (
                Class::Order,
                Action::Tiered {
                    tiers: vec![
                        Tier {
                            min_subtotal: min,
                            ppm
                        },
                        Tier {
                            min_subtotal: min * 2,
                            ppm: ppm + 100_000
                        }
                    ]
                }
            )),
        ]
    }

    fn arb_promotions() -> impl Strategy<Value = Vec<Promotion>> {
        proptest::collection::vec(
            (
                arb_action(),
                -2i32..3,
                proptest::collection::vec(0usize..3, 0..3),
                proptest::option::of(0i64..20_000),
                proptest::option::of(1i64..3_000),
            ),
            0..6,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(n, ((class, action), priority, combines, min, budget))| {
                    let mut p = promo(n as u128 + 1, class, action);
                    p.priority = priority;
                    p.combines_with = combines.into_iter().map(|c| Class::ALL[c]).collect();
                    p.conditions.min_subtotal = min;
                    p.budget_left = budget;
                    p
                })
                .collect()
        })
    }

    fn arb_lines() -> impl Strategy<Value = Vec<Line>> {
        proptest::collection::vec((0i64..20_000, 1i64..6), 1..8).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(n, (price, quantity))| line(n as u128 + 1, price, quantity))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn discounts_add_up_never_go_negative_and_ignore_line_order(
            lines in arb_lines(),
            promotions in arb_promotions(),
            shipping in 0i64..2_000,
            seed in any::<u64>(),
        ) {
            let out = evaluate(&promotions, &cart(&lines, shipping, &[]));
            let applied: i64 = out.applied.iter().map(|a| a.amount).sum();
            prop_assert_eq!(applied, out.discount() + out.shipping_discount);
            for (l, d) in lines.iter().zip(&out.line_discounts) {
                prop_assert!(*d >= 0 && *d <= l.total());
            }
            prop_assert!(out.shipping_discount >= 0 && out.shipping_discount <= shipping);
            for p in &promotions {
                if let Some(budget) = p.budget_left {
                    let given: i64 = out.applied.iter().filter(|a| a.promotion_id == p.id).map(|a| a.amount).sum();
                    prop_assert!(given <= budget);
                }
            }
            // Any permutation of the lines gives every line the same discount.
            let mut shuffled: Vec<(usize, Line)> = lines.iter().cloned().enumerate().collect();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let permuted: Vec<Line> = shuffled.iter().map(|(_, l)| l.clone()).collect();
            let again = evaluate(&promotions, &cart(&permuted, shipping, &[]));
            for (k, (given, _)) in shuffled.iter().enumerate() {
                prop_assert_eq!(again.line_discounts[k], out.line_discounts[*given]);
            }
            prop_assert_eq!(again.shipping_discount, out.shipping_discount);
            prop_assert_eq!(again.applied, out.applied);
        }

        #[test]
        fn shares_sum_to_the_amount(amount in 0i64..1_000_000, weights in proptest::collection::vec(0i64..100_000, 1..20)) {
            let total: i64 = weights.iter().sum();
            let amount = amount.min(total);
            let shares = allocate(amount, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), if total == 0 { 0 } else { amount });
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0 && *s <= *w);
            }
        }
    }
}
