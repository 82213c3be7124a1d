//! Table rates, pure: a flat amount, tiers by parcel weight, tiers by cart subtotal, and
//! (for carrier methods) the table rule used when the carrier cannot answer. Amounts are
//! set in the store's default currency; the caller converts them to the cart's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Up to `up_to_grams` (inclusive; `null` for "any weight"), the parcel costs `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightTier {
    pub up_to_grams: Option<i64>,
    pub amount: i64,
}

/// From a subtotal of `from` (default currency, minor units), shipping costs `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtotalTier {
    pub from: i64,
    pub amount: i64,
}

/// How a method is priced from the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TableRule {
    Flat { amount: i64 },
    Weight { tiers: Vec<WeightTier> },
    Subtotal { tiers: Vec<SubtotalTier> },
}

/// What a parcel is priced on.
#[derive(Debug, Clone, Copy)]
pub struct Parcel {
    pub weight_grams: i64,
    /// In the cart's currency.
    pub subtotal: i64,
}

impl TableRule {
    /// The rule's problems, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut money = |field: String, amount: i64| {
            if !(0..=100_000_000_000).contains(&amount) {
                out.push((field, "must be 0 to 10^11 minor units".to_string()));
            }
        };
        match self {
            Self::Flat { amount } => money("rates.amount".into(), *amount),
            Self::Weight { tiers } => {
                for (i, t) in tiers.iter().enumerate() {
                    money(format!("rates.tiers[{i}].amount"), t.amount);
                }
                if tiers.is_empty() {
                    out.push(("rates.tiers".into(), "needs at least one tier".into()));
                }
                let bounds: Vec<Option<i64>> = tiers.iter().map(|t| t.up_to_grams).collect();
                let ascending = bounds.windows(2).all(|w| {
                    matches!((w[0], w[1]), (Some(a), Some(b)) if a < b)
                        || w[1].is_none() && w[0].is_some()
                });
                if !ascending
                    || bounds.iter().filter(|b| b.is_none()).count() > 1
                    || bounds.iter().any(|b| b.is_some_and(|g| g <= 0))
                {
                    out.push((
                        "rates.tiers".into(),
                        "up_to_grams must rise, be positive, and only the last may be open".into(),
                    ));
                }
            }
            Self::Subtotal { tiers } => {
                for (i, t) in tiers.iter().enumerate() {
                    money(format!("rates.tiers[{i}].amount"), t.amount);
                }
                if tiers.first().is_none_or(|t| t.from != 0) {
                    out.push(("rates.tiers".into(), "must start with a tier from 0".into()));
                }
                if !tiers.windows(2).all(|w| w[0].from < w[1].from) {
                    out.push(("rates.tiers".into(), "from must rise".into()));
                }
            }
        }
        out
    }

    /// The price of `parcel` in the cart's currency (`to_cart` converts default-currency
    /// amounts), or `None` when no tier covers it (too heavy for this method).
    pub fn price(&self, parcel: Parcel, to_cart: &dyn Fn(i64) -> i64) -> Option<i64> {
        match self {
            Self::Flat { amount } => Some(to_cart(*amount)),
            Self::Weight { tiers } => tiers
                .iter()
                .find(|t| t.up_to_grams.is_none_or(|max| parcel.weight_grams <= max))
                .map(|t| to_cart(t.amount)),
            Self::Subtotal { tiers } => tiers
                .iter()
                .rev()
                .find(|t| parcel.subtotal >= to_cart(t.from))
                .map(|t| to_cart(t.amount)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: i64) -> i64 {
        a
    }

    fn parcel(weight_grams: i64, subtotal: i64) -> Parcel {
        Parcel {
            weight_grams,
            subtotal,
        }
    }

    #[test]
    fn flat_is_flat() {
        let rule = TableRule::Flat { amount: 499 };
        assert_eq!(rule.price(parcel(1, 1), &same), Some(499));
        assert_eq!(rule.price(parcel(50_000, 0), &|a| a * 2), Some(998));
    }

    #[test]
    fn weight_tiers_take_the_first_that_fits() {
        let rule = TableRule::Weight {
            tiers: vec![
                WeightTier {
                    up_to_grams: Some(1000),
                    amount: 500,
                },
                WeightTier {
                    up_to_grams: Some(5000),
                    amount: 900,
                },
            ],
        };
        assert!(rule.problems().is_empty());
        assert_eq!(rule.price(parcel(1000, 0), &same), Some(500));
        assert_eq!(rule.price(parcel(1001, 0), &same), Some(900));
        assert_eq!(rule.price(parcel(5001, 0), &same), None, "too heavy");
        let open = TableRule::Weight {
            tiers: vec![
                WeightTier {
                    up_to_grams: Some(1000),
                    amount: 500,
                },
                WeightTier {
                    up_to_grams: None,
                    amount: 1500,
                },
            ],
        };
        assert_eq!(open.price(parcel(90_000, 0), &same), Some(1500));
    }

    #[test]
    fn subtotal_tiers_take_the_highest_reached() {
        let rule = TableRule::Subtotal {
            tiers: vec![
                SubtotalTier {
                    from: 0,
                    amount: 800,
                },
                SubtotalTier {
                    from: 5000,
                    amount: 400,
                },
                SubtotalTier {
                    from: 10000,
                    amount: 0,
                },
            ],
        };
        assert!(rule.problems().is_empty());
        assert_eq!(rule.price(parcel(0, 4999), &same), Some(800));
        assert_eq!(rule.price(parcel(0, 5000), &same), Some(400));
        assert_eq!(rule.price(parcel(0, 25000), &same), Some(0));
        // In a currency worth half as much, thresholds double.
        assert_eq!(rule.price(parcel(0, 9999), &|a| a * 2), Some(1600));
    }

    #[test]
    fn bad_tables_are_named() {
        let rule = TableRule::Weight {
            tiers: vec![
                WeightTier {
                    up_to_grams: None,
                    amount: 500,
                },
                WeightTier {
                    up_to_grams: Some(10),
                    amount: -1,
                },
            ],
        };
        let fields: Vec<String> = rule.problems().into_iter().map(|(f, _)| f).collect();
        assert!(fields.contains(&"rates.tiers".to_string()));
        assert!(fields.contains(&"rates.tiers[1].amount".to_string()));
        let rule = TableRule::Subtotal {
            tiers: vec![SubtotalTier {
                from: 10,
                amount: 1,
            }],
        };
        assert_eq!(rule.problems().len(), 1);
    }
}
