//! Promotions as the admin API writes and reads them: percentages as decimal strings,
//! amounts in minor units of the promotion's currency, checked all at once.

use chrono::{DateTime, Utc};
use emporium_core::money::{format_percent, parse_percent};
use emporium_core::{AppError, AppResult, Currency, FieldError};
use emporium_db::entity::promotions;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::engine::{Action, Class, Conditions, CustomerRule, Promotion, Tier};

/// One spend tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// From this subtotal on (minor units).
    pub min_subtotal: i64,
    /// Percent off, as a decimal string ("10", "12.5").
    pub percent: String,
}

/// What a promotion takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionBody {
    /// A percentage off the matching lines (product class) or the order (order class).
    PercentOff {
        percent: String,
    },
    /// A fixed amount off the matching lines together, or the order.
    AmountOff {
        amount: i64,
    },
    FreeShipping,
    ShippingPercentOff {
        percent: String,
    },
    ShippingAmountOff {
        amount: i64,
    },
    /// For every `buy` matching items, the `get` cheapest next are `percent` off
    /// (default 100: free), at most `max_per_order` times per order.
    BuyXGetY {
        buy: i64,
        get: i64,
        #[serde(default)]
        percent: Option<String>,
        #[serde(default)]
        max_per_order: Option<i64>,
    },
    /// "10% over 100, 15% over 200": the highest tier reached.
    Tiered {
        tiers: Vec<TierBody>,
    },
}

/// When a promotion applies; every list empty means every product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ConditionsBody {
    pub min_subtotal: Option<i64>,
    pub min_quantity: Option<i64>,
    pub products: Vec<Uuid>,
    pub variants: Vec<Uuid>,
    pub categories: Vec<Uuid>,
    pub collections: Vec<Uuid>,
    pub exclude_products: Vec<Uuid>,
    pub exclude_categories: Vec<Uuid>,
    pub exclude_collections: Vec<Uuid>,
    /// `anyone` (default), `signed_in` or `first_order`.
    pub customer: Option<String>,
    /// Shipping countries, ISO 3166-1 alpha-2.
    pub countries: Vec<String>,
}

/// A promotion to create, or the whole of one after a change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "10% off orders over 50 EUR",
    "class": "order",
    "action": {"type": "percent_off", "percent": "10"},
    "conditions": {"min_subtotal": 5000},
    "currency": "EUR",
    "code": "WELCOME10",
    "combines_with": ["shipping"],
    "usage_limit": 1000,
    "per_customer_limit": 1
})))]
pub struct PromotionBody {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `product`, `order` or `shipping`: when it applies and what it combines with.
    pub class: String,
    pub action: ActionBody,
    #[serde(default)]
    pub conditions: ConditionsBody,
    /// The currency of its amounts; it then applies only to carts in it. Required when
    /// the promotion has an amount; absent, a percentage applies in every currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Applies without a code. Default: true unless `code` is given.
    #[serde(default)]
    pub automatic: Option<bool>,
    /// A single coupon code to create with it (more with `POST .../codes`).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Higher goes first (default 0).
    #[serde(default)]
    pub priority: Option<i32>,
    /// The classes it combines with (default none).
    #[serde(default)]
    pub combines_with: Option<Vec<String>>,
    /// Uses in total, across every code.
    #[serde(default)]
    pub usage_limit: Option<i32>,
    /// Uses per customer (by account; by email for guests).
    #[serde(default)]
    pub per_customer_limit: Option<i32>,
    /// The most discount it may give in total, in minor units of its currency.
    #[serde(default)]
    pub budget: Option<i64>,
}

/// A change to a promotion: the fields given replace the stored ones (`null` clears an
/// optional one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(examples(json!({"enabled": false})))]
pub struct PromotionPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub action: Option<ActionBody>,
    pub conditions: Option<ConditionsBody>,
    pub enabled: Option<bool>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: Option<i32>,
    pub combines_with: Option<Vec<String>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub budget: Option<i64>,
}

/// A promotion as stored, with how it has done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PromotionView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub class: String,
    pub action: ActionBody,
    pub conditions: ConditionsBody,
    pub currency: Option<String>,
    pub automatic: bool,
    pub enabled: bool,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub combines_with: Vec<String>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub budget: Option<i64>,
    /// `active`, `scheduled`, `ended`, `used_up` or `disabled`.
    pub status: String,
    /// Orders that used it (released ones not counted).
    pub used: i32,
    /// Discount given, in minor units of its currency (or of each order's, when it has
    /// none).
    pub discount_given: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A checked promotion, ready to store.
pub(crate) struct Checked {
    pub name: String,
    pub description: String,
    pub class: Class,
    pub action: Action,
    pub conditions: Conditions,
    pub currency: Option<String>,
    pub automatic: bool,
    pub code: Option<String>,
    pub enabled: bool,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub combines_with: Vec<Class>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub budget: Option<i64>,
}

/// A code as stored: trimmed, upper case; 3 to 64 letters, digits, `-` and `_`.
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim().to_uppercase();
    let ok = (3..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then_some(code)
}

fn percent(text: &str, field: &str, errors: &mut Vec<FieldError>) -> i64 {
    match parse_percent(text) {
        Some(ppm) if ppm > 0 => ppm,
        _ => {
            errors.push(FieldError::new(
                field,
                "must be a percentage above 0 and at most 100, with at most 4 decimals",
            ));
            0
        }
    }
}

fn positive(value: i64, field: &str, errors: &mut Vec<FieldError>) {
    if value <= 0 {
        errors.push(FieldError::new(field, "must be above 0"));
    }
}

impl ActionBody {
    fn check(&self, errors: &mut Vec<FieldError>) -> (Action, bool) {
        match self {
            Self::PercentOff { percent: p } => (
                Action::PercentOff {
                    ppm: percent(p, "action.percent", errors),
                },
                false,
            ),
            Self::AmountOff { amount } => {
                positive(*amount, "action.amount", errors);
                (Action::AmountOff { amount: *amount }, true)
            }
            Self::FreeShipping => (Action::FreeShipping, false),
            Self::ShippingPercentOff { percent: p } => (
                Action::ShippingPercentOff {
                    ppm: percent(p, "action.percent", errors),
                },
                false,
            ),
            Self::ShippingAmountOff { amount } => {
                positive(*amount, "action.amount", errors);
                (Action::ShippingAmountOff { amount: *amount }, true)
            }
            Self::BuyXGetY {
                buy,
                get,
                percent: p,
                max_per_order,
            } => {
                if !(1..=100).contains(buy) {
                    errors.push(FieldError::new("action.buy", "must be 1 to 100"));
                }
                if !(1..=100).contains(get) {
                    errors.push(FieldError::new("action.get", "must be 1 to 100"));
                }
                if let Some(max) = max_per_order {
                    positive(*max, "action.max_per_order", errors);
                }
                let ppm = match p {
                    Some(p) => percent(p, "action.percent", errors),
                    None => 1_000_000,
                };
                (
                    Action::BuyXGetY {
                        buy: *buy,
                        get: *get,
                        ppm,
                        max_per_order: *max_per_order,
                    },
                    false,
                )
            }
            Self::Tiered { tiers } => {
                if tiers.is_empty() || tiers.len() > 20 {
                    errors.push(FieldError::new("action.tiers", "must have 1 to 20 tiers"));
                }
                let mut out: Vec<Tier> = Vec::new();
                for (i, t) in tiers.iter().enumerate() {
                    positive(
                        t.min_subtotal,
                        &format!("action.tiers[{i}].min_subtotal"),
                        errors,
                    );
                    if out.iter().any(|o| o.min_subtotal == t.min_subtotal) {
                        errors.push(FieldError::new(
                            format!("action.tiers[{i}].min_subtotal"),
                            "two tiers start at the same subtotal",
                        ));
                    }
                    out.push(Tier {
                        min_subtotal: t.min_subtotal,
                        ppm: percent(&t.percent, &format!("action.tiers[{i}].percent"), errors),
                    });
                }
                out.sort_by_key(|t| t.min_subtotal);
                (Action::Tiered { tiers: out }, true)
            }
        }
    }

    fn of(action: &Action) -> Self {
        match action {
            Action::PercentOff { ppm } => Self::PercentOff {
                percent: format_percent(*ppm),
            },
            Action::AmountOff { amount } => Self::AmountOff { amount: *amount },
            Action::FreeShipping => Self::FreeShipping,
            Action::ShippingPercentOff { ppm } => Self::ShippingPercentOff {
                percent: format_percent(*ppm),
            },
            Action::ShippingAmountOff { amount } => Self::ShippingAmountOff { amount: *amount },
            Action::BuyXGetY {
                buy,
                get,
                ppm,
                max_per_order,
            } => Self::BuyXGetY {
                buy: *buy,
                get: *get,
                percent: Some(format_percent(*ppm)),
                max_per_order: *max_per_order,
            },
            Action::Tiered { tiers } => Self::Tiered {
                tiers: tiers
                    .iter()
                    .map(|t| TierBody {
                        min_subtotal: t.min_subtotal,
                        percent: format_percent(t.ppm),
                    })
                    .collect(),
            },
        }
    }

    /// The classes this action can belong to.
    fn classes(&self) -> &'static [Class] {
        match self {
            Self::PercentOff { .. } | Self::AmountOff { .. } => &[Class::Product, Class::Order],
            Self::FreeShipping
            | Self::ShippingPercentOff { .. }
            | Self::ShippingAmountOff { .. } => &[Class::Shipping],
            Self::BuyXGetY { .. } => &[Class::Product],
            Self::Tiered { .. } => &[Class::Order],
        }
    }
}

impl ConditionsBody {
    fn check(&self, errors: &mut Vec<FieldError>) -> (Conditions, bool) {
        if let Some(min) = self.min_subtotal {
            positive(min, "conditions.min_subtotal", errors);
        }
        if let Some(min) = self.min_quantity {
            positive(min, "conditions.min_quantity", errors);
        }
        let customer = match self.customer.as_deref() {
            None | Some("anyone") => CustomerRule::Anyone,
            Some("signed_in") => CustomerRule::SignedIn,
            Some("first_order") => CustomerRule::FirstOrder,
            Some(_) => {
                errors.push(FieldError::new(
                    "conditions.customer",
                    "must be anyone, signed_in or first_order",
                ));
                CustomerRule::Anyone
            }
        };
        let mut countries = Vec::new();
        for (i, c) in self.countries.iter().enumerate() {
            let c = c.trim().to_ascii_uppercase();
            if !emporium_core::geo::is_country(&c) {
                errors.push(FieldError::new(
                    format!("conditions.countries[{i}]"),
                    "must be an ISO 3166-1 alpha-2 code",
                ));
            }
            countries.push(c);
        }
        let lists = [
            &self.products,
            &self.variants,
            &self.categories,
            &self.collections,
            &self.exclude_products,
            &self.exclude_categories,
            &self.exclude_collections,
        ];
        if lists.iter().map(|l| l.len()).sum::<usize>() > 5_000 {
            errors.push(FieldError::new(
                "conditions",
                "may name at most 5000 products, variants, categories and collections",
            ));
        }
        (
            Conditions {
                min_subtotal: self.min_subtotal,
                min_quantity: self.min_quantity,
                products: self.products.clone(),
                variants: self.variants.clone(),
                categories: self.categories.clone(),
                collections: self.collections.clone(),
                exclude_products: self.exclude_products.clone(),
                exclude_categories: self.exclude_categories.clone(),
                exclude_collections: self.exclude_collections.clone(),
                customer,
                countries,
            },
            self.min_subtotal.is_some(),
        )
    }

    fn of(c: &Conditions) -> Self {
        Self {
            min_subtotal: c.min_subtotal,
            min_quantity: c.min_quantity,
            products: c.products.clone(),
            variants: c.variants.clone(),
            categories: c.categories.clone(),
            collections: c.collections.clone(),
            exclude_products: c.exclude_products.clone(),
            exclude_categories: c.exclude_categories.clone(),
            exclude_collections: c.exclude_collections.clone(),
            customer: Some(
                match c.customer {
                    CustomerRule::Anyone => "anyone",
                    CustomerRule::SignedIn => "signed_in",
                    CustomerRule::FirstOrder => "first_order",
                }
                .into(),
            ),
            countries: c.countries.clone(),
        }
    }
}

impl PromotionBody {
    /// Checks every field, reporting every problem at once.
    pub(crate) fn check(&self) -> AppResult<Checked> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let description = self.description.clone().unwrap_or_default();
        if description.chars().count() > 1000 {
            errors.push(FieldError::new(
                "description",
                "must be at most 1000 characters",
            ));
        }
        let class = Class::parse(&self.class);
        match class {
            None => errors.push(FieldError::new(
                "class",
                "must be product, order or shipping",
            )),
            Some(c) if !self.action.classes().contains(&c) => errors.push(FieldError::new(
                "action.type",
                format!("is not an action a {} promotion can take", c.as_str()),
            )),
            Some(_) => {}
        }
        let (action, has_amount) = self.action.check(&mut errors);
        let (conditions, has_threshold) = self.conditions.check(&mut errors);
        let currency = match &self.currency {
            Some(c) => match Currency::parse(&c.trim().to_ascii_uppercase()) {
                Some(c) => Some(c.code().to_string()),
                None => {
                    errors.push(FieldError::new("currency", "is not a currency we know"));
                    None
                }
            },
            None => None,
        };
        if (has_amount || has_threshold || self.budget.is_some()) && self.currency.is_none() {
            errors.push(FieldError::new(
                "currency",
                "is required when the promotion has an amount, a minimum subtotal or a budget",
            ));
        }
        let code = match &self.code {
            Some(c) => match normalize_code(c) {
                Some(c) => Some(c),
                None => {
                    errors.push(FieldError::new(
                        "code",
                        "must be 3 to 64 letters, digits, - or _",
                    ));
                    None
                }
            },
            None => None,
        };
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            errors.push(FieldError::new("ends_at", "must be after starts_at"));
        }
        let mut combines_with = Vec::new();
        for (i, c) in self.combines_with.iter().flatten().enumerate() {
            match Class::parse(c) {
                Some(c) if !combines_with.contains(&c) => combines_with.push(c),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    format!("combines_with[{i}]"),
                    "must be product, order or shipping",
                )),
            }
        }
        combines_with.sort();
        if self.usage_limit.is_some_and(|l| l <= 0) {
            errors.push(FieldError::new("usage_limit", "must be above 0"));
        }
        if self.per_customer_limit.is_some_and(|l| l <= 0) {
            errors.push(FieldError::new("per_customer_limit", "must be above 0"));
        }
        if let Some(budget) = self.budget {
            positive(budget, "budget", &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let automatic = self.automatic.unwrap_or(code.is_none());
        Ok(Checked {
            name,
            description,
            class: class.unwrap_or(Class::Order),
            action,
            conditions,
            currency,
            automatic,
            code,
            enabled: self.enabled.unwrap_or(true),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            priority: self.priority.unwrap_or(0),
            combines_with,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            budget: self.budget,
        })
    }
}

pub(crate) fn json_text<T: Serialize>(value: &T) -> AppResult<String> {
    Ok(serde_json::to_string(value).map_err(anyhow::Error::from)?)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> AppResult<T> {
    serde_json::from_str(text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored promotion {what}: {e}")))
}

fn classes_of(text: &str) -> AppResult<Vec<Class>> {
    parse_json(text, "classes")
}

/// What a stored promotion is to the engine.
pub(crate) fn engine_promotion(row: &promotions::Model) -> AppResult<Promotion> {
    Ok(Promotion {
        id: row.id,
        name: row.name.clone(),
        class: Class::parse(&row.class).unwrap_or(Class::Order),
        action: parse_json(&row.action, "action")?,
        conditions: parse_json(&row.conditions, "conditions")?,
        priority: row.priority,
        combines_with: classes_of(&row.combines_with)?,
        currency: row.currency.clone(),
        starts_at: row.starts_at.map(|t| t.timestamp_millis()),
        ends_at: row.ends_at.map(|t| t.timestamp_millis()),
        automatic: row.automatic,
        budget_left: row.budget.map(|b| b - row.discount_given),
        limited: row.budget.is_some() || row.usage_limit.is_some(),
    })
}

/// Where a promotion stands now.
pub(crate) fn status_of(row: &promotions::Model, now: DateTime<Utc>) -> &'static str {
    if !row.enabled {
        "disabled"
    } else if row.ends_at.is_some_and(|e| e <= now) {
        "ended"
    } else if row.usage_limit.is_some_and(|l| row.used >= l)
        || row.budget.is_some_and(|b| row.discount_given >= b)
    {
        "used_up"
    } else if row.starts_at.is_some_and(|s| s > now) {
        "scheduled"
    } else {
        "active"
    }
}

pub(crate) fn view(row: &promotions::Model) -> AppResult<PromotionView> {
    let action: Action = parse_json(&row.action, "action")?;
    let conditions: Conditions = parse_json(&row.conditions, "conditions")?;
    Ok(PromotionView {
        id: row.id,
        name: row.name.clone(),
        description: row.description.clone(),
        class: row.class.clone(),
        action: ActionBody::of(&action),
        conditions: ConditionsBody::of(&conditions),
        currency: row.currency.clone(),
        automatic: row.automatic,
        enabled: row.enabled,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        priority: row.priority,
        combines_with: classes_of(&row.combines_with)?
            .into_iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        usage_limit: row.usage_limit,
        per_customer_limit: row.per_customer_limit,
        budget: row.budget,
        status: status_of(row, Utc::now()).into(),
        used: row.used,
        discount_given: row.discount_given,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl PromotionView {
    /// The body that would store this promotion as it is (codes aside).
    pub(crate) fn into_body(self) -> PromotionBody {
        PromotionBody {
            name: self.name,
            description: Some(self.description),
            class: self.class,
            action: self.action,
            conditions: self.conditions,
            currency: self.currency,
            automatic: Some(self.automatic),
            code: None,
            enabled: Some(self.enabled),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            priority: Some(self.priority),
            combines_with: Some(self.combines_with),
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            budget: self.budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_case_and_plain() {
        assert_eq!(normalize_code(" summer-10 ").as_deref(), Some("SUMMER-10"));
        assert_eq!(normalize_code("ab"), None);
        assert_eq!(normalize_code("NO SPACES"), None);
        assert_eq!(normalize_code("ÜBER10"), None);
    }
}
