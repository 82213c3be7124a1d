//! Checkout rules that need no I/O: cart states, and tax and totals with per-line
//! rounding.

use emporium_core::{FieldError, apply_ppm, div_round};

/// A cart's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Active,
    /// It became an order; read-only from then on.
    Converted,
    /// Its lines were merged into the customer's cart at sign-in.
    Merged,
    /// Idle too long; a recovery link can bring it back.
    Abandoned,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Converted => "converted",
            Self::Merged => "merged",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Converted, Self::Merged, Self::Abandoned]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

pub use emporium_core::address::Address;
pub use emporium_orders::Totals;

/// One line's amounts: `total` is unit price times quantity as shown (tax included when
/// prices include tax), `tax` the tax in or on it, rounded once for the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub total: i64,
    pub tax: i64,
}

/// Tax of one line, rounded half away from zero per line (the rule most tax authorities
/// accept, and the one that makes a receipt's lines add up to its total).
pub fn line_amounts(unit_price: i64, quantity: i64, rate_ppm: i64, inclusive: bool) -> LineAmounts {
    let total = unit_price.saturating_mul(quantity);
    LineAmounts {
        total,
        tax: tax_on(total, rate_ppm, inclusive),
    }
}

/// The tax in (`inclusive`) or on an amount, rounded half away from zero: a line's
/// tax is taken on what is left of it after its discount.
pub fn tax_on(amount: i64, rate_ppm: i64, inclusive: bool) -> i64 {
    if inclusive {
        amount - div_round(amount as i128 * 1_000_000, 1_000_000 + rate_ppm as i128)
    } else {
        apply_ppm(amount, rate_ppm)
    }
}

/// Adds up lines: with inclusive prices the tax is already inside the subtotal.
pub fn totals(lines: &[LineAmounts], discount: i64, shipping: i64, inclusive: bool) -> Totals {
    let subtotal: i64 = lines.iter().map(|l| l.total).sum();
    let tax: i64 = lines.iter().map(|l| l.tax).sum();
    let total = subtotal - discount + shipping + if inclusive { 0 } else { tax };
    Totals {
        subtotal,
        discount,
        shipping,
        tax,
        total,
    }
}

/// The address normalised by the one rule ([`emporium_core::email::Email`]), or the input
/// as given with the problem recorded.
pub fn check_email(email: &str, errors: &mut Vec<FieldError>) -> String {
    match emporium_core::email::Email::parse(email) {
        Ok(email) => email.as_str().to_string(),
        Err(e) => {
            errors.push(e);
            email.trim().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tax_is_rounded_once_per_line() {
        // 3 x 3.33 at 7.25%: 9.99 * 0.0725 = 0.724275 -> 0.72
        assert_eq!(
            line_amounts(333, 3, 72_500, false),
            LineAmounts {
                total: 999,
                tax: 72
            }
        );
        // 19.99 incl. 20% VAT: net 16.658.. -> 16.66, tax 3.33
        assert_eq!(
            line_amounts(1999, 1, 200_000, true),
            LineAmounts {
                total: 1999,
                tax: 333
            }
        );
        let t = totals(&[line_amounts(1000, 2, 100_000, false)], 0, 500, false);
        assert_eq!(
            t,
            Totals {
                subtotal: 2000,
                discount: 0,
                shipping: 500,
                tax: 200,
                total: 2700
            }
        );
        let t = totals(&[line_amounts(1200, 1, 200_000, true)], 0, 0, true);
        assert_eq!(
            t,
            Totals {
                subtotal: 1200,
                discount: 0,
                shipping: 0,
                tax: 200,
                total: 1200
            }
        );
    }

    #[test]
    fn tax_is_taken_on_the_discounted_line_included_or_added() {
        // 19.99 including 20% VAT, 2.00 off: 17.99 paid, of which 17.99 - 17.99 / 1.2
        // = 2.998 -> 3.00 is VAT.
        let mut line = line_amounts(1999, 1, 200_000, true);
        line.tax = tax_on(line.total - 200, 200_000, true);
        assert_eq!(line.tax, 300);
        let t = totals(&[line], 200, 0, true);
        assert_eq!((t.total, t.tax), (1799, 300));
        // 19.99 plus 7.25% sales tax, 2.00 off: 17.99 + 1.304 -> 1.30.
        let mut line = line_amounts(1999, 1, 72_500, false);
        line.tax = tax_on(line.total - 200, 72_500, false);
        let t = totals(&[line], 200, 0, false);
        assert_eq!((t.total, t.tax), (1929, 130));
    }

    proptest! {
        /// With promotions, what the shopper pays line by line (the line less its share,
        /// plus its tax when added on top) plus shipping is the order's total: so
        /// refunding every line and the shipping returns exactly what was paid.
        #[test]
        fn discounted_lines_and_shipping_add_up_to_the_total(
            specs in proptest::collection::vec((1i64..20_000, 1i64..5, 0i64..250_000), 1..8),
            ppm in 1i64..1_000_000,
            amount in 1i64..30_000,
            bxgy in any::<bool>(),
            free_shipping in any::<bool>(),
            shipping in 0i64..2_000,
            inclusive in any::<bool>(),
        ) {
            use emporium_promotions::engine::{self, Action, Class, Conditions, Promotion};
            let promo = |n: u128, class, action| Promotion {
                id: uuid::Uuid::from_u128(n),
                name: format!("p{n}"),
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
            };
            let mut promotions = vec![
                promo(1, Class::Order, Action::PercentOff { ppm }),
                promo(2, Class::Order, Action::AmountOff { amount }),
            ];
            if bxgy {
                promotions.push(promo(3, Class::Product, Action::BuyXGetY { buy: 1, get: 1, ppm: 1_000_000, max_per_order: None }));
            }
            if free_shipping {
                promotions.push(promo(4, Class::Shipping, Action::FreeShipping));
            }
            let lines: Vec<engine::Line> = specs
                .iter()
                .enumerate()
                .map(|(i, (price, quantity, _))| engine::Line {
                    key: uuid::Uuid::from_u128(100 + i as u128),
                    variant_id: uuid::Uuid::from_u128(i as u128 + 1),
                    product_id: uuid::Uuid::from_u128(200 + i as u128),
                    categories: Vec::new(),
                    collections: Vec::new(),
                    unit_price: *price,
                    quantity: *quantity,
                })
                .collect();
            let outcome = engine::evaluate(&promotions, &engine::Cart {
                lines: &lines,
                currency: "EUR",
                shipping,
                country: None,
                signed_in: false,
                first_order: false,
                now_ms: 0,
                codes: &[],
            });
            let mut amounts = Vec::new();
            let mut paid = 0;
            for ((price, quantity, rate), discount) in specs.iter().zip(&outcome.line_discounts) {
                let mut line = line_amounts(*price, *quantity, *rate, inclusive);
                line.tax = tax_on(line.total - discount, *rate, inclusive);
                prop_assert!(line.tax >= 0);
                paid += line.total - discount + if inclusive { 0 } else { line.tax };
                amounts.push(line);
            }
            let charged_shipping = shipping - outcome.shipping_discount;
            let t = totals(&amounts, outcome.discount(), charged_shipping, inclusive);
            prop_assert_eq!(paid + charged_shipping, t.total);
            prop_assert!(t.total >= 0);
        }

        #[test]
        fn inclusive_tax_plus_net_is_the_total(price in 0i64..10_000_000, qty in 1i64..100, rate in 0i64..300_000) {
            let line = line_amounts(price, qty, rate, true);
            let net = line.total - line.tax;
            // The net, taxed exclusively, lands within a unit of the inclusive tax.
            prop_assert!((apply_ppm(net, rate) - line.tax).abs() <= 1);
            prop_assert!(line.tax >= 0 && line.tax <= line.total);
        }
    }
}
