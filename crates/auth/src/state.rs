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

/// Looks users up for the extractors. Implemented by `accounts` over its own table.
#[async_trait::async_trait]
pub trait AccessDirectory: Send + Sync {
    /// The user's current access, or `None` if there is no such user.
    async fn access(&self, user_id: Uuid) -> AppResult<Option<Access>>;
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
