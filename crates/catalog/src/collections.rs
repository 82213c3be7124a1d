//! Collections: hand-picked lists of products or rules (a tag, a price range in the
//! default currency) that pick them; shoppers browse them and filter product lists by them.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{collection_products, collection_translations, collections, products};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::assemble::{Lang, pick};
use crate::model::Slug;
use crate::state::Catalog;
use crate::views::CategoryText;

/// Most products in a hand-picked collection.
pub const MAX_PICKED: usize = 1000;

/// What picks a rule collection's products; every given part must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// Products with this tag.
    pub tag: Option<String>,
    /// Lowest variant price at least this (default currency, minor units).
    pub price_min: Option<i64>,
    /// Lowest variant price at most this.
    pub price_max: Option<i64>,
}

/// A new collection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "slug": "winter-layers",
    "kind": "manual",
    "product_ids": [
        "0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f",
        "0192f0c3-4e71-7a09-b2c3-d4e5f6a7b8c9"
    ],
    "position": 2,
    "translations": {
        "en": {
            "name": "Winter layers",
            "description": "Knitwear and outer layers for cold days."
        },
        "de": { "name": "Winterlagen" }
    }
})))]
pub struct CollectionBody {
    pub slug: Option<String>,
    /// `manual` (hand-picked `product_ids`) or `rule`.
    pub kind: String,
    pub rule: Option<RuleBody>,
    /// For `manual`: the products, in order.
    pub product_ids: Option<Vec<Uuid>>,
    pub position: Option<i32>,
    /// Text by language; the default language is required.
    pub translations: BTreeMap<String, CategoryText>,
}

/// Changes to a collection; absent fields stay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "product_ids": [
        "0192f0c3-4e71-7a09-b2c3-d4e5f6a7b8c9",
        "0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f"
    ],
    "position": 0,
    "translations": {
        "en": {
            "name": "Winter layers",
            "description": "Warm knitwear, coats and scarves for cold days."
        }
    }
})))]
pub struct CollectionPatchBody {
    pub slug: Option<String>,
    pub rule: Option<RuleBody>,
    pub product_ids: Option<Vec<Uuid>>,
    pub position: Option<i32>,
    pub translations: Option<BTreeMap<String, CategoryText>>,
}

/// A collection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollectionView {
    pub id: Uuid,
    pub slug: String,
    pub kind: String,
    pub name: String,
    pub description: Option<String>,
    pub rule: Option<RuleBody>,
    /// Hand-picked products, in order (admin views only).
    pub product_ids: Option<Vec<Uuid>>,
    pub position: i32,
    pub translations: Option<BTreeMap<String, CategoryText>>,
}

const MANUAL: &str = "manual";
const RULE: &str = "rule";

fn check_rule(rule: &RuleBody, errors: &mut Vec<FieldError>) {
    if rule.tag.is_none() && rule.price_min.is_none() && rule.price_max.is_none() {
        errors.push(FieldError::new("rule", "needs a tag or a price bound"));
    }
    if rule
        .tag
        .as_ref()
        .is_some_and(|t| t.trim().is_empty() || t.len() > 100)
    {
        errors.push(FieldError::new("rule.tag", "must be 1 to 100 characters"));
    }
    for (field, value) in [
        ("rule.price_min", rule.price_min),
        ("rule.price_max", rule.price_max),
    ] {
        if value.is_some_and(|v| v < 0) {
            errors.push(FieldError::new(field, "must not be negative"));
        }
    }
    if let (Some(min), Some(max)) = (rule.price_min, rule.price_max)
        && min > max
    {
        errors.push(FieldError::new(
            "rule.price_min",
            "must not exceed price_max",
        ));
    }
}

async fn set_picks<C: ConnectionTrait>(conn: &C, id: Uuid, picks: &[Uuid]) -> AppResult<()> {
    if picks.len() > MAX_PICKED {
        return Err(AppError::invalid(
            "product_ids",
            format!("at most {MAX_PICKED} products"),
        ));
    }
    let mut unique = picks.to_vec();
    unique.sort();
    unique.dedup();
    let found = products::Entity::find()
        .filter(products::Column::Id.is_in(unique.clone()))
        .filter(products::Column::DeletedAt.is_null())
        .all(conn)
        .await?
        .len();
    if found != unique.len() {
        return Err(AppError::invalid(
            "product_ids",
            "names a product that does not exist",
        ));
    }
    collection_products::Entity::delete_many()
        .filter(collection_products::Column::CollectionId.eq(id))
        .exec(conn)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<collection_products::ActiveModel> = picks
        .iter()
        .filter(|p| seen.insert(**p))
        .enumerate()
        .map(|(i, p)| collection_products::ActiveModel {
            collection_id: Set(id),
            product_id: Set(*p),
            position: Set(i as i32),
        })
        .collect();
    if !rows.is_empty() {
        collection_products::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

async fn set_texts<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    texts: &BTreeMap<String, CategoryText>,
) -> AppResult<()> {
    for (lang, text) in texts {
        collection_translations::Entity::delete_many()
            .filter(collection_translations::Column::CollectionId.eq(id))
            .filter(collection_translations::Column::Lang.eq(lang.as_str()))
            .exec(conn)
            .await?;
        collection_translations::Entity::insert(collection_translations::ActiveModel {
            collection_id: Set(id),
            lang: Set(lang.clone()),
            name: Set(text.name.trim().to_string()),
            description: Set(text.description.clone()),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

fn slug_taken(e: sea_orm::DbErr) -> AppError {
    match AppError::from(e) {
        AppError::Conflict { .. } => {
            AppError::conflict(ErrorCode::SlugTaken, "another collection has this slug")
        }
        other => other,
    }
}

impl Catalog {
    /// Creates a collection.
    pub async fn create_collection(&self, body: CollectionBody) -> AppResult<Uuid> {
        let mut errors = self
            .check_category_texts(&body.translations, true)
            .err()
            .unwrap_or_default();
        match body.kind.as_str() {
            MANUAL if body.rule.is_some() => {
                errors.push(FieldError::new("rule", "is for rule collections"))
            }
            MANUAL => {}
            RULE => match &body.rule {
                Some(rule) => check_rule(rule, &mut errors),
                None => errors.push(FieldError::new("rule", "is required for a rule collection")),
            },
            _ => errors.push(FieldError::new("kind", "must be manual or rule")),
        }
        if body.kind == RULE && body.product_ids.is_some() {
            errors.push(FieldError::new("product_ids", "are for manual collections"));
        }
        let slug = match &body.slug {
            Some(raw) => Slug::parse(raw, "slug").inspect_err(|e| errors.push(e.clone())),
            None => Ok(Slug::from_title(
                &body
                    .translations
                    .get(self.default_language())
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            )),
        };
        let (Ok(slug), true) = (slug, errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        let rule = body.rule.unwrap_or_default();
        let id = Uuid::now_v7();
        let now = Utc::now();
        let txn = self.db.begin().await?;
        collections::ActiveModel {
            id: Set(id),
            slug: Set(slug.as_str().to_string()),
            kind: Set(body.kind.clone()),
            rule_tag: Set(rule.tag.map(|t| t.trim().to_string())),
            rule_price_min: Set(rule.price_min),
            rule_price_max: Set(rule.price_max),
            position: Set(body.position.unwrap_or(0)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(slug_taken)?;
        set_texts(&txn, id, &body.translations).await?;
        if let Some(picks) = &body.product_ids {
            set_picks(&txn, id, picks).await?;
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Collection, id).await?;
        self.commit(txn).await?;
        Ok(id)
    }

    /// Changes a collection.
    pub async fn update_collection(&self, id: Uuid, body: CollectionPatchBody) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let row = collections::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such collection"))?;
        let mut errors = match &body.translations {
            Some(t) => self
                .check_category_texts(t, false)
                .err()
                .unwrap_or_default(),
            None => Vec::new(),
        };
        if let Some(rule) = &body.rule {
            if row.kind == RULE {
                check_rule(rule, &mut errors);
            } else {
                errors.push(FieldError::new("rule", "is for rule collections"));
            }
        }
        if body.product_ids.is_some() && row.kind != MANUAL {
            errors.push(FieldError::new("product_ids", "are for manual collections"));
        }
        let slug = body
            .slug
            .as_deref()
            .map(|s| Slug::parse(s, "slug"))
            .transpose()
            .unwrap_or_else(|e| {
                errors.push(e);
                None
            });
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let mut active = row.into_active_model();
        if let Some(slug) = slug {
            active.slug = Set(slug.as_str().to_string());
        }
        if let Some(rule) = body.rule {
            active.rule_tag = Set(rule.tag.map(|t| t.trim().to_string()));
            active.rule_price_min = Set(rule.price_min);
            active.rule_price_max = Set(rule.price_max);
        }
        if let Some(position) = body.position {
            active.position = Set(position);
        }
        active.updated_at = Set(Utc::now());
        active.update(&txn).await.map_err(slug_taken)?;
        if let Some(texts) = &body.translations {
            set_texts(&txn, id, texts).await?;
        }
        if let Some(picks) = &body.product_ids {
            set_picks(&txn, id, picks).await?;
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Collection, id).await?;
        self.commit(txn).await
    }

    /// Deletes a collection (its products stay).
    pub async fn delete_collection(&self, id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        collection_products::Entity::delete_many()
            .filter(collection_products::Column::CollectionId.eq(id))
            .exec(&txn)
            .await?;
        collection_translations::Entity::delete_many()
            .filter(collection_translations::Column::CollectionId.eq(id))
            .exec(&txn)
            .await?;
        let deleted = collections::Entity::delete_by_id(id).exec(&txn).await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such collection"));
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Collection, id).await?;
        self.commit(txn).await
    }

    async fn find_collection<C: ConnectionTrait>(
        conn: &C,
        id_or_slug: &str,
    ) -> AppResult<Option<collections::Model>> {
        let by_id = Uuid::parse_str(id_or_slug).ok();
        let mut condition = Condition::any().add(collections::Column::Slug.eq(id_or_slug));
        if let Some(id) = by_id {
            condition = condition.add(collections::Column::Id.eq(id));
        }
        Ok(collections::Entity::find()
            .filter(condition)
            .one(conn)
            .await?)
    }

    async fn views(
        &self,
        rows: Vec<collections::Model>,
        lang: &Lang<'_>,
        admin: bool,
    ) -> AppResult<Vec<CollectionView>> {
        let conn = self.db.reader();
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let texts = collection_translations::Entity::find()
            .filter(collection_translations::Column::CollectionId.is_in(ids.clone()))
            .all(conn)
            .await?;
        let picks = if admin {
            collection_products::Entity::find()
                .filter(collection_products::Column::CollectionId.is_in(ids))
                .order_by_asc(collection_products::Column::Position)
                .all(conn)
                .await?
        } else {
            Vec::new()
        };
        Ok(rows
            .into_iter()
            .map(|c| {
                let own: Vec<&collection_translations::Model> =
                    texts.iter().filter(|t| t.collection_id == c.id).collect();
                let text = pick(&own, lang, |t| &t.lang);
                let rule = (c.kind == RULE).then(|| RuleBody {
                    tag: c.rule_tag.clone(),
                    price_min: c.rule_price_min,
                    price_max: c.rule_price_max,
                });
                CollectionView {
                    id: c.id,
                    slug: c.slug.clone(),
                    kind: c.kind.clone(),
                    name: text.map(|t| t.name.clone()).unwrap_or_default(),
                    description: text.and_then(|t| t.description.clone()),
                    rule,
                    product_ids: (admin && c.kind == MANUAL).then(|| {
                        picks
                            .iter()
                            .filter(|p| p.collection_id == c.id)
                            .map(|p| p.product_id)
                            .collect()
                    }),
                    position: c.position,
                    translations: admin.then(|| {
                        own.iter()
                            .map(|t| {
                                (
                                    t.lang.clone(),
                                    CategoryText {
                                        name: t.name.clone(),
                                        description: t.description.clone(),
                                    },
                                )
                            })
                            .collect()
                    }),
                }
            })
            .collect())
    }

    /// Every collection, by position.
    pub async fn collections(
        &self,
        lang: &Lang<'_>,
        admin: bool,
    ) -> AppResult<Vec<CollectionView>> {
        let rows = collections::Entity::find()
            .order_by_asc(collections::Column::Position)
            .order_by_asc(collections::Column::Slug)
            .all(self.db.reader())
            .await?;
        self.views(rows, lang, admin).await
    }

    /// One collection by id or slug.
    pub async fn collection(
        &self,
        id_or_slug: &str,
        lang: &Lang<'_>,
        admin: bool,
    ) -> AppResult<CollectionView> {
        let row = Self::find_collection(self.db.reader(), id_or_slug)
            .await?
            .ok_or_else(|| AppError::not_found("no such collection"))?;
        self.views(vec![row], lang, admin)
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("no such collection"))
    }

    /// The product-list condition of a collection (422 when there is no such collection).
    pub(crate) async fn collection_condition<C: ConnectionTrait>(
        conn: &C,
        id_or_slug: &str,
    ) -> AppResult<Condition> {
        let row = Self::find_collection(conn, id_or_slug)
            .await?
            .ok_or_else(|| AppError::invalid("collection", "no such collection"))?;
        if row.kind == MANUAL {
            return Ok(Condition::all().add(
                products::Column::Id.in_subquery(
                    Query::select()
                        .column(collection_products::Column::ProductId)
                        .from(collection_products::Entity)
                        .and_where(collection_products::Column::CollectionId.eq(row.id))
                        .to_owned(),
                ),
            ));
        }
        let mut c = Condition::all();
        if let Some(tag) = &row.rule_tag {
            // Tags are stored as a JSON array of strings.
            let quoted = serde_json::to_string(tag).unwrap_or_default();
            c = c.add(products::Column::Tags.like(emporium_core::like::contains(&quoted)));
        }
        if let Some(min) = row.rule_price_min {
            c = c.add(products::Column::PriceMin.gte(min));
        }
        if let Some(max) = row.rule_price_max {
            c = c.add(products::Column::PriceMin.lte(max));
        }
        Ok(c)
    }
}
