//! What inventory does when its own stock events arrive: the emails they call for, sent
//! by the worker outside the transaction that moved the stock.

use async_trait::async_trait;
use emporium_core::events::{Envelope, StockBack, StockLow, Subscriber};
use emporium_core::outbox::JobRegistry;

use crate::state::Inventory;

/// The name the staff low-stock emails subscribe under.
pub const ALERTS: &str = "inventory.alerts";
/// The name the back-in-stock emails to waiting shoppers subscribe under.
pub const WAITLIST: &str = "inventory.waitlist";

/// Subscribes inventory's emails to the stock events.
pub fn subscribe(registry: &mut JobRegistry, inventory: Inventory) {
    registry.subscribe::<StockLow, _>(ALERTS, LowStockEmails(inventory.clone()));
    registry.subscribe::<StockBack, _>(WAITLIST, BackInStockEmails(inventory));
}

struct LowStockEmails(Inventory);

#[async_trait]
impl Subscriber<StockLow> for LowStockEmails {
    async fn handle(&self, event: &Envelope<StockLow>) -> anyhow::Result<()> {
        let e = &event.data;
        self.0
            .alert_low_stock(e.variant_id, e.available, e.threshold)
            .await
            .map_err(|err| anyhow::anyhow!("low-stock emails for {}: {err}", e.variant_id))
    }
}

struct BackInStockEmails(Inventory);

#[async_trait]
impl Subscriber<StockBack> for BackInStockEmails {
    async fn handle(&self, event: &Envelope<StockBack>) -> anyhow::Result<()> {
        let id = event.data.variant_id;
        // Each waiting request is claimed once, so a second delivery sends nothing new.
        let sent = self
            .0
            .send_back_in_stock(id)
            .await
            .map_err(|e| anyhow::anyhow!("back-in-stock emails for {id}: {e}"))?;
        tracing::info!(variant_id = %id, sent, "back-in-stock emails queued");
        Ok(())
    }
}
