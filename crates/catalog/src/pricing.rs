//! Prices in the asked currency: the explicit price when one is set, else the default
//! currency's price converted with the stored exchange rate and the target's minor units.

use emporium_core::{AppResult, Currency, Money};
use emporium_db::entity::{exchange_rates, variant_prices};
use sea_orm::{ConnectionTrait, EntityTrait};
use std::collections::HashMap;

use crate::model::convert;

/// What prices are shown in, for one request.
#[derive(Debug, Clone)]
pub struct PriceContext {
    pub currency: Currency,
    pub default_currency: Currency,
    /// Units of `currency` per default unit, times 10^9 (`None` when it is the default).
    pub rate_e9: Option<i64>,
}

impl PriceContext {
    /// Loads the rate for `currency`; a currency without one can only show explicit prices.
    pub async fn load<C: ConnectionTrait>(
        conn: &C,
        currency: Currency,
        default_currency: Currency,
    ) -> AppResult<Self> {
        let rate_e9 = if currency == default_currency {
            None
        } else {
            exchange_rates::Entity::find_by_id(currency.code().to_string())
                .one(conn)
                .await?
                .map(|r| r.rate_e9)
        };
        Ok(Self {
            currency,
            default_currency,
            rate_e9,
        })
    }

    /// The price of a variant from its explicit prices, with compare-at.
    pub fn resolve(&self, prices: &[&variant_prices::Model]) -> Option<(Money, Option<Money>)> {
        if let Some(p) = prices.iter().find(|p| p.currency == self.currency.code()) {
            return Some((
                Money::new(p.amount, self.currency),
                p.compare_at.map(|c| Money::new(c, self.currency)),
            ));
        }
        let base = prices
            .iter()
            .find(|p| p.currency == self.default_currency.code())?;
        let rate = self.rate_e9?;
        let amount = convert(base.amount, self.default_currency, self.currency, rate)?;
        let compare = base
            .compare_at
            .and_then(|c| convert(c, self.default_currency, self.currency, rate))
            .map(|c| Money::new(c, self.currency));
        Some((Money::new(amount, self.currency), compare))
    }

    /// Checks that prices can be shown at all in this currency.
    pub fn check_usable(&self) -> AppResult<()> {
        if self.currency != self.default_currency && self.rate_e9.is_none() {
            tracing::debug!(currency = %self.currency, "no exchange rate; only explicit prices show");
        }
        Ok(())
    }
}

/// Groups price rows by variant.
pub fn by_variant(
    rows: &[variant_prices::Model],
) -> HashMap<uuid::Uuid, Vec<&variant_prices::Model>> {
    let mut map: HashMap<uuid::Uuid, Vec<&variant_prices::Model>> = HashMap::new();
    for row in rows {
        map.entry(row.variant_id).or_default().push(row);
    }
    map
}
