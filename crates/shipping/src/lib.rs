//! Shipping: zones (countries or regions) with methods priced from the table (a flat
//! rate, weight tiers, cart-total tiers, free over a threshold) or live by a carrier (UPS,
//! FedEx, DHL Express) with the table as fallback when the carrier fails or is slow.
//! Checkout prices carts with it. It also keeps the parcels sent for orders (shipments)
//! and their tracking history; what a parcel means to its order is the orders domain's
//! to decide, so this crate never reads or writes an order.
//!
//! Owns: `shipping_zones`, `shipping_methods`, `shipments`, `shipment_events` and the
//! carrier quote cache.
//! May call: `core`, `db`, `auth`. Events: publishes and consumes none.

pub mod carriers;
pub mod rates;
mod routes;
mod shipments;
mod zones;

pub use carriers::{CarrierQuote, CarrierRates, Carriers, Place, RateRequest};
pub use rates::{Parcel, SubtotalTier, TableRule, WeightTier};
pub use routes::router;
pub use shipments::{
    ShipmentBody, ShipmentEventView, ShipmentView, Tracked, TrackingBody, TrackingState,
    TrackingUpdate, tracking_url,
};
pub use zones::{CartMoney, Coverage, MethodBody, MethodView, Quote, Shipping, ZoneBody, ZoneView};
