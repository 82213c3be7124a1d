//! Where a webhook may not go. A webhook URL is typed by whoever holds `settings.manage`
//! and fetched by the server, so without a guard it reaches what only the server can:
//! loopback services, the private network, a cloud's metadata endpoint. Every address a
//! host name resolves to is checked at connection time (by the HTTP client's resolver, so
//! a name that resolves elsewhere later is caught too), literal addresses before sending,
//! and redirects are never followed.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Whether a webhook may not reach `ip`.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local (AWS's metadata at fd00:ec2::254 is in it)
                || (first & 0xfe00) == 0xfc00
                // fe80::/10 link-local
                || (first & 0xffc0) == 0xfe80
                // 64:ff9b::/96 NAT64 of an address that may itself be private
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0])
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16: cloud metadata lives at 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10 carrier-grade NAT, often a provider's internal network
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15 benchmarking
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

/// Why `url` cannot be a webhook target, or `None` when it can (as far as can be told
/// without resolving its host).
pub fn check_url(url: &str, allow_private: bool) -> Option<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Some("must be an absolute http or https URL".into());
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some("must be an http or https URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry a user name or password".into());
    }
    let host = match parsed.host() {
        None => return Some("must name a host".into()),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !allow_private
                && (name == "localhost"
                    || name.ends_with(".localhost")
                    || name.ends_with(".internal")
                    || name == "metadata.google.internal")
            {
                return Some(format!(
                    "{name} is a local name; webhooks go to public addresses"
                ));
            }
            None
        }
    };
    match host {
        Some(ip) if !allow_private && forbidden(ip) => Some(format!(
            "{ip} is a loopback, private or link-local address; webhooks go to public addresses"
        )),
        _ => None,
    }
}

/// The webhook client's resolver: the system's, minus every address [`forbidden`] names.
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                all.iter().copied().filter(|a| !forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private or link-local addresses; webhooks go to public addresses"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!forbidden(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused_at_connection_time() {
        let name: Name = "localhost".parse().expect("name");
        let resolved = GuardedResolver.resolve(name).await;
        assert!(
            resolved.is_err(),
            "localhost must not resolve for a webhook"
        );
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        assert!(check_url("http://127.0.0.1:9000/hook", false).is_some());
        assert!(check_url("http://[::1]/hook", false).is_some());
        assert!(check_url("http://localhost/hook", false).is_some());
        assert!(check_url("http://169.254.169.254/latest/meta-data", false).is_some());
        assert!(check_url("ftp://example.com/hook", false).is_some());
        assert!(check_url("https://user:pw@example.com/hook", false).is_some());
        assert!(check_url("not a url", false).is_some());
        assert!(check_url("https://hooks.example.com/emporium", false).is_none());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_none());
    }
}
