//! Admin writes to products and variants. Each write is one transaction that also appends
//! to the catalog change log, so search replicas and node caches (which follow the log by
//! its sequence) learn of it only if it commits.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, ProductCreated, ProductDeleted, ProductUpdated};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{
    categories, product_categories, product_options, product_slug_redirects, product_translations,
    products, variant_prices, variants,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

use crate::model::{self, OptionSpec, ProductStatus, Slug};
use crate::state::Catalog;
use crate::views::*;

/// The most variants one bulk price change takes.
const MAX_BULK_VARIANTS: usize = 1_000;

fn check_sku(sku: &str, field: &str) -> Result<(), FieldError> {
    let ok = !sku.is_empty()
        && sku.len() <= 100
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 1 to 100 letters, digits, - _ . /",
        ))
    }
}

impl Catalog {
    fn check_texts(
        &self,
        texts: &BTreeMap<String, ProductText>,
        require_default: bool,
        errors: &mut Vec<FieldError>,
    ) {
        if require_default && !texts.contains_key(self.default_language()) {
            errors.push(FieldError::new(
                format!("translations.{}", self.default_language()),
                "the default language is required",
            ));
        }
        for (lang, text) in texts {
            let field = format!("translations.{lang}");
            if !self.language_enabled(lang) {
                errors.push(FieldError::new(
                    &field,
                    "is not one of the store's languages",
                ));
            }
            if text.title.trim().is_empty() || text.title.chars().count() > 300 {
                errors.push(FieldError::new(
                    format!("{field}.title"),
                    "must be 1 to 300 characters",
                ));
            }
            if text.description.len() > 100_000 {
                errors.push(FieldError::new(
                    format!("{field}.description"),
                    "must be at most 100000 bytes",
                ));
            }
        }
    }

    fn check_prices(
        &self,
        prices: &BTreeMap<String, PriceBody>,
        field: &str,
        require_default: bool,
        errors: &mut Vec<FieldError>,
    ) {
        let default = self.default_currency();
        if require_default
            && !prices
                .keys()
                .any(|c| c.eq_ignore_ascii_case(default.code()))
        {
            errors.push(FieldError::new(
                format!("{field}.{}", default.code()),
                "a price in the default currency is required",
            ));
        }
        for (code, price) in prices {
            let f = format!("{field}.{code}");
            if !self.currency_enabled(code) || emporium_core::Currency::parse(code).is_none() {
                errors.push(FieldError::new(&f, "is not one of the store's currencies"));
            }
            if !(0..=1_000_000_000_000).contains(&price.amount) {
                errors.push(FieldError::new(
                    format!("{f}.amount"),
                    "must be between 0 and 10^12 minor units",
                ));
            }
            if price
                .compare_at
                .is_some_and(|c| !(0..=1_000_000_000_000).contains(&c))
            {
                errors.push(FieldError::new(
                    format!("{f}.compare_at"),
                    "must be between 0 and 10^12 minor units",
                ));
            } else if price.compare_at.is_some_and(|c| c < price.amount) {
                errors.push(FieldError::new(
                    format!("{f}.compare_at"),
                    "is the price before a reduction, so it cannot be below the price",
                ));
            }
        }
    }

    /// Creates a product with its texts, options, categories, variants and prices.
    #[tracing::instrument(skip_all)]
    pub async fn create_product(&self, body: ProductBody) -> AppResult<Uuid> {
        let mut errors = Vec::new();
        self.check_texts(&body.translations, true, &mut errors);
        if let Err(e) = model::check_options(&body.options) {
            errors.push(e);
        }
        let generated = body.slug.is_none();
        let slug = match &body.slug {
            Some(raw) => Slug::parse(raw, "slug").map_err(|e| errors.push(e)).ok(),
            None => body
                .translations
                .get(self.default_language())
                .map(|t| Slug::from_title(&t.title)),
        };
        check_product_fields(
            body.brand.as_deref(),
            &body.tags,
            &body.attributes,
            &mut errors,
        );
        let mut keys = HashSet::new();
        for (i, variant) in body.variants.iter().enumerate() {
            let field = format!("variants[{i}]");
            if let Err(e) = check_sku(&variant.sku, &format!("{field}.sku")) {
                errors.push(e);
            }
            self.check_prices(
                &variant.prices,
                &format!("{field}.prices"),
                true,
                &mut errors,
            );
            check_weight(
                variant.weight_grams,
                &format!("{field}.weight_grams"),
                &mut errors,
            );
            match model::combination_key(
                &body.options,
                &variant.options,
                &format!("{field}.options"),
            ) {
                Ok(key) => {
                    if !keys.insert(key) {
                        errors.push(FieldError::new(
                            format!("{field}.options"),
                            "repeats another variant's combination",
                        ));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if body.status == Some(ProductStatus::Published) && body.variants.is_empty() {
            errors.extend(no_variants_field());
        }
        let skus: HashSet<&str> = body.variants.iter().map(|v| v.sku.as_str()).collect();
        if skus.len() != body.variants.len() {
            errors.push(FieldError::new("variants", "two variants share a SKU"));
        }
        let (Some(slug), true) = (slug, errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        let txn = self.db.begin().await?;
        // A slug made from the title gives way with a suffix; one the caller chose is theirs
        // to change, so a clash is reported.
        let slug = if generated {
            self.free_slug(&txn, slug).await?
        } else {
            self.ensure_slug_free(&txn, slug.as_str(), None).await?;
            slug
        };
        self.ensure_categories(&txn, &body.category_ids).await?;
        let now = Utc::now();
        let id = Uuid::now_v7();
        let status = body.status.unwrap_or(ProductStatus::Draft);
        let default_title = body
            .translations
            .get(self.default_language())
            .map(|t| t.title.clone())
            .unwrap_or_default();
        products::ActiveModel {
            id: Set(id),
            slug: Set(slug.as_str().to_string()),
            status: Set(status.as_str().into()),
            brand: Set(body.brand.clone()),
            tags: Set(serde_json::to_string(&body.tags).unwrap_or_else(|_| "[]".into())),
            attributes: Set(serde_json::to_string(&body.attributes).unwrap_or_else(|_| "{}".into())),
            tax_class: Set(body.tax_class.clone().unwrap_or_else(|| "standard".into())),
            price_min: Set(None),
            title_sort: Set(sort_key(&default_title)),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set((status == ProductStatus::Published).then_some(now)),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| slug_conflict(e.into()))?;
        upsert_texts(&txn, id, &body.translations).await?;
        replace_options(&txn, id, &body.options).await?;
        replace_categories(&txn, id, &body.category_ids).await?;
        for (position, variant) in body.variants.iter().enumerate() {
            let key = model::combination_key(&body.options, &variant.options, "options")
                .map_err(|e| AppError::Validation(vec![e]))?;
            insert_variant(&txn, id, variant, &key, position as i32).await?;
        }
        self.refresh_price_min(&txn, id).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, id).await?;
        let slug = slug.as_str().to_string();
        events::publish(
            &txn,
            ProductCreated {
                product_id: id,
                slug,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(id)
    }

    /// `base`, or the first of `base-2`, `base-3`, ... that no product holds or redirects from.
    async fn free_slug(&self, txn: &DatabaseTransaction, base: Slug) -> AppResult<Slug> {
        for n in 1..=50u32 {
            let candidate = if n == 1 {
                base.clone()
            } else {
                base.with_suffix(&n.to_string())
            };
            if self
                .ensure_slug_free(txn, candidate.as_str(), None)
                .await
                .is_ok()
            {
                return Ok(candidate);
            }
        }
        Ok(base.with_suffix(&Uuid::now_v7().simple().to_string()[20..]))
    }

    async fn ensure_slug_free(
        &self,
        txn: &DatabaseTransaction,
        slug: &str,
        owner: Option<Uuid>,
    ) -> AppResult<()> {
        let taken = products::Entity::find()
            .filter(products::Column::Slug.eq(slug))
            .one(txn)
            .await?
            .is_some_and(|p| Some(p.id) != owner);
        let redirected = product_slug_redirects::Entity::find_by_id(slug.to_string())
            .one(txn)
            .await?
            .is_some_and(|r| Some(r.product_id) != owner);
        if taken || redirected {
            return Err(AppError::conflict(
                ErrorCode::SlugTaken,
                format!("the slug {slug:?} is already used"),
            ));
        }
        Ok(())
    }

    async fn ensure_categories(&self, txn: &DatabaseTransaction, ids: &[Uuid]) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let unique: HashSet<Uuid> = ids.iter().copied().collect();
        let found = categories::Entity::find()
            .filter(categories::Column::Id.is_in(unique.iter().copied().collect::<Vec<_>>()))
            .count(txn)
            .await?;
        if found as usize != unique.len() {
            return Err(AppError::invalid(
                "category_ids",
                "names a category that does not exist",
            ));
        }
        Ok(())
    }

    pub(crate) async fn product_for_update(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
    ) -> AppResult<products::Model> {
        products::Entity::find_by_id(id)
            .one(txn)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| AppError::not_found("no such product"))
    }

    /// Applies a patch; a slug change keeps the old slug as a redirect.
    #[tracing::instrument(skip_all, fields(product_id = %id))]
    pub async fn update_product(&self, id: Uuid, body: ProductPatchBody) -> AppResult<()> {
        let mut errors = Vec::new();
        if let Some(texts) = &body.translations {
            self.check_texts(texts, false, &mut errors);
        }
        if let Some(options) = &body.options
            && let Err(e) = model::check_options(options)
        {
            errors.push(e);
        }
        let slug = body
            .slug
            .as_deref()
            .map(|s| Slug::parse(s, "slug"))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        check_product_fields(
            body.brand.as_deref(),
            body.tags.as_deref().unwrap_or(&[]),
            body.attributes.as_ref().unwrap_or(&BTreeMap::new()),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let product = self.product_for_update(&txn, id).await?;
        let now = Utc::now();
        let mut active = product.clone().into_active_model();
        if let Some(slug) = slug.filter(|s| s.as_str() != product.slug) {
            self.ensure_slug_free(&txn, slug.as_str(), Some(id)).await?;
            product_slug_redirects::Entity::delete_by_id(slug.as_str().to_string())
                .exec(&txn)
                .await?;
            product_slug_redirects::Entity::insert(product_slug_redirects::ActiveModel {
                old_slug: Set(product.slug.clone()),
                product_id: Set(id),
            })
            .on_conflict(
                OnConflict::column(product_slug_redirects::Column::OldSlug)
                    .update_column(product_slug_redirects::Column::ProductId)
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            active.slug = Set(slug.as_str().to_string());
        }
        if let Some(status) = body.status {
            ensure_publishable(&txn, id, status).await?;
            apply_status(&mut active, &product, status, now);
        }
        if let Some(brand) = body.brand {
            active.brand = Set(Some(brand).filter(|b| !b.trim().is_empty()));
        }
        if let Some(tags) = &body.tags {
            active.tags = Set(serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()));
        }
        if let Some(attributes) = &body.attributes {
            active.attributes =
                Set(serde_json::to_string(attributes).unwrap_or_else(|_| "{}".into()));
        }
        if let Some(tax_class) = body.tax_class {
            active.tax_class = Set(tax_class);
        }
        if let Some(texts) = &body.translations {
            upsert_texts(&txn, id, texts).await?;
            if let Some(default) = texts.get(self.default_language()) {
                active.title_sort = Set(sort_key(&default.title));
            }
        }
        if let Some(options) = &body.options {
            // Existing variants must still fit the new option types.
            let existing = variants::Entity::find()
                .filter(variants::Column::ProductId.eq(id))
                .all(&txn)
                .await?;
            let mut keys = HashSet::new();
            for variant in &existing {
                let chosen: BTreeMap<String, String> =
                    serde_json::from_str(&variant.options).unwrap_or_default();
                let key = model::combination_key(options, &chosen, "options").map_err(|_| {
                    AppError::conflict(
                        ErrorCode::OptionsInUse,
                        format!(
                            "variant {} uses an option value this change removes",
                            variant.sku
                        ),
                    )
                })?;
                keys.insert((variant.id, key));
            }
            replace_options(&txn, id, options).await?;
            for (variant_id, key) in keys {
                variants::Entity::update_many()
                    .col_expr(
                        variants::Column::OptionsKey,
                        sea_orm::sea_query::Expr::value(key),
                    )
                    .filter(variants::Column::Id.eq(variant_id))
                    .exec(&txn)
                    .await?;
            }
        }
        if let Some(category_ids) = &body.category_ids {
            self.ensure_categories(&txn, category_ids).await?;
            replace_categories(&txn, id, category_ids).await?;
        }
        active.updated_at = Set(now);
        active
            .update(&txn)
            .await
            .map_err(|e| slug_conflict(e.into()))?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, id).await?;
        events::publish(&txn, ProductUpdated { product_id: id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Publishes or unpublishes (back to draft).
    pub async fn set_status(&self, id: Uuid, status: ProductStatus) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let product = self.product_for_update(&txn, id).await?;
        ensure_publishable(&txn, id, status).await?;
        let mut active = product.clone().into_active_model();
        apply_status(&mut active, &product, status, Utc::now());
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, id).await?;
        events::publish(&txn, ProductUpdated { product_id: id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Soft-deletes: gone from the store and the admin list; order history keeps its
    /// snapshots.
    pub async fn delete_product(&self, id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let product = self.product_for_update(&txn, id).await?;
        let mut active = product.into_active_model();
        active.deleted_at = Set(Some(Utc::now()));
        active.status = Set(ProductStatus::Archived.as_str().into());
        active.update(&txn).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, id).await?;
        events::publish(&txn, ProductDeleted { product_id: id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Adds a variant to a product.
    pub async fn add_variant(&self, product_id: Uuid, body: VariantBody) -> AppResult<Uuid> {
        let mut errors = Vec::new();
        self.check_new_variant(&body, "", &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        self.product_for_update(&txn, product_id).await?;
        let id = self.add_variant_in(&txn, product_id, &body).await?;
        self.refresh_price_min(&txn, product_id).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        events::publish(&txn, ProductUpdated { product_id }).await?;
        self.commit(txn).await?;
        Ok(id)
    }

    /// Changes a variant; `prices` upserts the given currencies.
    pub async fn update_variant(
        &self,
        product_id: Uuid,
        variant_id: Uuid,
        body: VariantPatchBody,
    ) -> AppResult<()> {
        let mut errors = Vec::new();
        self.check_variant_patch(&body, "", &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        self.product_for_update(&txn, product_id).await?;
        self.update_variant_in(&txn, product_id, variant_id, body)
            .await?;
        self.refresh_price_min(&txn, product_id).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        events::publish(&txn, ProductUpdated { product_id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Changes some of a product's variants and adds others, all or none: the console
    /// saves its variant table at once. Field names say which row is wrong
    /// (`variants[2].sku`), counting the changed rows first.
    #[tracing::instrument(skip_all, fields(product_id = %product_id))]
    pub async fn save_variants(
        &self,
        product_id: Uuid,
        changed: Vec<(Uuid, VariantPatchBody)>,
        added: Vec<VariantBody>,
    ) -> AppResult<()> {
        let mut errors = Vec::new();
        for (i, (_, body)) in changed.iter().enumerate() {
            self.check_variant_patch(body, &format!("variants[{i}]."), &mut errors);
        }
        for (i, body) in added.iter().enumerate() {
            let row = changed.len() + i;
            self.check_new_variant(body, &format!("variants[{row}]."), &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        self.product_for_update(&txn, product_id).await?;
        for (variant_id, body) in changed {
            self.update_variant_in(&txn, product_id, variant_id, body)
                .await?;
        }
        for body in &added {
            self.add_variant_in(&txn, product_id, body).await?;
        }
        self.refresh_price_min(&txn, product_id).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        events::publish(&txn, ProductUpdated { product_id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Sets the prices of many variants, of any products, all or none: the console's
    /// bulk edit. `changes` maps a variant to its new prices by currency; answers how
    /// many variants changed.
    #[tracing::instrument(skip_all, fields(variants = changes.len()))]
    pub async fn set_prices(
        &self,
        changes: &BTreeMap<Uuid, BTreeMap<String, PriceBody>>,
    ) -> AppResult<usize> {
        if changes.len() > MAX_BULK_VARIANTS {
            return Err(AppError::invalid(
                "prices",
                format!("at most {MAX_BULK_VARIANTS} variants at once"),
            ));
        }
        let mut errors = Vec::new();
        for (variant_id, prices) in changes {
            self.check_prices(prices, &format!("prices.{variant_id}"), false, &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let ids: Vec<Uuid> = changes.keys().copied().collect();
        let mut products = std::collections::BTreeSet::new();
        let mut found = 0;
        // Bounded IN lists: SQLite caps the parameters of one statement.
        for chunk in ids.chunks(500) {
            for variant in variants::Entity::find()
                .filter(variants::Column::Id.is_in(chunk.to_vec()))
                .all(&txn)
                .await?
            {
                products.insert(variant.product_id);
                found += 1;
            }
        }
        if found != ids.len() {
            return Err(AppError::not_found("no such variant"));
        }
        for product_id in &products {
            self.product_for_update(&txn, *product_id).await?;
        }
        for (variant_id, prices) in changes {
            upsert_prices(&txn, *variant_id, prices).await?;
        }
        for product_id in products {
            self.refresh_price_min(&txn, product_id).await?;
            crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
            events::publish(&txn, ProductUpdated { product_id }).await?;
        }
        self.commit(txn).await?;
        Ok(ids.len())
    }

    fn check_new_variant(&self, body: &VariantBody, prefix: &str, errors: &mut Vec<FieldError>) {
        if let Err(e) = check_sku(&body.sku, &format!("{prefix}sku")) {
            errors.push(e);
        }
        self.check_prices(&body.prices, &format!("{prefix}prices"), true, errors);
        check_weight(body.weight_grams, &format!("{prefix}weight_grams"), errors);
    }

    fn check_variant_patch(
        &self,
        body: &VariantPatchBody,
        prefix: &str,
        errors: &mut Vec<FieldError>,
    ) {
        if let Some(sku) = &body.sku
            && let Err(e) = check_sku(sku, &format!("{prefix}sku"))
        {
            errors.push(e);
        }
        if let Some(prices) = &body.prices {
            self.check_prices(prices, &format!("{prefix}prices"), false, errors);
        }
        check_weight(body.weight_grams, &format!("{prefix}weight_grams"), errors);
    }

    /// Inserts a checked variant, last in the product's order.
    async fn add_variant_in(
        &self,
        txn: &DatabaseTransaction,
        product_id: Uuid,
        body: &VariantBody,
    ) -> AppResult<Uuid> {
        let options = load_options(txn, product_id).await?;
        let key = model::combination_key(&options, &body.options, "options")
            .map_err(|e| AppError::Validation(vec![e]))?;
        let position = variants::Entity::find()
            .filter(variants::Column::ProductId.eq(product_id))
            .count(txn)
            .await? as i32;
        insert_variant(txn, product_id, body, &key, position).await
    }

    /// Applies a checked patch to one of the product's variants.
    async fn update_variant_in(
        &self,
        txn: &DatabaseTransaction,
        product_id: Uuid,
        variant_id: Uuid,
        body: VariantPatchBody,
    ) -> AppResult<()> {
        let variant = variants::Entity::find_by_id(variant_id)
            .one(txn)
            .await?
            .filter(|v| v.product_id == product_id)
            .ok_or_else(|| AppError::not_found("no such variant"))?;
        let mut active = variant.into_active_model();
        if let Some(sku) = body.sku {
            active.sku = Set(sku);
        }
        if let Some(barcode) = body.barcode {
            active.barcode = Set(Some(barcode).filter(|b| !b.is_empty()));
        }
        if let Some(chosen) = &body.options {
            let options = load_options(txn, product_id).await?;
            let key = model::combination_key(&options, chosen, "options")
                .map_err(|e| AppError::Validation(vec![e]))?;
            active.options = Set(serde_json::to_string(chosen).unwrap_or_else(|_| "{}".into()));
            active.options_key = Set(key);
        }
        if let Some(weight) = body.weight_grams {
            active.weight_grams = Set(Some(weight));
        }
        active.updated_at = Set(Utc::now());
        active
            .update(txn)
            .await
            .map_err(|e| variant_conflict(e.into()))?;
        if let Some(prices) = &body.prices {
            upsert_prices(txn, variant_id, prices).await?;
        }
        Ok(())
    }

    /// Removes a variant.
    pub async fn delete_variant(&self, product_id: Uuid, variant_id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        self.product_for_update(&txn, product_id).await?;
        let deleted = variants::Entity::delete_many()
            .filter(variants::Column::Id.eq(variant_id))
            .filter(variants::Column::ProductId.eq(product_id))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such variant"));
        }
        self.refresh_price_min(&txn, product_id).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        events::publish(&txn, ProductUpdated { product_id }).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Keeps `products.price_min` (default currency) in step for sorting by price.
    async fn refresh_price_min(
        &self,
        txn: &DatabaseTransaction,
        product_id: Uuid,
    ) -> AppResult<()> {
        let variant_ids: Vec<Uuid> = variants::Entity::find()
            .filter(variants::Column::ProductId.eq(product_id))
            .all(txn)
            .await?
            .into_iter()
            .map(|v| v.id)
            .collect();
        let min = if variant_ids.is_empty() {
            None
        } else {
            variant_prices::Entity::find()
                .filter(variant_prices::Column::VariantId.is_in(variant_ids))
                .filter(variant_prices::Column::Currency.eq(self.default_currency().code()))
                .order_by_asc(variant_prices::Column::Amount)
                .one(txn)
                .await?
                .map(|p| p.amount)
        };
        products::Entity::update_many()
            .col_expr(
                products::Column::PriceMin,
                sea_orm::sea_query::Expr::value(min),
            )
            .filter(products::Column::Id.eq(product_id))
            .exec(txn)
            .await?;
        Ok(())
    }
}

fn no_variants_field() -> Vec<FieldError> {
    vec![FieldError::new(
        "variants",
        "a product needs at least one variant to be published",
    )]
}

/// A product goes on sale only with something to sell.
async fn ensure_publishable(
    txn: &DatabaseTransaction,
    id: Uuid,
    status: ProductStatus,
) -> AppResult<()> {
    if status != ProductStatus::Published {
        return Ok(());
    }
    let count = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(id))
        .count(txn)
        .await?;
    if count == 0 {
        return Err(AppError::Validation(no_variants_field()));
    }
    Ok(())
}

fn check_weight(grams: Option<i32>, field: &str, errors: &mut Vec<FieldError>) {
    if grams.is_some_and(|w| w < 0) {
        errors.push(FieldError::new(field, "must not be negative"));
    }
}

fn check_product_fields(
    brand: Option<&str>,
    tags: &[String],
    attributes: &BTreeMap<String, String>,
    errors: &mut Vec<FieldError>,
) {
    if brand.is_some_and(|b| b.chars().count() > 200) {
        errors.push(FieldError::new("brand", "must be at most 200 characters"));
    }
    if tags.len() > 50 || tags.iter().any(|t| t.trim().is_empty() || t.len() > 64) {
        errors.push(FieldError::new(
            "tags",
            "at most 50 tags of 1 to 64 characters",
        ));
    }
    if attributes.len() > 50
        || attributes
            .iter()
            .any(|(k, v)| k.trim().is_empty() || k.len() > 64 || v.len() > 500)
    {
        errors.push(FieldError::new(
            "attributes",
            "at most 50 attributes; names 1 to 64, values up to 500 characters",
        ));
    }
}

fn apply_status(
    active: &mut products::ActiveModel,
    product: &products::Model,
    status: ProductStatus,
    now: chrono::DateTime<Utc>,
) {
    active.status = Set(status.as_str().into());
    if status == ProductStatus::Published && product.published_at.is_none() {
        active.published_at = Set(Some(now));
    }
}

/// A case-folded title for sorting (stored, so listing by title uses an index).
fn sort_key(title: &str) -> String {
    title.trim().to_lowercase().chars().take(200).collect()
}

fn slug_conflict(err: AppError) -> AppError {
    match err {
        AppError::Conflict { .. } => {
            AppError::conflict(ErrorCode::SlugTaken, "the slug is already used")
        }
        other => other,
    }
}

fn variant_conflict(err: AppError) -> AppError {
    match err {
        AppError::Conflict { detail, .. } if detail.contains("sku") => {
            AppError::conflict(ErrorCode::SkuTaken, "another variant already has this SKU")
        }
        AppError::Conflict { .. } => AppError::conflict(
            ErrorCode::DuplicateVariant,
            "another variant of this product has this SKU or option combination",
        ),
        other => other,
    }
}

async fn upsert_texts(
    txn: &DatabaseTransaction,
    id: Uuid,
    texts: &BTreeMap<String, ProductText>,
) -> AppResult<()> {
    for (lang, text) in texts {
        product_translations::Entity::delete_many()
            .filter(product_translations::Column::ProductId.eq(id))
            .filter(product_translations::Column::Lang.eq(lang.as_str()))
            .exec(txn)
            .await?;
        product_translations::Entity::insert(product_translations::ActiveModel {
            product_id: Set(id),
            lang: Set(lang.clone()),
            title: Set(text.title.trim().to_string()),
            description: Set(text.description.clone()),
            meta_title: Set(text.meta_title.clone()),
            meta_description: Set(text.meta_description.clone()),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

async fn replace_options(
    txn: &DatabaseTransaction,
    id: Uuid,
    options: &[OptionSpec],
) -> AppResult<()> {
    product_options::Entity::delete_many()
        .filter(product_options::Column::ProductId.eq(id))
        .exec(txn)
        .await?;
    for (position, option) in options.iter().enumerate() {
        product_options::Entity::insert(product_options::ActiveModel {
            id: Set(Uuid::now_v7()),
            product_id: Set(id),
            name: Set(option.name.trim().to_string()),
            position: Set(position as i32),
            option_values: Set(
                serde_json::to_string(&option.values).unwrap_or_else(|_| "[]".into())
            ),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn load_options<C: ConnectionTrait>(
    conn: &C,
    product_id: Uuid,
) -> AppResult<Vec<OptionSpec>> {
    Ok(product_options::Entity::find()
        .filter(product_options::Column::ProductId.eq(product_id))
        .order_by_asc(product_options::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|o| OptionSpec {
            name: o.name,
            values: serde_json::from_str(&o.option_values).unwrap_or_default(),
        })
        .collect())
}

async fn replace_categories(
    txn: &DatabaseTransaction,
    id: Uuid,
    category_ids: &[Uuid],
) -> AppResult<()> {
    product_categories::Entity::delete_many()
        .filter(product_categories::Column::ProductId.eq(id))
        .exec(txn)
        .await?;
    let unique: HashSet<Uuid> = category_ids.iter().copied().collect();
    if unique.is_empty() {
        return Ok(());
    }
    product_categories::Entity::insert_many(unique.into_iter().map(|category_id| {
        product_categories::ActiveModel {
            product_id: Set(id),
            category_id: Set(category_id),
        }
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

async fn insert_variant(
    txn: &DatabaseTransaction,
    product_id: Uuid,
    body: &VariantBody,
    key: &str,
    position: i32,
) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    variants::ActiveModel {
        id: Set(id),
        product_id: Set(product_id),
        sku: Set(body.sku.clone()),
        barcode: Set(body.barcode.clone()),
        options: Set(serde_json::to_string(&body.options).unwrap_or_else(|_| "{}".into())),
        options_key: Set(key.to_string()),
        weight_grams: Set(body.weight_grams),
        length_mm: Set(body.length_mm),
        width_mm: Set(body.width_mm),
        height_mm: Set(body.height_mm),
        tax_class: Set(body.tax_class.clone()),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| variant_conflict(e.into()))?;
    upsert_prices(txn, id, &body.prices).await?;
    Ok(id)
}

async fn upsert_prices(
    txn: &DatabaseTransaction,
    variant_id: Uuid,
    prices: &BTreeMap<String, PriceBody>,
) -> AppResult<()> {
    for (code, price) in prices {
        let code = code.to_ascii_uppercase();
        variant_prices::Entity::delete_many()
            .filter(variant_prices::Column::VariantId.eq(variant_id))
            .filter(variant_prices::Column::Currency.eq(code.as_str()))
            .exec(txn)
            .await?;
        variant_prices::Entity::insert(variant_prices::ActiveModel {
            variant_id: Set(variant_id),
            currency: Set(code),
            amount: Set(price.amount),
            compare_at: Set(price.compare_at),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}
