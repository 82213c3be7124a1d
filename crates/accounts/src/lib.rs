//! Accounts and access: registration, sessions (JWT access tokens, rotating refresh
//! tokens with theft detection), email verification and password reset, TOTP two-factor,
//! roles and permissions, admin user management, abuse protection and the audit log.

mod admin;
pub mod extract;
mod limits;
pub mod model;
mod oauth;
mod password;
mod routes;
mod service;
mod state;
mod store;
mod tokens;
mod totp;
mod views;

pub use admin::UserChanges;
pub use extract::{Permission, Principal, Staff, perm};
pub use routes::router;
pub use service::{LoginOutcome, NewUser, RequestMeta, TokenPair};
pub use state::Accounts;
pub use tokens::Claims;
