//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) with one step of clock drift either way,
//! and recovery codes.

use emporium_core::crypto::constant_time_eq;
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: u64 = 30;
const DIGITS: usize = 6;

/// A new random 160-bit seed.
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn totp(seed: &[u8], issuer: &str, account: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP,
        seed.to_vec(),
        Some(issuer.to_string()),
        account.to_string(),
    )
    .map_err(|e| anyhow::anyhow!("totp: {e}"))
}

/// The base32 seed and the `otpauth://` URI authenticator apps scan.
pub fn provisioning(seed: &[u8], issuer: &str, account: &str) -> anyhow::Result<(String, String)> {
    let t = totp(seed, issuer, account)?;
    let base32 = Secret::Raw(seed.to_vec()).to_encoded().to_string();
    Ok((base32, t.get_url()))
}

/// The time step `code` belongs to, if it is valid within one step of `now` and newer
/// than `last_step` (a code is never accepted twice).
pub fn accept(seed: &[u8], code: &str, now_secs: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(seed, "x", "x").ok()?;
    let current = (now_secs / STEP) as i64;
    let mut found = None;
    // Check every candidate so timing does not reveal which one matched.
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = t.generate(step as u64 * STEP);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found.filter(|step| last_step.is_none_or(|last| *step > last))
}

/// Ten recovery codes like `k3f9-2mxq-8h7d`.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// Recovery codes are compared without dashes, spaces or case.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_accepted_once_within_one_step() {
        let seed = new_seed();
        let t = totp(&seed, "x", "x").expect("totp");
        let now = 1_800_000_000u64;
        let code = t.generate(now);
        let step = accept(&seed, &code, now, None).expect("accepted");
        assert_eq!(
            accept(&seed, &code, now, Some(step)),
            None,
            "replay refused"
        );
        assert!(
            accept(&seed, &code, now + 30, None).is_some(),
            "one step of drift"
        );
        assert_eq!(accept(&seed, &code, now + 90, None), None, "too old");
        assert_eq!(accept(&seed, "12345", now, None), None);
    }

    #[test]
    fn recovery_codes_are_distinct() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(normalise_recovery_code(" K3F9-2mxq "), "k3f92mxq");
    }
}
