//! What integrations does when events arrive: every domain event goes to the webhook
//! endpoints that want it, and each delivery attempt runs as its own outbox job.

use async_trait::async_trait;
use emporium_core::events::{self, Envelope, Event, Subscriber};
use emporium_core::outbox::JobRegistry;
use std::sync::Arc;

use crate::deliveries::{DELIVER_TOPIC, DeliverHandler};
use crate::state::Integrations;

/// The name webhooks subscribe under.
pub const WEBHOOKS: &str = "webhooks";

/// Queues one event for the endpoints that want it.
struct Forward(Integrations);

#[async_trait]
impl<E: Event> Subscriber<E> for Forward {
    async fn handle(&self, event: &Envelope<E>) -> anyhow::Result<()> {
        let data = serde_json::to_value(&event.data)?;
        self.0
            .fan_out(E::NAME, event.id, event.occurred_at, data)
            .await
            .map_err(|e| anyhow::anyhow!("queueing {} for webhooks: {e}", E::NAME))?;
        Ok(())
    }
}

/// Subscribes webhooks to every event type (a test checks none is missing) and registers
/// the delivery job.
pub fn subscribe(registry: &mut JobRegistry, integrations: Integrations) {
    macro_rules! forward {
        ($($event:ty),* $(,)?) => {
            $(registry.subscribe::<$event, _>(WEBHOOKS, Forward(integrations.clone()));)*
        };
    }
    forward!(
        events::OrderPlaced,
        events::OrderPaid,
        events::OrderCancelled,
        events::CancellationRequested,
        events::OrderShipped,
        events::OrderDelivered,
        events::RefundCreated,
        events::StockLow,
        events::StockOut,
        events::StockBack,
        events::BackupFailed,
        events::ReviewPublished,
        events::TicketCreated,
        events::TicketMessageAdded,
        events::TicketStatusChanged,
        events::ProductCreated,
        events::ProductUpdated,
        events::ProductDeleted,
        events::CustomerCreated,
        events::PromotionCreated,
        events::PromotionUpdated,
        events::PromotionDeleted,
        events::WebhookEndpointDisabled,
    );
    registry.register(DELIVER_TOPIC, Arc::new(DeliverHandler(integrations)));
}
