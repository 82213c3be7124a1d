//! The auth state every domain's extractors reach through `FromRef`: the token keys and
//! the directory that says who a user is right now.

use emporium_core::{AppResult, Config};
use std::sync::Arc;
use uuid::Uuid;

use crate::role::Role;
use crate::tokens::TokenKeys;

/// A user as they stand now, read on every authenticated request so that a suspension,
/// a role change or a revoked session takes effect at once rather than at token expiry.
#[derive(Debug, Clone)]
pub struct Access {
    pub active: bool,
    /// Bumped whenever the user's sessions are revoked (suspension, role change, password
    /// change); tokens issued under an older version stop working.
    pub token_version: i32,
    pub role: Role,
    pub permissions: Vec<String>,
    pub email: String,
    pub email_verified: bool,
}

/// An API key as it stands now: what it may do, read on every call so that a revocation
/// takes effect at once on every node.
#[derive(Debug, Clone)]
pub struct KeyAccess {
    pub key_id: Uuid,
    pub name: String,
    /// The staff member who made it; the key acts on their behalf and never beyond them.
    pub created_by: Uuid,
    /// The key's permissions that its creator still holds.
    pub permissions: Vec<String>,
}

/// Looks users and API keys up for the extractors. Implemented by `accounts` over its
/// own tables.
#[async_trait::async_trait]
pub trait AccessDirectory: Send + Sync {
    /// The user's current access, or `None` if there is no such user.
    async fn access(&self, user_id: Uuid) -> AppResult<Option<Access>>;

    /// The access of API key `key` (`emp_...`), or `None` when it is unknown, revoked,
    /// expired, or its creator can no longer act.
    async fn api_key(&self, key: &str) -> AppResult<Option<KeyAccess>>;
}

/// Token keys plus the access directory. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    keys: TokenKeys,
    directory: Arc<dyn AccessDirectory>,
}

impl Auth {
    /// Loads the signing key from `config` (or the data dir) and uses `directory` for users.
    pub fn new(config: &Config, directory: Arc<dyn AccessDirectory>) -> anyhow::Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                keys: TokenKeys::from_config(config)?,
                directory,
            }),
        })
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.inner.keys
    }

    pub fn directory(&self) -> &dyn AccessDirectory {
        self.inner.directory.as_ref()
    }
}
