//! What analytics does when events arrive: every event that comes with a ledger row
//! (an order placed, paid or cancelled, a refund) adds the ledger rows not yet counted to
//! the rollups. A row whose event is lost is still counted by the next event or by the
//! worker's sweep, and at most once (see `rollup.rs`).

use async_trait::async_trait;
use emporium_core::events::{
    Envelope, Event, OrderCancelled, OrderPaid, OrderPlaced, RefundCreated, Subscriber,
};
use emporium_core::outbox::JobRegistry;

use crate::state::Analytics;

/// The name analytics subscribes under.
pub const ANALYTICS: &str = "analytics";

struct Roll(Analytics);

#[async_trait]
impl<E: Event> Subscriber<E> for Roll {
    async fn handle(&self, _event: &Envelope<E>) -> anyhow::Result<()> {
        self.0
            .apply_pending()
            .await
            .map_err(|e| anyhow::anyhow!("adding sales to the rollups: {e}"))?;
        Ok(())
    }
}

/// Subscribes analytics to the events that come with sales ledger rows.
pub fn subscribe(registry: &mut JobRegistry, analytics: Analytics) {
    registry.subscribe::<OrderPlaced, _>(ANALYTICS, Roll(analytics.clone()));
    registry.subscribe::<OrderPaid, _>(ANALYTICS, Roll(analytics.clone()));
    registry.subscribe::<OrderCancelled, _>(ANALYTICS, Roll(analytics.clone()));
    registry.subscribe::<RefundCreated, _>(ANALYTICS, Roll(analytics));
}
