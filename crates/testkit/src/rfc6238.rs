//! TOTP as RFC 6238 defines it, written out independently of the server's library so that
//! tests check interoperability with authenticator apps, not the library against itself.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The 6-digit code for a base32 `secret` at `unix_time`, with 30-second steps.
pub fn totp(secret_base32: &str, unix_time: u64) -> String {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_base32)
        .expect("base32 secret");
    hotp(&key, unix_time / 30, 6)
}

/// RFC 4226 HOTP with dynamic truncation.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let binary = (u32::from(hash[offset] & 0x7f) << 24)
        | (u32::from(hash[offset + 1]) << 16)
        | (u32::from(hash[offset + 2]) << 8)
        | u32::from(hash[offset + 3]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::hotp;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s.
        assert_eq!(hotp(b"12345678901234567890", 59 / 30, 8), "94287082");
        assert_eq!(
            hotp(b"12345678901234567890", 1_111_111_109 / 30, 8),
            "07081804"
        );
    }
}
