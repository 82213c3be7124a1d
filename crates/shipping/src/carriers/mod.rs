//! Live carrier rates behind one [`CarrierRates`] trait: UPS (Rating API, OAuth client
//! credentials), FedEx (Rate API, OAuth client credentials) and DHL Express (MyDHL API
//! rates, HTTP Basic). Each is a real HTTP client of the carrier's documented API with a
//! configurable base URL, enabled by its keys. Every call is bounded by the shop's carrier
//! timeout; the caller falls back to the method's table rate when a carrier fails.

mod dhl;
mod fedex;
mod ups;

use async_trait::async_trait;
use emporium_core::{Config, Currency};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub use dhl::Dhl;
pub use fedex::FedEx;
pub use ups::Ups;

/// Carriers with rate clients.
pub const CARRIERS: [&str; 3] = ["ups", "fedex", "dhl"];

/// An address as carriers price it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub country: String,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// What to quote.
#[derive(Debug, Clone)]
pub struct RateRequest {
    pub origin: Place,
    pub destination: Place,
    pub weight_grams: i64,
    /// The carrier's service code (UPS `03`, FedEx `FEDEX_GROUND`, DHL `P`); the
    /// carrier's default or cheapest when unset.
    pub service: Option<String>,
}

/// A carrier's price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierQuote {
    pub amount: i64,
    pub currency: Currency,
    pub transit_days: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    #[error("the carrier did not answer in time")]
    Timeout,
    #[error("the carrier could not be reached: {0}")]
    Unavailable(String),
    #[error("the carrier refused: {0}")]
    Refused(String),
    #[error("the carrier answered unexpectedly: {0}")]
    Protocol(String),
}

/// One carrier's live rates.
#[async_trait]
pub trait CarrierRates: Send + Sync {
    fn name(&self) -> &'static str;
    async fn quote(&self, request: &RateRequest) -> Result<CarrierQuote, CarrierError>;
}

/// Sends a request and reads a 2xx JSON body.
pub(crate) async fn send(
    carrier: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Value, CarrierError> {
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            CarrierError::Timeout
        } else {
            CarrierError::Unavailable("connection failed".into())
        }
    })?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|_| {
        CarrierError::Protocol(format!("{carrier} answered {status} with non-JSON"))
    })?;
    if status.is_success() {
        Ok(body)
    } else if status.is_server_error() || status.as_u16() == 429 {
        Err(CarrierError::Unavailable(format!(
            "{carrier} answered {status}"
        )))
    } else {
        Err(CarrierError::Refused(format!(
            "{carrier} answered {status}"
        )))
    }
}

/// Minor units of a decimal amount that came as a JSON number or string.
pub(crate) fn minor_units(value: &Value, currency: Currency) -> Option<i64> {
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let scaled = number * 10f64.powi(currency.minor_units() as i32);
    (scaled.is_finite() && scaled >= 0.0).then(|| scaled.round() as i64)
}

/// An OAuth client-credentials token kept until shortly before it expires.
#[derive(Default)]
pub(crate) struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<String, CarrierError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, u64), CarrierError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch().await?;
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }
}

/// `expires_in` as a number or a string of one (UPS sends a string).
pub(crate) fn seconds(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(300)
}

/// The carriers this shop has keys for.
#[derive(Clone, Default)]
pub struct Carriers {
    by_name: HashMap<&'static str, Arc<dyn CarrierRates>>,
}

impl Carriers {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let s = &config.shipping;
        let http =
            emporium_core::http::outbound(Duration::from_millis(s.carrier_timeout_ms)).build()?;
        let mut by_name: HashMap<&'static str, Arc<dyn CarrierRates>> = HashMap::new();
        if let (Some(id), Some(secret)) = (&s.ups_client_id, &s.ups_client_secret) {
            by_name.insert(
                "ups",
                Arc::new(Ups::new(
                    id.clone(),
                    secret.clone(),
                    s.ups_account_number.clone().unwrap_or_default(),
                    s.ups_api_base.clone(),
                    http.clone(),
                )),
            );
        }
        if let (Some(id), Some(secret)) = (&s.fedex_client_id, &s.fedex_client_secret) {
            by_name.insert(
                "fedex",
                Arc::new(FedEx::new(
                    id.clone(),
                    secret.clone(),
                    s.fedex_account_number.clone().unwrap_or_default(),
                    s.fedex_api_base.clone(),
                    http.clone(),
                )),
            );
        }
        if let (Some(user), Some(password)) = (&s.dhl_username, &s.dhl_password) {
            by_name.insert(
                "dhl",
                Arc::new(Dhl::new(
                    user.clone(),
                    password.clone(),
                    s.dhl_account_number.clone().unwrap_or_default(),
                    s.dhl_api_base.clone(),
                    http,
                )),
            );
        }
        Ok(Self { by_name })
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn CarrierRates>> {
        self.by_name.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_become_minor_units() {
        let usd = Currency::USD;
        let jpy = Currency::parse("JPY").expect("jpy");
        assert_eq!(minor_units(&Value::from("12.34"), usd), Some(1234));
        assert_eq!(minor_units(&Value::from(12.5), usd), Some(1250));
        assert_eq!(minor_units(&Value::from(1500), jpy), Some(1500));
        assert_eq!(minor_units(&Value::from("x"), usd), None);
        assert_eq!(minor_units(&Value::from(-1.0), usd), None);
    }
}
