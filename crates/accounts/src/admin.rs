//! Staff operations on users: list and search, change role and permissions, suspend,
//! force a password reset, and the first admin from the command line.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use emporium_core::audit::{self, AuditEntry};
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::users;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use crate::model::{self, Email, Role, status};
use crate::service::{RequestMeta, new_user_row};
use crate::state::Accounts;
use crate::store;

/// Changes an admin may make to a user; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub permissions: Option<Vec<String>>,
    pub name: Option<Option<String>>,
}

/// How long a staff invitation's link works.
pub const INVITE_TTL_HOURS: i64 = 72;

/// Encodes a `(created_at, id)` position as an opaque cursor.
pub fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", created_at.to_rfc3339()))
}

fn decode_cursor(cursor: &str) -> AppResult<(DateTime<Utc>, Uuid)> {
    let bad = || AppError::invalid("cursor", "is not a cursor this API issued");
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (time, id) = text.split_once('|').ok_or_else(bad)?;
    let time = DateTime::parse_from_rfc3339(time)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((time, id))
}

impl Accounts {
    /// A page of users, newest first.
    pub async fn list_users(
        &self,
        query: Option<&str>,
        role: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<(Vec<users::Model>, Option<String>)> {
        if let Some(role) = role
            && Role::parse(role).is_none()
        {
            return Err(AppError::invalid(
                "role",
                "must be customer, staff or admin",
            ));
        }
        if query.is_some_and(|q| q.len() > 200) {
            return Err(AppError::invalid("q", "must be at most 200 characters"));
        }
        let after = cursor.map(decode_cursor).transpose()?;
        let mut rows =
            store::list_users(self.db().reader(), query, role, after, u64::from(limit) + 1).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|u| encode_cursor(u.created_at, u.id))
        } else {
            None
        };
        Ok((rows, next))
    }

    pub async fn get_user(&self, id: Uuid) -> AppResult<users::Model> {
        store::find_user(self.db().reader(), id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))
    }

    async fn load_for_update(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
    ) -> AppResult<users::Model> {
        store::find_user(txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))
    }

    /// Applies role, permission and name changes; role or permission changes void the
    /// user's current access tokens.
    pub async fn update_user(
        &self,
        actor: Uuid,
        id: Uuid,
        changes: UserChanges,
        meta: &RequestMeta,
    ) -> AppResult<users::Model> {
        let permissions = changes
            .permissions
            .as_deref()
            .map(model::parse_permissions)
            .transpose()
            .map_err(|e| AppError::Validation(vec![e]))?;
        if let Some(Some(name)) = &changes.name
            && name.chars().count() > 200
        {
            return Err(AppError::Validation(vec![FieldError::new(
                "name",
                "must be at most 200 characters",
            )]));
        }
        if actor == id && changes.role.is_some_and(|r| r != Role::Admin) {
            return Err(AppError::conflict(
                ErrorCode::CannotDemoteSelf,
                "an admin cannot take away their own admin role",
            ));
        }
        let txn = self.db().begin().await?;
        let user = self.load_for_update(&txn, id).await?;
        let mut active = user.clone().into_active_model();
        let mut access_changed = false;
        if let Some(role) = changes.role
            && role.as_str() != user.role
        {
            active.role = Set(role.as_str().into());
            access_changed = true;
        }
        if let Some(perms) = &permissions {
            let text = serde_json::to_string(perms).unwrap_or_else(|_| "[]".into());
            if text != user.permissions {
                active.permissions = Set(text);
                access_changed = true;
            }
        }
        if let Some(name) = changes.name {
            active.name = Set(name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()));
        }
        if access_changed {
            active.token_version = Set(user.token_version + 1);
        }
        active.updated_at = Set(Utc::now());
        let updated = store::update_user(&txn, active).await?;
        audit::record(
            &txn,
            admin_entry(actor, "admin.user.update", id, meta, json!({
                "role": {"from": user.role, "to": updated.role},
                "permissions": {"from": serde_json::from_str::<serde_json::Value>(&user.permissions).unwrap_or_default(),
                                 "to": serde_json::from_str::<serde_json::Value>(&updated.permissions).unwrap_or_default()},
            })),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Suspends (blocks login, revokes every session) or reinstates a user.
    pub async fn set_suspended(
        &self,
        actor: Uuid,
        id: Uuid,
        suspended: bool,
        meta: &RequestMeta,
    ) -> AppResult<users::Model> {
        if actor == id {
            return Err(AppError::conflict(
                ErrorCode::CannotSuspendSelf,
                "you cannot suspend yourself",
            ));
        }
        let now = Utc::now();
        let txn = self.db().begin().await?;
        let user = self.load_for_update(&txn, id).await?;
        let mut active = user.clone().into_active_model();
        active.status = Set(if suspended {
            status::SUSPENDED
        } else {
            status::ACTIVE
        }
        .into());
        active.token_version = Set(user.token_version + 1);
        active.updated_at = Set(now);
        if !suspended {
            active.failed_logins = Set(0);
            active.locked_until = Set(None);
        }
        let updated = store::update_user(&txn, active).await?;
        if suspended {
            store::revoke_user_sessions(&txn, id, now).await?;
        }
        let action = if suspended {
            "admin.user.suspend"
        } else {
            "admin.user.unsuspend"
        };
        audit::record(&txn, admin_entry(actor, action, id, meta, json!({}))).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Emails the user a reset link and signs out their sessions.
    pub async fn force_password_reset(
        &self,
        actor: Uuid,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let txn = self.db().begin().await?;
        let user = self.load_for_update(&txn, id).await?;
        store::revoke_user_sessions(&txn, id, Utc::now()).await?;
        self.send_reset_in(&txn, &user).await?;
        audit::record(
            &txn,
            admin_entry(actor, "admin.user.force_reset", id, meta, json!({})),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Invites a staff member: a new account with the role and permissions given and
    /// no password, and an email whose link (valid [`INVITE_TTL_HOURS`], once) lets them
    /// choose one on the reset-password page. An address that already has an account is
    /// refused: its role is changed on its own, so no customer becomes staff by a typo.
    pub async fn invite_staff(
        &self,
        actor: Uuid,
        email: &str,
        role: Role,
        permissions: &[String],
        meta: &RequestMeta,
    ) -> AppResult<users::Model> {
        let email = Email::parse(email).map_err(|e| AppError::Validation(vec![e]))?;
        if role == Role::Customer {
            return Err(AppError::invalid("role", "must be staff or admin"));
        }
        let permissions =
            model::parse_permissions(permissions).map_err(|e| AppError::Validation(vec![e]))?;
        let txn = self.db().begin().await?;
        if let Some(existing) = store::find_user_by_email(&txn, email.as_str()).await? {
            return Err(AppError::conflict(
                ErrorCode::UserExists,
                format!(
                    "{} already has an account ({}); change its role instead",
                    existing.email, existing.role
                ),
            ));
        }
        let mut row = new_user_row(&email, None, None, role);
        row.permissions = Set(serde_json::to_string(&permissions).unwrap_or_else(|_| "[]".into()));
        let user = store::insert_user(&txn, row).await?;
        let inviter = store::find_user(&txn, actor).await?.map(|u| u.email);
        self.email_token_link(
            &txn,
            &user,
            crate::model::purpose::PASSWORD_RESET,
            chrono::Duration::hours(INVITE_TTL_HOURS),
            ("reset-password", "staff_invite"),
            json!({"hours": INVITE_TTL_HOURS, "role": role.as_str(), "inviter": inviter,
                   "console": format!("{}/admin", self.config().public_base_url())}),
        )
        .await?;
        audit::record(
            &txn,
            admin_entry(
                actor,
                "admin.user.invite",
                user.id,
                meta,
                json!({
                    "role": role.as_str(), "permissions": permissions,
                }),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Creates an admin for the operator's CLI. An existing account is changed only when
    /// `promote` is given (then it becomes an active admin with the given password and its
    /// sessions are revoked); without it the call refuses, so a typo'd or reused email can
    /// never take over a customer's account silently.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        promote: bool,
    ) -> AppResult<AdminCreated> {
        let email = Email::parse(email).map_err(|e| AppError::Validation(vec![e]))?;
        model::check_password(password, Some(&email), "password")
            .map_err(|e| AppError::Validation(vec![e]))?;
        let hash = self.hasher().hash(password).await?;
        let txn = self.db().begin().await?;
        let created = match store::find_user_by_email(&txn, email.as_str()).await? {
            Some(existing) if !promote => {
                return Err(AppError::conflict(
                    ErrorCode::UserExists,
                    format!(
                        "{} already has an account ({}); pass --promote to make it an admin \
                         with this password",
                        existing.email, existing.role
                    ),
                ));
            }
            Some(existing) => {
                let mut active = existing.clone().into_active_model();
                active.role = Set(Role::Admin.as_str().into());
                active.password_hash = Set(Some(hash));
                active.status = Set(status::ACTIVE.into());
                active.token_version = Set(existing.token_version + 1);
                active.updated_at = Set(Utc::now());
                store::revoke_user_sessions(&txn, existing.id, Utc::now()).await?;
                AdminCreated::Promoted(store::update_user(&txn, active).await?)
            }
            None => {
                let mut row = new_user_row(&email, Some(hash), None, Role::Admin);
                row.email_verified_at = Set(Some(Utc::now()));
                AdminCreated::Created(store::insert_user(&txn, row).await?)
            }
        };
        let user = created.user();
        audit::record(
            &txn,
            AuditEntry {
                action: match created {
                    AdminCreated::Created(_) => "cli.admin.create",
                    AdminCreated::Promoted(_) => "cli.admin.promote",
                },
                target_type: Some("user"),
                target_id: Some(user.id.to_string()),
                ..AuditEntry::default()
            },
        )
        .await?;
        txn.commit().await?;
        Ok(created)
    }
}

/// What `create_admin` did.
#[derive(Debug)]
pub enum AdminCreated {
    /// A new admin account.
    Created(users::Model),
    /// An existing account made an admin (password replaced, sessions revoked).
    Promoted(users::Model),
}

impl AdminCreated {
    pub fn user(&self) -> &users::Model {
        match self {
            Self::Created(user) | Self::Promoted(user) => user,
        }
    }
}

fn admin_entry<'a>(
    actor: Uuid,
    action: &'a str,
    target: Uuid,
    meta: &RequestMeta,
    detail: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry {
        actor: Some(actor),
        action,
        target_type: Some("user"),
        target_id: Some(target.to_string()),
        ip: meta.ip.clone(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let (t, i) = decode_cursor(&encode_cursor(now, id)).expect("decodes");
        assert_eq!((t.timestamp_micros(), i), (now.timestamp_micros(), id));
        assert!(decode_cursor("garbage!").is_err());
    }
}
