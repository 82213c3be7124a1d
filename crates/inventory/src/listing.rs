//! The stock list staff page through: one row per variant and location, filtered by
//! location, low (at or under the threshold) or out (nothing left to sell), in a stable
//! order with a keyset cursor, so that a page costs the same however large the catalog.

use emporium_core::pagination::Page;
use emporium_core::{AppError, AppResult};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::state::Inventory;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    pub location_id: Option<Uuid>,
    /// Only rows at or under their low-stock threshold (their own, else the store's).
    pub low: bool,
    /// Only rows with nothing left to sell at that location.
    pub out: bool,
}

/// One variant at one location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockRowView {
    pub variant_id: Uuid,
    pub sku: String,
    pub location_id: Uuid,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    /// The variant's own low-stock threshold, else the store's.
    pub threshold: i64,
}

fn row(r: &QueryResult) -> Result<StockRowView, DbErr> {
    let on_hand: i64 = r.try_get("", "on_hand")?;
    let reserved: i64 = r.try_get("", "reserved")?;
    Ok(StockRowView {
        variant_id: r.try_get("", "variant_id")?,
        sku: r.try_get("", "sku")?,
        location_id: r.try_get("", "location_id")?,
        on_hand,
        reserved,
        available: on_hand - reserved,
        threshold: r.try_get("", "threshold")?,
    })
}

/// `<variant id>.<location id>`: where the previous page stopped.
fn parse_cursor(cursor: &str) -> AppResult<(Uuid, Uuid)> {
    cursor
        .split_once('.')
        .and_then(|(v, l)| Some((v.parse().ok()?, l.parse().ok()?)))
        .ok_or_else(|| AppError::invalid("cursor", "is not a cursor from this list"))
}

impl Inventory {
    /// A page of stock rows in (variant, location) order.
    pub async fn stock_list(
        &self,
        filter: StockFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<Page<StockRowView>> {
        let after = cursor.map(parse_cursor).transpose()?;
        let l = Alias::new("l");
        let v = Alias::new("v");
        let p = Alias::new("p");
        let default = self.config.inventory.low_stock_threshold;
        let threshold: Expr = Func::coalesce([
            Expr::col((p.clone(), Alias::new("low_stock_threshold"))),
            Expr::val(default),
        ])
        .into();
        let available = Expr::col((l.clone(), Alias::new("on_hand")))
            .sub(Expr::col((l.clone(), Alias::new("reserved"))));
        let mut select = Query::select();
        select
            .expr_as(
                Expr::col((l.clone(), Alias::new("variant_id"))),
                Alias::new("variant_id"),
            )
            .expr_as(
                Expr::col((l.clone(), Alias::new("location_id"))),
                Alias::new("location_id"),
            )
            .expr_as(
                Expr::col((l.clone(), Alias::new("on_hand"))),
                Alias::new("on_hand"),
            )
            .expr_as(
                Expr::col((l.clone(), Alias::new("reserved"))),
                Alias::new("reserved"),
            )
            .expr_as(Expr::col((v.clone(), Alias::new("sku"))), Alias::new("sku"))
            .expr_as(threshold.clone(), Alias::new("threshold"))
            .from_as(Alias::new("stock_levels"), l.clone())
            .join_as(
                JoinType::InnerJoin,
                Alias::new("variants"),
                v.clone(),
                Expr::col((v.clone(), Alias::new("id")))
                    .equals((l.clone(), Alias::new("variant_id"))),
            )
            .join_as(
                JoinType::LeftJoin,
                Alias::new("stock_policies"),
                p.clone(),
                Expr::col((p.clone(), Alias::new("variant_id")))
                    .equals((l.clone(), Alias::new("variant_id"))),
            )
            .order_by((l.clone(), Alias::new("variant_id")), Order::Asc)
            .order_by((l.clone(), Alias::new("location_id")), Order::Asc)
            .limit(u64::from(limit) + 1);
        if let Some(location) = filter.location_id {
            select.and_where(Expr::col((l.clone(), Alias::new("location_id"))).eq(location));
        }
        if filter.out {
            select.and_where(available.clone().lte(0));
        }
        if filter.low {
            select.and_where(available.lte(threshold));
        }
        if let Some((variant, location)) = after {
            let variant_col = Expr::col((l.clone(), Alias::new("variant_id")));
            select.and_where(
                variant_col.clone().gt(variant).or(variant_col
                    .eq(variant)
                    .and(Expr::col((l.clone(), Alias::new("location_id"))).gt(location))),
            );
        }
        let conn = self.db.current();
        let statement = conn.get_database_backend().build(&select);
        let rows = conn.query_all_raw(statement).await?;
        let mut data = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if data.len() > limit as usize {
            data.truncate(limit as usize);
            data.last()
                .map(|r| format!("{}.{}", r.variant_id, r.location_id))
        } else {
            None
        };
        Ok(Page { data, next_cursor })
    }
}
