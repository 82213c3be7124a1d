//! What the search replicas index: a flat document per product, read in batches with a
//! fixed number of queries, and the change log they follow.

use chrono::{DateTime, Utc};
use emporium_core::{AppResult, Currency};
use emporium_db::entity::{
    catalog_changes, product_categories, product_translations, products, variant_prices, variants,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

use crate::categories::Tree;
use crate::model::ProductStatus;
use crate::pricing::{PriceContext, by_variant};
use crate::state::Catalog;

/// One product as search sees it.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub id: Uuid,
    pub slug: String,
    /// Published and not deleted: only these are searchable.
    pub visible: bool,
    /// Title and plain-text description per language that has them.
    pub texts: BTreeMap<String, (String, String)>,
    pub brand: Option<String>,
    pub tags: Vec<String>,
    /// Attributes and the option values its variants sell, lower-cased: `color -> red`.
    pub facets: BTreeSet<(String, String)>,
    pub skus: Vec<String>,
    /// Each category as its path of slugs from the root.
    pub category_paths: Vec<Vec<String>>,
    /// Names of its categories and their ancestors, in every language.
    pub category_names: Vec<String>,
    /// The lowest variant price per currency the store sells in.
    pub prices: BTreeMap<String, i64>,
    pub variant_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Published reviews, for the rating filter and sort.
    pub rating: crate::ratings::RatingView,
}

/// One entry of the catalog change log.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    /// `None` for a kind this node does not know (a newer node wrote it): treat it as
    /// touching many products.
    pub kind: Option<crate::changes::ChangeKind>,
    pub entity_id: Uuid,
}

/// Drops markup from rich text, keeping the words.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn path_of(tree: &Tree, id: Uuid) -> Vec<&emporium_db::entity::categories::Model> {
    let mut path = Vec::new();
    let mut cursor = tree.rows.iter().find(|c| c.id == id);
    while let Some(row) = cursor {
        if path
            .iter()
            .any(|p: &&emporium_db::entity::categories::Model| p.id == row.id)
        {
            break;
        }
        path.push(row);
        cursor = row
            .parent_id
            .and_then(|p| tree.rows.iter().find(|c| c.id == p));
    }
    path.reverse();
    path
}

impl Catalog {
    /// Search documents for `ids` (absent ids are deleted products).
    pub async fn search_documents(&self, ids: &[Uuid]) -> AppResult<Vec<SearchDoc>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.db.current();
        let rows = products::Entity::find()
            .filter(products::Column::Id.is_in(ids.to_vec()))
            .all(conn)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
        let mut texts: HashMap<Uuid, Vec<product_translations::Model>> = HashMap::new();
        for t in product_translations::Entity::find()
            .filter(product_translations::Column::ProductId.is_in(ids.clone()))
            .all(conn)
            .await?
        {
            texts.entry(t.product_id).or_default().push(t);
        }
        let mut variant_rows: HashMap<Uuid, Vec<variants::Model>> = HashMap::new();
        for v in variants::Entity::find()
            .filter(variants::Column::ProductId.is_in(ids.clone()))
            .all(conn)
            .await?
        {
            variant_rows.entry(v.product_id).or_default().push(v);
        }
        let variant_ids: Vec<Uuid> = variant_rows.values().flatten().map(|v| v.id).collect();
        let price_rows = if variant_ids.is_empty() {
            Vec::new()
        } else {
            variant_prices::Entity::find()
                .filter(variant_prices::Column::VariantId.is_in(variant_ids))
                .all(conn)
                .await?
        };
        let prices = by_variant(&price_rows);
        let mut links: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for l in product_categories::Entity::find()
            .filter(product_categories::Column::ProductId.is_in(ids.clone()))
            .all(conn)
            .await?
        {
            links.entry(l.product_id).or_default().push(l.category_id);
        }
        let tree = Tree::load(conn).await?;
        let default = self.default_currency();
        let mut contexts = Vec::new();
        for code in &self.config.store.currencies {
            if let Some(currency) = Currency::parse(code) {
                contexts.push(PriceContext::load(conn, currency, default).await?);
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for p in rows {
            let visible = p.deleted_at.is_none()
                && ProductStatus::parse(&p.status) == Some(ProductStatus::Published);
            let vs = variant_rows.remove(&p.id).unwrap_or_default();
            let mut facets = BTreeSet::new();
            let attributes: BTreeMap<String, String> =
                serde_json::from_str(&p.attributes).unwrap_or_default();
            for (k, v) in attributes {
                facets.insert((k.to_lowercase(), v.to_lowercase()));
            }
            for v in &vs {
                let options: BTreeMap<String, String> =
                    serde_json::from_str(&v.options).unwrap_or_default();
                for (k, val) in options {
                    facets.insert((k.to_lowercase(), val.to_lowercase()));
                }
            }
            let mut min_prices = BTreeMap::new();
            for context in &contexts {
                let min = vs
                    .iter()
                    .filter_map(|v| prices.get(&v.id).and_then(|rows| context.resolve(rows)))
                    .map(|(m, _)| m.amount)
                    .min();
                if let Some(min) = min {
                    min_prices.insert(context.currency.code().to_string(), min);
                }
            }
            let mut category_paths = Vec::new();
            let mut category_names = BTreeSet::new();
            for cat in links.remove(&p.id).unwrap_or_default() {
                let path = path_of(&tree, cat);
                for node in &path {
                    for t in tree.texts.iter().filter(|t| t.category_id == node.id) {
                        category_names.insert(t.name.clone());
                    }
                }
                category_paths.push(path.iter().map(|c| c.slug.clone()).collect());
            }
            let rating = crate::ratings::RatingView::of_row(&p);
            out.push(SearchDoc {
                id: p.id,
                slug: p.slug,
                visible,
                texts: texts
                    .remove(&p.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.lang, (t.title, plain_text(&t.description))))
                    .collect(),
                brand: p.brand,
                tags: serde_json::from_str(&p.tags).unwrap_or_default(),
                facets,
                skus: vs.iter().map(|v| v.sku.clone()).collect(),
                variant_ids: vs.iter().map(|v| v.id).collect(),
                rating,
                category_paths,
                category_names: category_names.into_iter().collect(),
                prices: min_prices,
                created_at: p.created_at,
            });
        }
        Ok(out)
    }

    /// Ids of searchable products after `after` in id order, for rebuilding an index.
    pub async fn visible_product_ids(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> AppResult<Vec<Uuid>> {
        let mut query = products::Entity::find()
            .select_only()
            .column(products::Column::Id)
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()))
            .filter(products::Column::DeletedAt.is_null())
            .order_by_asc(products::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(products::Column::Id.gt(after));
        }
        Ok(query.into_tuple::<Uuid>().all(self.db.current()).await?)
    }

    /// How many products are searchable (for progress while rebuilding).
    pub async fn visible_product_count(&self) -> AppResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(products::Entity::find()
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()))
            .filter(products::Column::DeletedAt.is_null())
            .count(self.db.current())
            .await?)
    }

    /// Change-log entries after `seq`, oldest first.
    pub async fn changes_after(&self, seq: i64, limit: u64) -> AppResult<Vec<Change>> {
        Ok(catalog_changes::Entity::find()
            .filter(catalog_changes::Column::Seq.gt(seq))
            .order_by_asc(catalog_changes::Column::Seq)
            .limit(limit)
            .all(self.db.current())
            .await?
            .into_iter()
            .map(|c| Change {
                seq: c.seq,
                kind: crate::changes::ChangeKind::parse(&c.entity),
                entity_id: c.entity_id,
            })
            .collect())
    }

    /// Brands and category names (every language), for search suggestions.
    pub async fn vocabulary(&self) -> AppResult<Vec<String>> {
        let conn = self.db.current();
        let brands: Vec<Option<String>> = products::Entity::find()
            .select_only()
            .column(products::Column::Brand)
            .distinct()
            .filter(products::Column::DeletedAt.is_null())
            .into_tuple::<Option<String>>()
            .all(conn)
            .await?;
        let tree = Tree::load(conn).await?;
        let mut words: BTreeSet<String> = brands.into_iter().flatten().collect();
        words.extend(tree.texts.into_iter().map(|t| t.name));
        Ok(words.into_iter().collect())
    }

    /// Names of every attribute and option in use (the facets search can count).
    pub async fn facet_names(&self) -> AppResult<Vec<String>> {
        let conn = self.db.current();
        let mut names: BTreeSet<String> = emporium_db::entity::product_options::Entity::find()
            .select_only()
            .column(emporium_db::entity::product_options::Column::Name)
            .distinct()
            .into_tuple::<String>()
            .all(conn)
            .await?
            .into_iter()
            .map(|n| n.to_lowercase())
            .collect();
        let attributes: Vec<String> = products::Entity::find()
            .select_only()
            .column(products::Column::Attributes)
            .distinct()
            .into_tuple::<String>()
            .all(conn)
            .await?;
        for text in attributes {
            let map: BTreeMap<String, String> = serde_json::from_str(&text).unwrap_or_default();
            names.extend(map.into_keys().map(|k| k.to_lowercase()));
        }
        Ok(names.into_iter().collect())
    }

    /// The newest change-log sequence (0 when empty).
    pub async fn last_change_seq(&self) -> AppResult<i64> {
        Ok(catalog_changes::Entity::find()
            .order_by_desc(catalog_changes::Column::Seq)
            .one(self.db.current())
            .await?
            .map_or(0, |c| c.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_dropped_words_kept() {
        assert_eq!(
            plain_text("<p>Soft <b>cotton</b></p>")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["Soft", "cotton"]
        );
    }
}
