//! Money as integer minor units with an ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// An ISO 4217 currency code: three upper-case ASCII letters, checked on construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The US dollar, the fallback default.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a code such as `"USD"`; lower case is accepted and normalised.
    pub fn parse(code: &str) -> Option<Self> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let mut out = [0u8; 3];
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = b.to_ascii_uppercase();
        }
        Some(Self(out))
    }

    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217): 2 for most, 0 for JPY, 3 for KWD.
    pub fn minor_units(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("currency must be an ISO 4217 code such as USD")
        })
    }
}

/// An amount in a currency's minor units (`1999` USD is $19.99).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Integer minor units.
    pub amount: i64,
    /// ISO 4217 code.
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Adds two amounts of the same currency; `None` on a currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money::new(amount, self.currency))
    }
}

impl fmt::Display for Money {
    /// `19.99 USD`, `1500 JPY`: the amount with the currency's own decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_units();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(digits);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = digits as usize
        )
    }
}

/// `amount * ppm / 1_000_000`, rounded half away from zero: the one rounding rule for tax
/// and percentages, in i128 so that no product of two amounts overflows.
pub fn apply_ppm(amount: i64, ppm: i64) -> i64 {
    div_round(amount as i128 * ppm as i128, 1_000_000)
}

/// `n / d` rounded half away from zero (`d > 0`).
pub fn div_round(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if 2 * r.abs() >= d { q + n.signum() } else { q };
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Splits `amount` over `weights` in proportion, in whole units, by the largest-remainder
/// method: the shares add up to `amount` exactly, and when `amount` is at most the sum of
/// the weights no share exceeds its weight. Ties go to the earlier weight.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
    if total == 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, &w) in weights.iter().enumerate() {
        let exact = amount * i128::from(w.max(0));
        let share = exact / total;
        given += share;
        shares.push(share as i64);
        remainders.push((exact % total, i));
    }
    let mut left = amount - given;
    remainders.sort_by_key(|&(r, i)| (std::cmp::Reverse(r), i));
    for (r, i) in remainders {
        if left == 0 {
            break;
        }
        if r > 0 {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares
}

/// Parses a percentage with up to four decimals into parts per million.
pub fn parse_percent(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 4
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<4}").parse().ok()?;
    let ppm = whole * 10_000 + frac;
    (ppm <= 1_000_000).then_some(ppm)
}

/// Parts per million as a percentage string, without trailing zeros.
pub fn format_percent(ppm: i64) -> String {
    let text = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_displays_with_its_currency_digits() {
        assert_eq!(Money::new(1999, Currency::USD).to_string(), "19.99 USD");
        assert_eq!(Money::new(5, Currency::USD).to_string(), "0.05 USD");
        assert_eq!(Money::new(-1250, Currency::USD).to_string(), "-12.50 USD");
        let jpy = Currency::parse("JPY").expect("JPY");
        assert_eq!(Money::new(1500, jpy).to_string(), "1500 JPY");
        let kwd = Currency::parse("KWD").expect("KWD");
        assert_eq!(Money::new(1005, kwd).to_string(), "1.005 KWD");
    }

    #[test]
    fn ppm_rounds_half_away_from_zero() {
        assert_eq!(apply_ppm(1000, 75_000), 75);
        assert_eq!(apply_ppm(1010, 75_000), 76); // 75.75
        assert_eq!(apply_ppm(1006, 75_000), 75); // 75.45
        assert_eq!(apply_ppm(10, 50_000), 1); // 0.5 rounds up
        assert_eq!(apply_ppm(-10, 50_000), -1);
        assert_eq!(div_round(7, 2), 4);
        assert_eq!(div_round(-7, 2), -4);
        assert_eq!(div_round(5, 3), 2);
    }

    proptest! {
        #[test]
        fn ppm_is_within_half_a_unit_of_the_exact_value(amount in -10_000_000_000i64..10_000_000_000, ppm in 0i64..1_000_000) {
            let exact = amount as f64 * ppm as f64 / 1e6;
            let got = apply_ppm(amount, ppm) as f64;
            prop_assert!((got - exact).abs() <= 0.5 + 1e-6);
        }
    }

    #[test]
    fn currencies_parse_and_know_their_digits() {
        assert_eq!(Currency::parse("usd").map(|c| c.minor_units()), Some(2));
        assert_eq!(Currency::parse("JPY").map(|c| c.minor_units()), Some(0));
        assert_eq!(Currency::parse("KWD").map(|c| c.minor_units()), Some(3));
        assert!(Currency::parse("US").is_none());
        assert!(Currency::parse("U$D").is_none());
    }

    proptest! {
        #[test]
        fn addition_is_exact_in_one_currency(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let usd = Currency::parse("USD").expect("usd");
            let sum = Money::new(a, usd).checked_add(Money::new(b, usd)).expect("no overflow");
            prop_assert_eq!(sum.amount, a + b);
        }

        #[test]
        fn mixed_currencies_never_add(a in any::<i64>(), b in any::<i64>()) {
            let usd = Currency::parse("USD").expect("usd");
            let eur = Currency::parse("EUR").expect("eur");
            prop_assert!(Money::new(a, usd).checked_add(Money::new(b, eur)).is_none());
        }
    }
}
