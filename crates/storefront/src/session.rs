//! A shopper signed in to the storefront. Signing in goes through the accounts service's
//! own login (rate limits, lockout, the second factor); the shop then keeps a server-side
//! session instead of the API's token pair: a random cookie (`emporium_session`,
//! HttpOnly, SameSite=Lax, Secure over TLS) whose hash names a `shop_sessions` row. Each
//! request checks the account: a suspended account, or one whose sessions were revoked
//! since (a password change bumps its token version), is signed out at once. A session
//! unused for 30 days ends. Form posts are refused when they come from another site
//! (`cart::cross_site`), which, with SameSite=Lax, stands in for a CSRF token.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::Utc;
use emporium_core::AppResult;
use emporium_core::crypto::{random_token, token_hash};
use emporium_db::entity::shop_sessions;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::state::Storefront;

pub(crate) const COOKIE: &str = "emporium_session";
const IDLE_DAYS: i64 = 30;

/// The signed-in shopper.
#[derive(Debug, Clone)]
pub(crate) struct Shopper {
    pub user_id: Uuid,
    pub email: String,
    pub email_verified: bool,
}

pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl Storefront {
    /// The shopper this request's session cookie names, if it is live.
    pub(crate) async fn shopper(&self, headers: &HeaderMap) -> Option<Shopper> {
        let token = cookie_value(headers, COOKIE)?;
        match self.load_session(&token).await {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "reading a shop session");
                None
            }
        }
    }

    async fn load_session(&self, token: &str) -> AppResult<Option<Shopper>> {
        let conn = self.db.writer();
        let hash = token_hash(token);
        let Some(row) = shop_sessions::Entity::find_by_id(hash.clone())
            .one(conn)
            .await?
        else {
            return Ok(None);
        };
        let now = Utc::now();
        let access = self.auth.directory().access(row.user_id).await?;
        let access = match access {
            Some(a)
                if a.active
                    && a.token_version == row.token_version
                    && now - row.last_seen_at <= chrono::Duration::days(IDLE_DAYS) =>
            {
                a
            }
            _ => {
                shop_sessions::Entity::delete_by_id(hash).exec(conn).await?;
                return Ok(None);
            }
        };
        // One write an hour at most: SQLite has one writer, and checkouts need it more.
        if now - row.last_seen_at > chrono::Duration::hours(1) {
            shop_sessions::Entity::update_many()
                .col_expr(shop_sessions::Column::LastSeenAt, Expr::value(now))
                .filter(shop_sessions::Column::TokenHash.eq(hash))
                .exec(conn)
                .await?;
        }
        Ok(Some(Shopper {
            user_id: row.user_id,
            email: access.email,
            email_verified: access.email_verified,
        }))
    }

    /// Opens a session for `user_id`; answers the cookie's secret.
    pub(crate) async fn open_session(&self, user_id: Uuid) -> AppResult<String> {
        let version = self
            .auth
            .directory()
            .access(user_id)
            .await?
            .map(|a| a.token_version)
            .unwrap_or_default();
        let token = random_token(32);
        let now = Utc::now();
        shop_sessions::Entity::insert(shop_sessions::ActiveModel {
            token_hash: Set(token_hash(&token)),
            user_id: Set(user_id),
            token_version: Set(version),
            created_at: Set(now),
            last_seen_at: Set(now),
        })
        .exec_without_returning(self.db.writer())
        .await?;
        Ok(token)
    }

    /// Ends the session this request's cookie names.
    pub(crate) async fn close_session(&self, headers: &HeaderMap) {
        if let Some(token) = cookie_value(headers, COOKIE) {
            let _ = shop_sessions::Entity::delete_by_id(token_hash(&token))
                .exec(self.db.writer())
                .await;
        }
    }

    /// A `Set-Cookie` of the shop's: unreadable by scripts, not sent on other sites' posts.
    pub(crate) fn cookie(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.config.store_url().starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// How long the session cookie lives in the browser.
pub(crate) const MAX_AGE: u64 = IDLE_DAYS as u64 * 86_400;
