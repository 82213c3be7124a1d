//! Authentication as extractors: [`Principal`] for any signed-in user, [`Staff`] for
//! admin routes, checking a named permission against the stored user on every request.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use emporium_core::AppError;
use std::marker::PhantomData;
use uuid::Uuid;

use crate::model::{self, Role, status};
use crate::state::Accounts;
use crate::store;
use crate::tokens::Claims;

/// A signed-in user, from a valid access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub claims: Claims,
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
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let accounts = Accounts::from_ref(state);
        let token = bearer(parts).ok_or_else(|| {
            AppError::unauthorized(
                "unauthenticated",
                "sign in: send Authorization: Bearer <access token>",
            )
        })?;
        let claims = accounts.keys().verify(token).ok_or_else(|| {
            AppError::unauthorized("invalid_token", "the access token is invalid or expired")
        })?;
        Ok(Self {
            user_id: claims.sub,
            role: claims.role,
            claims,
        })
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
        SettingsManage => "settings.manage",
    }
}

/// A staff member or admin holding permission `P`. The stored user is checked on every
/// request, so suspension and permission changes take effect at once, not at token expiry.
pub struct Staff<P: Permission> {
    pub user_id: Uuid,
    pub role: Role,
    _permission: PhantomData<P>,
}

impl<S, P> FromRequestParts<S> for Staff<P>
where
    Accounts: FromRef<S>,
    S: Send + Sync,
    P: Permission,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let denied = || AppError::forbidden(format!("this needs the {} permission", P::NAME));
        if principal.role == Role::Customer {
            return Err(denied());
        }
        let accounts = Accounts::from_ref(state);
        let user = store::find_user(accounts.db().writer(), principal.user_id)
            .await?
            .ok_or_else(|| {
                AppError::unauthorized("invalid_token", "the access token is invalid or expired")
            })?;
        if user.status != status::ACTIVE || user.token_version != principal.claims.ver {
            return Err(AppError::unauthorized(
                "stale_token",
                "your access changed since this token was issued; refresh it",
            ));
        }
        let role = Role::parse(&user.role).unwrap_or(Role::Customer);
        let granted: Vec<String> = serde_json::from_str(&user.permissions).unwrap_or_default();
        if !model::allows(role, &granted, P::NAME) {
            return Err(denied());
        }
        Ok(Self {
            user_id: user.id,
            role,
            _permission: PhantomData,
        })
    }
}
