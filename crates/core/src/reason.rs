//! Why someone did something (cancelled an order, refunded, changed stock, rejected a
//! review): shown to staff and often to the customer, so one rule for all of them.

use crate::FieldError;

/// A stated reason: trimmed, 1 to [`Reason::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    /// A reason that may be left out: blank is none; too long is refused naming `field`.
    pub fn optional(raw: Option<&str>, field: &str) -> Result<Option<Self>, FieldError> {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(r) if r.chars().count() > Self::MAX_CHARS => Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            )),
            Some(r) => Ok(Some(Self(r.to_string()))),
        }
    }

    /// A reason that must be given.
    pub fn required(raw: &str, field: &str) -> Result<Self, FieldError> {
        Self::optional(Some(raw), field)?.ok_or_else(|| {
            FieldError::new(
                field,
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(Reason::optional(Some("  "), "reason"), Ok(None));
        assert_eq!(
            Reason::optional(Some(" damaged "), "reason").map(|r| r.map(Reason::into_string)),
            Ok(Some("damaged".to_string()))
        );
        let long = "x".repeat(Reason::MAX_CHARS + 1);
        assert!(Reason::optional(Some(&long), "reason").is_err());
        assert!(Reason::required(" ", "reason").is_err());
    }
}
