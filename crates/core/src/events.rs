//! Domain events: facts a service publishes into the outbox in the same transaction as
//! the change that made them true, so that a rolled-back change publishes nothing and a
//! committed one is always delivered (at least once) to every subscriber.
//!
//! How delivery works: [`publish`] writes one outbox row on the topic `event:<name>`. The
//! worker fans that row out, in one transaction, into one job per subscriber
//! (`<subscriber>@<name>`), so each subscriber retries on its own and one failing
//! subscriber never makes another run twice. Subscribers register in their crate's
//! `jobs.rs` through [`JobRegistry::subscribe`](crate::outbox::JobRegistry::subscribe).
//!
//! The payloads below are the contract between domains. They live in the kernel so that a
//! subscriber below its publisher (notify under checkout) can read them without depending
//! upwards. Every payload is versioned: a change that removes or retypes a field bumps
//! [`Event::VERSION`]; adding an optional field does not.

use crate::id::{CustomerId, OrderId, RefundId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use uuid::Uuid;

use crate::money::Money;
use crate::outbox::{self, Job, JobHandler};

/// A domain event type: its name (`order.placed`), payload version and publisher.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    const NAME: &'static str;
    const VERSION: u32;
}

/// What travels in the outbox: the payload with its name, version and time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<E> {
    pub event: String,
    pub version: u32,
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub data: E,
}

/// One row per event type: name, payload version, the crate that publishes it, and what
/// it means. [`EVENT_TYPES`] is checked against every [`Event`] impl by a test.
pub struct EventType {
    pub name: &'static str,
    pub version: u32,
    pub publisher: &'static str,
    pub meaning: &'static str,
}

/// Every domain event, in one table.
pub const EVENT_TYPES: &[EventType] = &[
    EventType {
        name: OrderPlaced::NAME,
        version: OrderPlaced::VERSION,
        publisher: "checkout",
        meaning: "an order was placed: stock reserved, payment opened",
    },
    EventType {
        name: OrderPaid::NAME,
        version: OrderPaid::VERSION,
        publisher: "checkout (payments)",
        meaning: "an order's payment was captured in full",
    },
    EventType {
        name: OrderCancelled::NAME,
        version: OrderCancelled::VERSION,
        publisher: "checkout (orders)",
        meaning: "an order was cancelled by its customer, by staff or by expiry",
    },
    EventType {
        name: CancellationRequested::NAME,
        version: CancellationRequested::VERSION,
        publisher: "checkout (orders)",
        meaning: "a customer asked to cancel a paid order; staff decide",
    },
    EventType {
        name: OrderShipped::NAME,
        version: OrderShipped::VERSION,
        publisher: "checkout (shipments)",
        meaning: "a parcel of an order left with a carrier",
    },
    EventType {
        name: OrderDelivered::NAME,
        version: OrderDelivered::VERSION,
        publisher: "orders",
        meaning: "an order reached its shopper (every parcel delivered, or staff said so)",
    },
    EventType {
        name: RefundCreated::NAME,
        version: RefundCreated::VERSION,
        publisher: "checkout (payments)",
        meaning: "money went back to the shopper",
    },
    EventType {
        name: StockLow::NAME,
        version: StockLow::VERSION,
        publisher: "inventory",
        meaning: "a variant's available stock fell to or under its low-stock threshold",
    },
    EventType {
        name: StockOut::NAME,
        version: StockOut::VERSION,
        publisher: "inventory",
        meaning: "a variant sold out (nothing left to sell at any location)",
    },
    EventType {
        name: StockBack::NAME,
        version: StockBack::VERSION,
        publisher: "inventory",
        meaning: "a sold-out variant has stock again",
    },
    EventType {
        name: TicketCreated::NAME,
        version: TicketCreated::VERSION,
        publisher: "support",
        meaning: "a customer opened a helpdesk ticket (on the web, by API or by email)",
    },
    EventType {
        name: TicketMessageAdded::NAME,
        version: TicketMessageAdded::VERSION,
        publisher: "support",
        meaning: "a message was added to a ticket: the customer's, a staff reply or an internal note",
    },
    EventType {
        name: TicketStatusChanged::NAME,
        version: TicketStatusChanged::VERSION,
        publisher: "support",
        meaning: "a ticket moved between new, open, pending, snoozed, resolved and closed",
    },
    EventType {
        name: ReviewPublished::NAME,
        version: ReviewPublished::VERSION,
        publisher: "reviews",
        meaning: "a review became visible to shoppers (published by a rule or by staff)",
    },
    EventType {
        name: BackupFailed::NAME,
        version: BackupFailed::VERSION,
        publisher: "server (scheduled backups)",
        meaning: "a scheduled backup failed after the last one succeeded",
    },
    EventType {
        name: ProductCreated::NAME,
        version: ProductCreated::VERSION,
        publisher: "catalog",
        meaning: "a product was created (by staff, the API or a CSV import)",
    },
    EventType {
        name: ProductUpdated::NAME,
        version: ProductUpdated::VERSION,
        publisher: "catalog",
        meaning: "a product's texts, status, options, variants or prices changed",
    },
    EventType {
        name: ProductDeleted::NAME,
        version: ProductDeleted::VERSION,
        publisher: "catalog",
        meaning: "a product was deleted (archived and gone from the shop)",
    },
    EventType {
        name: CustomerCreated::NAME,
        version: CustomerCreated::VERSION,
        publisher: "accounts",
        meaning: "a customer account was opened (registration, social sign-in or staff)",
    },
    EventType {
        name: PromotionCreated::NAME,
        version: PromotionCreated::VERSION,
        publisher: "promotions",
        meaning: "a promotion (automatic or with codes) was created",
    },
    EventType {
        name: PromotionUpdated::NAME,
        version: PromotionUpdated::VERSION,
        publisher: "promotions",
        meaning: "a promotion was changed: switched on or off, its window, limits or rules",
    },
    EventType {
        name: PromotionDeleted::NAME,
        version: PromotionDeleted::VERSION,
        publisher: "promotions",
        meaning: "a promotion that no order used was deleted",
    },
    EventType {
        name: WebhookEndpointDisabled::NAME,
        version: WebhookEndpointDisabled::VERSION,
        publisher: "integrations",
        meaning: "an outgoing webhook endpoint was switched off by its receiver (410) or by failing for days",
    },
];

/// The outbox topic an event is published on.
pub fn topic(name: &str) -> String {
    format!("event:{name}")
}

/// The outbox topic of one subscriber's copy of an event.
pub fn subscriber_topic(subscriber: &str, name: &str) -> String {
    format!("{subscriber}@{name}")
}

/// Publishes `event` inside the caller's transaction.
pub async fn publish<C: ConnectionTrait, E: Event>(conn: &C, event: E) -> Result<(), DbErr> {
    let envelope = Envelope {
        event: E::NAME.to_string(),
        version: E::VERSION,
        id: Uuid::now_v7(),
        occurred_at: Utc::now(),
        data: event,
    };
    outbox::enqueue(conn, &topic(E::NAME), &envelope).await
}

/// A domain's reaction to one event type. Delivery is at least once: handling the same
/// envelope twice must leave the same result as once (the envelope `id` is stable).
#[async_trait]
pub trait Subscriber<E: Event>: Send + Sync + 'static {
    async fn handle(&self, event: &Envelope<E>) -> anyhow::Result<()>;
}

/// Adapts a typed [`Subscriber`] to the outbox's [`JobHandler`].
pub(crate) struct Typed<E, S> {
    pub(crate) subscriber: S,
    pub(crate) event: PhantomData<fn() -> E>,
}

#[async_trait]
impl<E: Event, S: Subscriber<E>> JobHandler for Typed<E, S> {
    async fn run(&self, job: &Job) -> anyhow::Result<()> {
        let envelope: Envelope<E> = serde_json::from_value(job.payload.clone())?;
        if envelope.version > E::VERSION {
            anyhow::bail!(
                "{} v{} is newer than this node understands (v{})",
                E::NAME,
                envelope.version,
                E::VERSION
            );
        }
        self.subscriber.handle(&envelope).await
    }
}

/// An order line as events carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventLine {
    pub sku: String,
    pub title: String,
    /// The chosen options, for people: `M, Red`.
    #[serde(default)]
    pub options: String,
    pub quantity: i32,
    pub total: Money,
}

/// Who or what made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    Customer,
    Staff,
    System,
}

/// An order, as every order event names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRef {
    pub order_id: OrderId,
    pub number: i64,
    pub email: String,
    /// The shopper's name from the shipping address.
    pub name: Option<String>,
    /// The order's language: emails about it are written in it.
    pub lang: String,
    pub customer_id: Option<CustomerId>,
}

/// `order.placed`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order: OrderRef,
    pub lines: Vec<EventLine>,
    pub subtotal: Money,
    /// What promotions took off the lines, when anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub tax_inclusive: bool,
    /// Where the shopper sees the order (carries the order's private token).
    pub link: String,
}

impl Event for OrderPlaced {
    const NAME: &'static str = "order.placed";
    const VERSION: u32 = 1;
}

/// `order.paid`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderPaid {
    pub order: OrderRef,
    pub amount: Money,
    pub provider: String,
}

impl Event for OrderPaid {
    const NAME: &'static str = "order.paid";
    const VERSION: u32 = 1;
}

/// `order.cancelled`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order: OrderRef,
    pub by: Initiator,
    pub reason: Option<String>,
    /// True when the order expired unpaid.
    pub expired: bool,
    /// True when money had been captured for it (a customer's cancel then refunds it).
    pub paid: bool,
}

impl Event for OrderCancelled {
    const NAME: &'static str = "order.cancelled";
    const VERSION: u32 = 1;
}

/// `order.cancellation_requested`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CancellationRequested {
    pub order: OrderRef,
    pub reason: Option<String>,
}

impl Event for CancellationRequested {
    const NAME: &'static str = "order.cancellation_requested";
    const VERSION: u32 = 1;
}

/// `order.shipped`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderShipped {
    pub order: OrderRef,
    pub shipment_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    /// True when this parcel completes the order.
    pub complete: bool,
}

impl Event for OrderShipped {
    const NAME: &'static str = "order.shipped";
    const VERSION: u32 = 1;
}

/// A product of a delivered order, as `order.delivered` names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveredProduct {
    pub product_id: Uuid,
    /// The line's title when it was bought.
    pub title: String,
}

/// `order.delivered`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderDelivered {
    pub order: OrderRef,
    /// Each product once, in the order's line order.
    pub products: Vec<DeliveredProduct>,
}

impl Event for OrderDelivered {
    const NAME: &'static str = "order.delivered";
    const VERSION: u32 = 1;
}

/// `refund.created`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundCreated {
    pub order: OrderRef,
    pub refund_id: RefundId,
    pub amount: Money,
    pub reason: Option<String>,
}

impl Event for RefundCreated {
    const NAME: &'static str = "refund.created";
    const VERSION: u32 = 1;
}

/// `stock.low`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockLow {
    pub variant_id: Uuid,
    /// Units that can still be sold, over every location.
    pub available: i64,
    pub threshold: i64,
}

impl Event for StockLow {
    const NAME: &'static str = "stock.low";
    const VERSION: u32 = 1;
}

/// `stock.out`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockOut {
    pub variant_id: Uuid,
}

impl Event for StockOut {
    const NAME: &'static str = "stock.out";
    const VERSION: u32 = 1;
}

/// `stock.back`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockBack {
    pub variant_id: Uuid,
    pub available: i64,
}

impl Event for StockBack {
    const NAME: &'static str = "stock.back";
    const VERSION: u32 = 1;
}

/// `backup.failed`: published once per run of failures (the first failure after a
/// success), so a broken target does not mail staff every interval; `/readyz` and
/// `/metrics` show the failures that follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupFailed {
    /// Where the backup was going (a directory or `s3://bucket/prefix`).
    pub location: String,
    pub error: String,
    pub failed_at: DateTime<Utc>,
    /// When the last backup succeeded, if one ever did.
    pub last_success_at: Option<DateTime<Utc>>,
}

impl Event for BackupFailed {
    const NAME: &'static str = "backup.failed";
    const VERSION: u32 = 1;
}

/// `ticket.created`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketCreated {
    pub ticket_id: Uuid,
    pub number: i64,
    /// `web`, `api` or `email`.
    pub channel: String,
    pub customer_id: Option<CustomerId>,
    pub order_id: Option<OrderId>,
}

impl Event for TicketCreated {
    const NAME: &'static str = "ticket.created";
    const VERSION: u32 = 1;
}

/// `ticket.message_added`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketMessageAdded {
    pub ticket_id: Uuid,
    pub message_id: Uuid,
    pub seq: i32,
    /// `customer`, `staff` or `system`.
    pub author: String,
    /// A note staff keep to themselves: the customer never sees it.
    pub internal: bool,
}

impl Event for TicketMessageAdded {
    const NAME: &'static str = "ticket.message_added";
    const VERSION: u32 = 1;
}

/// `ticket.status_changed`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketStatusChanged {
    pub ticket_id: Uuid,
    pub from: String,
    pub to: String,
}

impl Event for TicketStatusChanged {
    const NAME: &'static str = "ticket.status_changed";
    const VERSION: u32 = 1;
}

/// `review.published`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewPublished {
    pub review_id: Uuid,
    pub product_id: Uuid,
    pub rating: u8,
    pub verified: bool,
}

impl Event for ReviewPublished {
    const NAME: &'static str = "review.published";
    const VERSION: u32 = 1;
}

/// `product.created`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductCreated {
    pub product_id: Uuid,
    pub slug: String,
}

impl Event for ProductCreated {
    const NAME: &'static str = "product.created";
    const VERSION: u32 = 1;
}

/// `product.updated`: the event names the product; a receiver reads what it needs from
/// `GET /products/{id}` (so an event never carries a stale copy of a changing record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductUpdated {
    pub product_id: Uuid,
}

impl Event for ProductUpdated {
    const NAME: &'static str = "product.updated";
    const VERSION: u32 = 1;
}

/// `product.deleted`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductDeleted {
    pub product_id: Uuid,
}

impl Event for ProductDeleted {
    const NAME: &'static str = "product.deleted";
    const VERSION: u32 = 1;
}

/// `promotion.created`: the event names the promotion; a receiver reads it from
/// `GET /admin/discounts/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromotionCreated {
    pub promotion_id: Uuid,
}

impl Event for PromotionCreated {
    const NAME: &'static str = "promotion.created";
    const VERSION: u32 = 1;
}

/// `promotion.updated`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromotionUpdated {
    pub promotion_id: Uuid,
}

impl Event for PromotionUpdated {
    const NAME: &'static str = "promotion.updated";
    const VERSION: u32 = 1;
}

/// `promotion.deleted`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromotionDeleted {
    pub promotion_id: Uuid,
}

impl Event for PromotionDeleted {
    const NAME: &'static str = "promotion.deleted";
    const VERSION: u32 = 1;
}

/// `customer.created`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerCreated {
    pub customer_id: CustomerId,
    pub email: String,
    pub name: Option<String>,
    pub language: Option<String>,
}

impl Event for CustomerCreated {
    const NAME: &'static str = "customer.created";
    const VERSION: u32 = 1;
}

/// `webhook.endpoint_disabled`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEndpointDisabled {
    pub endpoint_id: Uuid,
    pub url: String,
    pub reason: String,
}

impl Event for WebhookEndpointDisabled {
    const NAME: &'static str = "webhook.endpoint_disabled";
    const VERSION: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_is_in_the_table_once() {
        let names = [
            (OrderPlaced::NAME, OrderPlaced::VERSION),
            (OrderPaid::NAME, OrderPaid::VERSION),
            (OrderCancelled::NAME, OrderCancelled::VERSION),
            (CancellationRequested::NAME, CancellationRequested::VERSION),
            (OrderShipped::NAME, OrderShipped::VERSION),
            (OrderDelivered::NAME, OrderDelivered::VERSION),
            (RefundCreated::NAME, RefundCreated::VERSION),
            (StockLow::NAME, StockLow::VERSION),
            (StockOut::NAME, StockOut::VERSION),
            (StockBack::NAME, StockBack::VERSION),
            (BackupFailed::NAME, BackupFailed::VERSION),
            (ReviewPublished::NAME, ReviewPublished::VERSION),
            (TicketCreated::NAME, TicketCreated::VERSION),
            (TicketMessageAdded::NAME, TicketMessageAdded::VERSION),
            (TicketStatusChanged::NAME, TicketStatusChanged::VERSION),
            (ProductCreated::NAME, ProductCreated::VERSION),
            (ProductUpdated::NAME, ProductUpdated::VERSION),
            (ProductDeleted::NAME, ProductDeleted::VERSION),
            (CustomerCreated::NAME, CustomerCreated::VERSION),
            (PromotionCreated::NAME, PromotionCreated::VERSION),
            (PromotionUpdated::NAME, PromotionUpdated::VERSION),
            (PromotionDeleted::NAME, PromotionDeleted::VERSION),
            (
                WebhookEndpointDisabled::NAME,
                WebhookEndpointDisabled::VERSION,
            ),
        ];
        assert_eq!(names.len(), EVENT_TYPES.len());
        for (name, version) in names {
            let rows: Vec<_> = EVENT_TYPES.iter().filter(|t| t.name == name).collect();
            assert_eq!(rows.len(), 1, "{name}");
            assert_eq!(rows[0].version, version, "{name}");
        }
    }

    #[test]
    fn topics_name_the_event_and_the_subscriber() {
        assert_eq!(topic("order.placed"), "event:order.placed");
        assert_eq!(
            subscriber_topic("notify", "order.placed"),
            "notify@order.placed"
        );
    }
}
