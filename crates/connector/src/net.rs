//! Where outbound requests may go. A URL someone else chose (a vendor's
//! webhook, a connector's base URL) must not reach the server's own
//! network: loopback, private ranges, link-local (and with it the cloud
//! metadata service at 169.254.169.254), and the like.
//!
//! Two checks make that hold:
//!
//! - [`AddressPolicy::check_url`] refuses a URL whose host is an IP
//!   literal in a refused range. The URL parser has already turned the
//!   tricky spellings (`2130706433`, `0177.0.0.1`, `0x7f.1`,
//!   `[::ffff:127.0.0.1]`) into plain addresses.
//! - The client from [`AddressPolicy::client_builder`] resolves names
//!   itself and connects only to the permitted addresses among the answers,
//!   so a name cannot point at a private address, not even after the check
//!   (DNS rebinding): the address checked is the address connected to.
//!   It follows no redirects.
//!
//! An explicit allow-list of networks (configuration) lets tests and
//! on-premise vendors through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// A network in CIDR notation, such as `127.0.0.1/32` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Text that is not a network in CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a network like 10.0.0.0/8, 127.0.0.1 or fd00::/8")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, unmap(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`)
/// is judged as the IPv4 address it carries.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, shared, reserved, multicast, documentation or benchmarking).
pub fn is_public(ip: IpAddr) -> bool {
    match unmap(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0]
        // IPv4-compatible (deprecated) ::a.b.c.d
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0])
}

/// Why an outbound request was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not http or https, or has no host.
    #[error("{0}")]
    BadUrl(String),
    /// The address is in a refused range.
    #[error(
        "{host} is not a public address ({address}); outbound requests may not reach private networks"
    )]
    Refused {
        /// The host as written.
        host: String,
        /// The address refused.
        address: IpAddr,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Which addresses outbound requests may reach: public ones, and those in
/// the allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allow: Vec<Cidr>,
}

impl AddressPolicy {
    /// Public addresses and the networks in `allow`.
    pub fn new(allow: Vec<Cidr>) -> Self {
        Self { allow }
    }

    /// The allow-list.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allow
    }

    /// Whether a connection to `ip` is permitted.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|n| n.contains(ip))
    }

    /// Refuses a URL that is not http(s), or whose host is an address
    /// outside the policy. Names are checked when they are resolved.
    pub fn check_url(&self, url: &url::Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(format!(
                "`{}` URLs are not allowed; use http or https",
                url.scheme()
            )));
        }
        let address = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(OutboundError::BadUrl("the URL has no host".into())),
        };
        if self.permits(address) {
            Ok(())
        } else {
            Err(OutboundError::Refused {
                host: url.host_str().unwrap_or_default().to_owned(),
                address,
            })
        }
    }

    /// A client builder that resolves names through this policy and follows
    /// no redirects. Check each URL with [`AddressPolicy::check_url`] too:
    /// an address literal is connected to without resolution.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: self.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
    }

    /// The addresses of `host` this policy permits; an error naming the
    /// first refused one when none is permitted.
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, std::io::Error> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        let permitted: Vec<SocketAddr> = found
            .iter()
            .copied()
            .filter(|a| self.permits(a.ip()))
            .collect();
        match (permitted.is_empty(), found.first()) {
            (false, _) => Ok(permitted),
            (true, Some(refused)) => Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                OutboundError::Refused {
                    host: host.to_owned(),
                    address: refused.ip(),
                },
            )),
            (true, None) => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} has no address"),
            )),
        }
    }
}

/// Resolves through the system, then keeps only permitted addresses.
#[derive(Debug)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = policy.resolve(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn every_spelling_of_a_private_address_is_refused() {
        let policy = AddressPolicy::default();
        for u in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
        ] {
            let err = policy.check_url(&url(u)).unwrap_err();
            assert!(matches!(err, OutboundError::Refused { .. }), "{u}: {err}");
        }
        for u in [
            "https://93.184.216.34/",
            "https://[2606:4700::1111]/",
            "https://vendor.example/hook",
        ] {
            policy.check_url(&url(u)).unwrap();
        }
        for u in ["ftp://93.184.216.34/", "file:///etc/passwd"] {
            assert!(
                matches!(policy.check_url(&url(u)), Err(OutboundError::BadUrl(_))),
                "{u}"
            );
        }
    }

    #[test]
    fn the_allow_list_lets_named_networks_through() {
        let policy = AddressPolicy::new(vec![
            "127.0.0.1".parse().unwrap(),
            "10.1.0.0/16".parse().unwrap(),
        ]);
        policy.check_url(&url("http://127.0.0.1:8080/")).unwrap();
        policy
            .check_url(&url("http://[::ffff:127.0.0.1]/"))
            .unwrap();
        policy.check_url(&url("http://10.1.200.3/")).unwrap();
        assert!(policy.check_url(&url("http://10.2.0.1/")).is_err());
        assert!(policy.check_url(&url("http://127.0.0.2/")).is_err());
    }

    #[test]
    fn cidrs_parse_strictly() {
        assert_eq!(
            "10.0.0.0/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0/8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused_at_connect() {
        // A real server on loopback: refused by name and by address, reached
        // once loopback is allowed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let strict = AddressPolicy::default();
        let client = strict.client_builder().build().unwrap();
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let mut chain = String::new();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = cause {
            chain.push_str(&format!("{e}: "));
            cause = e.source();
        }
        assert!(
            chain.contains("localhost is not a public address (127.0.0.1)"),
            "{chain}"
        );
        let resolved = strict.resolve("localhost").await.unwrap_err();
        assert_eq!(resolved.kind(), std::io::ErrorKind::PermissionDenied);

        let open = AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]);
        let client = open.client_builder().build().unwrap();
        let body = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
    }
}
