//! A signed-in customer changing their own password or email address. Both ask for the
//! current password; a new address counts only once its owner opens the link sent there.

use chrono::{Duration as ChronoDuration, Utc};
use emporium_core::audit;
use emporium_core::crypto::token_hash;
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::{ActiveValue::Set, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use crate::model::{self, Email, purpose, status};
use crate::service::{RequestMeta, TokenPair, entry, queue_password_changed, redeem_link};
use crate::state::Accounts;
use crate::store;

impl Accounts {
    /// The signed-in, active user, or 401 as for a stale token.
    async fn own_account(&self, user_id: Uuid) -> AppResult<emporium_db::entity::users::Model> {
        store::find_user(self.db().writer(), user_id)
            .await?
            .filter(|u| u.status == status::ACTIVE)
            .ok_or_else(|| {
                AppError::unauthorized(
                    ErrorCode::InvalidToken,
                    "the access token is invalid or expired",
                )
            })
    }

    /// Checks `password` against the account's; a wrong one counts as a failed login.
    async fn confirm_password(
        &self,
        user: &emporium_db::entity::users::Model,
        password: &str,
        field: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.limits()
            .check_account(&format!("password:{}", user.id))?;
        let verdict = self
            .hasher()
            .verify(password, user.password_hash.as_deref())
            .await;
        if !verdict.ok {
            self.record_failure(user, meta, "wrong_current_password")
                .await?;
            return Err(AppError::invalid(field, "is not your current password"));
        }
        Ok(())
    }

    /// Changes the password: every session ends (other devices are signed out), and the
    /// caller gets a fresh token pair so that this one goes on.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> AppResult<TokenPair> {
        self.limit_ip(meta)?;
        let user = self.own_account(user_id).await?;
        if user.password_hash.is_none() {
            return Err(AppError::conflict(
                ErrorCode::NoPassword,
                "this account signs in with a social login and has no password; set one \
                 through 'forgot password'",
            ));
        }
        self.confirm_password(&user, current, "current_password", meta)
            .await?;
        let email = Email::parse(&user.email).ok();
        model::check_password(new, email.as_ref(), "new_password")
            .map_err(|e| AppError::Validation(vec![e]))?;
        let hash = self.hasher().hash(new).await?;
        let now = Utc::now();
        let txn = self.begin().await?;
        let mut active = user.clone().into_active_model();
        active.password_hash = Set(Some(hash));
        active.token_version = Set(user.token_version + 1);
        active.updated_at = Set(now);
        let user = store::update_user(&txn, active).await?;
        store::revoke_user_sessions(&txn, user.id, now).await?;
        let pair = self.issue_tokens(&txn, &user, None, meta).await?;
        queue_password_changed(&txn, &user).await?;
        audit::record(
            &txn,
            entry(user.id, "auth.password_changed", meta, json!({})),
        )
        .await?;
        txn.commit().await?;
        Ok(pair)
    }

    /// Asks to move the account to `new_email`: a link goes to that address, and nothing
    /// changes until it is opened. The old address keeps working meanwhile.
    pub async fn request_email_change(
        &self,
        user_id: Uuid,
        new_email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.limit_ip(meta)?;
        let new_email = Email::parse(new_email).map_err(|e| AppError::Validation(vec![e]))?;
        let user = self.own_account(user_id).await?;
        if user.email == new_email.as_str() {
            return Err(AppError::invalid("email", "is already your address"));
        }
        if user.password_hash.is_some() {
            self.confirm_password(&user, password, "password", meta)
                .await?;
        }
        if store::find_user_by_email(self.db().writer(), new_email.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::conflict(
                ErrorCode::EmailTaken,
                "another account uses this address",
            ));
        }
        let hours = self.config().auth.verify_ttl_hours;
        let txn = self.begin().await?;
        store::retire_one_time_tokens(&txn, user.id, purpose::CHANGE_EMAIL, Utc::now()).await?;
        let mut active = user.clone().into_active_model();
        active.pending_email = Set(Some(new_email.as_str().to_string()));
        active.updated_at = Set(Utc::now());
        let user = store::update_user(&txn, active).await?;
        let token = self
            .issue_one_time_token(
                &txn,
                user.id,
                purpose::CHANGE_EMAIL,
                ChronoDuration::hours(hours as i64),
            )
            .await?;
        let link = format!(
            "{}/account/confirm-email?token={token}",
            self.config().public_base_url()
        );
        enqueue_email(
            &txn,
            &EmailJob {
                to: new_email.as_str().to_string(),
                template: "confirm_email_change".into(),
                context: json!({"name": user.name, "link": link, "hours": hours}),
                lang: user.language.clone(),
                thread: None,
            },
        )
        .await?;
        audit::record(
            &txn,
            entry(
                user.id,
                "auth.email_change_requested",
                meta,
                json!({"to": new_email.as_str()}),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Completes an email change from the emailed link: the new address becomes the
    /// account's (verified), and the old one is told.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> AppResult<emporium_db::entity::users::Model> {
        self.limit_ip(meta)?;
        let now = Utc::now();
        let txn = self.begin().await?;
        let user = redeem_link(&txn, &token_hash(token), purpose::CHANGE_EMAIL, now).await?;
        let Some(new_email) = user.pending_email.clone() else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidToken,
                "the link is invalid, used or expired",
            ));
        };
        let old_email = user.email.clone();
        let mut active = user.clone().into_active_model();
        active.email = Set(new_email.clone());
        active.pending_email = Set(None);
        active.email_verified_at = Set(Some(now));
        active.updated_at = Set(now);
        let user = store::update_user(&txn, active).await.map_err(|e| {
            match emporium_core::error::classify_db_error(&e) {
                emporium_core::error::DbFailure::UniqueViolation(_) => AppError::conflict(
                    ErrorCode::EmailTaken,
                    "another account took this address meanwhile",
                ),
                _ => e.into(),
            }
        })?;
        enqueue_email(
            &txn,
            &EmailJob {
                to: old_email.clone(),
                template: "email_changed".into(),
                context: json!({"name": user.name, "new_email": new_email}),
                lang: user.language.clone(),
                thread: None,
            },
        )
        .await?;
        audit::record(
            &txn,
            entry(
                user.id,
                "auth.email_changed",
                meta,
                json!({"from": old_email, "to": new_email}),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(user)
    }
}
