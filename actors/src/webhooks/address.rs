//! Where a webhook may send: an `http` or `https` URL of at most [`MAX_URL_LEN`] bytes, whose host is not a private,
//! loopback or link-local address unless the admin allows them (`webhooks_allow_private = true`). A webhook is a
//! request the coordinator makes on a user's behalf, from inside the farm's network: without this, anyone who may
//! make a webhook could make the coordinator post to the farm's own services.
//!
//! The check is on addresses, not names: a URL's name is resolved when the webhook is made ([`check_resolves`]),
//! and again at each delivery by the client's resolver ([`PublicOnly`]), which hands the connection only the
//! public addresses a name resolves to, so a name that later resolves to 127.0.0.1 is refused then too.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Bytes of a webhook's URL at most.
pub const MAX_URL_LEN: usize = 2048;

/// The setting that allows private addresses, as the refusal names it.
pub const ALLOW_PRIVATE_KEY: &str = "webhooks_allow_private";

/// `text` as a webhook's URL, or the one line saying why it is not one.
pub fn check_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.len() > MAX_URL_LEN {
        return Err(format!("a webhook URL has at most {MAX_URL_LEN} bytes; this one has {}", text.len()));
    }
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("a webhook URL is http:// or https://, not {}://", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the webhook URL {text} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a webhook URL carries no user name or password: the signature says who sends".into());
    }
    Ok(url)
}

/// Whether `ip` is one a webhook may not reach unless private addresses are allowed: loopback, private (RFC 1918,
/// unique local), shared (100.64/10), link-local, unspecified, broadcast, multicast, documentation and benchmark
/// ranges, and IPv4 addresses written as IPv6.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 and IPv4-compatible forms carry an IPv4 address that could be a private one.
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        || ip.segments()[..6].iter().all(|s| *s == 0)
}

/// The refusal of `url`, whose host is (or resolves to) `ip`.
pub fn refusal(url: &Url, ip: IpAddr) -> String {
    let host = url.host_str().unwrap_or_default();
    let what = if ip.is_loopback() || ip.to_canonical().is_loopback() { "a loopback" } else { "a private" };
    let resolves = if host.trim_matches(['[', ']']) == ip.to_string() {
        String::new()
    } else {
        format!(" resolves to {ip}, which")
    };
    format!(
        "the webhook URL {url}{resolves} is {what} address; webhooks may reach one only when the coordinator's \
         settings say {ALLOW_PRIVATE_KEY} = true"
    )
}

/// The IP address the URL's host is written as, if it is one.
pub fn literal(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Refuses `url` if its host is (or resolves to) a private address and those are not allowed; a name that does not
/// resolve is refused too, since nothing could be delivered to it.
pub async fn check_resolves(url: &Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    if let Some(ip) = literal(url) {
        return if is_private(ip) { Err(refusal(url, ip)) } else { Ok(()) };
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("the webhook URL's host {host} does not resolve: {e}"))?
        .collect();
    match addresses.iter().find(|a| is_private(a.ip())) {
        Some(private) => Err(refusal(url, private.ip())),
        None if addresses.is_empty() => Err(format!("the webhook URL's host {host} resolves to no address")),
        None => Ok(()),
    }
}

/// The delivery client's resolver when private addresses are not allowed: the system's answer without its private
/// addresses, and an error when nothing public is left.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                let first = all.first().map_or("no address".to_string(), |a| a.ip().to_string());
                return Err(format!(
                    "{host} resolves to {first}, a private or loopback address ({ALLOW_PRIVATE_KEY} is off)"
                )
                .into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_private_and_public_ones_are_not() {
        for private in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(is_private(ip(private)), "{private} should be private");
        }
        for public in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_private(ip(public)), "{public} should be public");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_host_credentials_and_length() {
        assert!(check_url("https://hooks.example.net/farm").is_ok());
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        assert_eq!(check_url("ftp://example.net/").unwrap_err(), "a webhook URL is http:// or https://, not ftp://");
        assert!(check_url("not a url").unwrap_err().starts_with("\"not a url\" is not a URL"));
        assert!(check_url("https://user:pw@example.net/").unwrap_err().contains("no user name or password"));
        let at_cap = format!("https://example.net/{}", "a".repeat(MAX_URL_LEN - 20));
        assert_eq!(at_cap.len(), MAX_URL_LEN);
        assert!(check_url(&at_cap).is_ok());
        let past = format!("{at_cap}a");
        assert_eq!(
            check_url(&past).unwrap_err(),
            format!("a webhook URL has at most {MAX_URL_LEN} bytes; this one has {}", MAX_URL_LEN + 1)
        );
    }

    #[tokio::test]
    async fn a_loopback_url_is_refused_unless_allowed_and_so_is_a_name_resolving_to_one() {
        let url = check_url("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(
            check_resolves(&url, false).await.unwrap_err(),
            "the webhook URL http://127.0.0.1:9/hook is a loopback address; webhooks may reach one only when the \
             coordinator's settings say webhooks_allow_private = true"
        );
        assert!(check_resolves(&url, true).await.is_ok());
        let named = check_url("http://localhost:9/hook").unwrap();
        let refused = check_resolves(&named, false).await.unwrap_err();
        assert!(refused.starts_with("the webhook URL http://localhost:9/hook resolves to "), "{refused}");
        let v6 = check_url("http://[::1]:9/").unwrap();
        assert!(check_resolves(&v6, false).await.unwrap_err().contains("is a loopback address"));
        let public = check_url("http://8.8.8.8/").unwrap();
        assert!(check_resolves(&public, false).await.is_ok());
    }

    #[tokio::test]
    async fn the_delivery_resolver_keeps_no_private_address() {
        let refused = PublicOnly.resolve("localhost".parse().unwrap()).await.err().unwrap().to_string();
        assert!(refused.starts_with("localhost resolves to "), "{refused}");
        assert!(refused.ends_with("a private or loopback address (webhooks_allow_private is off)"), "{refused}");
    }
}
