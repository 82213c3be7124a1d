//! UPS Rating API: an OAuth token from `/security/v1/oauth/token` (HTTP Basic with the
//! client id and secret), then `POST /api/rating/v2403/Rate`.

use async_trait::async_trait;
use base64::Engine;
use emporium_core::Currency;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::*;

pub struct Ups {
    client_id: String,
    client_secret: SecretString,
    account: String,
    base: String,
    http: reqwest::Client,
    token: TokenCache,
}

impl Ups {
    pub fn new(
        client_id: String,
        client_secret: SecretString,
        account: String,
        base: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            account,
            base: base.trim_end_matches('/').to_string(),
            http,
            token: TokenCache::default(),
        }
    }

    async fn token(&self) -> Result<String, CarrierError> {
        self.token
            .get(|| async {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    self.client_id,
                    self.client_secret.expose_secret()
                ));
                let body = send(
                    "ups",
                    self.http
                        .post(format!("{}/security/v1/oauth/token", self.base))
                        .header("Authorization", format!("Basic {basic}"))
                        .header("x-merchant-id", &self.account)
                        .form(&[("grant_type", "client_credentials")]),
                )
                .await?;
                let token = body["access_token"]
                    .as_str()
                    .ok_or_else(|| CarrierError::Protocol("no access_token".into()))?;
                Ok((token.to_string(), seconds(&body["expires_in"])))
            })
            .await
    }
}

fn address(place: &Place) -> serde_json::Value {
    json!({
        "PostalCode": place.postal_code,
        "City": place.city,
        "StateProvinceCode": place.region,
        "CountryCode": place.country,
    })
}

#[async_trait]
impl CarrierRates for Ups {
    fn name(&self) -> &'static str {
        "ups"
    }

    async fn quote(&self, request: &RateRequest) -> Result<CarrierQuote, CarrierError> {
        let token = self.token().await?;
        let kilos = format!("{:.2}", request.weight_grams.max(1) as f64 / 1000.0);
        let body = json!({"RateRequest": {
            "Request": {"RequestOption": "Rate"},
            "Shipment": {
                "Shipper": {"ShipperNumber": self.account, "Address": address(&request.origin)},
                "ShipFrom": {"Address": address(&request.origin)},
                "ShipTo": {"Address": address(&request.destination)},
                "Service": {"Code": request.service.clone().unwrap_or_else(|| "03".into())},
                "Package": {
                    "PackagingType": {"Code": "02"},
                    "PackageWeight": {"UnitOfMeasurement": {"Code": "KGS"}, "Weight": kilos},
                },
            },
        }});
        let reply = send(
            "ups",
            self.http
                .post(format!("{}/api/rating/v2403/Rate", self.base))
                .bearer_auth(token)
                .header("transId", uuid::Uuid::now_v7().simple().to_string())
                .header("transactionSrc", "emporium")
                .json(&body),
        )
        .await?;
        let rated = &reply["RateResponse"]["RatedShipment"];
        let rated = if rated.is_array() { &rated[0] } else { rated };
        let charges = &rated["TotalCharges"];
        let currency = charges["CurrencyCode"]
            .as_str()
            .and_then(Currency::parse)
            .ok_or_else(|| CarrierError::Protocol("no TotalCharges.CurrencyCode".into()))?;
        let amount = minor_units(&charges["MonetaryValue"], currency)
            .ok_or_else(|| CarrierError::Protocol("no TotalCharges.MonetaryValue".into()))?;
        let transit_days = rated["GuaranteedDelivery"]["BusinessDaysInTransit"]
            .as_str()
            .and_then(|d| d.parse().ok());
        Ok(CarrierQuote {
            amount,
            currency,
            transit_days,
        })
    }
}
