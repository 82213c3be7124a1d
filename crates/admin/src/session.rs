//! Console sessions. Signing in goes through the accounts service's own login (rate
//! limits, lockout, the second factor), then the console keeps a server-side session
//! instead of the API's token pair: a random cookie (HttpOnly, SameSite=Strict, Secure
//! over TLS, scoped to `/admin`) whose hash names an `admin_sessions` row, signed out after
//! `[admin] idle_timeout_mins` unused. Each request reads the staff member's current role
//! and permissions, so a change of access applies at the next click. Every form carries
//! the session's CSRF token and a post without it is refused.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Utc;
use emporium_auth::Role;
use emporium_core::AppResult;
use emporium_core::crypto::{constant_time_eq, random_token, token_hash};
use emporium_core::extract::ClientInfo;
use emporium_db::entity::admin_sessions;
use emporium_orders::Actor;
use emporium_web::Page;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::menu::{Entry, MENU};
use crate::state::Admin;

/// The session cookie.
pub const COOKIE: &str = "emporium_admin";
/// The sign-in form's CSRF cookie (there is no session yet to hold its token).
pub const SIGN_IN_CSRF: &str = "emporium_admin_signin";

/// A signed-in staff member, as every console page sees them.
#[derive(Debug, Clone)]
pub struct Console {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub permissions: Vec<String>,
    pub csrf: String,
    pub ip: Option<String>,
}

/// A cookie of the console's: scoped to `/admin`, unreadable by scripts, never sent by
/// another site's request.
pub(crate) fn cookie(admin: &Admin, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(admin.secure_cookies())
        .build()
}

/// Where to go after signing in: only a console path, so the parameter cannot send a
/// staff member to another site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/admin".to_string(),
    }
}

fn sign_in_redirect(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/admin");
    let query = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    Redirect::to(&format!("/admin/sign-in?{query}")).into_response()
}

impl Console {
    /// Whether this staff member holds `permission`.
    pub fn may(&self, permission: &str) -> bool {
        emporium_auth::allows(self.role, &self.permissions, permission)
    }

    /// The menu entries this staff member may open.
    pub fn menu(&self) -> Vec<Entry> {
        MENU.iter()
            .filter(|e| e.permission.is_none_or(|p| self.may(p)))
            .copied()
            .collect()
    }

    /// 403 with the console's page unless this staff member holds `permission`.
    pub fn require(&self, admin: &Admin, permission: &str) -> Result<(), Page> {
        if self.may(permission) {
            return Ok(());
        }
        Err(admin.render(
            StatusCode::FORBIDDEN,
            "message.html",
            self.context(
                "",
                json!({"title": "Not allowed",
                       "message": format!("This page needs the {permission} permission. Ask an administrator for it.")}),
            ),
        ))
    }

    /// 403 unless `token` is this session's CSRF token.
    pub fn check_csrf(&self, admin: &Admin, token: &str) -> Result<(), Page> {
        if !token.is_empty() && constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) {
            return Ok(());
        }
        tracing::warn!(user_id = %self.user_id, "console form refused: missing or wrong CSRF token");
        Err(admin.render(
            StatusCode::FORBIDDEN,
            "message.html",
            self.context(
                "",
                json!({"title": "Form expired",
                       "message": "This form was not sent from this session. Go back, reload the page and try again."}),
            ),
        ))
    }

    /// Records a console change in the audit log, for the changes whose service does not
    /// audit them itself (the API's are recorded by the server's admin-write layer).
    pub async fn audit(
        &self,
        admin: &Admin,
        action: &str,
        target: (&str, String),
        detail: Value,
    ) -> AppResult<()> {
        emporium_core::audit::record(
            admin.db.writer(),
            emporium_core::audit::AuditEntry {
                actor: Some(self.user_id),
                action,
                target_type: Some(target.0),
                target_id: Some(target.1),
                ip: self.ip.clone(),
                detail,
            },
        )
        .await?;
        Ok(())
    }

    /// What every console form post checks first: the permission, then the form's CSRF
    /// token (its `csrf` field).
    pub fn authorize_form(
        &self,
        admin: &Admin,
        permission: &str,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<(), Page> {
        self.require(admin, permission)?;
        self.check_csrf(admin, form.get("csrf").map(String::as_str).unwrap_or(""))
    }

    /// This staff member as the actor of a change (audited with their address).
    pub fn actor(&self) -> Actor {
        Actor::staff(self.user_id, self.ip.clone())
    }

    /// What every console page's layout needs, merged with the page's own `extra`.
    pub fn context(&self, current: &str, extra: Value) -> Value {
        let mut context = json!({
            "me": {"email": self.email, "role": self.role.as_str()},
            "menu": self.menu(),
            "current": current,
            "csrf": self.csrf,
        });
        if let (Some(base), Value::Object(extra)) = (context.as_object_mut(), extra) {
            base.extend(extra);
        }
        context
    }
}

impl<S> FromRequestParts<S> for Console
where
    Admin: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let admin = Admin::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
            return Err(sign_in_redirect(parts));
        };
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        match load(&admin, &token).await {
            Ok(Some((row, access))) => Ok(Self {
                user_id: row.user_id,
                email: access.email,
                role: access.role,
                permissions: access.permissions,
                csrf: row.csrf,
                ip: client.ip,
            }),
            Ok(None) => Err(sign_in_redirect(parts)),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// The session named by `token`, if it is live and its user is still active staff.
async fn load(
    admin: &Admin,
    token: &str,
) -> AppResult<Option<(admin_sessions::Model, emporium_auth::Access)>> {
    let conn = admin.db.writer();
    let hash = token_hash(token);
    let Some(row) = admin_sessions::Entity::find_by_id(hash.clone())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle = chrono::Duration::minutes(admin.config.admin.idle_timeout_mins.max(1) as i64);
    let access = admin.auth.directory().access(row.user_id).await?;
    let access = match access {
        Some(a) if a.active && a.role != Role::Customer && now - row.last_seen_at <= idle => a,
        _ => {
            admin_sessions::Entity::delete_by_id(hash)
                .exec(conn)
                .await?;
            return Ok(None);
        }
    };
    // A write per click would queue behind checkouts on SQLite's one writer; a minute's
    // precision is plenty for an idle timeout counted in tens of minutes.
    if now - row.last_seen_at > chrono::Duration::seconds(60) {
        admin_sessions::Entity::update_many()
            .col_expr(admin_sessions::Column::LastSeenAt, Expr::value(now))
            .filter(admin_sessions::Column::TokenHash.eq(hash))
            .exec(conn)
            .await?;
    }
    Ok(Some((row, access)))
}

/// Opens a session for `user_id`; answers the cookie's secret.
pub(crate) async fn open(admin: &Admin, user_id: Uuid, client: &ClientInfo) -> AppResult<String> {
    let token = random_token(32);
    let now = Utc::now();
    admin_sessions::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id),
        csrf: Set(random_token(32)),
        ip: Set(client.ip.clone()),
        user_agent: Set(client
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(256).collect())),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(admin.db.writer())
    .await?;
    Ok(token)
}

/// Ends the session named by `token`.
pub(crate) async fn close(admin: &Admin, token: &str) -> AppResult<()> {
    admin_sessions::Entity::delete_by_id(token_hash(token))
        .exec(admin.db.writer())
        .await?;
    Ok(())
}
