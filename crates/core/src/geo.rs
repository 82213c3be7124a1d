//! Country and region codes, checked against ISO 3166-1 alpha-2 and ISO 3166-2 as the
//! `rust_iso3166` crate ships them, so that a made-up code (`ZZ`, `US-QQ`) never reaches a
//! tax rate, a shipping zone or an address.

/// Whether `code` (upper case) is an ISO 3166-1 alpha-2 country code.
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && rust_iso3166::from_alpha2(code).is_some()
}

/// Whether `region` is an ISO 3166-2 subdivision of `country` (`US` + `CA`).
pub fn is_region(country: &str, region: &str) -> bool {
    !region.is_empty()
        && rust_iso3166::iso3166_2::from_code(&format!("{country}-{region}")).is_some()
}

/// Every country as (alpha-2 code, English name), by name: what an address form offers.
pub fn countries() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = rust_iso3166::ALL
        .iter()
        .map(|c| (c.alpha2, c.name))
        .collect();
    all.sort_by(|a, b| a.1.cmp(b.1));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_against_iso_3166() {
        assert!(is_country("US") && is_country("DE") && is_country("GB"));
        assert!(!is_country("ZZ") && !is_country("XX") && !is_country("USA"));
        assert!(is_region("US", "CA") && is_region("CA", "ON") && is_region("DE", "BY"));
        assert!(!is_region("US", "QQ") && !is_region("US", ""));
    }
}
