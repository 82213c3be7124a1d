//! What checkout needs to sell a variant, read inside the caller's transaction so that
//! the order is priced from the same snapshot it is written with.

use emporium_core::{AppResult, Currency, Money};
use emporium_db::entity::{product_translations, products, variant_prices, variants};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::assemble::{Lang, pick};
use crate::model::ProductStatus;
use crate::pricing::{PriceContext, by_variant};
use crate::state::Catalog;

/// A variant as a cart line shows it and an order line snapshots it.
#[derive(Debug, Clone)]
pub struct SellableVariant {
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    /// The product title in the asked language (or the default).
    pub title: String,
    pub options: BTreeMap<String, String>,
    /// The unit price in the asked currency; `None` when none is set or convertible.
    pub price: Option<Money>,
    /// The variant's tax class, else its product's.
    pub tax_class: String,
    /// Published and not deleted: it can be bought.
    pub on_sale: bool,
    /// For shipping rates; `None` when not set.
    pub weight_grams: Option<i32>,
}

/// Turns default-currency amounts into one other currency with one stored rate, loaded
/// once (shipping rates have several amounts to convert).
#[derive(Debug, Clone, Copy)]
pub struct Converter {
    default: Currency,
    target: Currency,
    rate_e9: Option<i64>,
}

impl Converter {
    /// Whether amounts in the default currency can be converted (same currency, or a rate
    /// is stored).
    pub fn can_convert(&self) -> bool {
        self.default == self.target || self.rate_e9.is_some()
    }

    /// `None` when no rate is stored for a foreign currency.
    pub fn convert(&self, amount: i64) -> Option<i64> {
        if self.default == self.target {
            return Some(amount);
        }
        self.rate_e9
            .and_then(|rate| crate::model::convert(amount, self.default, self.target, rate))
    }
}

impl Catalog {
    /// The variants of `ids` that exist (deleted ones are absent), priced in `currency`.
    /// Four queries whatever the number of ids.
    pub async fn sellable_variants<C: ConnectionTrait>(
        &self,
        conn: &C,
        ids: &[Uuid],
        lang: &str,
        currency: Currency,
    ) -> AppResult<HashMap<Uuid, SellableVariant>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Each variant with its product, in one query.
        let join: sea_orm::RelationDef = variants::Entity::belongs_to(products::Entity)
            .from(variants::Column::ProductId)
            .to(products::Column::Id)
            .into();
        let joined = variants::Entity::find()
            .join(sea_orm::JoinType::InnerJoin, join)
            .select_also(products::Entity)
            .filter(variants::Column::Id.is_in(ids.to_vec()))
            .all(conn)
            .await?;
        let mut rows = Vec::with_capacity(joined.len());
        let mut products: HashMap<Uuid, products::Model> = HashMap::new();
        for (variant, product) in joined {
            if let Some(product) = product {
                products.insert(product.id, product);
            }
            rows.push(variant);
        }
        let product_ids: Vec<Uuid> = products.keys().copied().collect();
        let mut texts: HashMap<Uuid, Vec<product_translations::Model>> = HashMap::new();
        for t in product_translations::Entity::find()
            .filter(product_translations::Column::ProductId.is_in(product_ids))
            .all(conn)
            .await?
        {
            texts.entry(t.product_id).or_default().push(t);
        }
        let price_rows = variant_prices::Entity::find()
            .filter(variant_prices::Column::VariantId.is_in(ids.to_vec()))
            .all(conn)
            .await?;
        let prices = by_variant(&price_rows);
        let context = PriceContext::load(conn, currency, self.default_currency()).await?;
        let lang = Lang {
            asked: lang,
            default: self.default_language(),
        };
        let mut out = HashMap::with_capacity(rows.len());
        for v in rows {
            let Some(product) = products.get(&v.product_id) else {
                continue;
            };
            let title = texts
                .get(&v.product_id)
                .and_then(|t| pick(t, &lang, |r| &r.lang))
                .map(|t| t.title.clone())
                .unwrap_or_default();
            let price = prices
                .get(&v.id)
                .and_then(|p| context.resolve(p))
                .map(|(price, _)| price);
            let on_sale = product.deleted_at.is_none()
                && ProductStatus::parse(&product.status) == Some(ProductStatus::Published);
            out.insert(
                v.id,
                SellableVariant {
                    variant_id: v.id,
                    product_id: v.product_id,
                    sku: v.sku,
                    title,
                    options: serde_json::from_str(&v.options).unwrap_or_default(),
                    price,
                    tax_class: v.tax_class.unwrap_or_else(|| product.tax_class.clone()),
                    on_sale,
                    weight_grams: v.weight_grams,
                },
            );
        }
        Ok(out)
    }

    /// A converter from the default currency to `currency`.
    pub async fn converter<C: ConnectionTrait>(
        &self,
        conn: &C,
        currency: Currency,
    ) -> AppResult<Converter> {
        let default = self.default_currency();
        let rate_e9 = if currency == default {
            None
        } else {
            PriceContext::load(conn, currency, default).await?.rate_e9
        };
        Ok(Converter {
            default,
            target: currency,
            rate_e9,
        })
    }

    /// Converts an amount in the default currency to `currency` with the stored rate
    /// (`None` when there is no rate).
    pub async fn convert_from_default<C: ConnectionTrait>(
        &self,
        conn: &C,
        amount: i64,
        currency: Currency,
    ) -> AppResult<Option<Money>> {
        let default = self.default_currency();
        if currency == default {
            return Ok(Some(Money::new(amount, currency)));
        }
        let context = PriceContext::load(conn, currency, default).await?;
        Ok(context
            .rate_e9
            .and_then(|rate| crate::model::convert(amount, default, currency, rate))
            .map(|a| Money::new(a, currency)))
    }
}

/// Records in the change log that a variant's product changed outside the catalog (its
/// stock ran out or came back), inside the caller's transaction, so that every node's
/// search replica and cache pick it up.
pub async fn record_variant_change<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
) -> AppResult<()> {
    let Some(variant) = variants::Entity::find_by_id(variant_id).one(conn).await? else {
        return Ok(());
    };
    crate::changes::record(
        conn,
        crate::changes::ChangeKind::Product,
        variant.product_id,
    )
    .await?;
    Ok(())
}

/// Whether variant `id` exists (for other domains keeping rows about variants).
pub async fn variant_exists<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<bool> {
    Ok(variants::Entity::find_by_id(id).one(conn).await?.is_some())
}

/// How a variant is named to a shopper (in emails): its SKU, its product's slug and its
/// product's title in `lang`, else in `default_lang`, else the SKU. `None` when there is
/// no such variant.
pub async fn variant_label<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
    lang: &str,
    default_lang: &str,
) -> AppResult<Option<VariantLabel>> {
    let Some(variant) = variants::Entity::find_by_id(variant_id).one(conn).await? else {
        return Ok(None);
    };
    let slug = products::Entity::find_by_id(variant.product_id)
        .one(conn)
        .await?
        .map(|p| p.slug)
        .unwrap_or_default();
    let titles = product_translations::Entity::find()
        .filter(product_translations::Column::ProductId.eq(variant.product_id))
        .filter(product_translations::Column::Lang.is_in([lang, default_lang]))
        .all(conn)
        .await?;
    let title = titles
        .iter()
        .find(|t| t.lang == lang)
        .or_else(|| titles.iter().find(|t| t.lang == default_lang))
        .map(|t| t.title.clone())
        .unwrap_or_else(|| variant.sku.clone());
    Ok(Some(VariantLabel {
        sku: variant.sku,
        slug,
        title,
    }))
}

/// A variant as an email names it.
#[derive(Debug, Clone, Default)]
pub struct VariantLabel {
    pub sku: String,
    pub slug: String,
    pub title: String,
}

/// Every variant's id (the demo seed stocks them).
pub async fn variant_ids<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<Uuid>> {
    Ok(variants::Entity::find()
        .select_only()
        .column(variants::Column::Id)
        .into_tuple()
        .all(conn)
        .await?)
}

/// A variant's id from its SKU (SKUs are unique).
pub async fn variant_id_by_sku<C: ConnectionTrait>(conn: &C, sku: &str) -> AppResult<Option<Uuid>> {
    Ok(variants::Entity::find()
        .select_only()
        .column(variants::Column::Id)
        .filter(variants::Column::Sku.eq(sku.trim()))
        .into_tuple()
        .one(conn)
        .await?)
}

impl Catalog {
    /// The categories (with every ancestor, so a sale on a parent covers its children)
    /// and collections of each product: what promotions' conditions match lines by.
    pub async fn product_groups<C: ConnectionTrait>(
        &self,
        conn: &C,
        products: &[Uuid],
    ) -> AppResult<HashMap<Uuid, (Vec<Uuid>, Vec<Uuid>)>> {
        use emporium_db::entity::{categories, collection_products, product_categories};
        let mut out: HashMap<Uuid, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
        if products.is_empty() {
            return Ok(out);
        }
        let parents: HashMap<Uuid, Option<Uuid>> = categories::Entity::find()
            .select_only()
            .column(categories::Column::Id)
            .column(categories::Column::ParentId)
            .into_tuple::<(Uuid, Option<Uuid>)>()
            .all(conn)
            .await?
            .into_iter()
            .collect();
        for row in product_categories::Entity::find()
            .filter(product_categories::Column::ProductId.is_in(products.iter().copied()))
            .all(conn)
            .await?
        {
            let entry = &mut out.entry(row.product_id).or_default().0;
            let mut next = Some(row.category_id);
            while let Some(id) = next {
                if entry.contains(&id) {
                    break;
                }
                entry.push(id);
                next = parents.get(&id).copied().flatten();
            }
        }
        for row in collection_products::Entity::find()
            .filter(collection_products::Column::ProductId.is_in(products.iter().copied()))
            .all(conn)
            .await?
        {
            out.entry(row.product_id)
                .or_default()
                .1
                .push(row.collection_id);
        }
        Ok(out)
    }
}
