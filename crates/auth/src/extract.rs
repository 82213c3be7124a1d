//! Authentication as extractors: [`Principal`] for any signed-in user, [`Staff`] for
//! admin routes. Both check the stored user on every request: a suspended user or a token
//! from before a session revocation is refused at once, on store and admin routes alike.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use emporium_core::AppError;
use emporium_core::error::ErrorCode;
use std::marker::PhantomData;
use uuid::Uuid;

use crate::role::{self, Role};
use crate::state::{Access, Auth, KeyAccess};
use crate::tokens::Claims;

/// How every API key begins, so a bearer token says which kind it is without a lookup.
pub const API_KEY_PREFIX: &str = "emp_";

/// A signed-in, active user, from a valid access token whose session was not revoked.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub email: String,
    /// Whether the user confirmed their email address.
    pub email_verified: bool,
    pub claims: Claims,
    /// The stored user's permissions (empty for customers; admins hold all implicitly).
    pub permissions: Vec<String>,
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl<S> FromRequestParts<S> for Principal
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        let token = bearer(parts).ok_or_else(|| {
            AppError::unauthorized(
                ErrorCode::Unauthenticated,
                "sign in: send Authorization: Bearer <access token>",
            )
        })?;
        if token.starts_with(API_KEY_PREFIX) {
            return Err(AppError::unauthorized(
                ErrorCode::InvalidToken,
                "API keys work on the admin API only; sign in for this route",
            ));
        }
        let claims = auth.keys().verify(token).ok_or_else(|| {
            AppError::unauthorized(
                ErrorCode::InvalidToken,
                "the access token is invalid or expired",
            )
        })?;
        let Access {
            active,
            token_version,
            role,
            permissions,
            email,
            email_verified,
        } = auth.directory().access(claims.sub).await?.ok_or_else(|| {
            AppError::unauthorized(
                ErrorCode::InvalidToken,
                "the access token is invalid or expired",
            )
        })?;
        if !active || token_version != claims.ver {
            return Err(AppError::unauthorized(
                ErrorCode::StaleToken,
                "your access changed since this token was issued; refresh it",
            ));
        }
        Ok(Self {
            user_id: claims.sub,
            role,
            email,
            email_verified,
            claims,
            permissions,
        })
    }
}

/// `Option<Principal>`: `None` without an `Authorization` header (a guest), the user
/// with a valid one, and the same refusal as [`Principal`] for a bad one, so a broken
/// token is never quietly treated as a guest.
impl<S> OptionalFromRequestParts<S> for Principal
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(None);
        }
        <Self as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// A named permission, as a type so that a route states what it needs in its signature.
pub trait Permission {
    const NAME: &'static str;
}

/// Declares permission marker types.
macro_rules! permissions {
    ($($ty:ident => $name:literal),* $(,)?) => {
        $(
            #[doc = concat!("The `", $name, "` permission.")]
            pub struct $ty;
            impl Permission for $ty {
                const NAME: &'static str = $name;
            }
        )*
    };
}

/// Permission markers for admin routes.
pub mod perm {
    use super::Permission;
    permissions! {
        UsersRead => "users.read",
        UsersManage => "users.manage",
        ProductsRead => "products.read",
        ProductsWrite => "products.write",
        OrdersRead => "orders.read",
        OrdersWrite => "orders.write",
        OrdersRefund => "orders.refund",
        InventoryWrite => "inventory.write",
        ReportsRead => "reports.read",
        ReviewsModerate => "reviews.moderate",
        DiscountsWrite => "discounts.write",
        TicketsManage => "tickets.manage",
        SettingsManage => "settings.manage",
        AuditRead => "audit.read",
    }
}

/// A staff member or admin holding permission `P`, or an API key holding it. The stored
/// user (or key) is checked on every request, so suspension, permission changes and
/// revocation take effect at once, not at token expiry.
pub struct Staff<P: Permission> {
    /// The staff member, or for an API key the staff member who made it.
    pub user_id: Uuid,
    pub role: Role,
    pub email: String,
    /// What the caller holds (admins hold everything implicitly).
    pub permissions: Vec<String>,
    /// The API key the call came with, if it came with one.
    pub api_key: Option<Uuid>,
    _permission: PhantomData<P>,
}

/// The API key of a request: the one the server's audit layer already looked up (it puts
/// it in the request's extensions), else looked up now. `None` when the key is unknown,
/// revoked, expired or its creator can no longer act.
pub async fn api_key_access(parts: &Parts, auth: &Auth, key: &str) -> Result<KeyAccess, AppError> {
    let found = match parts.extensions.get::<KeyAccess>() {
        Some(access) => Some(access.clone()),
        None => auth.directory().api_key(key).await?,
    };
    found.ok_or_else(|| {
        AppError::unauthorized(
            ErrorCode::InvalidToken,
            "the API key is invalid, expired or revoked",
        )
    })
}

impl<S, P> FromRequestParts<S> for Staff<P>
where
    Auth: FromRef<S>,
    S: Send + Sync,
    P: Permission,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        if let Some(key) = bearer(parts).filter(|t| t.starts_with(API_KEY_PREFIX)) {
            let key = key.to_owned();
            let access = api_key_access(parts, &auth, &key).await?;
            if !access.permissions.iter().any(|p| p == P::NAME) {
                return Err(AppError::forbidden(format!(
                    "this needs the {} permission, which the API key {:?} does not hold",
                    P::NAME,
                    access.name
                )));
            }
            return Ok(Self {
                user_id: access.created_by,
                role: Role::Staff,
                email: format!("api-key:{}", access.name),
                permissions: access.permissions,
                api_key: Some(access.key_id),
                _permission: PhantomData,
            });
        }
        let principal =
            <Principal as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if !role::allows(principal.role, &principal.permissions, P::NAME) {
            return Err(AppError::forbidden(format!(
                "this needs the {} permission",
                P::NAME
            )));
        }
        Ok(Self {
            user_id: principal.user_id,
            role: principal.role,
            email: principal.email,
            permissions: principal.permissions,
            api_key: None,
            _permission: PhantomData,
        })
    }
}
