//! Webhook endpoints: where events go, which ones, on or off, and the signing secret
//! (sealed at rest; during a rotation the previous one keeps signing for a day).

use chrono::{DateTime, Duration, Utc};
use emporium_core::events::{EVENT_TYPES, WebhookEndpointDisabled};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::webhook_endpoints;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::signing::new_secret;
use crate::state::Integrations;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// The event a "send test" delivers; not a domain event, so no endpoint subscribes to it.
pub const TEST_EVENT: &str = "webhook.test";

/// `POST /admin/webhooks`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"url": "https://erp.example.com/hooks/emporium", "description": "ERP order sync", "event_types": ["order.paid", "order.cancelled"]})))]
pub struct EndpointBody {
    /// Where events are POSTed (http or https, a public address).
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event names (`GET /admin/webhooks/event-types`); empty or absent means every event.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// On (the default) or off.
    pub enabled: Option<bool>,
}

/// `PATCH /admin/webhooks/{id}`: what is present changes. Turning an endpoint back on
/// clears why it was turned off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"enabled": true})))]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Empty: every event.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it was switched off, when the server did it (a 410, or days of failures).
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs, during a rotation.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint just made, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpointView {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// The signing secret (`whsec_...`); `GET .../secret` shows it again.
    pub secret: String,
}

/// An endpoint's signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub secret: String,
    /// Until when the previous secret also signs (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
}

/// Every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointListView {
    pub data: Vec<EndpointView>,
}

/// An event type a webhook can ask for.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeView {
    pub name: String,
    pub version: u32,
    pub meaning: String,
}

/// Every event type a webhook can ask for.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeListView {
    pub data: Vec<EventTypeView>,
}

impl From<webhook_endpoints::Model> for EndpointView {
    fn from(row: webhook_endpoints::Model) -> Self {
        let rotating = row.previous_secret_until.filter(|t| *t > Utc::now());
        Self {
            id: row.id,
            url: row.url,
            description: row.description,
            event_types: serde_json::from_str(&row.event_types).unwrap_or_default(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            previous_secret_until: rotating,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Every event type, for people choosing what an endpoint receives.
pub fn event_types() -> Vec<EventTypeView> {
    EVENT_TYPES
        .iter()
        .map(|t| EventTypeView {
            name: t.name.into(),
            version: t.version,
            meaning: t.meaning.into(),
        })
        .collect()
}

fn check_event_types(types: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in types.iter().enumerate() {
        if EVENT_TYPES.iter().any(|e| e.name == t) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        } else {
            errors.push(FieldError::new(
                format!("event_types[{i}]"),
                format!(
                    "unknown event type {t:?}; GET /api/v1/admin/webhooks/event-types lists them"
                ),
            ));
        }
    }
    out
}

fn check_description(text: &str, errors: &mut Vec<FieldError>) -> String {
    let text = text.trim();
    if text.chars().count() > 500 {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
    text.to_string()
}

impl Integrations {
    fn check_url(&self, url: &str, errors: &mut Vec<FieldError>) -> String {
        let url = url.trim();
        if url.len() > 2048 {
            errors.push(FieldError::new("url", "must be at most 2048 characters"));
        } else if let Some(why) = crate::guard::check_url(url, self.allow_private()) {
            errors.push(FieldError::new("url", why));
        }
        url.to_string()
    }

    /// Makes an endpoint with a fresh secret.
    pub async fn create_endpoint(
        &self,
        body: EndpointBody,
        actor: Option<Uuid>,
    ) -> AppResult<CreatedEndpointView> {
        let mut errors = Vec::new();
        let url = self.check_url(&body.url, &mut errors);
        let description = check_description(&body.description, &mut errors);
        let types = check_event_types(&body.event_types, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let secret = new_secret();
        let now = Utc::now();
        let row = webhook_endpoints::ActiveModel {
            id: Set(Uuid::now_v7()),
            url: Set(url),
            description: Set(description),
            event_types: Set(serde_json::to_string(&types).unwrap_or_else(|_| "[]".into())),
            enabled: Set(body.enabled.unwrap_or(true)),
            disabled_reason: Set(None),
            secret: Set(self.master.encrypt(secret.as_bytes())),
            previous_secret: Set(None),
            previous_secret_until: Set(None),
            created_by: Set(actor),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db.writer())
        .await?;
        Ok(CreatedEndpointView {
            endpoint: row.into(),
            secret,
        })
    }

    pub(crate) async fn endpoint_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
    ) -> AppResult<webhook_endpoints::Model> {
        webhook_endpoints::Entity::find_by_id(id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such webhook endpoint"))
    }

    pub async fn endpoint(&self, id: Uuid) -> AppResult<EndpointView> {
        Ok(self.endpoint_row(self.db.writer(), id).await?.into())
    }

    /// Every endpoint, oldest first.
    pub async fn endpoints(&self) -> AppResult<Vec<EndpointView>> {
        Ok(webhook_endpoints::Entity::find()
            .order_by_asc(webhook_endpoints::Column::CreatedAt)
            .order_by_asc(webhook_endpoints::Column::Id)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(EndpointView::from)
            .collect())
    }

    pub async fn update_endpoint(&self, id: Uuid, patch: EndpointPatch) -> AppResult<EndpointView> {
        let mut errors = Vec::new();
        let url = patch.url.as_deref().map(|u| self.check_url(u, &mut errors));
        let description = patch
            .description
            .as_deref()
            .map(|d| check_description(d, &mut errors));
        let types = patch
            .event_types
            .as_deref()
            .map(|t| check_event_types(t, &mut errors));
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let row = self.endpoint_row(self.db.writer(), id).await?;
        let mut active = row.into_active_model();
        if let Some(url) = url {
            active.url = Set(url);
        }
        if let Some(description) = description {
            active.description = Set(description);
        }
        if let Some(types) = types {
            active.event_types = Set(serde_json::to_string(&types).unwrap_or_else(|_| "[]".into()));
        }
        if let Some(enabled) = patch.enabled {
            active.enabled = Set(enabled);
            if enabled {
                active.disabled_reason = Set(None);
            }
        }
        active.updated_at = Set(Utc::now());
        Ok(active.update(self.db.writer()).await?.into())
    }

    /// Deletes an endpoint with its delivery log.
    pub async fn delete_endpoint(&self, id: Uuid) -> AppResult<()> {
        let result = webhook_endpoints::Entity::delete_by_id(id)
            .exec(self.db.writer())
            .await?;
        if result.rows_affected == 0 {
            return Err(AppError::not_found("no such webhook endpoint"));
        }
        Ok(())
    }

    pub async fn secret(&self, id: Uuid) -> AppResult<SecretView> {
        let row = self.endpoint_row(self.db.writer(), id).await?;
        Ok(SecretView {
            secret: self.open(&row.secret).map_err(AppError::Internal)?,
            previous_secret_until: row.previous_secret_until.filter(|t| *t > Utc::now()),
        })
    }

    /// A new secret; the current one keeps signing beside it for a day, so receivers can
    /// switch without missing a delivery.
    pub async fn rotate_secret(&self, id: Uuid) -> AppResult<SecretView> {
        let row = self.endpoint_row(self.db.writer(), id).await?;
        let secret = new_secret();
        let until = Utc::now() + Duration::hours(ROTATION_OVERLAP_HOURS);
        let mut active = row.clone().into_active_model();
        active.previous_secret = Set(Some(row.secret));
        active.previous_secret_until = Set(Some(until));
        active.secret = Set(self.master.encrypt(secret.as_bytes()));
        active.updated_at = Set(Utc::now());
        active.update(self.db.writer()).await?;
        Ok(SecretView {
            secret,
            previous_secret_until: Some(until),
        })
    }

    /// Switches an endpoint off for `reason` and tells staff (through
    /// `webhook.endpoint_disabled`), inside the caller's transaction.
    pub(crate) async fn disable<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &webhook_endpoints::Model,
        reason: String,
    ) -> AppResult<()> {
        if !row.enabled {
            return Ok(());
        }
        let mut active = row.clone().into_active_model();
        active.enabled = Set(false);
        active.disabled_reason = Set(Some(reason.clone()));
        active.updated_at = Set(Utc::now());
        active.update(conn).await?;
        tracing::warn!(endpoint = %row.id, url = %row.url, %reason, "webhook endpoint disabled");
        emporium_core::events::publish(
            conn,
            WebhookEndpointDisabled {
                endpoint_id: row.id,
                url: row.url.clone(),
                reason,
            },
        )
        .await?;
        Ok(())
    }
}
