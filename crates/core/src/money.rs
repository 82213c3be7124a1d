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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
