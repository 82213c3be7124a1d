//! What reviews does when other domains' events arrive: a delivered order schedules its
//! review request.

use async_trait::async_trait;
use emporium_core::events::{Envelope, OrderDelivered, Subscriber};
use emporium_core::outbox::JobRegistry;

use crate::state::Reviews;

/// The name review requests subscribe under.
pub const REQUESTS: &str = "reviews.requests";

/// Subscribes reviews to the events it reacts to.
pub fn subscribe(registry: &mut JobRegistry, reviews: Reviews) {
    registry.subscribe::<OrderDelivered, _>(REQUESTS, ScheduleRequest(reviews));
}

struct ScheduleRequest(Reviews);

#[async_trait]
impl Subscriber<OrderDelivered> for ScheduleRequest {
    async fn handle(&self, event: &Envelope<OrderDelivered>) -> anyhow::Result<()> {
        let order = event.data.order.order_id;
        self.0
            .schedule_request(event)
            .await
            .map_err(|e| anyhow::anyhow!("review request for order {order}: {e}"))
    }
}
