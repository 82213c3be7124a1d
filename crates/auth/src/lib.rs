//! Authentication and authorization shared by every domain's routes.
//!
//! Owns: access tokens (short-lived HS256 JWTs: [`Claims`], [`TokenKeys`]), [`Role`] and the
//! named permissions, and the extractors [`Principal`] (any signed-in user) and
//! [`Staff<P>`](Staff) (a staff member holding permission `P`).
//!
//! May call: `core` only. It reads no table: who a user is now (active or suspended, token
//! version, role, permissions, email) comes through the [`AccessDirectory`] trait, which the
//! `accounts` crate implements over its own `users` table and `server` plugs in. That keeps
//! every domain's routes independent of `accounts`, so an edit there rebuilds only
//! `accounts` and the crates that assemble the binary.
//!
//! Events: publishes none, consumes none.

mod extract;
mod role;
mod state;
mod tokens;

pub use extract::{API_KEY_PREFIX, Permission, Principal, Staff, api_key_access, perm};
pub use role::{PERMISSIONS, Role, allows};
pub use state::{Access, AccessDirectory, Auth, KeyAccess};
pub use tokens::{Claims, TokenKeys};
