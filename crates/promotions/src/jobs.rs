//! What promotions does when events arrive: an order cancelled or expired before it
//! was paid gives its redemptions back, so a single-use code can be used again.

use async_trait::async_trait;
use emporium_core::events::{Envelope, OrderCancelled, Subscriber};
use emporium_core::outbox::JobRegistry;

use crate::state::Promotions;

/// The name promotions subscribe under.
pub const PROMOTIONS: &str = "promotions";

struct Release(Promotions);

#[async_trait]
impl Subscriber<OrderCancelled> for Release {
    async fn handle(&self, event: &Envelope<OrderCancelled>) -> anyhow::Result<()> {
        if event.data.paid {
            return Ok(());
        }
        self.0
            .release(event.data.order.order_id.uuid())
            .await
            .map_err(|e| anyhow::anyhow!("releasing promotions of a cancelled order: {e}"))?;
        Ok(())
    }
}

/// Subscribes promotions to the events it reacts to.
pub fn subscribe(registry: &mut JobRegistry, promotions: Promotions) {
    registry.subscribe::<OrderCancelled, _>(PROMOTIONS, Release(promotions));
}
