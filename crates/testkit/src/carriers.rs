//! Local carrier rate APIs for tests, each speaking its carrier's documented format:
//! UPS (OAuth with HTTP Basic, then the Rating API), FedEx (OAuth with form credentials,
//! then the Rate API) and DHL Express (MyDHL `GET /mydhlapi/rates` with HTTP Basic).
//! Each can be made slow or failing, and records what it was sent.

use base64::Engine;
use serde_json::{Value, json};

use crate::gateways::{Fake, Recorded, error};

pub const UPS_CLIENT_ID: &str = "ups-client";
pub const UPS_CLIENT_SECRET: &str = "ups-secret";
pub const FEDEX_CLIENT_ID: &str = "fedex-client";
pub const FEDEX_CLIENT_SECRET: &str = "fedex-secret";
pub const DHL_USERNAME: &str = "dhl-user";
pub const DHL_PASSWORD: &str = "dhl-password";

/// What a fake carrier answers.
#[derive(Default)]
pub struct CarrierState {
    /// The quoted price as the carrier writes it ("12.34"), and its currency.
    pub price: String,
    pub currency: String,
    /// Answer rate requests with a 500.
    pub failing: bool,
    pub tokens_issued: u32,
}

pub type FakeCarrier = Fake<CarrierState>;

impl FakeCarrier {
    pub async fn ups(price: &str) -> Self {
        Fake::start(state(price), ups_handler).await
    }

    pub async fn fedex(price: &str) -> Self {
        Fake::start(state(price), fedex_handler).await
    }

    pub async fn dhl(price: &str) -> Self {
        Fake::start(state(price), dhl_handler).await
    }

    pub fn set_failing(&self, failing: bool) {
        self.with(|s| s.failing = failing);
    }

    pub fn set_price(&self, price: &str) {
        self.with(|s| s.price = price.to_string());
    }

    pub fn tokens_issued(&self) -> u32 {
        self.with(|s| s.tokens_issued)
    }

    /// Rate requests so far (not token requests).
    pub fn rate_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains("rat"))
            .collect()
    }
}

fn state(price: &str) -> CarrierState {
    CarrierState {
        price: price.to_string(),
        currency: "USD".into(),
        ..CarrierState::default()
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn ups_handler(s: &mut CarrierState, r: &Recorded, _base: &str) -> (u16, Value) {
    match r.path.as_str() {
        "/security/v1/oauth/token" => {
            if r.header("authorization") != Some(&basic(UPS_CLIENT_ID, UPS_CLIENT_SECRET))
                || r.form().get("grant_type").map(String::as_str) != Some("client_credentials")
            {
                return error(401, "invalid client");
            }
            s.tokens_issued += 1;
            // UPS sends expires_in as a string.
            (
                200,
                json!({"access_token": format!("ups-token-{}", s.tokens_issued), "token_type": "Bearer", "expires_in": "14399"}),
            )
        }
        "/api/rating/v2403/Rate" => {
            if !r
                .header("authorization")
                .is_some_and(|a| a.starts_with("Bearer ups-token-"))
            {
                return error(401, "no token");
            }
            if s.failing {
                return error(500, "rating is down");
            }
            let shipment = &r.json()["RateRequest"]["Shipment"];
            if shipment["Package"]["PackageWeight"]["Weight"]
                .as_str()
                .is_none()
                || shipment["ShipTo"]["Address"]["CountryCode"]
                    .as_str()
                    .is_none()
            {
                return error(400, "missing weight or destination");
            }
            (
                200,
                json!({"RateResponse": {"RatedShipment": [{
                    "Service": {"Code": shipment["Service"]["Code"]},
                    "TotalCharges": {"CurrencyCode": s.currency, "MonetaryValue": s.price},
                    "GuaranteedDelivery": {"BusinessDaysInTransit": "3"},
                }]}}),
            )
        }
        _ => error(404, "not found"),
    }
}

fn fedex_handler(s: &mut CarrierState, r: &Recorded, _base: &str) -> (u16, Value) {
    match r.path.as_str() {
        "/oauth/token" => {
            let form = r.form();
            if form.get("client_id").map(String::as_str) != Some(FEDEX_CLIENT_ID)
                || form.get("client_secret").map(String::as_str) != Some(FEDEX_CLIENT_SECRET)
            {
                return error(401, "invalid client");
            }
            s.tokens_issued += 1;
            (
                200,
                json!({"access_token": format!("fedex-token-{}", s.tokens_issued), "token_type": "bearer", "expires_in": 3599}),
            )
        }
        "/rate/v1/rates/quotes" => {
            if !r
                .header("authorization")
                .is_some_and(|a| a.starts_with("Bearer fedex-token-"))
            {
                return error(401, "no token");
            }
            if s.failing {
                return error(503, "unavailable");
            }
            let price: f64 = s.price.parse().unwrap_or(0.0);
            (
                200,
                json!({"output": {"rateReplyDetails": [{
                    "serviceType": "FEDEX_GROUND",
                    "ratedShipmentDetails": [{"totalNetCharge": price, "currency": s.currency}],
                    "commit": {"transitDays": {"minimumTransitTime": "TWO_DAYS"}},
                }]}}),
            )
        }
        _ => error(404, "not found"),
    }
}

fn dhl_handler(s: &mut CarrierState, r: &Recorded, _base: &str) -> (u16, Value) {
    if r.path != "/mydhlapi/rates" {
        return error(404, "not found");
    }
    if r.header("authorization") != Some(&basic(DHL_USERNAME, DHL_PASSWORD)) {
        return error(401, "unauthorized");
    }
    if s.failing {
        return error(500, "down");
    }
    let price: f64 = s.price.parse().unwrap_or(0.0);
    (
        200,
        json!({"products": [
            {"productName": "EXPRESS WORLDWIDE", "productCode": "P",
             "totalPrice": [{"currencyType": "BILLC", "priceCurrency": s.currency, "price": price},
                            {"currencyType": "PULCL", "priceCurrency": "EUR", "price": 1.0}],
             "deliveryCapabilities": {"totalTransitDays": "2"}},
            {"productName": "EXPRESS 12:00", "productCode": "Y",
             "totalPrice": [{"currencyType": "BILLC", "priceCurrency": s.currency, "price": price + 10.0}],
             "deliveryCapabilities": {"totalTransitDays": "1"}},
        ]}),
    )
}
