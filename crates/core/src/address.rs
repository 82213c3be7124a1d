//! Postal addresses: one shape and one check (per country: ISO codes, required regions,
//! postal code formats) for carts, orders, tax and shipping rules, and the customer's
//! address book.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{AppResult, FieldError};

/// A postal address (API.md's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "Jane Doe",
    "line1": "500 Market Street",
    "line2": "Apt 4B",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "phone": "+1 415 555 0123"
})))]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Countries that use no postal codes.
const NO_POSTAL_CODE: &[&str] = &["AE", "AG", "AO", "BS", "BZ", "FJ", "HK", "IE", "QA", "ZW"];

/// Countries whose addresses need a region (state, province).
const REGION_REQUIRED: &[&str] = &["US", "CA", "AU", "BR", "MX", "IN"];

static POSTAL_PATTERNS: LazyLock<Vec<(&'static str, Regex, &'static str)>> = LazyLock::new(|| {
    [
        ("US", r"^\d{5}(-\d{4})?$", "12345 or 12345-6789"),
        ("CA", r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$", "A1A 1A1"),
        (
            "GB",
            r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$",
            "a UK postcode such as SW1A 1AA",
        ),
        ("DE", r"^\d{5}$", "5 digits"),
        ("FR", r"^\d{5}$", "5 digits"),
        ("ES", r"^\d{5}$", "5 digits"),
        ("IT", r"^\d{5}$", "5 digits"),
        ("FI", r"^\d{5}$", "5 digits"),
        ("MX", r"^\d{5}$", "5 digits"),
        ("NL", r"^\d{4} ?[A-Z]{2}$", "1234 AB"),
        ("BE", r"^\d{4}$", "4 digits"),
        ("AT", r"^\d{4}$", "4 digits"),
        ("CH", r"^\d{4}$", "4 digits"),
        ("DK", r"^\d{4}$", "4 digits"),
        ("NO", r"^\d{4}$", "4 digits"),
        ("AU", r"^\d{4}$", "4 digits"),
        ("NZ", r"^\d{4}$", "4 digits"),
        ("SE", r"^\d{3} ?\d{2}$", "123 45"),
        ("PL", r"^\d{2}-\d{3}$", "12-345"),
        ("PT", r"^\d{4}-\d{3}$", "1234-567"),
        ("JP", r"^\d{3}-?\d{4}$", "123-4567"),
        ("IN", r"^\d{6}$", "6 digits"),
        ("BR", r"^\d{5}-?\d{3}$", "12345-678"),
    ]
    .into_iter()
    .filter_map(|(c, p, hint)| Regex::new(p).ok().map(|r| (c, r, hint)))
    .collect()
});

static GENERIC_POSTAL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[A-Z0-9][A-Z0-9 -]{1,10}$").ok());

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, max: usize, required: bool) {
    let len = value.trim().chars().count();
    if (required && len == 0) || len > max {
        let need = if required { "1" } else { "0" };
        errors.push(FieldError::new(
            field,
            format!("must be {need} to {max} characters"),
        ));
    }
}

impl Address {
    /// Checks the address for its country and normalises it (trimmed, upper-case
    /// country and postal code). Field errors are named under `prefix`.
    pub fn check(mut self, prefix: &str, errors: &mut Vec<FieldError>) -> Self {
        let f = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        self.country = self.country.trim().to_ascii_uppercase();
        let country_ok = crate::geo::is_country(&self.country);
        if !country_ok {
            errors.push(FieldError::new(
                f("country"),
                "must be an ISO 3166-1 alpha-2 code such as US or DE",
            ));
        }
        text(errors, f("name"), &self.name, 200, true);
        text(errors, f("line1"), &self.line1, 200, true);
        text(
            errors,
            f("line2"),
            self.line2.as_deref().unwrap_or(""),
            200,
            false,
        );
        text(errors, f("city"), &self.city, 100, true);
        let region = self.region.as_deref().unwrap_or("").trim().to_string();
        if REGION_REQUIRED.contains(&self.country.as_str()) {
            // Where a region is required it is the ISO 3166-2 code (`CA` for California).
            let code = region.to_ascii_uppercase();
            if region.is_empty() {
                errors.push(FieldError::new(f("region"), "is required for this country"));
            } else if !crate::geo::is_region(&self.country, &code) {
                errors.push(FieldError::new(
                    f("region"),
                    "must be this country's ISO 3166-2 region code (CA for California)",
                ));
            } else {
                self.region = Some(code);
            }
        }
        let region = region.as_str();
        text(errors, f("region"), region, 100, false);
        let postal = self
            .postal_code
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        if country_ok {
            if postal.is_empty() {
                if !NO_POSTAL_CODE.contains(&self.country.as_str()) {
                    errors.push(FieldError::new(
                        f("postal_code"),
                        "is required for this country",
                    ));
                }
            } else if let Some((_, pattern, hint)) =
                POSTAL_PATTERNS.iter().find(|(c, _, _)| *c == self.country)
            {
                if !pattern.is_match(&postal) {
                    errors.push(FieldError::new(
                        f("postal_code"),
                        format!("must look like {hint}"),
                    ));
                }
            } else if !GENERIC_POSTAL.as_ref().is_some_and(|r| r.is_match(&postal)) {
                errors.push(FieldError::new(
                    f("postal_code"),
                    "must be 2 to 11 letters, digits, spaces or dashes",
                ));
            }
        }
        if let Some(phone) = &self.phone {
            let ok = phone.len() <= 32
                && phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !ok {
                errors.push(FieldError::new(
                    f("phone"),
                    "must be at most 32 digits, spaces and + - ( ) .",
                ));
            }
        }
        self.postal_code = (!postal.is_empty()).then_some(postal);
        self.region = (!region.is_empty()).then(|| region.to_string());
        self.name = self.name.trim().to_string();
        self.line1 = self.line1.trim().to_string();
        self.city = self.city.trim().to_string();
        self
    }
}

/// A customer's saved addresses, as other domains may read them (accounts keeps the
/// address book; checkout takes a saved one by id). Plugged in by the node.
#[async_trait::async_trait]
pub trait SavedAddresses: Send + Sync + 'static {
    /// Customer `customer`'s saved address `id`, or 422 naming `shipping_address_id`
    /// when they have none by that id.
    async fn saved_address(&self, customer: Uuid, id: Uuid) -> AppResult<Address>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, postal: &str, region: Option<&str>) -> Address {
        Address {
            name: "Ada".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Town".into(),
            region: region.map(str::to_string),
            postal_code: Some(postal.into()),
            country: country.into(),
            phone: None,
        }
    }

    #[test]
    fn addresses_are_checked_per_country() {
        let mut errors = Vec::new();
        address("us", "94105", Some("CA")).check("a", &mut errors);
        address("GB", "sw1a 1aa", None).check("a", &mut errors);
        address("DE", "10115", None).check("a", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        address("US", "9410", Some("CA")).check("a", &mut errors);
        address("US", "94105", None).check("b", &mut errors);
        address("XX", "1", None).check("c", &mut errors);
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a.postal_code", "b.region", "c.country"]);
    }
}
