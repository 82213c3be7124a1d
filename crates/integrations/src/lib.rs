//! Integrations: what an outside system uses to follow and feed the shop. Outgoing
//! webhooks per the Standard Webhooks specification: endpoints with the events they want
//! and a `whsec_` secret (sealed at rest, rotated with a day of overlap), every domain
//! event delivered through the outbox at least once with the same `webhook-id` on every
//! attempt, retried for about three days with jitter and `Retry-After` honoured, a 410 or
//! days of failures switching the endpoint off (and staff told by email), a delivery log
//! of every attempt, and redelivery of one event or a time range. Targets on loopback,
//! private and link-local addresses are refused unless the store allows them.
//!
//! API keys for the admin API live in `accounts` (they are credentials, checked by
//! `auth`'s extractors); their routes sit beside these under the `integrations` tag.
//!
//! Owns: `webhook_endpoints`, `webhook_deliveries`, `webhook_attempts`.
//! May call: `core`, `db`, `auth`.
//! Events: consumes every event type (`jobs.rs`); publishes `webhook.endpoint_disabled`.

pub mod deliveries;
pub mod endpoints;
pub mod guard;
pub mod jobs;
mod routes;
pub mod signing;
mod state;

pub use deliveries::{
    AttemptView, DELIVER_TOPIC, DeliveryDetailView, DeliveryPageView, DeliveryQuery, DeliveryView,
    RedeliverRangeBody, RedeliveredView,
};
pub use endpoints::{
    CreatedEndpointView, EndpointBody, EndpointListView, EndpointPatch, EndpointView,
    EventTypeListView, EventTypeView, SecretView,
};
pub use routes::router;
pub use state::Integrations;

#[cfg(test)]
mod tests {
    use emporium_core::events::{EVENT_TYPES, subscriber_topic};
    use emporium_core::outbox::JobRegistry;

    #[tokio::test]
    async fn every_event_type_reaches_webhooks() {
        let dir = std::env::temp_dir().join(format!("emporium-int-{}", uuid::Uuid::now_v7()));
        let mut config = emporium_core::Config {
            data_dir: dir.clone(),
            ..emporium_core::Config::default()
        };
        config.database_url = None;
        let db = emporium_db::Db::connect(&config).await.expect("db");
        let integrations =
            crate::Integrations::new(db, std::sync::Arc::new(config)).expect("integrations");
        let mut registry = JobRegistry::default();
        crate::jobs::subscribe(&mut registry, integrations);
        for event in EVENT_TYPES {
            let topic = subscriber_topic(crate::jobs::WEBHOOKS, event.name);
            assert!(
                registry.subscribers(event.name).contains(&topic),
                "{} is not forwarded to webhooks",
                event.name
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
