//! Decimal strings (PayPal's `"12.34"`, a CSV price column) against our integer minor
//! units, with each currency's own number of decimals (JPY 0, KWD 3).

use crate::Currency;

/// `1234` USD -> `"12.34"`; `500` JPY -> `"500"`; `1234` KWD -> `"1.234"`.
pub fn to_decimal(amount: i64, currency: Currency) -> String {
    let digits = currency.minor_units() as usize;
    if digits == 0 {
        return amount.to_string();
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = 10u64.pow(digits as u32);
    format!("{sign}{}.{:0digits$}", abs / scale, abs % scale)
}

/// `"12.34"` USD -> `1234`. More decimals than the currency has, or anything that is not
/// a plain decimal, is `None`: an amount is never rounded on the way in.
pub fn from_decimal(text: &str, currency: Currency) -> Option<i64> {
    let digits = currency.minor_units() as usize;
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > digits
    {
        return None;
    }
    let scale = 10i64.checked_pow(digits as u32)?;
    let mut value = whole.parse::<i64>().ok()?.checked_mul(scale)?;
    if !fraction.is_empty() {
        let padded = format!("{fraction:0<digits$}");
        value = value.checked_add(padded.parse::<i64>().ok()?)?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).expect("currency")
    }

    #[test]
    fn decimals_follow_the_currency() {
        assert_eq!(to_decimal(1234, c("USD")), "12.34");
        assert_eq!(to_decimal(5, c("USD")), "0.05");
        assert_eq!(to_decimal(500, c("JPY")), "500");
        assert_eq!(to_decimal(1234, c("KWD")), "1.234");
        assert_eq!(from_decimal("12.34", c("USD")), Some(1234));
        assert_eq!(from_decimal("12.3", c("USD")), Some(1230));
        assert_eq!(from_decimal("12", c("USD")), Some(1200));
        assert_eq!(from_decimal("500", c("JPY")), Some(500));
        assert_eq!(from_decimal("1.234", c("KWD")), Some(1234));
    }

    #[test]
    fn odd_text_is_refused_not_rounded() {
        assert_eq!(from_decimal("12.345", c("USD")), None);
        assert_eq!(from_decimal("1.5", c("JPY")), None);
        assert_eq!(from_decimal("", c("USD")), None);
        assert_eq!(from_decimal("1e3", c("USD")), None);
        assert_eq!(from_decimal(".5", c("USD")), None);
        assert_eq!(from_decimal("99999999999999999999", c("USD")), None);
    }

    #[test]
    fn round_trips() {
        for amount in [0, 1, 99, 100, 123_456_789] {
            for code in ["USD", "JPY", "KWD"] {
                assert_eq!(
                    from_decimal(&to_decimal(amount, c(code)), c(code)),
                    Some(amount)
                );
            }
        }
    }
}
