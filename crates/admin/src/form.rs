//! Reading the console's forms: the posted fields as name-value pairs, in order.

use std::collections::HashMap;

/// A posted form's fields, repeated names kept (ticked boxes).
pub(crate) type Pairs = Vec<(String, String)>;

/// The first value of a field, trimmed; empty when absent.
pub(crate) fn one<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// Every value of a field (the ticked boxes of one name).
pub(crate) fn all(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The form's CSRF token, as the session's check reads it.
pub(crate) fn csrf(pairs: &Pairs) -> HashMap<String, String> {
    HashMap::from([("csrf".to_string(), one(pairs, "csrf").to_string())])
}
