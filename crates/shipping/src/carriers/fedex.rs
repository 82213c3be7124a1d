//! FedEx Rate API: an OAuth token from `POST /oauth/token` (client credentials in the
//! form), then `POST /rate/v1/rates/quotes`.

use async_trait::async_trait;
use emporium_core::Currency;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::*;

pub struct FedEx {
    client_id: String,
    client_secret: SecretString,
    account: String,
    base: String,
    http: reqwest::Client,
    token: TokenCache,
}

impl FedEx {
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
                let body = send(
                    "fedex",
                    self.http.post(format!("{}/oauth/token", self.base)).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", self.client_id.as_str()),
                        ("client_secret", self.client_secret.expose_secret()),
                    ]),
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
        "postalCode": place.postal_code,
        "city": place.city,
        "stateOrProvinceCode": place.region,
        "countryCode": place.country,
    })
}

#[async_trait]
impl CarrierRates for FedEx {
    fn name(&self) -> &'static str {
        "fedex"
    }

    async fn quote(&self, request: &RateRequest) -> Result<CarrierQuote, CarrierError> {
        let token = self.token().await?;
        let mut shipment = json!({
            "shipper": {"address": address(&request.origin)},
            "recipient": {"address": address(&request.destination)},
            "pickupType": "DROPOFF_AT_FEDEX_LOCATION",
            "rateRequestType": ["ACCOUNT"],
            "requestedPackageLineItems": [{"weight": {"units": "KG", "value": request.weight_grams.max(1) as f64 / 1000.0}}],
        });
        if let Some(service) = &request.service {
            shipment["serviceType"] = json!(service);
        }
        let reply = send(
            "fedex",
            self.http
                .post(format!("{}/rate/v1/rates/quotes", self.base))
                .bearer_auth(token)
                .header("X-locale", "en_US")
                .json(&json!({"accountNumber": {"value": self.account}, "requestedShipment": shipment})),
        )
        .await?;
        let detail = &reply["output"]["rateReplyDetails"][0]["ratedShipmentDetails"][0];
        let currency = detail["currency"]
            .as_str()
            .and_then(Currency::parse)
            .ok_or_else(|| CarrierError::Protocol("no ratedShipmentDetails.currency".into()))?;
        let amount = minor_units(&detail["totalNetCharge"], currency)
            .ok_or_else(|| CarrierError::Protocol("no totalNetCharge".into()))?;
        let transit_days =
            reply["output"]["rateReplyDetails"][0]["commit"]["transitDays"]["minimumTransitTime"]
                .as_str()
                .and_then(|t| match t {
                    "ONE_DAY" => Some(1),
                    "TWO_DAYS" => Some(2),
                    "THREE_DAYS" => Some(3),
                    "FOUR_DAYS" => Some(4),
                    "FIVE_DAYS" => Some(5),
                    _ => None,
                });
        Ok(CarrierQuote {
            amount,
            currency,
            transit_days,
        })
    }
}
