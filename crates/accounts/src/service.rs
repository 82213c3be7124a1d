//! Account operations. Each runs in one transaction, writes its audit entry and its
//! emails (through the outbox) in that transaction, and returns domain results.

use chrono::{Duration as ChronoDuration, Utc};
use emporium_core::audit::{self, AuditEntry};
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{one_time_tokens, refresh_tokens, users};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, IntoActiveModel};
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use crate::model::{self, Email, Role, purpose, status};
use crate::state::Accounts;
use crate::{limits, store, totp};

/// Who is asking, for audit and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// The result of a password login.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Tokens(TokenPair),
    /// The password was right; a second factor is needed, presented with this token.
    MfaRequired {
        mfa_token: String,
    },
}

pub(crate) fn invalid_credentials() -> AppError {
    AppError::unauthorized(
        ErrorCode::InvalidCredentials,
        "the email or password is wrong",
    )
}

fn user_permissions(user: &users::Model) -> Vec<String> {
    serde_json::from_str(&user.permissions).unwrap_or_default()
}

fn user_role(user: &users::Model) -> Role {
    Role::parse(&user.role).unwrap_or(Role::Customer)
}

/// Fields of a new account.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: Option<&'a str>,
    /// The language the customer registered in (one of the store's): their emails'.
    pub language: Option<&'a str>,
}

impl Accounts {
    pub(crate) async fn begin(&self) -> AppResult<DatabaseTransaction> {
        Ok(self.db().begin().await?)
    }

    /// Registers a customer and emails a verification link.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        input: NewUser<'_>,
        meta: &RequestMeta,
    ) -> AppResult<users::Model> {
        self.limit_ip(meta)?;
        let mut errors = Vec::new();
        let email = Email::parse(input.email).map_err(|e| errors.push(e)).ok();
        if let Err(e) = model::check_password(input.password, email.as_ref(), "password") {
            errors.push(e);
        }
        let name = input.name.map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 200) {
            errors.push(FieldError::new("name", "must be at most 200 characters"));
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        let hash = self.hasher().hash(input.password).await?;
        let txn = self.begin().await?;
        if store::find_user_by_email(&txn, email.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::conflict(
                ErrorCode::EmailTaken,
                "an account with this email already exists",
            ));
        }
        let mut row = new_user_row(&email, Some(hash), name, Role::Customer);
        row.language = Set(input.language.map(str::to_string));
        let user = store::insert_user(&txn, row)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict { .. } => AppError::conflict(
                    ErrorCode::EmailTaken,
                    "an account with this email already exists",
                ),
                other => other,
            })?;
        self.send_verification(&txn, &user).await?;
        audit::record(&txn, entry(user.id, "auth.register", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(user)
    }

    async fn send_verification(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
    ) -> AppResult<()> {
        let hours = self.config().auth.verify_ttl_hours;
        self.email_token_link(
            txn,
            user,
            purpose::VERIFY_EMAIL,
            ChronoDuration::hours(hours as i64),
            ("verify-email", "verify_email"),
            json!({"hours": hours}),
        )
        .await
    }

    /// Issues a single-use token of `purpose` and emails its link: `page` is the
    /// storefront path under `/account/`, `template` the email, `extra` more values.
    pub(crate) async fn email_token_link(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
        purpose: &str,
        ttl: ChronoDuration,
        (page, template): (&str, &str),
        extra: serde_json::Value,
    ) -> AppResult<()> {
        let token = self
            .issue_one_time_token(txn, user.id, purpose, ttl)
            .await?;
        let link = format!(
            "{}/account/{page}?token={token}",
            self.config().public_base_url()
        );
        let mut context = json!({"name": user.name, "link": link});
        if let (Some(map), Some(more)) = (context.as_object_mut(), extra.as_object()) {
            map.extend(more.clone());
        }
        enqueue_email(
            txn,
            &EmailJob {
                to: user.email.clone(),
                template: template.into(),
                context,
                lang: user.language.clone(),
                thread: None,
            },
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn issue_one_time_token(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        purpose: &str,
        ttl: ChronoDuration,
    ) -> AppResult<String> {
        let now = Utc::now();
        let token = random_token(32);
        store::insert_one_time_token(
            txn,
            one_time_tokens::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user),
                purpose: Set(purpose.to_string()),
                token_hash: Set(token_hash(&token)),
                expires_at: Set(now + ttl),
                used_at: Set(None),
                created_at: Set(now),
            },
        )
        .await?;
        Ok(token)
    }

    /// Checks email and password. Unknown emails and wrong passwords take the same time
    /// and get the same answer.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        captcha_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        self.limit_ip(meta)?;
        let normalised = email.trim().to_lowercase();
        self.limits().check_account(&normalised)?;
        let user = store::find_user_by_email(self.db().writer(), &normalised).await?;
        let now = Utc::now();
        if let Some(user) = &user {
            if let Some(until) = user.locked_until.filter(|until| *until > now) {
                return Err(AppError::RateLimited {
                    retry_after_secs: (until - now).num_seconds().max(1) as u64,
                });
            }
            self.check_captcha(user, captcha_token, meta).await?;
        }
        let verdict = self
            .hasher()
            .verify(
                password,
                user.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await;
        let Some(user) = user else {
            self.audit_anonymous(
                "auth.login_failed",
                meta,
                json!({"reason": "unknown_email"}),
            )
            .await?;
            return Err(invalid_credentials());
        };
        if !verdict.ok {
            self.record_failure(&user, meta, "wrong_password").await?;
            return Err(invalid_credentials());
        }
        if user.status == status::SUSPENDED {
            self.audit_user(
                &user,
                "auth.login_refused",
                meta,
                json!({"reason": "suspended"}),
            )
            .await?;
            return Err(AppError::forbidden("this account is suspended"));
        }
        let txn = self.begin().await?;
        let mut active = user.clone().into_active_model();
        active.failed_logins = Set(0);
        if verdict.needs_rehash {
            active.password_hash = Set(Some(self.hasher().hash(password).await?));
        }
        if user.totp_enabled_at.is_some() {
            store::update_user(&txn, active).await?;
            let ttl = ChronoDuration::seconds(self.config().auth.mfa_ttl_secs as i64);
            let mfa_token = self
                .issue_one_time_token(&txn, user.id, purpose::MFA, ttl)
                .await?;
            txn.commit().await?;
            return Ok(LoginOutcome::MfaRequired { mfa_token });
        }
        active.last_login_at = Set(Some(now));
        let user = store::update_user(&txn, active).await?;
        let pair = self.issue_tokens(&txn, &user, None, meta).await?;
        audit::record(&txn, entry(user.id, "auth.login", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(LoginOutcome::Tokens(pair))
    }

    async fn check_captcha(
        &self,
        user: &users::Model,
        token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let auth = &self.config().auth;
        let Some(secret) = &auth.captcha_secret else {
            return Ok(());
        };
        if user.failed_logins < auth.captcha_after as i32 {
            return Ok(());
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(AppError::unauthorized(
                ErrorCode::CaptchaRequired,
                "too many failed attempts: solve the CAPTCHA and send its token as captcha_token",
            ));
        };
        let solved = limits::verify_captcha(
            self.http(),
            &auth.captcha_verify_url,
            secret.expose_secret(),
            token,
            meta.ip.as_deref(),
        )
        .await?;
        if solved {
            Ok(())
        } else {
            Err(AppError::unauthorized(
                ErrorCode::CaptchaFailed,
                "the CAPTCHA answer was not accepted",
            ))
        }
    }

    /// Counts a failed attempt; past the threshold the account locks, each lock twice as
    /// long as the one before.
    pub(crate) async fn record_failure(
        &self,
        user: &users::Model,
        meta: &RequestMeta,
        reason: &str,
    ) -> AppResult<()> {
        let auth = &self.config().auth;
        let txn = self.begin().await?;
        // Re-read inside the transaction: concurrent failures must all count.
        let Some(current) = store::find_user(&txn, user.id).await? else {
            return Ok(());
        };
        let failures = current.failed_logins + 1;
        let mut active = current.clone().into_active_model();
        if failures >= auth.lockout_after.max(1) as i32 {
            let factor = 1i64 << current.lockouts.clamp(0, 10);
            let until = Utc::now() + ChronoDuration::seconds(auth.lockout_secs as i64 * factor);
            active.locked_until = Set(Some(until));
            active.lockouts = Set(current.lockouts + 1);
            active.failed_logins = Set(0);
            audit::record(
                &txn,
                entry(current.id, "auth.locked", meta, json!({"until": until})),
            )
            .await?;
        } else {
            active.failed_logins = Set(failures);
        }
        store::update_user(&txn, active).await?;
        audit::record(
            &txn,
            entry(
                current.id,
                "auth.login_failed",
                meta,
                json!({"reason": reason}),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Completes a login with a TOTP code or a recovery code.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<TokenPair> {
        self.limit_ip(meta)?;
        let now = Utc::now();
        let hash = token_hash(mfa_token);
        // Peek first so that a wrong code does not burn the token.
        let token = store::peek_one_time_token(self.db().writer(), &hash, purpose::MFA, now)
            .await?
            .ok_or_else(|| {
                AppError::unauthorized(
                    ErrorCode::InvalidMfaToken,
                    "the MFA token is invalid or expired",
                )
            })?;
        self.limits().check_account(&token.user_id.to_string())?;
        let user = store::find_user(self.db().writer(), token.user_id)
            .await?
            .ok_or_else(|| {
                AppError::unauthorized(
                    ErrorCode::InvalidMfaToken,
                    "the MFA token is invalid or expired",
                )
            })?;
        if user.status == status::SUSPENDED {
            return Err(AppError::forbidden("this account is suspended"));
        }
        let txn = self.begin().await?;
        let accepted = match (code, recovery_code) {
            (Some(code), _) => {
                let seed = self.totp_seed(&user)?;
                match totp::accept(&seed, code, now.timestamp() as u64, user.totp_last_step) {
                    Some(step) => store::advance_totp_step(&txn, user.id, step).await?,
                    None => false,
                }
            }
            (None, Some(recovery)) => {
                let hash = token_hash(&totp::normalise_recovery_code(recovery));
                let used = store::use_recovery_code(&txn, user.id, &hash, now).await?;
                if used {
                    audit::record(
                        &txn,
                        entry(user.id, "auth.recovery_code_used", meta, json!({})),
                    )
                    .await?;
                }
                used
            }
            (None, None) => {
                return Err(AppError::Validation(vec![FieldError::new(
                    "code",
                    "give either code or recovery_code",
                )]));
            }
        };
        if !accepted {
            drop(txn);
            self.record_failure(&user, meta, "wrong_mfa_code").await?;
            return Err(AppError::unauthorized(
                ErrorCode::InvalidMfaCode,
                "the code is wrong or was already used",
            ));
        }
        if store::consume_one_time_token(&txn, &hash, purpose::MFA, now)
            .await?
            .is_none()
        {
            return Err(AppError::unauthorized(
                ErrorCode::InvalidMfaToken,
                "the MFA token is invalid or expired",
            ));
        }
        let mut active = user.clone().into_active_model();
        active.last_login_at = Set(Some(now));
        active.failed_logins = Set(0);
        let user = store::update_user(&txn, active).await?;
        let pair = self.issue_tokens(&txn, &user, None, meta).await?;
        audit::record(
            &txn,
            entry(user.id, "auth.login", meta, json!({"mfa": true})),
        )
        .await?;
        txn.commit().await?;
        Ok(pair)
    }

    /// Issues an access token and a new refresh token (in `family`, or a new family).
    pub(crate) async fn issue_tokens(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
        family: Option<Uuid>,
        meta: &RequestMeta,
    ) -> AppResult<TokenPair> {
        let now = Utc::now();
        let refresh = random_token(32);
        store::insert_refresh_token(
            txn,
            refresh_tokens::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user.id),
                family_id: Set(family.unwrap_or_else(Uuid::now_v7)),
                token_hash: Set(token_hash(&refresh)),
                created_at: Set(now),
                expires_at: Set(
                    now + ChronoDuration::days(self.config().auth.refresh_ttl_days as i64)
                ),
                rotated_at: Set(None),
                revoked_at: Set(None),
                ip: Set(meta.ip.clone()),
                user_agent: Set(meta
                    .user_agent
                    .as_ref()
                    .map(|ua| ua.chars().take(300).collect())),
            },
        )
        .await?;
        let access = self.keys().issue(
            user.id,
            user_role(user),
            user_permissions(user),
            user.token_version,
        )?;
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            expires_in: self.keys().access_ttl_secs,
        })
    }

    /// Issues a fresh session (a new refresh-token family) for `user`.
    pub(crate) async fn issue_tokens_in(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
        meta: &RequestMeta,
    ) -> AppResult<TokenPair> {
        self.issue_tokens(txn, user, None, meta).await
    }

    /// Rotates a refresh token. Presenting one that was already rotated or revoked is
    /// taken as theft: the whole family is revoked.
    pub async fn refresh(&self, refresh_token: &str, meta: &RequestMeta) -> AppResult<TokenPair> {
        self.limit_ip(meta)?;
        let now = Utc::now();
        let invalid = || {
            AppError::unauthorized(
                ErrorCode::InvalidRefreshToken,
                "the refresh token is invalid or expired",
            )
        };
        let txn = self.begin().await?;
        let token = store::find_refresh_token(&txn, &token_hash(refresh_token))
            .await?
            .ok_or_else(invalid)?;
        if token.revoked_at.is_some() || token.rotated_at.is_some() {
            let revoked = store::revoke_family(&txn, token.family_id, now).await?;
            audit::record(
                &txn,
                entry(
                    token.user_id,
                    "auth.refresh_reuse",
                    meta,
                    json!({"family": token.family_id, "revoked": revoked}),
                ),
            )
            .await?;
            txn.commit().await?;
            return Err(AppError::unauthorized(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used; every session of its family is signed out",
            ));
        }
        if token.expires_at <= now {
            return Err(invalid());
        }
        let user = store::find_user(&txn, token.user_id)
            .await?
            .ok_or_else(invalid)?;
        if user.status == status::SUSPENDED {
            return Err(AppError::forbidden("this account is suspended"));
        }
        if !store::rotate_refresh_token(&txn, token.id, now).await? {
            return Err(invalid());
        }
        let pair = self
            .issue_tokens(&txn, &user, Some(token.family_id), meta)
            .await?;
        txn.commit().await?;
        Ok(pair)
    }

    /// Revokes the refresh token's family (this session). Unknown tokens are ignored.
    pub async fn logout(&self, refresh_token: &str, meta: &RequestMeta) -> AppResult<()> {
        let txn = self.begin().await?;
        if let Some(token) = store::find_refresh_token(&txn, &token_hash(refresh_token)).await? {
            store::revoke_family(&txn, token.family_id, Utc::now()).await?;
            audit::record(&txn, entry(token.user_id, "auth.logout", meta, json!({}))).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Marks the email verified with an emailed token.
    pub async fn verify_email(&self, token: &str, meta: &RequestMeta) -> AppResult<users::Model> {
        self.limit_ip(meta)?;
        let now = Utc::now();
        let txn = self.begin().await?;
        let user = redeem_link(&txn, &token_hash(token), purpose::VERIFY_EMAIL, now).await?;
        let mut active = user.clone().into_active_model();
        active.email_verified_at = Set(Some(now));
        active.updated_at = Set(now);
        let user = store::update_user(&txn, active).await?;
        audit::record(&txn, entry(user.id, "auth.email_verified", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Emails a reset link if the account exists; answers the same either way.
    pub async fn forgot_password(&self, email: &str, meta: &RequestMeta) -> AppResult<()> {
        self.limit_ip(meta)?;
        let Ok(email) = Email::parse(email) else {
            return Err(AppError::invalid("email", "must be a valid email address"));
        };
        self.limits().check_account(&format!("reset:{email}"))?;
        let Some(user) = store::find_user_by_email(self.db().writer(), email.as_str()).await?
        else {
            return Ok(());
        };
        let txn = self.begin().await?;
        self.send_reset_in(&txn, &user).await?;
        audit::record(
            &txn,
            entry(user.id, "auth.password_reset_requested", meta, json!({})),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub(crate) async fn send_reset_in(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
    ) -> AppResult<()> {
        let minutes = self.config().auth.reset_ttl_minutes;
        store::retire_one_time_tokens(txn, user.id, purpose::PASSWORD_RESET, Utc::now()).await?;
        self.email_token_link(
            txn,
            user,
            purpose::PASSWORD_RESET,
            ChronoDuration::minutes(minutes as i64),
            ("reset-password", "password_reset"),
            json!({"minutes": minutes}),
        )
        .await
    }

    /// Sets a new password with an emailed token and signs out every session.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.limit_ip(meta)?;
        let now = Utc::now();
        let hash_of_token = token_hash(token);
        let peek = match store::peek_one_time_token(
            self.db().writer(),
            &hash_of_token,
            purpose::PASSWORD_RESET,
            now,
        )
        .await?
        {
            Some(token) => store::find_user(self.db().writer(), token.user_id).await?,
            None => None,
        };
        if let Some(user) = &peek {
            let email = Email::parse(&user.email).ok();
            model::check_password(password, email.as_ref(), "password")
                .map_err(|e| AppError::Validation(vec![e]))?;
        } else {
            model::check_password(password, None, "password")
                .map_err(|e| AppError::Validation(vec![e]))?;
        }
        let new_hash = self.hasher().hash(password).await?;
        let txn = self.begin().await?;
        let user = redeem_link(&txn, &hash_of_token, purpose::PASSWORD_RESET, now).await?;
        let mut active = user.clone().into_active_model();
        active.password_hash = Set(Some(new_hash));
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        // Following the emailed link proves the address.
        if user.email_verified_at.is_none() {
            active.email_verified_at = Set(Some(now));
        }
        active.updated_at = Set(now);
        let user = store::update_user(&txn, active).await?;
        store::revoke_user_sessions(&txn, user.id, now).await?;
        queue_password_changed(&txn, &user).await?;
        audit::record(&txn, entry(user.id, "auth.password_reset", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(())
    }

    fn totp_seed(&self, user: &users::Model) -> AppResult<Vec<u8>> {
        let sealed = user.totp_secret.as_deref().ok_or_else(|| {
            AppError::conflict(
                ErrorCode::MfaNotSetUp,
                "two-factor authentication is not set up",
            )
        })?;
        self.master()
            .decrypt(sealed)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot open TOTP seed: {e}")))
    }

    /// Starts TOTP setup: a new seed, stored sealed but not yet enabled.
    pub async fn totp_setup(
        &self,
        user_id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<(String, String)> {
        let txn = self.begin().await?;
        let user = store::find_user(&txn, user_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        if user.totp_enabled_at.is_some() {
            return Err(AppError::conflict(
                ErrorCode::MfaAlreadyEnabled,
                "two-factor authentication is already on; disable it first",
            ));
        }
        let seed = totp::new_seed();
        let issuer = self.issuer();
        let (secret, url) = totp::provisioning(&seed, &issuer, &user.email)?;
        let mut active = user.clone().into_active_model();
        active.totp_secret = Set(Some(self.master().encrypt(&seed)));
        active.totp_last_step = Set(None);
        active.updated_at = Set(Utc::now());
        store::update_user(&txn, active).await?;
        audit::record(&txn, entry(user.id, "mfa.setup_started", meta, json!({}))).await?;
        txn.commit().await?;
        Ok((secret, url))
    }

    /// Enables TOTP after the first valid code; returns the recovery codes (shown once).
    pub async fn totp_enable(
        &self,
        user_id: Uuid,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<Vec<String>> {
        self.limits().check_account(&user_id.to_string())?;
        let now = Utc::now();
        let txn = self.begin().await?;
        let user = store::find_user(&txn, user_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        if user.totp_enabled_at.is_some() {
            return Err(AppError::conflict(
                ErrorCode::MfaAlreadyEnabled,
                "two-factor authentication is already on",
            ));
        }
        let seed = self.totp_seed(&user)?;
        let step = totp::accept(&seed, code, now.timestamp() as u64, user.totp_last_step)
            .ok_or_else(|| AppError::invalid("code", "the code is wrong or expired"))?;
        let codes = totp::recovery_codes();
        let hashes = codes
            .iter()
            .map(|c| token_hash(&totp::normalise_recovery_code(c)))
            .collect();
        store::replace_recovery_codes(&txn, user.id, hashes).await?;
        let mut active = user.clone().into_active_model();
        active.totp_enabled_at = Set(Some(now));
        active.totp_last_step = Set(Some(step));
        active.updated_at = Set(now);
        store::update_user(&txn, active).await?;
        audit::record(&txn, entry(user.id, "mfa.enabled", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(codes)
    }

    /// Turns TOTP off; needs a current code (or a recovery code).
    pub async fn totp_disable(
        &self,
        user_id: Uuid,
        code: Option<&str>,
        recovery_code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.limits().check_account(&user_id.to_string())?;
        let now = Utc::now();
        let txn = self.begin().await?;
        let user = store::find_user(&txn, user_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?;
        if user.totp_enabled_at.is_none() {
            return Err(AppError::conflict(
                ErrorCode::MfaNotEnabled,
                "two-factor authentication is off",
            ));
        }
        let ok = match (code, recovery_code) {
            (Some(code), _) => {
                let seed = self.totp_seed(&user)?;
                match totp::accept(&seed, code, now.timestamp() as u64, user.totp_last_step) {
                    Some(step) => store::advance_totp_step(&txn, user.id, step).await?,
                    None => false,
                }
            }
            (None, Some(recovery)) => {
                store::use_recovery_code(
                    &txn,
                    user.id,
                    &token_hash(&totp::normalise_recovery_code(recovery)),
                    now,
                )
                .await?
            }
            (None, None) => {
                return Err(AppError::invalid(
                    "code",
                    "give either code or recovery_code",
                ));
            }
        };
        if !ok {
            return Err(AppError::invalid(
                "code",
                "the code is wrong or was already used",
            ));
        }
        let mut active = store::find_user(&txn, user_id)
            .await?
            .ok_or_else(|| AppError::not_found("no such user"))?
            .into_active_model();
        active.totp_secret = Set(None);
        active.totp_enabled_at = Set(None);
        active.totp_last_step = Set(None);
        active.updated_at = Set(now);
        store::update_user(&txn, active).await?;
        store::replace_recovery_codes(&txn, user.id, Vec::new()).await?;
        audit::record(&txn, entry(user.id, "mfa.disabled", meta, json!({}))).await?;
        txn.commit().await?;
        Ok(())
    }

    fn issuer(&self) -> String {
        let from = &self.config().mail_from;
        match from.split_once('<') {
            Some((name, _)) if !name.trim().is_empty() => name.trim().trim_matches('"').to_string(),
            _ => "Emporium".into(),
        }
    }

    pub(crate) fn limit_ip(&self, meta: &RequestMeta) -> AppResult<()> {
        self.limits()
            .check_ip(meta.ip.as_deref().unwrap_or("unknown"))
    }

    async fn audit_user(
        &self,
        user: &users::Model,
        action: &str,
        meta: &RequestMeta,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        audit::record(self.db().writer(), entry(user.id, action, meta, detail)).await?;
        Ok(())
    }

    async fn audit_anonymous(
        &self,
        action: &str,
        meta: &RequestMeta,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        audit::record(
            self.db().writer(),
            AuditEntry {
                action,
                ip: meta.ip.clone(),
                detail,
                ..AuditEntry::default()
            },
        )
        .await?;
        Ok(())
    }
}

/// Uses up an emailed link's token of `purpose` and answers its user.
pub(crate) async fn redeem_link(
    txn: &DatabaseTransaction,
    hash: &str,
    purpose: &str,
    now: chrono::DateTime<Utc>,
) -> AppResult<users::Model> {
    let invalid = || {
        AppError::bad_request(
            ErrorCode::InvalidToken,
            "the link is invalid, used or expired",
        )
    };
    let token = store::consume_one_time_token(txn, hash, purpose, now)
        .await?
        .ok_or_else(invalid)?;
    store::find_user(txn, token.user_id)
        .await?
        .ok_or_else(invalid)
}

/// A new user row with the given facts and everything else at its initial value.
pub(crate) fn new_user_row(
    email: &Email,
    hash: Option<String>,
    name: Option<&str>,
    role: Role,
) -> users::ActiveModel {
    let now = Utc::now();
    users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_string()),
        name: Set(name.map(str::to_string)),
        phone: Set(None),
        password_hash: Set(hash),
        email_verified_at: Set(None),
        role: Set(role.as_str().to_string()),
        permissions: Set("[]".into()),
        status: Set(status::ACTIVE.into()),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_last_step: Set(None),
        failed_logins: Set(0),
        lockouts: Set(0),
        locked_until: Set(None),
        token_version: Set(0),
        last_login_at: Set(None),
        pending_email: Set(None),
        language: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Tells the account's address that its password changed (a reset or a change).
pub(crate) async fn queue_password_changed(
    txn: &DatabaseTransaction,
    user: &users::Model,
) -> AppResult<()> {
    enqueue_email(
        txn,
        &EmailJob {
            to: user.email.clone(),
            template: "password_changed".into(),
            context: json!({"name": user.name}),
            lang: user.language.clone(),
            thread: None,
        },
    )
    .await?;
    Ok(())
}

/// An audit entry about the user `user` acting on their own account.
pub(crate) fn entry<'a>(
    user: Uuid,
    action: &'a str,
    meta: &RequestMeta,
    detail: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry {
        actor: Some(user),
        action,
        target_type: Some("user"),
        target_id: Some(user.to_string()),
        ip: meta.ip.clone(),
        detail,
    }
}

impl Accounts {
    /// Changes name, phone or language; an empty string clears the field.
    pub async fn update_profile(
        &self,
        user_id: Uuid,
        name: Option<&str>,
        phone: Option<&str>,
        language: Option<&str>,
    ) -> AppResult<users::Model> {
        let mut errors = Vec::new();
        let offered = &self.config().store.languages;
        let language = language.map(|l| {
            offered
                .iter()
                .find(|o| o.eq_ignore_ascii_case(l.trim()))
                .cloned()
                .ok_or(l)
        });
        if let Some(Err(asked)) = &language
            && !asked.trim().is_empty()
        {
            errors.push(FieldError::new(
                "language",
                format!(
                    "must be one of this shop's languages: {}",
                    offered.join(", ")
                ),
            ));
        }
        if name.is_some_and(|n| n.trim().chars().count() > 200) {
            errors.push(FieldError::new("name", "must be at most 200 characters"));
        }
        if let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty())
            && let Err(e) = crate::routes::check_phone(phone)
        {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.begin().await?;
        let user = store::find_user(&txn, user_id)
            .await?
            .filter(|u| u.status == status::ACTIVE)
            .ok_or_else(|| {
                AppError::unauthorized(
                    ErrorCode::InvalidToken,
                    "the access token is invalid or expired",
                )
            })?;
        let mut active = user.into_active_model();
        if let Some(name) = name {
            active.name = Set(Some(name.trim().to_string()).filter(|n| !n.is_empty()));
        }
        if let Some(phone) = phone {
            active.phone = Set(Some(phone.trim().to_string()).filter(|p| !p.is_empty()));
        }
        if let Some(language) = language {
            active.language = Set(language.ok());
        }
        active.updated_at = Set(Utc::now());
        let user = store::update_user(&txn, active).await?;
        txn.commit().await?;
        Ok(user)
    }
}
