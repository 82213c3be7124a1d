//! A product's rating: how many published reviews gave it each number of stars. The
//! reviews domain moves these counts by one in the same transaction as each publish,
//! unpublish or removal, so they are exact without ever scanning the reviews; the
//! average and distribution shown everywhere (product views, lists, search, JSON-LD)
//! come from them.

use emporium_core::{AppError, AppResult};
use emporium_db::entity::products;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::changes::{self, ChangeKind};
use crate::model::ProductStatus;

/// Published reviews of a product: how many, their average and how many gave each star.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct RatingView {
    /// Published reviews.
    pub count: i64,
    /// Mean stars to two decimals; null without reviews.
    pub average: Option<f64>,
    /// Reviews with 1, 2, 3, 4 and 5 stars, in that order.
    pub distribution: [i64; 5],
}

impl RatingView {
    pub fn of(distribution: [i64; 5]) -> Self {
        let count: i64 = distribution.iter().sum();
        let sum: i64 = distribution
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i64 + 1) * n)
            .sum();
        Self {
            count,
            // Hundredths rounded half up in integers, so 4.335 never becomes 4.33.
            average: (count > 0).then(|| ((sum * 200 + count) / (2 * count)) as f64 / 100.0),
            distribution,
        }
    }

    pub(crate) fn of_row(p: &products::Model) -> Self {
        Self::of([p.rating_1, p.rating_2, p.rating_3, p.rating_4, p.rating_5])
    }

    /// The exact mean, for the search index's rating filter and sort.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let sum: i64 = self
            .distribution
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i64 + 1) * n)
            .sum();
        sum as f64 / self.count as f64
    }
}

fn star_column(stars: u8) -> Option<products::Column> {
    Some(match stars {
        1 => products::Column::Rating1,
        2 => products::Column::Rating2,
        3 => products::Column::Rating3,
        4 => products::Column::Rating4,
        5 => products::Column::Rating5,
        _ => return None,
    })
}

/// Moves the count of `stars`-star reviews of `product_id` by `delta` (+1 published,
/// -1 unpublished or deleted) inside the caller's transaction, and logs a product change
/// so that search and every node's cache follow within a second.
pub async fn adjust_rating_in<C: ConnectionTrait>(
    conn: &C,
    product_id: Uuid,
    stars: u8,
    delta: i64,
) -> AppResult<()> {
    let column =
        star_column(stars).ok_or_else(|| AppError::invalid("rating", "must be 1 to 5 stars"))?;
    let updated = products::Entity::update_many()
        .col_expr(column, Expr::col(column).add(delta))
        .filter(products::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::not_found("no such product"));
    }
    changes::record(conn, ChangeKind::Product, product_id).await
}

/// A product shoppers can see: its id, slug and title in the default language.
#[derive(Debug, Clone)]
pub struct Reviewable {
    pub id: Uuid,
    pub slug: String,
    pub rating: RatingView,
}

/// The published, undeleted product named by `id_or_slug`, or 404.
pub async fn reviewable<C: ConnectionTrait>(conn: &C, id_or_slug: &str) -> AppResult<Reviewable> {
    let query = products::Entity::find().filter(products::Column::DeletedAt.is_null());
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(products::Column::Id.eq(id)),
        Err(_) => query.filter(products::Column::Slug.eq(id_or_slug)),
    };
    let product = query
        .one(conn)
        .await?
        .filter(|p| ProductStatus::parse(&p.status) == Some(ProductStatus::Published))
        .ok_or_else(|| AppError::not_found("no such product"))?;
    Ok(Reviewable {
        id: product.id,
        slug: product.slug.clone(),
        rating: RatingView::of_row(&product),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_comes_from_the_counts() {
        let none = RatingView::of([0; 5]);
        assert_eq!((none.count, none.average), (0, None));
        let r = RatingView::of([0, 0, 1, 0, 2]);
        assert_eq!(r.count, 3);
        assert_eq!(r.average, Some(4.33));
        assert!((r.mean() - 13.0 / 3.0).abs() < 1e-12);
        assert_eq!(RatingView::of([1, 0, 0, 0, 1]).average, Some(3.0));
        assert_eq!(RatingView::of([0, 0, 0, 1, 1]).average, Some(4.5));
    }
}
