//! Access tokens: short-lived HS256 JWTs. Refresh tokens are opaque random strings
//! (see the service), so that they can be revoked and rotated in the database.

use emporium_core::Config;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::role::Role;

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    pub role: Role,
    /// Named permissions (staff only; admins hold all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perms: Vec<String>,
    /// The user's token version when issued; admin routes compare it with the stored one
    /// so that a role change or suspension takes effect at once.
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// The signing key and token lifetime.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_secs: u64,
}

impl TokenKeys {
    /// `jwt_secret` from config, else a key generated into the data dir on first start.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.expose_secret().to_string(),
            None => emporium_core::crypto::load_or_create_key_file(
                &config.data_dir.join("jwt.key"),
                32,
            )?,
        };
        if secret.len() < 32 {
            anyhow::bail!("configuration error: jwt_secret: must be at least 32 characters");
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_ttl_secs: config.auth.access_ttl_secs,
        })
    }

    /// Signs an access token for the given user facts.
    pub fn issue(
        &self,
        sub: Uuid,
        role: Role,
        perms: Vec<String>,
        ver: i32,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub,
            role,
            perms,
            ver,
            iat: now,
            exp: now + self.access_ttl_secs as i64,
            jti: Uuid::now_v7(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks signature and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}
