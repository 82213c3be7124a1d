//! Reading orders: a customer's own history, a guest's order through its secret link,
//! staff lists with filters, and the customer's own moves (ask to cancel a paid order,
//! ask for a return). Cancelling with a refund is checkout's: it calls payments too.

use chrono::{DateTime, Utc};
use emporium_core::crypto::{constant_time_eq, token_hash};
use emporium_core::events::{self, CancellationRequested};
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::{AppError, AppResult};
use emporium_db::entity::orders;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::events::order_ref;
use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus};
use crate::state::Orders;
use crate::transition::{Actor, TransitionDetail};
use crate::views::{OrderPageView, OrderSummaryView, OrderView, summary};

/// The order's shopper as the actor of a change.
pub fn shopper(viewer: &Viewer) -> Actor {
    Actor {
        user_id: match viewer {
            Viewer::Customer(id) => Some((*id).uuid()),
            _ => None,
        },
        shopper: true,
        ..Actor::default()
    }
}

/// Who is reading an order.
#[derive(Debug, Clone)]
pub enum Viewer {
    Customer(CustomerId),
    /// The secret from the order's confirmation link.
    Guest(String),
    Staff,
}

impl Viewer {
    fn may_see(&self, order: &orders::Model) -> bool {
        match self {
            Self::Customer(id) => order.customer_id == Some((*id).uuid()),
            Self::Guest(token) => {
                constant_time_eq(token_hash(token).as_bytes(), order.access_hash.as_bytes())
            }
            Self::Staff => true,
        }
    }
}

/// Filters of the staff order list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// An order number (`1001`, `#1001`) or part of an email address.
    pub q: Option<String>,
    pub payment_status: Option<PaymentStatus>,
    pub fulfillment_status: Option<FulfillmentStatus>,
    pub status: Option<OrderStatus>,
    pub customer_id: Option<Uuid>,
    pub email: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub total_min: Option<i64>,
    pub total_max: Option<i64>,
    /// Only orders with (or without) lines sold beyond stock.
    pub backordered: Option<bool>,
}

/// An order named in an admin path by its id or by its number (`1001` or `#1001`), as
/// staff read it off an email or a packing slip.
pub struct AdminOrder(pub OrderId);

impl<S> axum::extract::FromRequestParts<S> for AdminOrder
where
    Orders: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let emporium_core::extract::Path(raw) =
            emporium_core::extract::Path::<String>::from_request_parts(parts, state).await?;
        let orders = <Orders as axum::extract::FromRef<S>>::from_ref(state);
        Ok(Self(orders.resolve(&raw).await?))
    }
}

impl Orders {
    /// The order a person names by its id or its number (`1001` or `#1001`): 422 when it
    /// is neither, 404 when there is no such order.
    pub async fn resolve(&self, raw: &str) -> AppResult<OrderId> {
        if let Ok(id) = raw.parse::<OrderId>() {
            return Ok(id);
        }
        let number: i64 = raw.trim_start_matches('#').parse().map_err(|_| {
            AppError::invalid("id", "must be an order id (UUID) or an order number")
        })?;
        self.id_by_number(number)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))
    }
}

/// Parses a list cursor (the last order number seen).
pub fn parse_cursor(cursor: Option<&str>) -> AppResult<Option<i64>> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| AppError::invalid("cursor", "is not a cursor from this list"))
        })
        .transpose()
}

impl Orders {
    async fn page(
        &self,
        condition: Condition,
        cursor: Option<i64>,
        limit: u32,
    ) -> AppResult<OrderPageView> {
        let mut query = orders::Entity::find()
            .filter(condition)
            .order_by_desc(orders::Column::Number)
            .limit(u64::from(limit) + 1);
        if let Some(before) = cursor {
            query = query.filter(orders::Column::Number.lt(before));
        }
        let rows = query.all(self.db.reader()).await?;
        let more = rows.len() > limit as usize;
        let data: Vec<OrderSummaryView> = rows
            .into_iter()
            .take(limit as usize)
            .map(|o| summary(o, self.default_currency()))
            .collect();
        let next_cursor = if more {
            data.last().map(|o| o.number.to_string())
        } else {
            None
        };
        Ok(OrderPageView { data, next_cursor })
    }

    /// A customer's orders, newest first.
    pub async fn customer_orders(
        &self,
        customer_id: CustomerId,
        cursor: Option<i64>,
        limit: u32,
    ) -> AppResult<OrderPageView> {
        self.page(
            Condition::all().add(orders::Column::CustomerId.eq(customer_id)),
            cursor,
            limit,
        )
        .await
    }

    /// Orders matching `filter`, newest first.
    pub async fn admin_orders(
        &self,
        filter: OrderFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> AppResult<OrderPageView> {
        let mut c = Condition::all();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            c = c.add(match q.trim_start_matches('#').parse::<i64>() {
                Ok(number) => orders::Column::Number.eq(number),
                Err(_) => Expr::expr(Func::lower(Expr::col(orders::Column::Email)))
                    .like(emporium_core::like::contains(&q.to_lowercase())),
            });
        }
        if let Some(p) = filter.payment_status {
            c = c.add(orders::Column::PaymentStatus.eq(p.as_str()));
        }
        if let Some(f) = filter.fulfillment_status {
            c = c.add(orders::Column::FulfillmentStatus.eq(f.as_str()));
        }
        if let Some(status) = filter.status {
            c = c.add(orders::Column::Status.eq(status.as_str()));
        }
        if let Some(customer) = filter.customer_id {
            c = c.add(orders::Column::CustomerId.eq(customer));
        }
        if let Some(email) = filter.email {
            c = c.add(orders::Column::Email.eq(email.trim().to_string()));
        }
        if let Some(from) = filter.created_from {
            c = c.add(orders::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.created_to {
            c = c.add(orders::Column::CreatedAt.lt(to));
        }
        if let Some(min) = filter.total_min {
            c = c.add(orders::Column::Total.gte(min));
        }
        if let Some(max) = filter.total_max {
            c = c.add(orders::Column::Total.lte(max));
        }
        if let Some(backordered) = filter.backordered {
            c = c.add(orders::Column::Backordered.eq(backordered));
        }
        self.page(c, cursor, limit).await
    }

    /// One order, if `viewer` may see it (404 otherwise: another's order does not exist
    /// as far as they know).
    pub async fn order_for(&self, id: OrderId, viewer: &Viewer) -> AppResult<OrderView> {
        let conn = self.db.writer();
        let order = orders::Entity::find_by_id(id.uuid())
            .one(conn)
            .await?
            .filter(|o| viewer.may_see(o))
            .ok_or_else(|| AppError::not_found("no such order"))?;
        self.order_view(conn, order).await
    }

    /// Records the customer's wish to cancel a paid order and tells staff.
    pub async fn request_cancellation(
        &self,
        id: OrderId,
        viewer: &Viewer,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        let txn = self.db.begin().await?;
        let order = orders::Entity::find_by_id(id.uuid())
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let status = OrderStatus::parse(&order.status)
            .ok_or_else(|| anyhow::anyhow!("order {id} has unknown status"))?;
        let note = match &reason {
            Some(r) => format!("cancellation requested: {r}"),
            None => "cancellation requested".into(),
        };
        self.record_event(&txn, id, Some(status), status, &shopper(viewer), Some(note))
            .await?;
        events::publish(
            &txn,
            CancellationRequested {
                order: order_ref(&order),
                reason,
            },
        )
        .await?;
        txn.commit().await?;
        self.order_for(id, &Viewer::Staff).await
    }

    /// A history row that changes nothing: a note for staff on the order.
    pub async fn note_on_order(
        &self,
        id: OrderId,
        status: OrderStatus,
        actor: &Actor,
        note: String,
    ) -> AppResult<()> {
        let txn = self.db.begin().await?;
        self.record_event(&txn, id, Some(status), status, actor, Some(note))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The customer asks to return a shipped or delivered order.
    pub async fn request_return(
        &self,
        id: OrderId,
        viewer: &Viewer,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        self.order_for(id, viewer).await?;
        self.customer_move(id, viewer, OrderStatus::ReturnRequested, reason)
            .await
    }

    pub async fn customer_move(
        &self,
        id: OrderId,
        viewer: &Viewer,
        to: OrderStatus,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        let actor = shopper(viewer);
        let order = self
            .transition(
                id,
                to,
                &actor,
                TransitionDetail {
                    reason,
                    ..TransitionDetail::default()
                },
            )
            .await?;
        self.order_view(self.db.writer(), order).await
    }
}
