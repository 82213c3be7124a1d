//! Abuse protection: per-IP and per-account rate limits (in-process; a cluster shares
//! them through Redis later), and the CAPTCHA check after repeated failures.

use emporium_core::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// Keyed limiters for the auth routes.
pub struct AuthLimits {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl AuthLimits {
    pub fn new(ip_per_minute: u32, account_per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_ip: RateLimiter::keyed(quota(ip_per_minute)),
            per_account: RateLimiter::keyed(quota(account_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    fn check(
        &self,
        limiter: &DefaultKeyedRateLimiter<String>,
        key: String,
    ) -> Result<(), AppError> {
        limiter.check_key(&key).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.clock.now());
            AppError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// One request from `ip` to an auth route.
    pub fn check_ip(&self, ip: &str) -> Result<(), AppError> {
        self.check(&self.per_ip, ip.to_string())
    }

    /// One attempt against the account named `key` (the email, or the user id).
    pub fn check_account(&self, key: &str) -> Result<(), AppError> {
        self.check(&self.per_account, key.to_string())
    }
}

/// Asks the CAPTCHA provider (`siteverify`, Turnstile and hCaptcha speak the same form)
/// whether `response` is a solved challenge.
pub async fn verify_captcha(
    client: &reqwest::Client,
    verify_url: &str,
    secret: &str,
    response: &str,
    ip: Option<&str>,
) -> Result<bool, AppError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        success: bool,
    }
    let mut form = vec![("secret", secret), ("response", response)];
    if let Some(ip) = ip {
        form.push(("remoteip", ip));
    }
    let answer = client
        .post(verify_url)
        .form(&form)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| {
            tracing::warn!(error = %e, "captcha provider unreachable");
            AppError::Unavailable {
                detail: "the CAPTCHA check is unavailable".into(),
                retry_after_secs: 5,
            }
        })?
        .json::<Answer>()
        .await
        .map_err(|_| AppError::Unavailable {
            detail: "the CAPTCHA check answered unexpectedly".into(),
            retry_after_secs: 5,
        })?;
    Ok(answer.success)
}
