//! What notify does when other domains publish events: the shopper's emails about their
//! order, in the order's language, and the staff notices a shop needs to act on.

use async_trait::async_trait;
use emporium_core::events::{
    BackupFailed, CancellationRequested, Envelope, Initiator, OrderCancelled, OrderPaid,
    OrderPlaced, OrderRef, OrderShipped, RefundCreated, Subscriber, WebhookEndpointDisabled,
};
use emporium_core::outbox::JobRegistry;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::mailer::{EmailJob, Mailer};

/// The name notify subscribes under.
pub const SUBSCRIBER: &str = "notify";

/// Subscribes notify's emails to the events they follow.
pub fn subscribe(registry: &mut JobRegistry, mailer: Arc<Mailer>, staff_email: Option<String>) {
    let emails = OrderEmails {
        mailer,
        staff_email,
    };
    registry.subscribe::<OrderPlaced, _>(SUBSCRIBER, emails.clone());
    registry.subscribe::<OrderPaid, _>(SUBSCRIBER, emails.clone());
    registry.subscribe::<OrderShipped, _>(SUBSCRIBER, emails.clone());
    registry.subscribe::<RefundCreated, _>(SUBSCRIBER, emails.clone());
    registry.subscribe::<OrderCancelled, _>(SUBSCRIBER, emails.clone());
    registry.subscribe::<CancellationRequested, _>(SUBSCRIBER, emails.clone());
    // Staff notices retry on their own, so a failing staff mailbox never resends the
    // shopper's email.
    registry.subscribe::<OrderCancelled, _>(STAFF_SUBSCRIBER, StaffNotices(emails.clone()));
    registry.subscribe::<CancellationRequested, _>(STAFF_SUBSCRIBER, StaffNotices(emails.clone()));
    registry.subscribe::<BackupFailed, _>(STAFF_SUBSCRIBER, StaffNotices(emails.clone()));
    registry.subscribe::<WebhookEndpointDisabled, _>(STAFF_SUBSCRIBER, StaffNotices(emails));
}

/// The name staff notices subscribe under.
pub const STAFF_SUBSCRIBER: &str = "notify.staff";

/// Notices to the shop's staff.
struct StaffNotices(OrderEmails);

/// Emails about orders. Sending twice is the at-least-once risk every mail system takes;
/// the worker's per-subscriber jobs keep it to a crash between send and acknowledgement.
#[derive(Clone)]
struct OrderEmails {
    mailer: Arc<Mailer>,
    staff_email: Option<String>,
}

impl OrderEmails {
    async fn to_shopper(
        &self,
        order: &OrderRef,
        template: &str,
        context: Value,
    ) -> anyhow::Result<()> {
        let mut context = context;
        if let Some(map) = context.as_object_mut() {
            map.insert("number".into(), json!(order.number));
            map.insert("name".into(), json!(order.name));
        }
        self.mailer
            .send(&EmailJob {
                to: order.email.clone(),
                template: template.into(),
                context,
                lang: Some(order.lang.clone()),
                thread: None,
            })
            .await
    }

    /// Where staff notices go: `[store] staff_email`, else the shop's own sender address.
    fn staff_address(&self) -> String {
        self.staff_email
            .clone()
            .unwrap_or_else(|| self.mailer.from_address())
    }

    /// Staff notices about an order.
    async fn to_staff(
        &self,
        order: &OrderRef,
        template: &str,
        context: Value,
    ) -> anyhow::Result<()> {
        let to = self.staff_address();
        let mut context = context;
        if let Some(map) = context.as_object_mut() {
            map.insert("number".into(), json!(order.number));
            map.insert("email".into(), json!(order.email));
            map.insert("order_id".into(), json!(order.order_id));
        }
        self.mailer
            .send(&EmailJob {
                to,
                template: template.into(),
                context,
                lang: None,
                thread: None,
            })
            .await
    }
}

#[async_trait]
impl Subscriber<OrderPlaced> for OrderEmails {
    async fn handle(&self, event: &Envelope<OrderPlaced>) -> anyhow::Result<()> {
        let e = &event.data;
        let lines: Vec<Value> = e
            .lines
            .iter()
            .map(|l| {
                json!({"title": l.title, "sku": l.sku, "options": l.options,
                       "quantity": l.quantity, "total": l.total.to_string()})
            })
            .collect();
        self.to_shopper(
            &e.order,
            "order_confirmation",
            json!({
                "lines": lines,
                "subtotal": e.subtotal.to_string(),
                "discount": e.discount.map(|d| d.to_string()),
                "shipping": e.shipping.to_string(),
                "tax": e.tax.to_string(),
                "total": e.total.to_string(),
                "tax_inclusive": e.tax_inclusive,
                "link": e.link,
            }),
        )
        .await
    }
}

#[async_trait]
impl Subscriber<OrderPaid> for OrderEmails {
    async fn handle(&self, event: &Envelope<OrderPaid>) -> anyhow::Result<()> {
        let e = &event.data;
        self.to_shopper(
            &e.order,
            "payment_received",
            json!({"amount": e.amount.to_string()}),
        )
        .await
    }
}

#[async_trait]
impl Subscriber<OrderShipped> for OrderEmails {
    async fn handle(&self, event: &Envelope<OrderShipped>) -> anyhow::Result<()> {
        let e = &event.data;
        self.to_shopper(
            &e.order,
            "order_shipped",
            json!({"carrier": e.carrier, "tracking_number": e.tracking_number,
                   "tracking_url": e.tracking_url, "complete": e.complete}),
        )
        .await
    }
}

#[async_trait]
impl Subscriber<RefundCreated> for OrderEmails {
    async fn handle(&self, event: &Envelope<RefundCreated>) -> anyhow::Result<()> {
        let e = &event.data;
        self.to_shopper(
            &e.order,
            "refund_issued",
            json!({"amount": e.amount.to_string(), "reason": e.reason}),
        )
        .await
    }
}

fn cancellation_context(e: &OrderCancelled) -> Value {
    json!({
        "reason": e.reason,
        "expired": e.expired,
        "paid": e.paid,
        "by": e.by,
    })
}

#[async_trait]
impl Subscriber<OrderCancelled> for OrderEmails {
    async fn handle(&self, event: &Envelope<OrderCancelled>) -> anyhow::Result<()> {
        let e = &event.data;
        self.to_shopper(&e.order, "order_cancelled", cancellation_context(e))
            .await
    }
}

#[async_trait]
impl Subscriber<OrderCancelled> for StaffNotices {
    async fn handle(&self, event: &Envelope<OrderCancelled>) -> anyhow::Result<()> {
        let e = &event.data;
        // Staff hear of what they did not do themselves.
        if e.by == Initiator::Staff {
            return Ok(());
        }
        self.0
            .to_staff(&e.order, "staff_order_cancelled", cancellation_context(e))
            .await
    }
}

#[async_trait]
impl Subscriber<CancellationRequested> for OrderEmails {
    async fn handle(&self, event: &Envelope<CancellationRequested>) -> anyhow::Result<()> {
        let e = &event.data;
        self.to_shopper(
            &e.order,
            "cancellation_requested",
            json!({"reason": e.reason}),
        )
        .await
    }
}

#[async_trait]
impl Subscriber<CancellationRequested> for StaffNotices {
    async fn handle(&self, event: &Envelope<CancellationRequested>) -> anyhow::Result<()> {
        let e = &event.data;
        self.0
            .to_staff(
                &e.order,
                "staff_cancellation_requested",
                json!({"reason": e.reason}),
            )
            .await
    }
}

#[async_trait]
impl Subscriber<BackupFailed> for StaffNotices {
    async fn handle(&self, event: &Envelope<BackupFailed>) -> anyhow::Result<()> {
        let e = &event.data;
        let when =
            |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        self.0
            .mailer
            .send(&EmailJob {
                to: self.0.staff_address(),
                template: "staff_backup_failed".into(),
                context: json!({
                    "location": e.location,
                    "error": e.error,
                    "failed_at": when(&e.failed_at),
                    "last_success_at": e.last_success_at.as_ref().map(when),
                }),
                lang: None,
                thread: None,
            })
            .await
    }
}

#[async_trait]
impl Subscriber<WebhookEndpointDisabled> for StaffNotices {
    async fn handle(&self, event: &Envelope<WebhookEndpointDisabled>) -> anyhow::Result<()> {
        let e = &event.data;
        self.0
            .mailer
            .send(&EmailJob {
                to: self.0.staff_address(),
                template: "staff_webhook_disabled".into(),
                context: json!({
                    "url": e.url,
                    "reason": e.reason,
                    "endpoint_id": e.endpoint_id,
                }),
                lang: None,
                thread: None,
            })
            .await
    }
}
