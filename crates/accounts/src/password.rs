//! Argon2id password hashing. Hashes are PHC strings carrying their own salt and
//! parameters, so raising the cost later only needs a rehash at the next login.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use emporium_core::config::AuthConfig;

/// Hashes and verifies passwords with the configured Argon2id parameters. Hashing runs
/// on the blocking pool: it is deliberately slow and must not stall the async workers.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified against when the email is unknown so that
    /// unknown emails and wrong passwords take the same time.
    decoy: String,
}

impl PasswordHasher {
    pub fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("configuration error: auth.argon2_*: {e}"))?;
        let decoy = hash_with(&params, &emporium_core::crypto::random_token(16))?;
        Ok(Self { params, decoy })
    }

    fn argon(params: &Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// Whether `password` matches `hash`, and whether the hash should be redone with the
    /// current parameters. With no hash (unknown user, social-only account) it spends the
    /// same time on a decoy and answers no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Verdict {
        let (hash, real) = match hash {
            Some(h) => (h.to_string(), true),
            None => (self.decoy.clone(), false),
        };
        let password = password.to_string();
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Verdict::default();
            };
            let ok = Self::argon(&params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            let stale = Params::try_from(&parsed).map_or(true, |p| {
                p.m_cost() != params.m_cost()
                    || p.t_cost() != params.t_cost()
                    || p.p_cost() != params.p_cost()
            }) || parsed.algorithm.as_str() != "argon2id";
            Verdict {
                ok: ok && real,
                needs_rehash: ok && real && stale,
            }
        })
        .await
        .unwrap_or_default()
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verdict {
    pub ok: bool,
    pub needs_rehash: bool,
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    PasswordHasher::argon(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(memory: u32) -> AuthConfig {
        AuthConfig {
            argon2_memory_kib: memory,
            argon2_iterations: 1,
            ..AuthConfig::default()
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_report_stale_parameters() {
        let old = PasswordHasher::new(&cheap(1024)).expect("hasher");
        let hash = old.hash("correct horse battery").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(old.verify("correct horse battery", Some(&hash)).await.ok);
        assert!(!old.verify("wrong horse battery", Some(&hash)).await.ok);
        assert!(!old.verify("correct horse battery", None).await.ok);

        let new = PasswordHasher::new(&cheap(2048)).expect("hasher");
        let verdict = new.verify("correct horse battery", Some(&hash)).await;
        assert!(verdict.ok && verdict.needs_rehash);
    }
}
