//! The access directory `auth`'s extractors use: who a user is right now, read from the
//! `users` table on the primary, so that a suspension is seen by the very next request.

use emporium_auth::{Access, AccessDirectory, KeyAccess, Role};
use emporium_core::AppResult;
use emporium_db::Db;
use uuid::Uuid;

use crate::model::status;
use crate::store;

/// [`AccessDirectory`] over the accounts tables.
pub struct UserDirectory {
    db: Db,
}

impl UserDirectory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl AccessDirectory for UserDirectory {
    async fn access(&self, user_id: Uuid) -> AppResult<Option<Access>> {
        let Some(user) = store::find_user(self.db.writer(), user_id).await? else {
            return Ok(None);
        };
        Ok(Some(Access {
            active: user.status == status::ACTIVE,
            token_version: user.token_version,
            role: Role::parse(&user.role).unwrap_or(Role::Customer),
            permissions: serde_json::from_str(&user.permissions).unwrap_or_default(),
            email_verified: user.email_verified_at.is_some(),
            email: user.email,
        }))
    }

    async fn api_key(&self, key: &str) -> AppResult<Option<KeyAccess>> {
        crate::api_keys::key_access(&self.db, key).await
    }
}
