//! The one way this server calls out over HTTP (payment gateways, carriers, identity
//! providers, later webhooks): the same user agent, a deadline on every request, and no
//! redirects, so a credential in a header never follows a redirect to another host.

use std::time::Duration;

/// A client builder for outbound calls that must answer within `timeout`. Callers
/// build it, or adjust it first where a protocol needs it (OpenID discovery may
/// redirect).
pub fn outbound(timeout: Duration) -> reqwest::ClientBuilder {
    let timeout = timeout.max(Duration::from_millis(1));
    reqwest::Client::builder()
        .user_agent(concat!("Emporium/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
}
