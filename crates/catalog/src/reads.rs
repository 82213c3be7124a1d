//! Reading the catalog: product lists with keyset pagination and sorting, product pages by
//! id or slug (old slugs redirect), and exchange rates.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use emporium_core::{AppError, AppResult, Currency};
use emporium_db::entity::{exchange_rates, product_categories, product_slug_redirects, products};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::assemble::{self, Lang};
use crate::categories::Tree;
use crate::model::{ProductStatus, format_rate, parse_rate};
use crate::pricing::PriceContext;
use crate::state::Catalog;
use crate::views::*;

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Title,
}

impl Sort {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        match s.unwrap_or("newest") {
            "newest" => Ok(Self::Newest),
            "price" | "price_asc" => Ok(Self::PriceAsc),
            "-price" | "price_desc" => Ok(Self::PriceDesc),
            "title" => Ok(Self::Title),
            _ => Err(AppError::invalid(
                "sort",
                "must be newest, price, -price or title",
            )),
        }
    }
}

/// What a list asks for.
pub struct ListQuery<'a> {
    pub category: Option<&'a str>,
    pub collection: Option<&'a str>,
    pub status: Option<ProductStatus>,
    pub search: Option<&'a str>,
    pub sort: Sort,
    pub cursor: Option<&'a str>,
    pub limit: u32,
}

/// The position after the last item of a page.
#[derive(Serialize, Deserialize)]
struct Cursor {
    /// The sort key: RFC 3339 time, integer price, or title.
    k: serde_json::Value,
    id: Uuid,
}

/// Prices without a variant sort last.
const NO_PRICE: i64 = i64::MAX / 4;

fn price_expr() -> SimpleExpr {
    Func::coalesce([Expr::col(products::Column::PriceMin), Expr::value(NO_PRICE)]).into()
}

fn after(sort: Sort, cursor: &Cursor) -> AppResult<Condition> {
    let bad = || AppError::invalid("cursor", "is not a cursor this API issued");
    let id = cursor.id;
    let (key, value, descending): (SimpleExpr, sea_orm::Value, bool) = match sort {
        Sort::Newest => {
            let t: DateTime<Utc> = cursor
                .k
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(bad)?
                .with_timezone(&Utc);
            (Expr::col(products::Column::CreatedAt), t.into(), true)
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            let p = cursor.k.as_i64().ok_or_else(bad)?;
            (price_expr(), p.into(), sort == Sort::PriceDesc)
        }
        Sort::Title => {
            let t = cursor.k.as_str().ok_or_else(bad)?.to_string();
            (Expr::col(products::Column::TitleSort), t.into(), false)
        }
    };
    let id_col = Expr::col(products::Column::Id);
    Ok(if descending {
        Condition::any()
            .add(key.clone().lt(value.clone()))
            .add(Condition::all().add(key.eq(value)).add(id_col.lt(id)))
    } else {
        Condition::any()
            .add(key.clone().gt(value.clone()))
            .add(Condition::all().add(key.eq(value)).add(id_col.gt(id)))
    })
}

fn order(select: Select<products::Entity>, sort: Sort) -> Select<products::Entity> {
    match sort {
        Sort::Newest => select
            .order_by_desc(products::Column::CreatedAt)
            .order_by_desc(products::Column::Id),
        Sort::PriceAsc => select
            .order_by(price_expr(), sea_orm::Order::Asc)
            .order_by_asc(products::Column::Id),
        Sort::PriceDesc => select
            .order_by(price_expr(), sea_orm::Order::Desc)
            .order_by_desc(products::Column::Id),
        Sort::Title => select
            .order_by_asc(products::Column::TitleSort)
            .order_by_asc(products::Column::Id),
    }
}

fn cursor_of(sort: Sort, p: &products::Model) -> String {
    let k = match sort {
        Sort::Newest => serde_json::Value::String(p.created_at.to_rfc3339()),
        Sort::PriceAsc | Sort::PriceDesc => {
            serde_json::Value::from(p.price_min.unwrap_or(NO_PRICE))
        }
        Sort::Title => serde_json::Value::String(p.title_sort.clone()),
    };
    let json = serde_json::to_vec(&Cursor { k, id: p.id }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(text: &str) -> AppResult<Cursor> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this API issued"))
}

impl Catalog {
    /// The price context for a request.
    pub async fn prices(&self, currency: Currency) -> AppResult<PriceContext> {
        let context =
            PriceContext::load(self.db.reader(), currency, self.default_currency()).await?;
        context.check_usable()?;
        Ok(context)
    }

    /// A page of products. The store sees published ones only.
    pub async fn list_products(
        &self,
        query: ListQuery<'_>,
        store: bool,
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<(Vec<ProductSummaryView>, Option<String>)> {
        let conn = self.db.reader();
        let mut select = products::Entity::find().filter(products::Column::DeletedAt.is_null());
        if store {
            select = select.filter(products::Column::Status.eq(ProductStatus::Published.as_str()));
        } else if let Some(status) = query.status {
            select = select.filter(products::Column::Status.eq(status.as_str()));
        }
        if let Some(category) = query.category {
            let tree = Tree::load(conn).await?;
            let Some(root) = tree.find(category) else {
                return Err(AppError::invalid("category", "no such category"));
            };
            let ids = tree.descendants(root.id);
            select = select.filter(
                products::Column::Id.in_subquery(
                    Query::select()
                        .column(product_categories::Column::ProductId)
                        .from(product_categories::Entity)
                        .and_where(product_categories::Column::CategoryId.is_in(ids))
                        .to_owned(),
                ),
            );
        }
        if let Some(collection) = query.collection {
            select = select.filter(Self::collection_condition(conn, collection).await?);
        }
        if let Some(search) = query.search.map(str::trim).filter(|s| !s.is_empty()) {
            let search = search.to_lowercase();
            select = select.filter(
                Condition::any()
                    .add(products::Column::TitleSort.like(emporium_core::like::contains(&search)))
                    .add(products::Column::Slug.like(emporium_core::like::contains(&search))),
            );
        }
        if let Some(cursor) = query.cursor {
            select = select.filter(after(query.sort, &decode_cursor(cursor)?)?);
        }
        let mut rows = order(select, query.sort)
            .limit(u64::from(query.limit) + 1)
            .all(conn)
            .await?;
        let next = if rows.len() > query.limit as usize {
            rows.truncate(query.limit as usize);
            rows.last().map(|p| cursor_of(query.sort, p))
        } else {
            None
        };
        Ok((
            assemble::summaries(
                conn,
                &rows,
                lang,
                prices,
                self.stock_source(),
                &self.media_base(),
            )
            .await?,
            next,
        ))
    }

    /// A published product by id or slug; `Err(Moved)` names the current slug of a renamed one.
    pub async fn store_product(
        &self,
        id_or_slug: &str,
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<Found> {
        let conn = self.db.reader();
        let by_id = Uuid::parse_str(id_or_slug).ok();
        let mut select = products::Entity::find()
            .filter(products::Column::DeletedAt.is_null())
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()));
        select = match by_id {
            Some(id) => select.filter(products::Column::Id.eq(id)),
            None => select.filter(products::Column::Slug.eq(id_or_slug)),
        };
        if let Some(row) = select.one(conn).await? {
            let mut views = self.store_views(conn, &[row], lang, prices).await?;
            return views
                .pop()
                .map(|v| Found::Product(Box::new(v)))
                .ok_or_else(|| AppError::not_found("no such product"));
        }
        if by_id.is_none()
            && let Some(redirect) =
                product_slug_redirects::Entity::find_by_id(id_or_slug.to_string())
                    .one(conn)
                    .await?
            && let Some(product) = products::Entity::find_by_id(redirect.product_id)
                .one(conn)
                .await?
            && product.deleted_at.is_none()
            && product.status == ProductStatus::Published.as_str()
        {
            return Ok(Found::Moved(product.slug));
        }
        Err(AppError::not_found("no such product"))
    }

    /// Category names for product views, from the node's read cache when it has them.
    async fn category_names<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
    ) -> AppResult<std::sync::Arc<assemble::CategoryNames>> {
        if let Some(names) = self.cache.category_names() {
            return Ok(names);
        }
        let generation = self.cache.generation();
        let names = std::sync::Arc::new(assemble::CategoryNames::load(conn).await?);
        self.cache.keep_category_names(names.clone(), generation);
        Ok(names)
    }

    /// Any product by id, with every translation and price (admin).
    pub async fn admin_product(
        &self,
        id: Uuid,
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<ProductView> {
        self.admin_products(&[id], lang, prices)
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("no such product"))
    }

    /// Products by id, in the order given, assembled together (one query per table,
    /// not per product); 404 when one of them does not exist.
    pub async fn admin_products(
        &self,
        ids: &[Uuid],
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<Vec<ProductView>> {
        let conn = self.db.writer();
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            rows.extend(
                products::Entity::find()
                    .filter(products::Column::Id.is_in(chunk.to_vec()))
                    .filter(products::Column::DeletedAt.is_null())
                    .all(conn)
                    .await?,
            );
        }
        let mut views = assemble::full(
            conn,
            &rows,
            lang,
            prices,
            true,
            assemble::Sources {
                stock: self.stock_source(),
                media_base: &self.media_base(),
                // Staff see every write at once, so not the node's cached copy.
                categories: &assemble::CategoryNames::load(conn).await?,
            },
        )
        .await?;
        let mut ordered = Vec::with_capacity(ids.len());
        for id in ids {
            let at = views
                .iter()
                .position(|v| v.id == *id)
                .ok_or_else(|| AppError::not_found("no such product"))?;
            ordered.push(views.swap_remove(at));
        }
        Ok(ordered)
    }

    /// Product ids for slugs, in the order given (staff pick a collection's products by
    /// slug); an unknown slug is a 422 naming it.
    pub async fn product_ids_by_slug(&self, slugs: &[String]) -> AppResult<Vec<Uuid>> {
        let mut found = std::collections::HashMap::new();
        for chunk in slugs.chunks(500) {
            for p in products::Entity::find()
                .filter(products::Column::Slug.is_in(chunk.to_vec()))
                .filter(products::Column::DeletedAt.is_null())
                .all(self.db.current())
                .await?
            {
                found.insert(p.slug, p.id);
            }
        }
        let mut errors = Vec::new();
        let ids = slugs
            .iter()
            .filter_map(|slug| {
                let id = found.get(slug).copied();
                if id.is_none() {
                    errors.push(emporium_core::FieldError::new(
                        "products",
                        format!("no product has the slug {slug:?}"),
                    ));
                }
                id
            })
            .collect();
        if errors.is_empty() {
            Ok(ids)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    /// The slugs of products, in the order of `ids` (a deleted product is left out).
    pub async fn product_slugs(&self, ids: &[Uuid]) -> AppResult<Vec<String>> {
        let mut found = self.product_slug_map(ids).await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The slug of each product among `ids` that is not deleted.
    pub async fn product_slug_map(
        &self,
        ids: &[Uuid],
    ) -> AppResult<std::collections::HashMap<Uuid, String>> {
        let mut found = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            for p in products::Entity::find()
                .filter(products::Column::Id.is_in(chunk.to_vec()))
                .filter(products::Column::DeletedAt.is_null())
                .all(self.db.current())
                .await?
            {
                found.insert(p.id, p.slug);
            }
        }
        Ok(found)
    }

    /// How many products the store shows, and when the newest change to one was made:
    /// what a sitemap index needs.
    pub async fn published_extent(&self) -> AppResult<(u64, Option<DateTime<Utc>>)> {
        #[derive(sea_orm::FromQueryResult)]
        struct Extent {
            n: i64,
            newest: Option<DateTime<Utc>>,
        }
        let extent = products::Entity::find()
            .select_only()
            .column_as(Expr::col(products::Column::Id).count(), "n")
            .column_as(Expr::col(products::Column::UpdatedAt).max(), "newest")
            .filter(products::Column::DeletedAt.is_null())
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()))
            .into_model::<Extent>()
            .one(self.db.reader())
            .await?;
        Ok(extent.map_or((0, None), |e| (u64::try_from(e.n).unwrap_or(0), e.newest)))
    }

    /// A page of the store's products for a sitemap: id, slug and last change, in id
    /// order after `after` (or from the `skip`-th product when `after` is `None`).
    pub async fn published_slugs(
        &self,
        after: Option<Uuid>,
        skip: u64,
        limit: u64,
    ) -> AppResult<Vec<(Uuid, String, DateTime<Utc>)>> {
        let mut select = products::Entity::find()
            .select_only()
            .columns([
                products::Column::Id,
                products::Column::Slug,
                products::Column::UpdatedAt,
            ])
            .filter(products::Column::DeletedAt.is_null())
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()))
            .order_by_asc(products::Column::Id)
            .limit(limit);
        select = match after {
            Some(id) => select.filter(products::Column::Id.gt(id)),
            None => select.offset(skip),
        };
        Ok(select
            .into_tuple::<(Uuid, String, DateTime<Utc>)>()
            .all(self.db.reader())
            .await?)
    }

    /// The store's products as their pages show them (prices in `prices`' currency,
    /// availability from stock), `limit` at a time in id order after `after`: what a
    /// product feed streams, a fixed number of queries per page.
    pub async fn store_products_after(
        &self,
        after: Option<Uuid>,
        limit: u64,
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<Vec<ProductView>> {
        let conn = self.db.reader();
        let mut select = products::Entity::find()
            .filter(products::Column::DeletedAt.is_null())
            .filter(products::Column::Status.eq(ProductStatus::Published.as_str()))
            .order_by_asc(products::Column::Id)
            .limit(limit);
        if let Some(id) = after {
            select = select.filter(products::Column::Id.gt(id));
        }
        let rows = select.all(conn).await?;
        self.store_views(conn, &rows, lang, prices).await
    }

    /// Product pages' views of `rows`, as shoppers see them.
    async fn store_views<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[products::Model],
        lang: &Lang<'_>,
        prices: &PriceContext,
    ) -> AppResult<Vec<ProductView>> {
        assemble::full(
            conn,
            rows,
            lang,
            prices,
            false,
            assemble::Sources {
                stock: self.stock_source(),
                media_base: &self.media_base(),
                categories: &*self.category_names(conn).await?,
            },
        )
        .await
    }

    /// Sets the exchange rate of `currency` against the default currency.
    pub async fn set_rate(&self, currency: &str, rate: &str) -> AppResult<RateView> {
        let code = Currency::parse(currency)
            .filter(|c| self.currency_enabled(c.code()) && *c != self.default_currency())
            .ok_or_else(|| AppError::not_found("not one of the store's other currencies"))?;
        let rate_e9 = parse_rate(rate).ok_or_else(|| {
            AppError::invalid("rate", "must be a positive decimal with at most 9 decimals")
        })?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        exchange_rates::Entity::delete_by_id(code.code().to_string())
            .exec(&txn)
            .await?;
        exchange_rates::Entity::insert(exchange_rates::ActiveModel {
            currency: Set(code.code().to_string()),
            rate_e9: Set(rate_e9),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::ExchangeRate, Uuid::nil()).await?;
        self.commit(txn).await?;
        Ok(RateView {
            currency: code.code().to_string(),
            rate: format_rate(rate_e9),
            updated_at: now,
        })
    }

    pub async fn rates(&self) -> AppResult<Vec<RateView>> {
        Ok(exchange_rates::Entity::find()
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(|r| RateView {
                currency: r.currency,
                rate: format_rate(r.rate_e9),
                updated_at: r.updated_at,
            })
            .collect())
    }
}

/// A product page lookup.
pub enum Found {
    Product(Box<ProductView>),
    /// The slug was renamed; this is the current one.
    Moved(String),
}
