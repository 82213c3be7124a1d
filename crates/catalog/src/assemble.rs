//! Builds product views from rows with a fixed number of batched queries per page, never
//! one query per product (no N+1), whatever the page size.

use emporium_core::AppResult;
use emporium_db::entity::{
    categories, category_translations, product_categories, product_options, product_translations,
    products, variant_prices, variants,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationDef,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

use crate::model::{OptionSpec, ProductStatus};
use crate::pricing::{PriceContext, by_variant};
use crate::state::StockSource;
use crate::views::*;

pub use emporium_core::locale::Lang;

pub(crate) fn pick<'a, T>(
    rows: &'a [T],
    lang: &Lang<'_>,
    lang_of: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    rows.iter()
        .find(|r| lang_of(r) == lang.asked)
        .or_else(|| rows.iter().find(|r| lang_of(r) == lang.default))
        .or_else(|| rows.first())
}

/// Product translations for `ids`, grouped by product.
async fn translations<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<product_translations::Model>>> {
    let rows = product_translations::Entity::find()
        .filter(product_translations::Column::ProductId.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<product_translations::Model>> = HashMap::new();
    for row in rows {
        map.entry(row.product_id).or_default().push(row);
    }
    Ok(map)
}

/// Variants and their prices for `ids`, in one query (a left join: a variant without a
/// price still comes back).
async fn variants_with_prices<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<(
    HashMap<Uuid, Vec<variants::Model>>,
    Vec<variant_prices::Model>,
)> {
    let join: RelationDef = variants::Entity::belongs_to(variant_prices::Entity)
        .from(variants::Column::Id)
        .to(variant_prices::Column::VariantId)
        .into();
    let rows = variants::Entity::find()
        .join(JoinType::LeftJoin, join)
        .select_also(variant_prices::Entity)
        .filter(variants::Column::ProductId.is_in(ids.to_vec()))
        .order_by_asc(variants::Column::Position)
        .order_by_asc(variants::Column::Id)
        .all(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<variants::Model>> = HashMap::new();
    let mut prices = Vec::new();
    for (variant, price) in rows {
        prices.extend(price);
        let list = map.entry(variant.product_id).or_default();
        // One row per price: a variant's rows are adjacent (ordered by its id last).
        if list.last().is_none_or(|v| v.id != variant.id) {
            list.push(variant);
        }
    }
    Ok((map, prices))
}

fn status_of(p: &products::Model) -> ProductStatus {
    ProductStatus::parse(&p.status).unwrap_or(ProductStatus::Draft)
}

/// The variants among `variant_map` that can be sold now (`None`: no stock source, so
/// all of them).
async fn sellable(
    stock: Option<&Arc<dyn StockSource>>,
    variant_map: &HashMap<Uuid, Vec<variants::Model>>,
) -> AppResult<Option<HashSet<Uuid>>> {
    let Some(stock) = stock else {
        return Ok(None);
    };
    let ids: Vec<Uuid> = variant_map.values().flatten().map(|v| v.id).collect();
    Ok(Some(stock.sellable(&ids).await?))
}

fn can_sell(sellable: &Option<HashSet<Uuid>>, id: Uuid) -> bool {
    sellable.as_ref().is_none_or(|s| s.contains(&id))
}

/// Summaries for a list page, in the order of `rows`.
pub async fn summaries<C: ConnectionTrait>(
    conn: &C,
    rows: &[products::Model],
    lang: &Lang<'_>,
    prices: &PriceContext,
    stock: Option<&Arc<dyn StockSource>>,
    media_base: &str,
) -> AppResult<Vec<ProductSummaryView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let texts = translations(conn, &ids).await?;
    let mut images = crate::media::images_of(conn, &ids, lang, media_base).await?;
    let (variant_map, price_rows) = variants_with_prices(conn, &ids).await?;
    let sellable = sellable(stock, &variant_map).await?;
    let price_map = by_variant(&price_rows);
    Ok(rows
        .iter()
        .map(|p| {
            let title = texts
                .get(&p.id)
                .and_then(|t| pick(t, lang, |r| &r.lang))
                .map(|t| t.title.clone())
                .unwrap_or_default();
            // Each variant's price in the asked currency, resolved once: the lowest is
            // shown, and only a priced variant in stock makes the product available.
            let priced: Vec<_> = variant_map
                .get(&p.id)
                .into_iter()
                .flatten()
                .map(|v| {
                    let own = price_map.get(&v.id).map(Vec::as_slice).unwrap_or(&[]);
                    (v.id, prices.resolve(own))
                })
                .collect();
            let lowest = priced
                .iter()
                .filter_map(|(_, price)| *price)
                .min_by_key(|(price, _)| price.amount);
            ProductSummaryView {
                id: p.id,
                slug: p.slug.clone(),
                title,
                brand: p.brand.clone(),
                status: status_of(p),
                price: lowest.map(|(price, _)| price),
                compare_at_price: lowest.and_then(|(_, compare)| compare),
                // As the product page decides it: in stock and priced.
                available: priced
                    .iter()
                    .any(|(id, price)| price.is_some() && can_sell(&sellable, *id)),
                image: images
                    .get_mut(&p.id)
                    .and_then(|i| (!i.is_empty()).then(|| i.remove(0))),
                rating: crate::ratings::RatingView::of_row(p),
            }
        })
        .collect())
}

/// Every category's slug and names, which product views refer to. Small, so a node keeps
/// it in its read cache until a category changes.
pub(crate) struct CategoryNames {
    by_id: HashMap<Uuid, (String, Vec<category_translations::Model>)>,
}

impl CategoryNames {
    pub(crate) async fn load<C: ConnectionTrait>(conn: &C) -> AppResult<Self> {
        let mut by_id: HashMap<Uuid, (String, Vec<category_translations::Model>)> =
            categories::Entity::find()
                .all(conn)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.slug, Vec::new())))
                .collect();
        for text in category_translations::Entity::find().all(conn).await? {
            if let Some((_, texts)) = by_id.get_mut(&text.category_id) {
                texts.push(text);
            }
        }
        Ok(Self { by_id })
    }

    fn refer(&self, id: Uuid, lang: &Lang<'_>) -> Option<CategoryRef> {
        let (slug, texts) = self.by_id.get(&id)?;
        Some(CategoryRef {
            id,
            slug: slug.clone(),
            name: pick(texts, lang, |t| &t.lang)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
        })
    }
}

/// What full views are built with besides the rows.
pub(crate) struct Sources<'a> {
    pub stock: Option<&'a Arc<dyn StockSource>>,
    pub media_base: &'a str,
    pub categories: &'a CategoryNames,
}

/// Full views for `rows` (product pages, admin).
pub(crate) async fn full<C: ConnectionTrait>(
    conn: &C,
    rows: &[products::Model],
    lang: &Lang<'_>,
    prices: &PriceContext,
    admin: bool,
    sources: Sources<'_>,
) -> AppResult<Vec<ProductView>> {
    let Sources {
        stock,
        media_base,
        categories,
    } = sources;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let texts = translations(conn, &ids).await?;
    let mut images = crate::media::images_of(conn, &ids, lang, media_base).await?;
    let (variant_map, price_rows) = variants_with_prices(conn, &ids).await?;
    let sellable = sellable(stock, &variant_map).await?;
    let price_map = by_variant(&price_rows);
    let option_rows = product_options::Entity::find()
        .filter(product_options::Column::ProductId.is_in(ids.clone()))
        .order_by_asc(product_options::Column::Position)
        .all(conn)
        .await?;
    let links = product_categories::Entity::find()
        .filter(product_categories::Column::ProductId.is_in(ids.clone()))
        .all(conn)
        .await?;
    let category_ref = |id: Uuid| categories.refer(id, lang);
    Ok(rows
        .iter()
        .map(|p| {
            let product_texts = texts.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
            let text = pick(product_texts, lang, |r| &r.lang);
            let options: Vec<OptionSpec> = option_rows
                .iter()
                .filter(|o| o.product_id == p.id)
                .map(|o| OptionSpec {
                    name: o.name.clone(),
                    values: serde_json::from_str(&o.option_values).unwrap_or_default(),
                })
                .collect();
            let variant_views: Vec<VariantView> = variant_map
                .get(&p.id)
                .into_iter()
                .flatten()
                .map(|v| {
                    let own = price_map.get(&v.id).map(Vec::as_slice).unwrap_or(&[]);
                    // A variant with no price in this currency still shows (with its
                    // options), unpriced and unavailable, as the list counts it.
                    let (price, compare) = prices.resolve(own).unzip();
                    VariantView {
                        id: v.id,
                        sku: v.sku.clone(),
                        barcode: v.barcode.clone(),
                        options: serde_json::from_str(&v.options).unwrap_or_default(),
                        price,
                        compare_at_price: compare.flatten(),
                        available: price.is_some() && can_sell(&sellable, v.id),
                        weight_grams: v.weight_grams,
                        prices: admin.then(|| {
                            own.iter()
                                .map(|r| {
                                    (
                                        r.currency.clone(),
                                        PriceBody {
                                            amount: r.amount,
                                            compare_at: r.compare_at,
                                        },
                                    )
                                })
                                .collect()
                        }),
                    }
                })
                .collect();
            let price = variant_views
                .iter()
                .filter_map(|v| v.price)
                .min_by_key(|m| m.amount);
            let mut categories: Vec<CategoryRef> = links
                .iter()
                .filter(|l| l.product_id == p.id)
                .filter_map(|l| category_ref(l.category_id))
                .collect();
            categories.sort_by(|a, b| a.slug.cmp(&b.slug));
            ProductView {
                id: p.id,
                slug: p.slug.clone(),
                title: text.map(|t| t.title.clone()).unwrap_or_default(),
                description: text.map(|t| t.description.clone()).unwrap_or_default(),
                status: status_of(p),
                brand: p.brand.clone(),
                tags: serde_json::from_str(&p.tags).unwrap_or_default(),
                attributes: serde_json::from_str(&p.attributes).unwrap_or_default(),
                tax_class: p.tax_class.clone(),
                categories,
                options,
                images: images.remove(&p.id).unwrap_or_default(),
                available: variant_views.iter().any(|v| v.available),
                variants: variant_views,
                price,
                rating: crate::ratings::RatingView::of_row(p),
                seo: SeoView {
                    meta_title: text.and_then(|t| t.meta_title.clone()),
                    meta_description: text.and_then(|t| t.meta_description.clone()),
                },
                created_at: p.created_at,
                updated_at: p.updated_at,
                translations: admin.then(|| {
                    product_texts
                        .iter()
                        .map(|t| {
                            (
                                t.lang.clone(),
                                ProductText {
                                    title: t.title.clone(),
                                    description: t.description.clone(),
                                    meta_title: t.meta_title.clone(),
                                    meta_description: t.meta_description.clone(),
                                },
                            )
                        })
                        .collect::<BTreeMap<_, _>>()
                }),
            }
        })
        .collect())
}
