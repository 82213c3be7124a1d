//! Account rules that need no I/O: emails, the password policy, roles and permissions.

use emporium_core::FieldError;
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub use emporium_core::email::Email;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer passwords only cost hashing time.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password against the policy: 10 to 256 characters, not a common
/// password, not the email (or its local part).
pub fn check_password(
    password: &str,
    email: Option<&Email>,
    field: &str,
) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            "must be at least 10 characters long",
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            "must be at most 256 characters long",
        ));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) || is_one_repeated_char(&lower) {
        return Err(FieldError::new(
            field,
            "is too common; choose another password",
        ));
    }
    if let Some(email) = email {
        let local = email.as_str().split('@').next().unwrap_or("");
        if lower == email.as_str() || (local.len() >= 4 && lower == local) {
            return Err(FieldError::new(field, "must not be your email address"));
        }
    }
    Ok(())
}

fn is_one_repeated_char(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

fn common_passwords() -> &'static BTreeSet<&'static str> {
    static SET: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

pub use emporium_auth::{PERMISSIONS, Role, allows};

/// Checks a requested permission set; unknown names are a field error.
pub fn parse_permissions(names: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !PERMISSIONS.contains(&name.as_str()) {
            return Err(FieldError::new(
                "permissions",
                format!("unknown permission {name:?}"),
            ));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// Account states.
pub mod status {
    pub const ACTIVE: &str = "active";
    pub const SUSPENDED: &str = "suspended";
}

/// Purposes of single-use tokens.
pub mod purpose {
    pub const VERIFY_EMAIL: &str = "verify_email";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const MFA: &str = "mfa";
    pub const CHANGE_EMAIL: &str = "change_email";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.as_str().to_string()),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@x",
            "a b@x.com",
            "ada@x..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("someone@example.com").expect("email");
        assert!(check_password("short", None, "password").is_err());
        assert!(
            check_password("Password123", None, "password").is_err(),
            "common"
        );
        assert!(
            check_password("aaaaaaaaaaaa", None, "password").is_err(),
            "repeated"
        );
        assert!(check_password("someone@example.com", Some(&email), "password").is_err());
        assert!(check_password("correct horse battery", Some(&email), "password").is_ok());
    }

    #[test]
    fn permissions_are_checked() {
        assert!(parse_permissions(&["orders.read".into()]).is_ok());
        assert!(parse_permissions(&["orders.nuke".into()]).is_err());
        assert!(allows(Role::Admin, &[], "users.manage"));
        assert!(!allows(
            Role::Customer,
            &["users.manage".into()],
            "users.manage"
        ));
        assert!(allows(
            Role::Staff,
            &["users.manage".into()],
            "users.manage"
        ));
    }
}
