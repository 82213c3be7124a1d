//! Shipments: parcels sent for an order, each carrying some or all of its lines, with the
//! carrier's tracking number and link, and a history of tracking events set by staff or
//! by a signed carrier webhook. These are the parcel records only; what a parcel means to
//! its order (processing, shipped, delivered) is the orders domain's to decide.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use emporium_core::error::ErrorCode;
use emporium_core::id::OrderId;
use emporium_core::order_line::LineQuantity;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{shipment_events, shipments};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::zones::Shipping;

/// Where a parcel is. A parcel never moves backwards: an event of a lower rank is kept in
/// its history but leaves its state alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingState {
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    /// A problem on the way (held at customs, address not found); the parcel may still
    /// move on.
    Exception,
}

impl TrackingState {
    pub const ALL: [TrackingState; 5] = [
        Self::LabelCreated,
        Self::InTransit,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Exception,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LabelCreated => "label_created",
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Exception => "exception",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    fn rank(self) -> u8 {
        match self {
            Self::LabelCreated => 0,
            Self::InTransit | Self::Exception => 1,
            Self::OutForDelivery => 2,
            Self::Delivered => 3,
        }
    }
}

/// The public tracking page of a carrier's parcel, where the carrier has one.
pub fn tracking_url(carrier: &str, number: &str) -> Option<String> {
    let pattern = match carrier {
        "ups" => "https://www.ups.com/track?tracknum={}",
        "fedex" => "https://www.fedex.com/fedextrack/?trknbr={}",
        "dhl" => "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
        "usps" => "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
        "royal_mail" => "https://www.royalmail.com/track-your-item#/tracking-results/{}",
        "dpd" => "https://tracking.dpd.de/status/en_US/parcel/{}",
        _ => return None,
    };
    let safe: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(pattern.replace("{}", &safe))
}

/// One tracking event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentEventView {
    pub status: String,
    pub note: Option<String>,
    /// `admin` or `carrier`.
    pub source: String,
    pub occurred_at: DateTime<Utc>,
}

/// A parcel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: String,
    pub lines: Vec<LineQuantity>,
    pub events: Vec<ShipmentEventView>,
    pub created_at: DateTime<Utc>,
}

/// `POST /admin/orders/{id}/shipments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "carrier": "ups",
    "tracking_number": "1Z999AA10123456784",
    "lines": [
        { "line_id": "0192f3d5-2b7e-7f10-a4c8-6d7e8f9a0b1c", "quantity": 1 }
    ]
})))]
pub struct ShipmentBody {
    /// `ups`, `fedex`, `dhl`, `usps`, `royal_mail`, `dpd`, or any other name.
    pub carrier: String,
    pub tracking_number: String,
    /// The lines (and units) in the parcel; all that is left to ship when unset.
    pub lines: Option<Vec<LineQuantity>>,
}

impl ShipmentBody {
    /// The carrier (lower-cased) and tracking number, trimmed; problems go to `errors`.
    pub fn label(&self, errors: &mut Vec<FieldError>) -> (String, String) {
        let carrier = self.carrier.trim().to_ascii_lowercase();
        let number = self.tracking_number.trim().to_string();
        if carrier.is_empty() || carrier.len() > 32 {
            errors.push(FieldError::new("carrier", "must be 1 to 32 characters"));
        }
        if number.is_empty() || number.len() > 100 {
            errors.push(FieldError::new(
                "tracking_number",
                "must be 1 to 100 characters",
            ));
        }
        (carrier, number)
    }
}

/// `POST /admin/shipments/{id}/events` and a carrier's webhook.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "status": "in_transit",
    "note": "Departed facility, Louisville, KY",
    "occurred_at": "2026-11-18T14:32:00Z",
    "tracking_number": "1Z999AA10123456784"
})))]
pub struct TrackingBody {
    /// One of `in_transit`, `out_for_delivery`, `delivered`, `exception`.
    pub status: String,
    pub note: Option<String>,
    /// RFC 3339; now when unset.
    pub occurred_at: Option<String>,
    /// Webhooks name the parcel by its tracking number.
    pub tracking_number: Option<String>,
}

/// A checked tracking event.
#[derive(Debug, Clone)]
pub struct TrackingUpdate {
    pub status: TrackingState,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl TrackingBody {
    /// The event, or every problem with it at once.
    pub fn check(self) -> AppResult<TrackingUpdate> {
        let mut errors = Vec::new();
        let status = TrackingState::parse(&self.status.trim().to_ascii_lowercase())
            .filter(|s| *s != TrackingState::LabelCreated);
        if status.is_none() {
            errors.push(FieldError::new(
                "status",
                "must be in_transit, out_for_delivery, delivered or exception",
            ));
        }
        let note = self
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            errors.push(FieldError::new("note", "must be at most 500 characters"));
        }
        let occurred_at = match self.occurred_at.as_deref() {
            None => Utc::now(),
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.push(FieldError::new("occurred_at", "must be an RFC 3339 time"));
                    Utc::now()
                }
            },
        };
        match status {
            Some(status) if errors.is_empty() => Ok(TrackingUpdate {
                status,
                note,
                occurred_at,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// What a tracking event did to its parcel.
#[derive(Debug, Clone, Copy)]
pub struct Tracked {
    pub shipment_id: Uuid,
    pub order_id: OrderId,
    /// Every parcel of the order is now delivered.
    pub all_delivered: bool,
}

fn event_view(e: shipment_events::Model) -> ShipmentEventView {
    ShipmentEventView {
        status: e.status,
        note: e.note,
        source: e.source,
        occurred_at: e.occurred_at,
    }
}

impl Shipping {
    /// An order's shipments with their events (two queries).
    pub async fn shipments_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<Vec<ShipmentView>> {
        let rows = shipments::Entity::find()
            .filter(shipments::Column::OrderId.eq(order_id))
            .order_by_asc(shipments::Column::CreatedAt)
            .all(conn)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut events: HashMap<Uuid, Vec<ShipmentEventView>> = HashMap::new();
        for e in shipment_events::Entity::find()
            .filter(shipment_events::Column::ShipmentId.is_in(rows.iter().map(|r| r.id)))
            .order_by_asc(shipment_events::Column::OccurredAt)
            .order_by_asc(shipment_events::Column::Id)
            .all(conn)
            .await?
        {
            events.entry(e.shipment_id).or_default().push(event_view(e));
        }
        Ok(rows
            .into_iter()
            .map(|r| ShipmentView {
                events: events.remove(&r.id).unwrap_or_default(),
                lines: serde_json::from_str(&r.lines).unwrap_or_default(),
                id: r.id,
                order_id: r.order_id,
                carrier: r.carrier,
                tracking_number: r.tracking_number,
                tracking_url: r.tracking_url,
                status: r.status,
                created_at: r.created_at,
            })
            .collect())
    }

    /// One parcel of an order, as [`Shipping::shipments_of`] shows it.
    pub async fn shipment_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        shipment_id: Uuid,
    ) -> AppResult<ShipmentView> {
        self.shipments_of(conn, order_id)
            .await?
            .into_iter()
            .find(|s| s.id == shipment_id)
            .ok_or_else(|| AppError::not_found("no such shipment"))
    }

    /// Units of each order line already in a parcel.
    pub async fn shipped_units<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<HashMap<Uuid, i32>> {
        let mut shipped: HashMap<Uuid, i32> = HashMap::new();
        for s in shipments::Entity::find()
            .filter(shipments::Column::OrderId.eq(order_id))
            .all(conn)
            .await?
        {
            for l in serde_json::from_str::<Vec<LineQuantity>>(&s.lines).unwrap_or_default() {
                *shipped.entry(l.line_id).or_default() += l.quantity;
            }
        }
        Ok(shipped)
    }

    /// Records a parcel with its first event (`label_created`).
    pub async fn record_shipment<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        carrier: &str,
        number: &str,
        parcel: &[LineQuantity],
    ) -> AppResult<shipments::Model> {
        let now = Utc::now();
        let label = TrackingState::LabelCreated.as_str();
        let shipment = shipments::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id.uuid()),
            carrier: Set(carrier.into()),
            tracking_number: Set(number.into()),
            tracking_url: Set(tracking_url(carrier, number)),
            status: Set(label.into()),
            lines: Set(serde_json::to_string(parcel).map_err(anyhow::Error::from)?),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?;
        shipment_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            shipment_id: Set(shipment.id),
            status: Set(label.into()),
            note: Set(None),
            source: Set("admin".into()),
            occurred_at: Set(now),
        }
        .insert(conn)
        .await?;
        Ok(shipment)
    }

    /// Adds a tracking event to a parcel's history and moves the parcel forward (never
    /// back, never out of delivered).
    pub async fn record_tracking<C: ConnectionTrait>(
        &self,
        conn: &C,
        shipment_id: Uuid,
        update: &TrackingUpdate,
        source: &str,
    ) -> AppResult<Tracked> {
        let shipment = shipments::Entity::find_by_id(shipment_id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such shipment"))?;
        shipment_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            shipment_id: Set(shipment.id),
            status: Set(update.status.as_str().into()),
            note: Set(update.note.clone()),
            source: Set(source.into()),
            occurred_at: Set(update.occurred_at),
        }
        .insert(conn)
        .await?;
        let current = TrackingState::parse(&shipment.status).unwrap_or(TrackingState::LabelCreated);
        if update.status.rank() >= current.rank() && current != TrackingState::Delivered {
            shipments::Entity::update_many()
                .col_expr(
                    shipments::Column::Status,
                    Expr::value(update.status.as_str()),
                )
                .col_expr(shipments::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(shipments::Column::Id.eq(shipment.id))
                .exec(conn)
                .await?;
        }
        let all_delivered = update.status == TrackingState::Delivered
            && shipments::Entity::find()
                .filter(shipments::Column::OrderId.eq(shipment.order_id))
                .all(conn)
                .await?
                .iter()
                .all(|s| s.status == TrackingState::Delivered.as_str());
        Ok(Tracked {
            shipment_id: shipment.id,
            order_id: OrderId(shipment.order_id),
            all_delivered,
        })
    }

    /// A carrier's tracking webhook, checked: HMAC-SHA256 of the body under
    /// `[shipping] tracking_webhook_secret`, hex in `X-Emporium-Signature`. Answers the
    /// parcel it names (none when unknown: acknowledged and ignored) and the event.
    pub async fn tracking_webhook(
        &self,
        carrier: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> AppResult<Option<(Uuid, TrackingBody)>> {
        let Some(secret) = &self.inner.config.shipping.tracking_webhook_secret else {
            return Err(AppError::not_found("tracking webhooks are not set up"));
        };
        let signature = headers
            .get("x-emporium-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !emporium_core::crypto::verify_hex_hmac(secret.expose_secret(), body, signature) {
            tracing::warn!(carrier, "tracking webhook refused: bad signature");
            return Err(AppError::bad_request(
                ErrorCode::InvalidSignature,
                "the webhook signature check failed",
            ));
        }
        let body: TrackingBody = emporium_core::extract::parse_json(body)?;
        let Some(number) = body.tracking_number.clone() else {
            return Err(AppError::invalid("tracking_number", "is required"));
        };
        let found = shipments::Entity::find()
            .filter(shipments::Column::Carrier.eq(carrier.to_ascii_lowercase()))
            .filter(shipments::Column::TrackingNumber.eq(number.trim()))
            .one(self.inner.db.current())
            .await?;
        Ok(found.map(|s| (s.id, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_rank() {
        for s in TrackingState::ALL {
            assert_eq!(TrackingState::parse(s.as_str()), Some(s));
        }
        assert!(TrackingState::Delivered.rank() > TrackingState::OutForDelivery.rank());
        assert_eq!(
            TrackingState::Exception.rank(),
            TrackingState::InTransit.rank()
        );
        assert_eq!(
            tracking_url("ups", "1Z 999").as_deref(),
            Some("https://www.ups.com/track?tracknum=1Z999")
        );
        assert_eq!(tracking_url("pigeon", "1"), None);
    }
}
