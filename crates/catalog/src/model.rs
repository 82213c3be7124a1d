//! Catalog rules that need no I/O: slugs, product states, option combinations, language
//! and currency negotiation, and currency conversion with each currency's minor units.

use emporium_core::{Currency, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A URL slug: lower-case ASCII letters, digits and single dashes, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let ok = !raw.is_empty()
            && raw.len() <= 200
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "must be lower-case letters, digits and single dashes",
            ))
        }
    }

    /// A slug made from a title: `"Relaxed Red Jacket!"` becomes `relaxed-red-jacket`.
    pub fn from_title(title: &str) -> Self {
        let mut out = String::new();
        for c in title.chars() {
            let c = deaccent(c);
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            if out.len() >= 190 {
                break;
            }
        }
        let out = out.trim_end_matches('-').to_string();
        Self(if out.is_empty() { "item".into() } else { out })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self-suffix`, for a generated slug that is already taken. `suffix` is lower-case
    /// ASCII letters and digits, so the result is still a valid slug.
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}-{suffix}", self.0))
    }
}

fn deaccent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'ß' => 's',
        other => other,
    }
}

/// Where a product is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Published,
    Archived,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// A product's option type and its values, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OptionSpec {
    pub name: String,
    pub values: Vec<String>,
}

/// Checks option types: 0 to 5, named, distinct, each with distinct non-empty values.
pub fn check_options(options: &[OptionSpec]) -> Result<(), FieldError> {
    if options.len() > 5 {
        return Err(FieldError::new("options", "at most 5 option types"));
    }
    for (i, option) in options.iter().enumerate() {
        let name = option.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(FieldError::new(
                format!("options[{i}].name"),
                "must be 1 to 64 characters",
            ));
        }
        if options[..i]
            .iter()
            .any(|o| o.name.trim().eq_ignore_ascii_case(name))
        {
            return Err(FieldError::new(format!("options[{i}].name"), "is repeated"));
        }
        if option.values.is_empty() || option.values.len() > 100 {
            return Err(FieldError::new(
                format!("options[{i}].values"),
                "must list 1 to 100 values",
            ));
        }
        for (j, value) in option.values.iter().enumerate() {
            if value.trim().is_empty() || value.len() > 100 {
                return Err(FieldError::new(
                    format!("options[{i}].values[{j}]"),
                    "must be 1 to 100 characters",
                ));
            }
            if option.values[..j].iter().any(|v| v == value) {
                return Err(FieldError::new(
                    format!("options[{i}].values[{j}]"),
                    "is repeated",
                ));
            }
        }
    }
    Ok(())
}

/// Checks a variant's option values against the product's option types and answers the
/// canonical key of the combination (`color=red;size=M` in the product's option order).
pub fn combination_key(
    product_options: &[OptionSpec],
    chosen: &BTreeMap<String, String>,
    field: &str,
) -> Result<String, FieldError> {
    if chosen.len() != product_options.len() {
        return Err(FieldError::new(
            field,
            format!(
                "must give exactly one value for each option: {}",
                product_options
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut parts = Vec::with_capacity(product_options.len());
    for option in product_options {
        let value = chosen
            .get(&option.name)
            .ok_or_else(|| FieldError::new(format!("{field}.{}", option.name), "is missing"))?;
        if !option.values.contains(value) {
            return Err(FieldError::new(
                format!("{field}.{}", option.name),
                format!("must be one of: {}", option.values.join(", ")),
            ));
        }
        parts.push(format!("{}={}", option.name, value));
    }
    Ok(parts.join(";"))
}

/// Exchange rates are stored as units of the target per unit of the default, times 10^9.
pub const RATE_SCALE: i128 = 1_000_000_000;

/// Converts `amount` (minor units of `from`) with `rate_e9` into minor units of `to`,
/// rounding half away from zero to `to`'s minor unit.
pub fn convert(amount: i64, from: Currency, to: Currency, rate_e9: i64) -> Option<i64> {
    let from_digits = from.minor_units() as i32;
    let to_digits = to.minor_units() as i32;
    let mut numerator = i128::from(amount) * i128::from(rate_e9);
    let mut denominator = RATE_SCALE;
    let shift = to_digits - from_digits;
    if shift >= 0 {
        numerator *= 10i128.pow(shift as u32);
    } else {
        denominator *= 10i128.pow((-shift) as u32);
    }
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let rounded = if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

/// Parses a decimal rate such as `"0.92"` or `"149.5"` into the stored scale.
pub fn parse_rate(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || frac.len() > 9
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac_scaled: i64 = format!("{frac:0<9}").parse().ok()?;
    let rate = whole.checked_mul(1_000_000_000)?.checked_add(frac_scaled)?;
    (rate > 0).then_some(rate)
}

/// Formats a stored rate back as a decimal string.
pub fn format_rate(rate_e9: i64) -> String {
    let whole = rate_e9 / 1_000_000_000;
    let frac = format!("{:09}", rate_e9 % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{whole}")
    } else {
        format!("{whole}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).expect("currency")
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("red-jacket-2", "slug").is_ok());
        for bad in ["", "Red", "a--b", "-a", "a-", "a b", "ü"] {
            assert!(Slug::parse(bad, "slug").is_err(), "{bad}");
        }
        assert_eq!(
            Slug::from_title("Relaxed Red Jacket!").as_str(),
            "relaxed-red-jacket"
        );
        assert_eq!(Slug::from_title("Café Crème").as_str(), "cafe-creme");
        assert_eq!(Slug::from_title("!!!").as_str(), "item");
    }

    #[test]
    fn combinations_must_match_the_option_types() {
        let options = vec![
            OptionSpec {
                name: "size".into(),
                values: vec!["S".into(), "M".into()],
            },
            OptionSpec {
                name: "color".into(),
                values: vec!["red".into()],
            },
        ];
        let chosen: BTreeMap<String, String> =
            [("color".into(), "red".into()), ("size".into(), "M".into())].into();
        assert_eq!(
            combination_key(&options, &chosen, "options").expect("ok"),
            "size=M;color=red"
        );
        let wrong: BTreeMap<String, String> =
            [("color".into(), "blue".into()), ("size".into(), "M".into())].into();
        assert_eq!(
            combination_key(&options, &wrong, "options")
                .expect_err("bad")
                .field,
            "options.color"
        );
        let short: BTreeMap<String, String> = [("size".into(), "M".into())].into();
        assert!(combination_key(&options, &short, "options").is_err());
    }

    #[test]
    fn conversion_respects_minor_units_and_rounds_half_away_from_zero() {
        // $19.99 at 0.92 EUR/USD = 18.3908 EUR -> 18.39
        assert_eq!(convert(1999, c("USD"), c("EUR"), 920_000_000), Some(1839));
        // $19.99 at 149.5 JPY/USD = 2988.505 JPY -> 2989 (0 decimals)
        assert_eq!(
            convert(1999, c("USD"), c("JPY"), 149_500_000_000),
            Some(2989)
        );
        // $19.99 at 0.307 KWD/USD = 6.13693 KWD -> 6.137 (3 decimals)
        assert_eq!(convert(1999, c("USD"), c("KWD"), 307_000_000), Some(6137));
        // exactly half rounds away from zero: 0.5 cent
        assert_eq!(convert(1, c("USD"), c("EUR"), 500_000_000), Some(1));
    }

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(parse_rate("0.92"), Some(920_000_000));
        assert_eq!(parse_rate("149.5"), Some(149_500_000_000));
        assert_eq!(parse_rate("1"), Some(1_000_000_000));
        for bad in ["", "-1", "abc", "1.0000000001", "0", ".5"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
        assert_eq!(format_rate(920_000_000), "0.92");
        assert_eq!(format_rate(149_500_000_000), "149.5");
    }

    proptest! {
        #[test]
        fn identity_rate_changes_nothing(amount in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(convert(amount, c("USD"), c("EUR"), 1_000_000_000), Some(amount));
        }

        #[test]
        fn conversion_is_within_half_a_minor_unit(amount in 0i64..10_000_000_000, rate in 1i64..500_000_000_000) {
            let got = convert(amount, c("USD"), c("EUR"), rate).expect("fits");
            let exact = amount as f64 * rate as f64 / 1e9;
            prop_assert!((got as f64 - exact).abs() <= 0.5 + exact.abs() * 1e-12);
        }
    }
}
