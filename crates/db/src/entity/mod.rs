//! sea-orm entities, one module per table. Each domain's `store` is the only code that
//! queries its own tables.

pub mod audit_log;
pub mod oauth_identities;
pub mod oauth_states;
pub mod one_time_tokens;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod users;
