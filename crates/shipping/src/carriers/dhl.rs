//! DHL Express MyDHL API: `GET /mydhlapi/rates` with HTTP Basic, one query parameter per
//! field; the cheapest product (or the one named by the service code) is taken.

use async_trait::async_trait;
use emporium_core::Currency;
use secrecy::{ExposeSecret, SecretString};

use super::*;

pub struct Dhl {
    username: String,
    password: SecretString,
    account: String,
    base: String,
    http: reqwest::Client,
}

impl Dhl {
    pub fn new(
        username: String,
        password: SecretString,
        account: String,
        base: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            username,
            password,
            account,
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }
}

#[async_trait]
impl CarrierRates for Dhl {
    fn name(&self) -> &'static str {
        "dhl"
    }

    async fn quote(&self, request: &RateRequest) -> Result<CarrierQuote, CarrierError> {
        let kilos = format!("{:.2}", request.weight_grams.max(1) as f64 / 1000.0);
        let date = chrono::Utc::now().date_naive().to_string();
        let o = &request.origin;
        let d = &request.destination;
        let query: Vec<(&str, String)> = vec![
            ("accountNumber", self.account.clone()),
            ("originCountryCode", o.country.clone()),
            (
                "originPostalCode",
                o.postal_code.clone().unwrap_or_default(),
            ),
            ("originCityName", o.city.clone().unwrap_or_default()),
            ("destinationCountryCode", d.country.clone()),
            (
                "destinationPostalCode",
                d.postal_code.clone().unwrap_or_default(),
            ),
            ("destinationCityName", d.city.clone().unwrap_or_default()),
            ("weight", kilos),
            ("length", "30".into()),
            ("width", "20".into()),
            ("height", "10".into()),
            ("plannedShippingDate", date),
            ("isCustomsDeclarable", (o.country != d.country).to_string()),
            ("unitOfMeasurement", "metric".into()),
        ];
        let reply = send(
            "dhl",
            self.http
                .get(format!("{}/mydhlapi/rates", self.base))
                .basic_auth(&self.username, Some(self.password.expose_secret()))
                .query(&query),
        )
        .await?;
        let products = reply["products"]
            .as_array()
            .ok_or_else(|| CarrierError::Protocol("no products".into()))?;
        let priced: Vec<(Option<&str>, CarrierQuote)> = products
            .iter()
            .filter_map(|p| {
                // The price billed to the shipper's account.
                let price = p["totalPrice"]
                    .as_array()?
                    .iter()
                    .find(|t| t["currencyType"].as_str() == Some("BILLC"))?;
                let currency = Currency::parse(price["priceCurrency"].as_str()?)?;
                let amount = minor_units(&price["price"], currency)?;
                let transit_days = p["deliveryCapabilities"]["totalTransitDays"]
                    .as_str()
                    .and_then(|d| d.parse().ok())
                    .or_else(|| {
                        p["deliveryCapabilities"]["totalTransitDays"]
                            .as_i64()
                            .map(|d| d as i32)
                    });
                Some((
                    p["productCode"].as_str(),
                    CarrierQuote {
                        amount,
                        currency,
                        transit_days,
                    },
                ))
            })
            .collect();
        let chosen = match &request.service {
            Some(code) => priced.iter().find(|(c, _)| *c == Some(code.as_str())),
            None => priced.iter().min_by_key(|(_, q)| q.amount),
        };
        chosen
            .map(|(_, q)| q.clone())
            .ok_or_else(|| CarrierError::Refused("no product offered for this parcel".into()))
    }
}
