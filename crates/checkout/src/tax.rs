//! Tax rates per country (and region) and tax class, managed by staff.

use chrono::Utc;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::tax_rates;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::state::Checkout;
use crate::views::TaxRateView;

/// A tax rate to set (replacing the one for the same place and class).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "country": "US",
    "region": "CA",
    "tax_class": "standard",
    "rate": "7.25",
    "name": "California sales tax"
})))]
pub struct TaxRateBody {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// A region code (state, province); absent for the whole country.
    #[serde(default)]
    pub region: Option<String>,
    /// Defaults to `standard`.
    #[serde(default)]
    pub tax_class: Option<String>,
    /// Percent as a decimal string, up to 4 decimals ("7.25", "20").
    pub rate: String,
    pub name: String,
}

pub use emporium_core::money::{format_percent, parse_percent};

fn view(r: tax_rates::Model) -> TaxRateView {
    TaxRateView {
        id: r.id,
        country: r.country,
        region: r.region,
        tax_class: r.tax_class,
        rate: format_percent(i64::from(r.rate_ppm)),
        name: r.name,
    }
}

impl Checkout {
    /// Every tax rate.
    pub async fn tax_rates(&self) -> AppResult<Vec<TaxRateView>> {
        Ok(tax_rates::Entity::find()
            .order_by_asc(tax_rates::Column::Country)
            .order_by_asc(tax_rates::Column::Region)
            .order_by_asc(tax_rates::Column::TaxClass)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Sets the rate for a place and class.
    pub async fn set_tax_rate(&self, body: TaxRateBody) -> AppResult<TaxRateView> {
        let mut errors = Vec::new();
        let country = body.country.trim().to_ascii_uppercase();
        if !emporium_core::geo::is_country(&country) {
            errors.push(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code",
            ));
        }
        let region = body.region.unwrap_or_default().trim().to_ascii_uppercase();
        if !region.is_empty() && !emporium_core::geo::is_region(&country, &region) {
            errors.push(FieldError::new(
                "region",
                "must be an ISO 3166-2 region code of the country (CA for US-CA)",
            ));
        }
        let class = body
            .tax_class
            .unwrap_or_else(|| crate::pricing::DEFAULT_TAX_CLASS.into());
        if class.is_empty() || class.len() > 32 {
            errors.push(FieldError::new("tax_class", "must be 1 to 32 characters"));
        }
        let Some(ppm) = parse_percent(&body.rate) else {
            errors.push(FieldError::new(
                "rate",
                "must be a percentage from 0 to 100 with at most 4 decimals",
            ));
            return Err(AppError::Validation(errors));
        };
        let name = body.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        tax_rates::Entity::insert(tax_rates::ActiveModel {
            id: Set(Uuid::now_v7()),
            country: Set(country.clone()),
            region: Set(region.clone()),
            tax_class: Set(class.clone()),
            rate_ppm: Set(ppm as i32),
            name: Set(name),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                tax_rates::Column::Country,
                tax_rates::Column::Region,
                tax_rates::Column::TaxClass,
            ])
            .update_columns([tax_rates::Column::RatePpm, tax_rates::Column::Name])
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        use sea_orm::{ColumnTrait, QueryFilter};
        let row = tax_rates::Entity::find()
            .filter(tax_rates::Column::Country.eq(country))
            .filter(tax_rates::Column::Region.eq(region))
            .filter(tax_rates::Column::TaxClass.eq(class))
            .one(&txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("tax rate vanished after upsert"))?;
        txn.commit().await?;
        Ok(view(row))
    }

    /// Deletes a rate.
    pub async fn delete_tax_rate(&self, id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let deleted = tax_rates::Entity::delete_by_id(id).exec(&txn).await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such tax rate"));
        }
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_to_ppm_and_back() {
        assert_eq!(parse_percent("7.25"), Some(72_500));
        assert_eq!(parse_percent("20"), Some(200_000));
        assert_eq!(parse_percent("8.875"), Some(88_750));
        assert_eq!(parse_percent("0"), Some(0));
        assert_eq!(parse_percent("100"), Some(1_000_000));
        assert_eq!(parse_percent("100.5"), None);
        assert_eq!(parse_percent("-1"), None);
        assert_eq!(parse_percent("1.23456"), None);
        assert_eq!(parse_percent("abc"), None);
        assert_eq!(format_percent(72_500), "7.25");
        assert_eq!(format_percent(200_000), "20");
        assert_eq!(format_percent(88_750), "8.875");
    }
}
