//! Reading orders: a customer's own history, a guest's order through its secret link,
//! staff lists with filters, and the customer's own moves (cancel, ask for a return).

use chrono::{DateTime, Utc};
use emporium_core::crypto::{constant_time_eq, token_hash};
use emporium_core::{AppError, AppResult, Currency, Money};
use emporium_db::entity::orders;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::model::OrderStatus;
use crate::orders::{Actor, TransitionDetail};
use crate::state::Checkout;
use crate::views::*;

/// Who is reading an order.
#[derive(Debug, Clone)]
pub enum Viewer {
    Customer(Uuid),
    /// The secret from the order's confirmation link.
    Guest(String),
    Staff,
}

impl Viewer {
    fn may_see(&self, order: &orders::Model) -> bool {
        match self {
            Self::Customer(id) => order.customer_id == Some(*id),
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

fn summary(o: orders::Model, default: Currency) -> OrderSummaryView {
    let currency = Currency::parse(&o.currency).unwrap_or(default);
    OrderSummaryView {
        id: o.id,
        number: o.number,
        status: OrderStatus::parse(&o.status).unwrap_or(OrderStatus::PendingPayment),
        email: o.email,
        customer_id: o.customer_id,
        total: Money::new(o.total, currency),
        backordered: o.backordered,
        created_at: o.created_at,
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

impl Checkout {
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
        customer_id: Uuid,
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
    pub async fn order_for(&self, id: Uuid, viewer: &Viewer) -> AppResult<OrderView> {
        let conn = self.db.writer();
        let order = orders::Entity::find_by_id(id)
            .one(conn)
            .await?
            .filter(|o| viewer.may_see(o))
            .ok_or_else(|| AppError::not_found("no such order"))?;
        self.order_view(conn, order).await
    }

    /// The customer cancels before anything ships; the stock goes back.
    pub async fn cancel_order(
        &self,
        id: Uuid,
        viewer: &Viewer,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        let order = self.order_for(id, viewer).await?;
        if !order.status.customer_may_cancel() {
            return Err(AppError::conflict(
                "invalid_transition",
                "this order has shipped or is closed and can no longer be cancelled",
            ));
        }
        self.customer_move(id, viewer, OrderStatus::Cancelled, reason)
            .await
    }

    /// The customer asks to return a shipped or delivered order.
    pub async fn request_return(
        &self,
        id: Uuid,
        viewer: &Viewer,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        self.order_for(id, viewer).await?;
        self.customer_move(id, viewer, OrderStatus::ReturnRequested, reason)
            .await
    }

    async fn customer_move(
        &self,
        id: Uuid,
        viewer: &Viewer,
        to: OrderStatus,
        reason: Option<String>,
    ) -> AppResult<OrderView> {
        let actor = Actor {
            user_id: match viewer {
                Viewer::Customer(id) => Some(*id),
                _ => None,
            },
            ..Actor::default()
        };
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
