//! Accounts and access: registration, sessions (JWT access tokens, rotating refresh
//! tokens with theft detection), email verification and password reset, TOTP two-factor,
//! roles and permissions, admin user management, abuse protection and the audit log.
//!
//! Owns the `users`, `refresh_tokens`, `one_time_tokens`, `recovery_codes`,
//! `customer_addresses` (the address book, `/me/addresses`) and `api_keys` (integrations'
//! credentials for the admin API, `/admin/api-keys`) tables.
//! Events: publishes `customer.created`.
//! May call: `core`, `db`, `auth` (token keys, roles, the extractors) and `notify`.
//! Implements `auth`'s [`AccessDirectory`](emporium_auth::AccessDirectory) as
//! [`UserDirectory`], and core's [`SavedAddresses`](emporium_core::address::SavedAddresses)
//! (checkout takes a saved address by id), so no other domain depends on this crate.

mod account_changes;
mod address_book;
mod admin;
mod api_keys;
mod audit_log;
mod directory;
mod limits;
pub mod model;
mod oauth;
mod password;
mod routes;
mod service;
mod state;
mod store;
mod totp;
mod views;

pub use address_book::{AddressBody, SavedAddressView};
pub use admin::{AdminCreated, UserChanges};
pub use api_keys::{ApiKeyBody, ApiKeyView, CreatedApiKeyView, KeyMaker};
pub use audit_log::{AuditEntryView, AuditFilter, AuditPageView};
pub use directory::UserDirectory;
pub use routes::router;
pub use service::{LoginOutcome, NewUser, RequestMeta, TokenPair};
pub use state::Accounts;
