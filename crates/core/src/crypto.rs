//! Small cryptographic building blocks shared by the domains: random opaque tokens, their
//! stored hashes, constant-time comparison, and encryption of secrets at rest.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

/// A fresh random token of `bytes` random bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The hex SHA-256 of a token: what we store instead of the token itself, so a database
/// leak does not leak usable tokens. Tokens are long and random, so no salt is needed.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 of `message` under `key`, as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `signature` is the hex HMAC-SHA256 of `message` under `secret`, compared in
/// constant time (Razorpay's webhooks and payments, carriers' tracking webhooks).
pub fn verify_hex_hmac(secret: &str, message: &[u8], signature: &str) -> bool {
    let expected = hmac_sha256_hex(secret.as_bytes(), message);
    constant_time_eq(signature.trim().as_bytes(), expected.as_bytes())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// AES-256-GCM with the node's master key, for secrets kept in the database (TOTP seeds,
/// gateway keys). Output is `base64(nonce || ciphertext)`.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// A second key derived from the master key, for [`MasterKey::sign`]: one secret for
    /// the operator to share across nodes, never the same key for two jobs.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A master key that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("EMPORIUM_MASTER_KEY must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("cannot read or create the key file {0}: {1}")]
    File(String, std::io::Error),
    #[error("decryption failed: wrong key or corrupted data")]
    Decrypt,
}

impl MasterKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| KeyError::BadKey)?;
        let mut derive = Sha256::new();
        derive.update(b"emporium signing key v1\0");
        derive.update(bytes);
        Ok(Self {
            cipher,
            mac_key: derive.finalize().into(),
        })
    }

    /// From base64 text (the `EMPORIUM_MASTER_KEY` form).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
            .map_err(|_| KeyError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    /// `EMPORIUM_MASTER_KEY` if set; else a key file in the data dir, created on first use
    /// (with a warning: a cluster must share one key through the environment).
    pub fn load(env_value: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            return Self::from_base64(value);
        }
        let text = load_or_create_key_file(&data_dir.join("master.key"), 32)?;
        Self::from_base64(&text)
    }

    /// A stable signature of `message`: lowercase hex HMAC-SHA256, cut to `hex_len`
    /// characters. The same message gives the same signature on every node sharing the
    /// key, so a link or reply address can be made again later without storing it.
    pub fn sign(&self, message: &[u8], hex_len: usize) -> String {
        let mut full = hmac_sha256_hex(&self.mac_key, message);
        full.truncate(hex_len.min(64));
        full
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and a fresh nonce cannot fail.
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| KeyError::Decrypt)?;
        if bytes.len() < 12 {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KeyError::Decrypt)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| KeyError::Decrypt)
    }
}

/// Reads a base64 key from `path`, or writes a new random one of `bytes` bytes there
/// (readable by the owner only).
pub fn load_or_create_key_file(path: &Path, bytes: usize) -> Result<String, KeyError> {
    let err = |e| KeyError::File(path.display().to_string(), e);
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let text = STANDARD.encode(raw);
    write_private(path, &text).map_err(err)?;
    tracing::warn!(path = %path.display(), "generated a new key file; set it through the environment to share it across nodes");
    Ok(text)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let key = MasterKey::from_bytes(&[7u8; 32]).expect("key");
        let sealed = key.encrypt(b"JBSWY3DPEHPK3PXP");
        assert_eq!(key.decrypt(&sealed).expect("opens"), b"JBSWY3DPEHPK3PXP");
        let other = MasterKey::from_bytes(&[8u8; 32]).expect("key");
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token(32);
        assert_ne!(a, random_token(32));
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_eq!(token_hash("x").len(), 64);
    }

    #[test]
    fn key_files_are_created_once() {
        let dir = std::env::temp_dir().join(format!("emporium-key-{}", random_token(6)));
        let first = load_or_create_key_file(&dir.join("k"), 32).expect("created");
        let second = load_or_create_key_file(&dir.join("k"), 32).expect("read");
        assert_eq!(first, second);
        let _ = std::fs::remove_dir_all(dir);
    }
}
