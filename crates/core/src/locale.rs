//! The language and currency a request asks for (`?lang=`, `Accept-Language`,
//! `?currency=`), checked against the store's. Every domain that answers in a language
//! or a currency (catalog, search, carts, accounts' emails) takes [`Locale`].

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;
use std::sync::Arc;

use crate::{AppError, AppResult, Config, Currency};

/// Which text to show: the asked language, falling back to the default.
pub struct Lang<'a> {
    pub asked: &'a str,
    pub default: &'a str,
}

/// The language and currency a request asked for, checked against the store's.
pub struct Locale {
    pub lang: String,
    pub default_lang: String,
    pub currency: Currency,
    /// The request named its currency (`?currency=`) rather than taking the default.
    pub currency_asked: bool,
}

impl Locale {
    /// The currency the request named, if it named one.
    pub fn asked_currency(&self) -> Option<Currency> {
        self.currency_asked.then_some(self.currency)
    }

    pub fn lang(&self) -> Lang<'_> {
        Lang {
            asked: &self.lang,
            default: &self.default_lang,
        }
    }
}

#[derive(Deserialize)]
struct LocaleQuery {
    lang: Option<String>,
    currency: Option<String>,
}

impl<S> FromRequestParts<S> for Locale
where
    Arc<Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = Arc::<Config>::from_ref(state);
        let query: LocaleQuery = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .unwrap_or(LocaleQuery {
                lang: None,
                currency: None,
            });
        let store = &config.store;
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = negotiate_language(
            query.lang.as_deref(),
            accept,
            &store.languages,
            &store.default_language,
        );
        let default = Currency::parse(&store.default_currency).unwrap_or(Currency::USD);
        let currency = parse_currency(query.currency.as_deref(), &store.currencies, default)?;
        Ok(Self {
            lang,
            default_lang: store.default_language.clone(),
            currency,
            currency_asked: query.currency.is_some(),
        })
    }
}

/// Picks the response language: `?lang=` first, then the best `Accept-Language` entry
/// the store offers, else the store default.
pub fn negotiate_language(
    query: Option<&str>,
    accept: Option<&str>,
    offered: &[String],
    default: &str,
) -> String {
    let offered_match = |tag: &str| {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or("").to_string();
        offered
            .iter()
            .find(|l| l.eq_ignore_ascii_case(&tag))
            .or_else(|| offered.iter().find(|l| l.eq_ignore_ascii_case(&primary)))
            .cloned()
    };
    if let Some(lang) = query.and_then(offered_match) {
        return lang;
    }
    if let Some(accept) = accept {
        let mut ranked: Vec<(f32, &str)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                (!tag.is_empty() && tag != "*").then_some((q, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        if let Some(lang) = ranked.iter().find_map(|(_, tag)| offered_match(tag)) {
            return lang;
        }
    }
    default.to_string()
}

/// Parses `?currency=`, which must be one of the store's.
pub fn parse_currency(
    code: Option<&str>,
    enabled: &[String],
    default: Currency,
) -> AppResult<Currency> {
    match code {
        None => Ok(default),
        Some(code) => {
            let currency = Currency::parse(code)
                .filter(|c| enabled.iter().any(|e| e.eq_ignore_ascii_case(c.code())))
                .ok_or_else(|| {
                    AppError::invalid(
                        "currency",
                        format!("must be one of: {}", enabled.join(", ")),
                    )
                })?;
            Ok(currency)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_negotiated() {
        let offered = vec!["en".to_string(), "de".to_string()];
        assert_eq!(negotiate_language(Some("de"), None, &offered, "en"), "de");
        assert_eq!(
            negotiate_language(Some("xx"), Some("de-CH, en;q=0.5"), &offered, "en"),
            "de"
        );
        assert_eq!(
            negotiate_language(None, Some("fr, en;q=0.1"), &offered, "en"),
            "en"
        );
        assert_eq!(negotiate_language(None, Some("fr"), &offered, "en"), "en");
    }
}
