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
    let tax = if inclusive {
        total - div_round(total as i128 * 1_000_000, 1_000_000 + rate_ppm as i128)
    } else {
        apply_ppm(total, rate_ppm)
    };
    LineAmounts { total, tax }
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

    proptest! {
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
