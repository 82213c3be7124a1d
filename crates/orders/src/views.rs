//! Wire shapes of orders (API.md's Order), built from rows; domain types never serialize
//! themselves.

use emporium_core::address::Address;
use emporium_core::id::OrderId;
use emporium_core::{AppResult, Currency, Money};
use emporium_db::entity::{order_events, order_lines, orders};
use emporium_shipping::ShipmentView;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus, Totals};
use crate::state::Orders;

/// Totals, each in the cart's or order's currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotalsView {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

impl TotalsView {
    pub fn new(t: Totals, currency: emporium_core::Currency) -> Self {
        let m = |a| Money::new(a, currency);
        Self {
            subtotal: m(t.subtotal),
            discount: m(t.discount),
            shipping: m(t.shipping),
            tax: m(t.tax),
            total: m(t.total),
        }
    }
}

/// One ordered line, as it was bought.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderLineView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub title: String,
    pub options: BTreeMap<String, String>,
    pub quantity: i32,
    pub unit_price: Money,
    pub tax: Money,
    pub discount: Money,
    pub total: Money,
    /// Units ordered beyond stock, to ship when restocked.
    pub backordered: i32,
}

/// One status change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderEventView {
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An order (API.md).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    /// Where its money stands (refunds move this, not `status`).
    pub payment_status: PaymentStatus,
    /// Where its goods stand.
    pub fulfillment_status: FulfillmentStatus,
    pub email: String,
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub lines: Vec<OrderLineView>,
    pub totals: TotalsView,
    pub tax_inclusive: bool,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub shipping_option: Option<String>,
    pub payment_provider: String,
    /// Some line was sold beyond stock (see each line's `backordered`).
    pub backordered: bool,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub events: Vec<OrderEventView>,
    /// Parcels sent, with tracking.
    pub shipments: Vec<ShipmentView>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// An order in a list (no lines or history).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderSummaryView {
    pub id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub email: String,
    pub customer_id: Option<Uuid>,
    pub total: Money,
    /// Some line was sold beyond stock and ships when restocked.
    pub backordered: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of orders, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPageView {
    pub data: Vec<OrderSummaryView>,
    pub next_cursor: Option<String>,
}

/// An order in a list, from its row.
pub(crate) fn summary(o: orders::Model, default: Currency) -> OrderSummaryView {
    let currency = Currency::parse(&o.currency).unwrap_or(default);
    OrderSummaryView {
        id: o.id,
        number: o.number,
        status: OrderStatus::parse(&o.status).unwrap_or(OrderStatus::PendingPayment),
        payment_status: PaymentStatus::parse(&o.payment_status).unwrap_or(PaymentStatus::Unpaid),
        fulfillment_status: FulfillmentStatus::parse(&o.fulfillment_status)
            .unwrap_or(FulfillmentStatus::Unfulfilled),
        email: o.email,
        customer_id: o.customer_id,
        total: Money::new(o.total, currency),
        backordered: o.backordered,
        created_at: o.created_at,
    }
}

impl Orders {
    /// Loads an order's lines, history and parcels and builds its view.
    pub async fn order_view<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: orders::Model,
    ) -> AppResult<OrderView> {
        let lines = self.lines_of(conn, OrderId(order.id)).await?;
        let events = order_events::Entity::find()
            .filter(order_events::Column::OrderId.eq(order.id))
            .order_by_asc(order_events::Column::Id)
            .all(conn)
            .await?;
        let shipments = self.shipping.shipments_of(conn, OrderId(order.id)).await?;
        let mut view = self.view_from(order, lines, events)?;
        view.shipments = shipments;
        Ok(view)
    }

    /// An order's view from its rows.
    pub fn view_from(
        &self,
        order: orders::Model,
        lines: Vec<order_lines::Model>,
        events: Vec<order_events::Model>,
    ) -> AppResult<OrderView> {
        let currency = Currency::parse(&order.currency).unwrap_or(self.default_currency());
        let money = |a| Money::new(a, currency);
        let lines = lines
            .into_iter()
            .map(|l| OrderLineView {
                id: l.id,
                product_id: l.product_id,
                variant_id: l.variant_id,
                sku: l.sku,
                title: l.title,
                options: serde_json::from_str(&l.options).unwrap_or_default(),
                quantity: l.quantity,
                unit_price: money(l.unit_price),
                tax: money(l.tax),
                discount: money(l.discount),
                total: money(l.total),
                backordered: l.backordered,
            })
            .collect();
        let events = events
            .into_iter()
            .map(|e| OrderEventView {
                from: e.from_status,
                to: e.to_status,
                reason: e.reason,
                actor_id: e.actor_id,
                created_at: e.created_at,
            })
            .collect();
        let totals = Totals {
            subtotal: order.subtotal,
            discount: order.discount,
            shipping: order.shipping,
            tax: order.tax,
            total: order.total,
        };
        let address = |text: &str| -> AppResult<Address> {
            Ok(serde_json::from_str(text).map_err(anyhow::Error::from)?)
        };
        Ok(OrderView {
            id: order.id,
            number: order.number,
            status: OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment),
            payment_status: PaymentStatus::parse(&order.payment_status)
                .unwrap_or(PaymentStatus::Unpaid),
            fulfillment_status: FulfillmentStatus::parse(&order.fulfillment_status)
                .unwrap_or(FulfillmentStatus::Unfulfilled),
            email: order.email,
            customer_id: order.customer_id,
            currency: order.currency,
            lines,
            totals: TotalsView::new(totals, currency),
            tax_inclusive: order.tax_inclusive,
            shipping_address: address(&order.shipping_address)?,
            billing_address: address(&order.billing_address)?,
            shipping_option: order.shipping_option,
            payment_provider: order.payment_provider,
            backordered: order.backordered,
            carrier: order.carrier,
            tracking_number: order.tracking_number,
            events,
            shipments: Vec::new(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        })
    }
}
