//! Fitting the embedded relay to where the server runs: the name and address it
//! advertises, the URLs peers are handed, and the addresses it must never relay to.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::TurnConfig;
use super::credentials::{DayKeys, Ledger};
use super::policy::PeerPolicy;
use super::relay::{Relay, RelaySettings};
use crate::metrics::RelayCounters;

/// What the relay needs to know about the rest of the server.
#[derive(Debug, Clone)]
pub struct Surroundings<'a> {
    /// The address families use (`https://visits.example.jp`).
    pub public_url: &'a str,
    /// The HTTP(S) listener.
    pub http: SocketAddr,
    /// Whether that listener speaks TLS (then it also carries `turns:`).
    pub tls: bool,
    /// The relay's UDP/TCP address as bound.
    pub listen: SocketAddr,
    /// The relay's own TLS port, as bound.
    pub turns: Option<SocketAddr>,
    /// What the public URL's host name resolves to (see [`resolve_host`]).
    pub resolved: Option<IpAddr>,
}

/// The public URL's host name looked up in DNS (an IPv4 address first): behind 1:1 NAT
/// it is the public address the relay must advertise, as the name must point to this
/// server for its certificate anyway. `None` for an address, or when the lookup fails
/// or takes more than two seconds.
pub async fn resolve_host(public_url: &str) -> Option<IpAddr> {
    let (host, _) = host_and_port(public_url);
    if host.starts_with('[') || host.parse::<IpAddr>().is_ok() || host == "localhost" {
        return None;
    }
    let found: Vec<IpAddr> = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::lookup_host((host.as_str(), 0)),
    )
    .await
    .ok()?
    .ok()?
    .map(|a| a.ip())
    .collect();
    found
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(found.first())
        .copied()
}

/// The host part of a URL (`[::1]` keeps its brackets) and its port, if written.
fn host_and_port(url: &str) -> (String, Option<u16>) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(end) = authority.find(']') {
        let port = authority[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        return (authority[..=end].to_owned(), port);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().ok()),
        None => (authority.to_owned(), None),
    }
}

/// The address the machine would send from towards the internet (no packet is sent:
/// connecting a UDP socket only asks the routing table).
fn route_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// The machine's own interface addresses.
fn interface_addresses() -> Vec<IpAddr> {
    #[cfg(unix)]
    {
        nix::ifaddrs::getifaddrs()
            .map(|all| {
                all.filter_map(|ifa| {
                    let addr = ifa.address?;
                    if let Some(v4) = addr.as_sockaddr_in() {
                        Some(IpAddr::V4(v4.ip()))
                    } else {
                        addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                    }
                })
                .collect()
            })
            .unwrap_or_default()
    }
    #[cfg(not(unix))]
    {
        Vec::new()
    }
}

/// Which address relayed candidates carry: the configured one; else the relay's own
/// listen address when it is a specific one; else the public URL's host when it is an
/// address, or what its name resolves to; else the machine's route to the internet;
/// else loopback.
fn advertised_ip(turn: &TurnConfig, around: &Surroundings<'_>, host: &str) -> IpAddr {
    turn.public_ip
        .or_else(|| Some(around.listen.ip()).filter(|ip| !ip.is_unspecified()))
        .or_else(|| host.trim_matches(['[', ']']).parse().ok())
        .or(around.resolved)
        .or_else(route_address)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The relay, and the URLs peers are handed for it (their credentials are made with
/// `keys` and checked against `ledger`, the same scheme as an external coturn's, so
/// one code path issues both).
pub fn start(
    turn: &TurnConfig,
    around: &Surroundings<'_>,
    keys: Arc<DayKeys>,
    ledger: Arc<Ledger>,
    counters: RelayCounters,
) -> (Arc<Relay>, Vec<String>) {
    let (host, url_port) = host_and_port(around.public_url);
    let advertised_ip = advertised_ip(turn, around, &host);
    let mut own: HashSet<IpAddr> = interface_addresses().into_iter().collect();
    own.extend([advertised_ip, around.http.ip(), around.listen.ip()]);
    own.retain(|ip| !ip.is_unspecified());
    let port = around.listen.port();
    let mut urls = vec![
        format!("turn:{host}:{port}?transport=udp"),
        format!("turn:{host}:{port}?transport=tcp"),
    ];
    if around.tls {
        let https_port = url_port.unwrap_or(443);
        urls.push(format!("turns:{host}:{https_port}?transport=tcp"));
    }
    if let Some(turns) = around.turns {
        urls.push(format!("turns:{host}:{}?transport=tcp", turns.port()));
    }
    let settings = RelaySettings {
        realm: host.trim_matches(['[', ']']).to_owned(),
        keys,
        ledger,
        advertised_ip,
        bind_ip: around.listen.ip(),
        ports: turn.ports.clone(),
        policy: PeerPolicy::new(turn.allow_peers.clone(), own),
        max_allocations: turn.max_allocations,
        max_per_user: turn.max_per_user,
        bandwidth: turn.bandwidth_kbps.saturating_mul(1000) / 8,
        max_lifetime: Duration::from_secs(3600),
    };
    tracing::info!(
        advertised = %advertised_ip,
        udp_tcp = %around.listen,
        turns = ?around.turns,
        "TURN relay on"
    );
    (
        Arc::new(Relay::new(settings, counters, std::time::Instant::now())),
        urls,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_address_follows_the_most_specific_setting() {
        let mut around = Surroundings {
            public_url: "https://visits.example.jp",
            http: "0.0.0.0:443".parse().expect("addr"),
            tls: true,
            listen: "0.0.0.0:3478".parse().expect("addr"),
            turns: None,
            resolved: Some("203.0.113.5".parse().expect("ip")),
        };
        let mut turn = TurnConfig::default();
        let (host, _) = host_and_port(around.public_url);
        assert_eq!(
            advertised_ip(&turn, &around, &host).to_string(),
            "203.0.113.5"
        );
        around.listen = "192.0.2.10:3478".parse().expect("addr");
        assert_eq!(
            advertised_ip(&turn, &around, &host).to_string(),
            "192.0.2.10"
        );
        turn.public_ip = Some("198.51.100.9".parse().expect("ip"));
        assert_eq!(
            advertised_ip(&turn, &around, &host).to_string(),
            "198.51.100.9"
        );
        turn.public_ip = None;
        around.listen = "0.0.0.0:3478".parse().expect("addr");
        around.public_url = "http://127.0.0.1:8080";
        let (host, _) = host_and_port(around.public_url);
        assert_eq!(
            advertised_ip(&turn, &around, &host).to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn hosts_come_from_the_public_url() {
        assert_eq!(
            host_and_port("https://visits.example.jp"),
            ("visits.example.jp".into(), None)
        );
        assert_eq!(
            host_and_port("http://127.0.0.1:8080/x"),
            ("127.0.0.1".into(), Some(8080))
        );
        assert_eq!(
            host_and_port("https://[::1]:8443"),
            ("[::1]".into(), Some(8443))
        );
    }
}
