//! Whether someone bought a product: what the reviews domain asks before it takes a
//! review, and to decide the "verified buyer" badge, which only a delivered line earns.

use emporium_core::AppResult;
use emporium_db::entity::{order_lines, orders};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::model::{FulfillmentStatus, OrderStatus};
use crate::state::Orders;

/// Whose orders to look through.
#[derive(Debug, Clone, Copy)]
pub enum Buyer {
    Customer(Uuid),
    /// One order (a guest holding a review link of it).
    Order(Uuid),
}

/// How far someone got with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purchase {
    None,
    /// In an order that is paid (or on its way), not cancelled.
    Ordered,
    /// In an order that reached them.
    Delivered,
}

impl Orders {
    /// The furthest any of `buyer`'s orders got with `product_id` (any variant).
    pub async fn purchase_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        buyer: Buyer,
        product_id: Uuid,
    ) -> AppResult<Purchase> {
        let with_product = Query::select()
            .column(order_lines::Column::OrderId)
            .from(order_lines::Entity)
            .and_where(Expr::col(order_lines::Column::ProductId).eq(product_id))
            .to_owned();
        let query = orders::Entity::find()
            .select_only()
            .column(orders::Column::Status)
            .column(orders::Column::FulfillmentStatus)
            .filter(orders::Column::Id.in_subquery(with_product));
        let query = match buyer {
            Buyer::Customer(id) => query.filter(orders::Column::CustomerId.eq(id)),
            Buyer::Order(id) => query.filter(orders::Column::Id.eq(id)),
        };
        let rows: Vec<(String, String)> = query.into_tuple().all(conn).await?;
        Ok(rows
            .iter()
            .map(|(status, fulfillment)| purchase(status, fulfillment))
            .max()
            .unwrap_or(Purchase::None))
    }
}

fn purchase(status: &str, fulfillment: &str) -> Purchase {
    let delivered = matches!(
        FulfillmentStatus::parse(fulfillment),
        Some(FulfillmentStatus::Delivered | FulfillmentStatus::Returned)
    );
    match OrderStatus::parse(status) {
        None | Some(OrderStatus::PendingPayment | OrderStatus::Cancelled) => Purchase::None,
        Some(_) if delivered => Purchase::Delivered,
        Some(_) => Purchase::Ordered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_delivered_line_verifies() {
        assert_eq!(purchase("pending_payment", "unfulfilled"), Purchase::None);
        assert_eq!(purchase("cancelled", "unfulfilled"), Purchase::None);
        assert_eq!(purchase("paid", "unfulfilled"), Purchase::Ordered);
        assert_eq!(purchase("shipped", "shipped"), Purchase::Ordered);
        assert_eq!(purchase("delivered", "delivered"), Purchase::Delivered);
        assert_eq!(purchase("refunded", "delivered"), Purchase::Delivered);
    }
}
