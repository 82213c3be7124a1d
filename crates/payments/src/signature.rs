//! Webhook and payment signatures: Stripe's `Stripe-Signature` scheme and Razorpay's
//! HMACs, each compared in constant time.

pub use emporium_core::crypto::{hmac_sha256_hex, verify_hex_hmac};

/// Why a Stripe signature header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no t= timestamp or no v1= signature in the header")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Expired,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]`): some
/// v1 must be the HMAC-SHA256 of `"{t}.{payload}"` under the endpoint secret, and `t`
/// within `tolerance` seconds of `now`. Several v1 values appear while a secret is
/// rolled; any one matching is enough.
pub fn verify_stripe(
    header: &str,
    payload: &[u8],
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(payload);
    let expected = hmac_sha256_hex(secret.as_bytes(), &signed);
    // Every candidate is compared, so timing says nothing about which one matched.
    let matched = signatures.iter().fold(false, |found, candidate| {
        found | emporium_core::crypto::constant_time_eq(candidate.as_bytes(), expected.as_bytes())
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    /// A header made the way Stripe documents it.
    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(payload);
        hmac_sha256_hex(secret.as_bytes(), &signed)
    }

    #[test]
    fn a_documented_header_verifies() {
        let t = 1_700_000_000;
        let header = format!("t={t},v1={},v0=deadbeef", sign(SECRET, t, PAYLOAD));
        assert_eq!(verify_stripe(&header, PAYLOAD, SECRET, t + 10, 300), Ok(()));
    }

    #[test]
    fn two_v1_signatures_during_rotation() {
        let t = 1_700_000_000;
        let old = sign("whsec_old", t, PAYLOAD);
        let new = sign(SECRET, t, PAYLOAD);
        let header = format!("t={t},v1={old},v1={new}");
        assert_eq!(verify_stripe(&header, PAYLOAD, SECRET, t, 300), Ok(()));
        assert_eq!(verify_stripe(&header, PAYLOAD, "whsec_old", t, 300), Ok(()));
        assert_eq!(
            verify_stripe(&header, PAYLOAD, "whsec_other", t, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn tampering_and_age_are_refused() {
        let t = 1_700_000_000;
        let header = format!("t={t},v1={}", sign(SECRET, t, PAYLOAD));
        let altered = br#"{"id":"evt_1","type":"payment_intent.succeeded" }"#;
        assert_eq!(
            verify_stripe(&header, altered, SECRET, t, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(&header, PAYLOAD, SECRET, t + 301, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify_stripe(&header, PAYLOAD, SECRET, t - 301, 300),
            Err(SignatureError::Expired)
        );
        // A signature over another timestamp does not carry over.
        let moved = format!("t={},v1={}", t + 5, sign(SECRET, t, PAYLOAD));
        assert_eq!(
            verify_stripe(&moved, PAYLOAD, SECRET, t, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=1", "v1=abc", "t=abc,v1=00", "garbage"] {
            assert_eq!(
                verify_stripe(bad, PAYLOAD, SECRET, t, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn razorpay_payment_signature() {
        // order_id|payment_id under the key secret, as Razorpay Checkout returns it.
        let signature = hmac_sha256_hex(b"key_secret", b"order_A|pay_B");
        assert!(verify_hex_hmac("key_secret", b"order_A|pay_B", &signature));
        assert!(!verify_hex_hmac("key_secret", b"order_A|pay_C", &signature));
        assert!(!verify_hex_hmac("other", b"order_A|pay_B", &signature));
    }
}
