//! Shipping zones (countries, or regions of them) with their methods, and quoting them
//! for a parcel: table rates at once, carrier rates live (bounded by the carrier timeout,
//! cached briefly per cart and address, with the method's table rule as the fallback).

use chrono::Utc;
use emporium_core::{AppError, AppResult, Config, Currency, FieldError};
use emporium_db::Db;
use emporium_db::entity::{shipping_methods, shipping_zones};
use futures::future::join_all;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::carriers::{CARRIERS, CarrierQuote, Carriers, Place, RateRequest};
use crate::rates::{Parcel, TableRule};

/// The kinds of method.
pub const KINDS: [&str; 4] = ["flat", "weight", "subtotal", "carrier"];

/// A way to ship, priced for one parcel (amount in the cart's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub method_id: Uuid,
    pub name: String,
    pub kind: String,
    pub carrier: Option<String>,
    pub amount: i64,
    /// `table`, or `carrier` when a carrier priced it live.
    pub source: String,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
}

/// The cart's currency, the store's, and how to turn the store's amounts into the
/// cart's.
pub struct CartMoney<'a> {
    pub currency: Currency,
    pub default: Currency,
    pub to_cart: &'a (dyn Fn(i64) -> i64 + Sync),
}

/// Where an address stands.
#[derive(Debug, Clone)]
pub enum Coverage {
    /// No zones are set up: the store's flat rate applies.
    NoZones,
    /// The methods of the zone the address is in, in order.
    Zone(Vec<shipping_methods::Model>),
    /// Zones exist and none covers the address.
    NotShipped,
}

/// A zone with its methods.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ZoneView {
    pub id: Uuid,
    pub name: String,
    /// `US`, or `US-CA` for one region.
    pub countries: Vec<String>,
    pub position: i32,
    pub methods: Vec<MethodView>,
    /// Codes of this zone that another zone serves instead: when zones overlap, the most
    /// specific code wins, then the lower position, then the older zone, and a zone
    /// without an active method serves nothing.
    pub served_elsewhere: Vec<ServedElsewhere>,
}

/// A code another zone takes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServedElsewhere {
    pub code: String,
    pub zone_id: Uuid,
}

/// A method as staff set it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MethodView {
    pub id: Uuid,
    pub zone_id: Uuid,
    pub name: String,
    pub kind: String,
    /// The table rule (for `carrier`, the fallback), amounts in the default currency.
    pub rates: TableRule,
    pub free_over: Option<i64>,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub position: i32,
    pub active: bool,
}

/// `POST /admin/shipping-zones`, `PATCH /admin/shipping-zones/{id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "US West Coast",
    "countries": ["US-CA", "US-OR", "US-WA"],
    "position": 1
})))]
pub struct ZoneBody {
    pub name: Option<String>,
    pub countries: Option<Vec<String>>,
    pub position: Option<i32>,
}

/// `POST /admin/shipping-zones/{id}/methods`, `PATCH /admin/shipping-methods/{id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "Standard ground",
    "kind": "weight",
    "rates": {
        "kind": "weight",
        "tiers": [
            { "up_to_grams": 1000, "amount": 595 },
            { "up_to_grams": 5000, "amount": 1295 },
            { "up_to_grams": null, "amount": 2495 }
        ]
    },
    "free_over": 7500,
    "min_days": 3,
    "max_days": 5,
    "position": 0,
    "active": true
})))]
pub struct MethodBody {
    pub name: Option<String>,
    /// `flat`, `weight`, `subtotal` or `carrier`.
    pub kind: Option<String>,
    /// `{"kind": "flat", "amount"}`, `{"kind": "weight", "tiers": [{"up_to_grams",
    /// "amount"}]}` or `{"kind": "subtotal", "tiers": [{"from", "amount"}]}`; for a
    /// carrier method, the table used when the carrier cannot answer.
    pub rates: Option<TableRule>,
    /// Free when the cart's subtotal reaches this (default currency); `null` to clear.
    #[serde(default, with = "double_option")]
    pub free_over: Option<Option<i64>>,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    /// `ups`, `fedex` or `dhl` (carrier methods).
    pub carrier: Option<String>,
    /// The carrier's service code.
    pub service: Option<String>,
    pub position: Option<i32>,
    pub active: Option<bool>,
}

/// Tells a field set to `null` from one left out.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

fn rule_of(method: &shipping_methods::Model) -> Option<TableRule> {
    serde_json::from_str(&method.rates).ok()
}

fn method_view(m: shipping_methods::Model) -> MethodView {
    MethodView {
        rates: rule_of(&m).unwrap_or(TableRule::Flat { amount: 0 }),
        id: m.id,
        zone_id: m.zone_id,
        name: m.name,
        kind: m.kind,
        free_over: m.free_over,
        min_days: m.min_days,
        max_days: m.max_days,
        carrier: m.carrier,
        service: m.service,
        position: m.position,
        active: m.active,
    }
}

/// How closely a zone's code covers an address: 2 for its region, 1 for its country.
/// The ids of zones with at least one active method.
async fn open_zones<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(shipping_methods::Entity::find()
        .filter(shipping_methods::Column::Active.eq(true))
        .select_only()
        .column(shipping_methods::Column::ZoneId)
        .distinct()
        .into_tuple::<Uuid>()
        .all(conn)
        .await?)
}

fn covers(code: &str, country: &str, region: Option<&str>) -> u8 {
    match code.split_once('-') {
        Some((c, r)) => {
            u8::from(c == country && region.is_some_and(|region| region.eq_ignore_ascii_case(r)))
                * 2
        }
        None => u8::from(code == country),
    }
}

/// Which zone serves a place: among zones that have an active method and list it, the
/// most specific (a region code beats its country), then the lowest position, then the
/// oldest. A zone still being set up (no active method) never hides another.
fn serving_zone<'a>(
    zones: &'a [(shipping_zones::Model, bool)],
    country: &str,
    region: Option<&str>,
) -> Option<&'a shipping_zones::Model> {
    zones
        .iter()
        .filter(|(_, open)| *open)
        .filter_map(|(z, _)| {
            let codes: Vec<String> = serde_json::from_str(&z.countries).unwrap_or_default();
            let score = codes
                .iter()
                .map(|c| covers(c, country, region))
                .max()
                .unwrap_or(0);
            (score > 0).then_some((score, z))
        })
        .min_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.position.cmp(&b.1.position))
                .then(a.1.created_at.cmp(&b.1.created_at))
                .then(a.1.id.cmp(&b.1.id))
        })
        .map(|(_, z)| z)
}

/// The shop's shipping. Cheap to clone.
#[derive(Clone)]
pub struct Shipping {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    carriers: Carriers,
    quotes: moka::sync::Cache<String, CarrierQuote>,
}

impl Shipping {
    pub fn new(db: Db, config: Arc<Config>) -> anyhow::Result<Self> {
        let carriers = Carriers::from_config(&config)?;
        let quotes = moka::sync::Cache::builder()
            .max_capacity(50_000)
            .time_to_live(Duration::from_secs(config.shipping.quote_ttl_secs.max(1)))
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                config,
                carriers,
                quotes,
            }),
        })
    }

    /// The zone covering an address: a region's zone wins over its country's; among
    /// equals, the first by position.
    pub async fn coverage<C: ConnectionTrait>(
        &self,
        conn: &C,
        country: &str,
        region: Option<&str>,
    ) -> AppResult<Coverage> {
        let zones = shipping_zones::Entity::find()
            .order_by_asc(shipping_zones::Column::Position)
            .order_by_asc(shipping_zones::Column::Id)
            .all(conn)
            .await?;
        if zones.is_empty() {
            return Ok(Coverage::NoZones);
        }
        let country = country.to_ascii_uppercase();
        let open = open_zones(conn).await?;
        let zones: Vec<_> = zones
            .into_iter()
            .map(|z| {
                let has_methods = open.contains(&z.id);
                (z, has_methods)
            })
            .collect();
        let Some(zone) = serving_zone(&zones, &country, region) else {
            return Ok(Coverage::NotShipped);
        };
        let methods = shipping_methods::Entity::find()
            .filter(shipping_methods::Column::ZoneId.eq(zone.id))
            .filter(shipping_methods::Column::Active.eq(true))
            .order_by_asc(shipping_methods::Column::Position)
            .order_by_asc(shipping_methods::Column::Id)
            .all(conn)
            .await?;
        Ok(Coverage::Zone(methods))
    }

    /// A method's table price for a parcel in the cart's currency (a carrier method's
    /// fallback), free over its threshold; `None` when no tier covers the parcel.
    pub fn table_price(
        &self,
        method: &shipping_methods::Model,
        parcel: Parcel,
        to_cart: &dyn Fn(i64) -> i64,
    ) -> Option<i64> {
        let price = rule_of(method)?.price(parcel, to_cart)?;
        Some(free_over(method, parcel, price, to_cart))
    }

    fn quote_key(scope: &str, method: &shipping_methods::Model, to: &Place, weight: i64) -> String {
        format!(
            "{scope}|{}|{}|{}|{}|{}|{weight}",
            method.id,
            to.country,
            to.postal_code.as_deref().unwrap_or(""),
            to.city.as_deref().unwrap_or(""),
            to.region.as_deref().unwrap_or("")
        )
    }

    /// Every method of `methods` priced for the parcel: carrier methods ask their carrier
    /// (all at once, each bounded by the timeout, answers cached per `scope` and address)
    /// and fall back to their table rule when it fails, is slow, or prices in a currency
    /// we cannot convert.
    pub async fn quotes(
        &self,
        methods: &[shipping_methods::Model],
        destination: &Place,
        parcel: Parcel,
        money: &CartMoney<'_>,
        scope: &str,
    ) -> Vec<Quote> {
        let (cart_currency, default_currency, to_cart) =
            (money.currency, money.default, money.to_cart);
        let s = &self.inner.config.shipping;
        let origin = Place {
            country: s.origin_country.clone(),
            postal_code: Some(s.origin_postal_code.clone()),
            city: Some(s.origin_city.clone()),
            region: None,
        };
        let timeout = Duration::from_millis(s.carrier_timeout_ms.max(1));
        let live = methods.iter().map(|m| {
            let origin = origin.clone();
            async move {
                let (Some(name), "carrier") = (m.carrier.as_deref(), m.kind.as_str()) else {
                    return None;
                };
                let carrier = self.inner.carriers.get(name)?;
                let key = Self::quote_key(scope, m, destination, parcel.weight_grams);
                if let Some(hit) = self.inner.quotes.get(&key) {
                    return Some(hit);
                }
                let request = RateRequest {
                    origin,
                    destination: destination.clone(),
                    weight_grams: parcel.weight_grams,
                    service: m.service.clone(),
                };
                let started = std::time::Instant::now();
                let result = match tokio::time::timeout(timeout, carrier.quote(&request)).await {
                    Ok(result) => result,
                    Err(_) => Err(crate::carriers::CarrierError::Timeout),
                };
                match result {
                    Ok(quote) => {
                        self.inner.quotes.insert(key, quote.clone());
                        Some(quote)
                    }
                    Err(e) => {
                        tracing::warn!(carrier = name, error = %e, elapsed_ms = started.elapsed().as_millis() as u64, "carrier rate failed; using the table rate");
                        None
                    }
                }
            }
        });
        let answers = join_all(live).await;
        methods
            .iter()
            .zip(answers)
            .filter_map(|(m, answer)| {
                let converted = answer.and_then(|q| {
                    let amount = if q.currency == cart_currency {
                        q.amount
                    } else if q.currency == default_currency {
                        to_cart(q.amount)
                    } else {
                        return None;
                    };
                    Some((amount, q.transit_days))
                });
                let (amount, source, days) = match converted {
                    Some((amount, days)) => {
                        (free_over(m, parcel, amount, to_cart), "carrier", days)
                    }
                    None => (self.table_price(m, parcel, to_cart)?, "table", None),
                };
                Some(Quote {
                    method_id: m.id,
                    name: m.name.clone(),
                    kind: m.kind.clone(),
                    carrier: m.carrier.clone(),
                    amount,
                    source: source.into(),
                    min_days: days.or(m.min_days),
                    max_days: days.or(m.max_days),
                })
            })
            .collect()
    }

    // ---------------------------------------------------------------- administration

    pub async fn zones(&self) -> AppResult<Vec<ZoneView>> {
        let conn = self.inner.db.current();
        let zones = shipping_zones::Entity::find()
            .order_by_asc(shipping_zones::Column::Position)
            .order_by_asc(shipping_zones::Column::Id)
            .all(conn)
            .await?;
        let methods = shipping_methods::Entity::find()
            .order_by_asc(shipping_methods::Column::Position)
            .order_by_asc(shipping_methods::Column::Id)
            .all(conn)
            .await?;
        let open: Vec<(shipping_zones::Model, bool)> = zones
            .into_iter()
            .map(|z| {
                let has_methods = methods.iter().any(|m| m.zone_id == z.id && m.active);
                (z, has_methods)
            })
            .collect();
        let views = open
            .iter()
            .map(|(z, _)| {
                let countries: Vec<String> = serde_json::from_str(&z.countries).unwrap_or_default();
                // The codes of this zone that another zone serves instead, and which.
                let served_elsewhere = countries
                    .iter()
                    .filter_map(|code| {
                        let (country, region) = match code.split_once('-') {
                            Some((c, r)) => (c, Some(r)),
                            None => (code.as_str(), None),
                        };
                        let winner = serving_zone(&open, country, region)?;
                        (winner.id != z.id).then(|| ServedElsewhere {
                            code: code.clone(),
                            zone_id: winner.id,
                        })
                    })
                    .collect();
                ZoneView {
                    methods: methods
                        .iter()
                        .filter(|m| m.zone_id == z.id)
                        .cloned()
                        .map(method_view)
                        .collect(),
                    countries,
                    served_elsewhere,
                    id: z.id,
                    name: z.name.clone(),
                    position: z.position,
                }
            })
            .collect();
        Ok(views)
    }

    async fn zone_view(&self, id: Uuid) -> AppResult<ZoneView> {
        self.zones()
            .await?
            .into_iter()
            .find(|z| z.id == id)
            .ok_or_else(|| AppError::not_found("no such shipping zone"))
    }

    pub async fn save_zone(&self, id: Option<Uuid>, body: ZoneBody) -> AppResult<ZoneView> {
        let mut errors = Vec::new();
        let name = body.name.map(|n| n.trim().to_string());
        if name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > 200)
        {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let countries = body.countries.map(|list| {
            let mut out: Vec<String> = Vec::new();
            for (i, code) in list.iter().enumerate() {
                let code = code.trim().to_ascii_uppercase();
                let (country, region) = match code.split_once('-') {
                    Some((c, r)) => (c.to_string(), Some(r.to_string())),
                    None => (code.clone(), None),
                };
                let ok = emporium_core::geo::is_country(&country)
                    && region
                        .as_ref()
                        .is_none_or(|r| emporium_core::geo::is_region(&country, r));
                if !ok {
                    errors.push(FieldError::new(
                        format!("countries[{i}]"),
                        "must be a country code (US) or country and region (US-CA)",
                    ));
                } else if !out.contains(&code) {
                    out.push(code);
                }
            }
            if list.is_empty() {
                errors.push(FieldError::new("countries", "needs at least one code"));
            }
            out
        });
        if id.is_none() {
            if name.is_none() {
                errors.push(FieldError::new("name", "is required"));
            }
            if countries.is_none() {
                errors.push(FieldError::new("countries", "is required"));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let conn = self.inner.db.writer();
        let now = Utc::now();
        let json = |c: &Vec<String>| serde_json::to_string(c).map_err(anyhow::Error::from);
        let saved = match id {
            Some(id) => {
                let existing = shipping_zones::Entity::find_by_id(id)
                    .one(conn)
                    .await?
                    .ok_or_else(|| AppError::not_found("no such shipping zone"))?;
                let mut model: shipping_zones::ActiveModel = existing.into();
                if let Some(name) = name {
                    model.name = Set(name);
                }
                if let Some(countries) = &countries {
                    model.countries = Set(json(countries)?);
                }
                if let Some(position) = body.position {
                    model.position = Set(position);
                }
                model.updated_at = Set(now);
                model.update(conn).await?
            }
            None => {
                shipping_zones::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    name: Set(name.unwrap_or_default()),
                    countries: Set(json(&countries.unwrap_or_default())?),
                    position: Set(body.position.unwrap_or(0)),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(conn)
                .await?
            }
        };
        self.zone_view(saved.id).await
    }

    pub async fn delete_zone(&self, id: Uuid) -> AppResult<()> {
        let conn = self.inner.db.writer();
        shipping_methods::Entity::delete_many()
            .filter(shipping_methods::Column::ZoneId.eq(id))
            .exec(conn)
            .await?;
        let gone = shipping_zones::Entity::delete_by_id(id).exec(conn).await?;
        if gone.rows_affected == 0 {
            return Err(AppError::not_found("no such shipping zone"));
        }
        Ok(())
    }

    /// Creates a method in `zone_id`, or changes method `id`.
    pub async fn save_method(
        &self,
        zone_id: Option<Uuid>,
        id: Option<Uuid>,
        body: MethodBody,
    ) -> AppResult<MethodView> {
        let conn = self.inner.db.writer();
        let existing = match id {
            Some(id) => Some(
                shipping_methods::Entity::find_by_id(id)
                    .one(conn)
                    .await?
                    .ok_or_else(|| AppError::not_found("no such shipping method"))?,
            ),
            None => None,
        };
        if let Some(zone_id) = zone_id
            && shipping_zones::Entity::find_by_id(zone_id)
                .one(conn)
                .await?
                .is_none()
        {
            return Err(AppError::not_found("no such shipping zone"));
        }
        let mut errors = Vec::new();
        let name = body
            .name
            .map(|n| n.trim().to_string())
            .or_else(|| existing.as_ref().map(|m| m.name.clone()));
        if name
            .as_ref()
            .is_none_or(|n| n.is_empty() || n.chars().count() > 200)
        {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let kind = body
            .kind
            .map(|k| k.trim().to_ascii_lowercase())
            .or_else(|| existing.as_ref().map(|m| m.kind.clone()));
        match &kind {
            Some(k) if KINDS.contains(&k.as_str()) => {}
            _ => errors.push(FieldError::new(
                "kind",
                "must be flat, weight, subtotal or carrier",
            )),
        }
        let rates = body.rates.or_else(|| existing.as_ref().and_then(rule_of));
        match &rates {
            None => errors.push(FieldError::new("rates", "is required")),
            Some(rule) => {
                for (field, message) in rule.problems() {
                    errors.push(FieldError::new(field, message));
                }
                let matches = matches!(
                    (kind.as_deref(), rule),
                    (Some("flat"), TableRule::Flat { .. })
                        | (Some("weight"), TableRule::Weight { .. })
                        | (Some("subtotal"), TableRule::Subtotal { .. })
                        | (Some("carrier"), _)
                );
                if !matches && kind.is_some() {
                    errors.push(FieldError::new(
                        "rates.kind",
                        "must match the method's kind",
                    ));
                }
            }
        }
        let carrier = body
            .carrier
            .map(|c| c.trim().to_ascii_lowercase())
            .or_else(|| existing.as_ref().and_then(|m| m.carrier.clone()));
        if kind.as_deref() == Some("carrier")
            && !carrier
                .as_ref()
                .is_some_and(|c| CARRIERS.contains(&c.as_str()))
        {
            errors.push(FieldError::new("carrier", "must be ups, fedex or dhl"));
        }
        let free_over = match body.free_over {
            Some(value) => value,
            None => existing.as_ref().and_then(|m| m.free_over),
        };
        if free_over.is_some_and(|f| f < 0) {
            errors.push(FieldError::new("free_over", "must not be negative"));
        }
        let min_days = body.min_days.or(existing.as_ref().and_then(|m| m.min_days));
        let max_days = body.max_days.or(existing.as_ref().and_then(|m| m.max_days));
        if min_days.is_some_and(|d| !(0..=365).contains(&d))
            || max_days.is_some_and(|d| !(0..=365).contains(&d))
        {
            errors.push(FieldError::new("min_days", "days must be 0 to 365"));
        }
        if let (Some(min), Some(max)) = (min_days, max_days)
            && min > max
        {
            errors.push(FieldError::new(
                "max_days",
                "must not be less than min_days",
            ));
        }
        let service = body
            .service
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| existing.as_ref().and_then(|m| m.service.clone()));
        if service.as_ref().is_some_and(|s| s.len() > 64) {
            errors.push(FieldError::new("service", "must be at most 64 characters"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let rates = serde_json::to_string(&rates).map_err(anyhow::Error::from)?;
        let now = Utc::now();
        let saved = match existing {
            Some(existing) => {
                let mut model: shipping_methods::ActiveModel = existing.into();
                model.name = Set(name.unwrap_or_default());
                model.kind = Set(kind.unwrap_or_default());
                model.rates = Set(rates);
                model.free_over = Set(free_over);
                model.min_days = Set(min_days);
                model.max_days = Set(max_days);
                model.carrier = Set(carrier);
                model.service = Set(service);
                if let Some(position) = body.position {
                    model.position = Set(position);
                }
                if let Some(active) = body.active {
                    model.active = Set(active);
                }
                model.updated_at = Set(now);
                model.update(conn).await?
            }
            None => {
                shipping_methods::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    zone_id: Set(
                        zone_id.ok_or_else(|| anyhow::anyhow!("a new method needs a zone"))?
                    ),
                    name: Set(name.unwrap_or_default()),
                    kind: Set(kind.unwrap_or_default()),
                    rates: Set(rates),
                    free_over: Set(free_over),
                    min_days: Set(min_days),
                    max_days: Set(max_days),
                    carrier: Set(carrier),
                    service: Set(service),
                    position: Set(body.position.unwrap_or(0)),
                    active: Set(body.active.unwrap_or(true)),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(conn)
                .await?
            }
        };
        Ok(method_view(saved))
    }

    pub async fn delete_method(&self, id: Uuid) -> AppResult<()> {
        let gone = shipping_methods::Entity::delete_by_id(id)
            .exec(self.inner.db.writer())
            .await?;
        if gone.rows_affected == 0 {
            return Err(AppError::not_found("no such shipping method"));
        }
        Ok(())
    }
}

fn free_over(
    method: &shipping_methods::Model,
    parcel: Parcel,
    price: i64,
    to_cart: &dyn Fn(i64) -> i64,
) -> i64 {
    match method.free_over {
        Some(threshold) if parcel.subtotal >= to_cart(threshold) => 0,
        _ => price,
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_region_code_covers_only_its_region() {
        assert_eq!(covers("US", "US", Some("CA")), 1);
        assert_eq!(covers("US-CA", "US", Some("CA")), 2);
        assert_eq!(covers("US-CA", "US", Some("ca")), 2);
        assert_eq!(covers("US-CA", "US", Some("NY")), 0);
        assert_eq!(covers("US-CA", "US", None), 0);
        assert_eq!(covers("DE", "US", None), 0);
    }
}
