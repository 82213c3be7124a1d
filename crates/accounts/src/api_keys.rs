//! API keys: credentials for an integration's server-to-server calls to the admin API
//! (`Authorization: Bearer emp_...`). A key holds named permissions, never more than the
//! staff member who made it holds (then or now: a key's creator losing a permission, or
//! being suspended, takes it from the key too). The key is shown once; only its SHA-256
//! and a short visible prefix are kept. Every call looks the key up, so a revocation
//! holds on every node from the next request.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use emporium_auth::{API_KEY_PREFIX, Auth, KeyAccess, PERMISSIONS, Role, Staff, perm};
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::extract::{Json, Path};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{api_keys, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::model::status;
use crate::state::Accounts;

type Problem = emporium_core::error::Problem;

/// How long after a use the next one is written down: `last_used_at` is for people
/// ("used 3 minutes ago"), not worth a write on every call.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// `POST /admin/api-keys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "ERP sync", "permissions": ["products.read", "inventory.write"], "expires_at": "2027-12-31T00:00:00Z"})))]
pub struct ApiKeyBody {
    /// What the key is for, for people (1 to 100 characters).
    pub name: String,
    /// Named permissions, a subset of the creator's.
    pub permissions: Vec<String>,
    /// When the key stops working (RFC 3339); never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key as listed (the key itself is never shown again).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to recognise it by.
    pub prefix: String,
    pub permissions: Vec<String>,
    pub created_by: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// A key just made: the only time `key` is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyView {
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    /// The secret key (`emp_...`): store it now, it cannot be shown again.
    pub key: String,
}

/// Every key, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyListView {
    pub data: Vec<ApiKeyView>,
}

impl ApiKeyView {
    fn from_row(row: api_keys::Model, now: DateTime<Utc>) -> Self {
        let status = if row.revoked_at.is_some() {
            "revoked"
        } else if row.expires_at.is_some_and(|t| t <= now) {
            "expired"
        } else {
            "active"
        };
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            permissions: serde_json::from_str(&row.permissions).unwrap_or_default(),
            created_by: row.created_by,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
            created_at: row.created_at,
            status: status.into(),
        }
    }
}

/// Who is making a key, and what they hold.
pub struct KeyMaker {
    pub user_id: Uuid,
    pub role: Role,
    pub permissions: Vec<String>,
    /// Set when the caller is itself an API key: keys do not make keys.
    pub api_key: Option<Uuid>,
}

impl<P: emporium_auth::Permission> From<&Staff<P>> for KeyMaker {
    fn from(staff: &Staff<P>) -> Self {
        Self {
            user_id: staff.user_id,
            role: staff.role,
            permissions: staff.permissions.clone(),
            api_key: staff.api_key,
        }
    }
}

impl Accounts {
    /// Makes a key for `maker`; the answer carries the key, once.
    pub async fn create_api_key(
        &self,
        maker: KeyMaker,
        body: ApiKeyBody,
        ip: Option<String>,
    ) -> AppResult<CreatedApiKeyView> {
        if maker.api_key.is_some() {
            return Err(AppError::forbidden(
                "an API key cannot make API keys; a staff member signs in to do that",
            ));
        }
        let mut errors = Vec::new();
        let name = body.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        let mut permissions: Vec<String> = Vec::new();
        if body.permissions.is_empty() {
            errors.push(FieldError::new(
                "permissions",
                "name at least one permission",
            ));
        }
        for (i, p) in body.permissions.iter().enumerate() {
            if !PERMISSIONS.contains(&p.as_str()) {
                errors.push(FieldError::new(
                    format!("permissions[{i}]"),
                    format!(
                        "unknown permission {p:?}; one of {}",
                        PERMISSIONS.join(", ")
                    ),
                ));
            } else if !emporium_auth::allows(maker.role, &maker.permissions, p) {
                errors.push(FieldError::new(
                    format!("permissions[{i}]"),
                    format!("you do not hold {p}, so a key you make cannot either"),
                ));
            } else if !permissions.contains(p) {
                permissions.push(p.clone());
            }
        }
        let now = Utc::now();
        if body.expires_at.is_some_and(|t| t <= now) {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let key = format!("{API_KEY_PREFIX}{}", random_token(32));
        let prefix: String = key.chars().take(API_KEY_PREFIX.len() + 8).collect();
        let txn = self.db().begin().await?;
        let row = api_keys::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name),
            prefix: Set(prefix),
            key_hash: Set(token_hash(&key)),
            permissions: Set(serde_json::to_string(&permissions).unwrap_or_default()),
            created_by: Set(maker.user_id),
            expires_at: Set(body.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        emporium_core::audit::record(
            &txn,
            emporium_core::audit::AuditEntry {
                actor: Some(maker.user_id),
                action: "api_key.create",
                target_type: Some("api_key"),
                target_id: Some(row.id.to_string()),
                ip,
                detail: serde_json::json!({"name": row.name, "permissions": permissions}),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(CreatedApiKeyView {
            api_key: ApiKeyView::from_row(row, now),
            key,
        })
    }

    /// Every key, newest first.
    pub async fn list_api_keys(&self) -> AppResult<Vec<ApiKeyView>> {
        let now = Utc::now();
        Ok(api_keys::Entity::find()
            .order_by_desc(api_keys::Column::CreatedAt)
            .order_by_desc(api_keys::Column::Id)
            .all(self.db().reader())
            .await?
            .into_iter()
            .map(|row| ApiKeyView::from_row(row, now))
            .collect())
    }

    /// Revokes a key (again is a no-op); the next call with it is refused, on every node.
    pub async fn revoke_api_key(
        &self,
        id: Uuid,
        actor: Uuid,
        ip: Option<String>,
    ) -> AppResult<ApiKeyView> {
        let txn = self.db().begin().await?;
        let row = api_keys::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such API key"))?;
        let now = Utc::now();
        let row = if row.revoked_at.is_none() {
            let mut active: api_keys::ActiveModel = row.into();
            active.revoked_at = Set(Some(now));
            let row = active.update(&txn).await?;
            emporium_core::audit::record(
                &txn,
                emporium_core::audit::AuditEntry {
                    actor: Some(actor),
                    action: "api_key.revoke",
                    target_type: Some("api_key"),
                    target_id: Some(id.to_string()),
                    ip,
                    detail: serde_json::json!({"name": row.name}),
                },
            )
            .await?;
            row
        } else {
            row
        };
        txn.commit().await?;
        Ok(ApiKeyView::from_row(row, now))
    }
}

/// What key `key` may do now, if anything (for [`AccessDirectory::api_key`]).
///
/// [`AccessDirectory::api_key`]: emporium_auth::AccessDirectory::api_key
pub(crate) async fn key_access(db: &emporium_db::Db, key: &str) -> AppResult<Option<KeyAccess>> {
    let found = api_keys::Entity::find()
        .filter(api_keys::Column::KeyHash.eq(token_hash(key)))
        .one(db.writer())
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let now = Utc::now();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= now) {
        return Ok(None);
    }
    let Some(creator) = users::Entity::find_by_id(row.created_by)
        .one(db.writer())
        .await?
    else {
        return Ok(None);
    };
    let role = Role::parse(&creator.role).unwrap_or(Role::Customer);
    if creator.status != status::ACTIVE || role == Role::Customer {
        return Ok(None);
    }
    let held: Vec<String> = serde_json::from_str(&creator.permissions).unwrap_or_default();
    let granted: Vec<String> = serde_json::from_str(&row.permissions).unwrap_or_default();
    let permissions = granted
        .into_iter()
        .filter(|p| emporium_auth::allows(role, &held, p))
        .collect();
    if row
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(LAST_USED_GRANULARITY_SECS))
    {
        api_keys::Entity::update_many()
            .col_expr(
                api_keys::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_keys::Column::Id.eq(row.id))
            .exec(db.writer())
            .await?;
    }
    Ok(Some(KeyAccess {
        key_id: row.id,
        name: row.name,
        created_by: row.created_by,
        permissions,
    }))
}

pub(crate) fn router<S>() -> OpenApiRouter<S>
where
    Accounts: axum::extract::FromRef<S>,
    Auth: axum::extract::FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// Every API key with its permissions, last use and status (needs `settings.manage`).
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = ApiKeyListView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_keys(
    State(accounts): State<Accounts>,
    _staff: Staff<perm::SettingsManage>,
) -> AppResult<axum::Json<ApiKeyListView>> {
    Ok(axum::Json(ApiKeyListView {
        data: accounts.list_api_keys().await?,
    }))
}

/// Makes an API key holding some of the caller's permissions (needs `settings.manage`).
/// The answer is the only time the key is shown.
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "integrations", security(("bearer" = [])),
    request_body = ApiKeyBody,
    responses((status = 201, body = CreatedApiKeyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_key(
    State(accounts): State<Accounts>,
    staff: Staff<perm::SettingsManage>,
    client: emporium_core::extract::ClientInfo,
    Json(body): Json<ApiKeyBody>,
) -> AppResult<(StatusCode, axum::Json<CreatedApiKeyView>)> {
    let created = accounts
        .create_api_key(KeyMaker::from(&staff), body, client.ip)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Revokes an API key: refused from the next call on, on every node (needs
/// `settings.manage`).
#[utoipa::path(delete, path = "/api/v1/admin/api-keys/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKeyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_key(
    State(accounts): State<Accounts>,
    staff: Staff<perm::SettingsManage>,
    client: emporium_core::extract::ClientInfo,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<ApiKeyView>> {
    Ok(axum::Json(
        accounts
            .revoke_api_key(id, staff.user_id, client.ip)
            .await?,
    ))
}
