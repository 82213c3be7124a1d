//! Email addresses: one rule for accounts, carts, orders and stock alerts. An address is
//! stored trimmed and in lower case (RFC 5321 allows a case-sensitive local part, but no
//! mailbox provider in use treats it so, and one customer must not become two), at most
//! 254 characters (the longest path SMTP carries), with one `@` and a dotted domain.
//! Whether the mailbox exists is proven by a confirmation email, not by parsing.

use crate::FieldError;
use std::fmt;

/// A normalised email address: trimmed, lower case, one `@`, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field(raw, "email")
    }

    /// Parses the value of `field`, naming it when the address is refused.
    pub fn parse_field(raw: &str, field: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let bad = || FieldError::new(field, "must be a valid email address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_address() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.as_str().to_string()),
            Ok("ada@example.com".to_string())
        );
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
        assert_eq!(
            Email::parse_field("x", "shipping.email").map_err(|e| e.field),
            Err("shipping.email".to_string())
        );
    }
}
