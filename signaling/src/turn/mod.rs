//! Relaying: which STUN/TURN servers each peer is handed, with what credentials.
//!
//! About one call in five needs a relay (carrier-grade NAT, firewalls that let only
//! web traffic out). Servers written in the configuration (`[[ice_servers]]`) are
//! handed out as they are. Relays that share a secret with Menkai (`[[turn_servers]]`,
//! coturn's `use-auth-secret`) get credentials of their own for each participant,
//! in the "TURN REST API" form every such relay understands: the username is
//! `expiry:participant` (expiry in Unix seconds), the password
//! `base64(HMAC-SHA1(secret, username))`. A relay checks them with no call to Menkai,
//! so an operator can put a coturn fleet behind one secret; they stop working on their
//! own shortly after the visit ends, and a peer that reconnects gets fresh ones.

pub mod allocation;
pub mod auth;
pub mod credentials;
pub mod embedded;
pub mod io;
pub mod limit;
pub mod policy;
pub mod relay;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use credentials::{DayKeys, Ledger};

use menkai_protocol::IceServer;

/// Credentials outlive the visit by this much: an extension or a late reconnect
/// still finds the relay open.
pub const CREDENTIAL_GRACE: Duration = Duration::minutes(30);

/// The embedded relay's settings (`menkai serve` runs it unless `--no-turn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// UDP and TCP (`--turn-listen`).
    pub listen: std::net::SocketAddr,
    /// A TLS port of its own (`--turns-listen`), besides the HTTPS port.
    pub turns_listen: Option<std::net::SocketAddr>,
    /// The address relayed candidates carry (`--turn-public-ip`).
    pub public_ip: Option<std::net::IpAddr>,
    pub ports: std::ops::RangeInclusive<u16>,
    /// Ranges the relay may reach although they are private (a closed LAN).
    pub allow_peers: Vec<ipnet::IpNet>,
    pub max_allocations: usize,
    /// Allocations per credential (one participant): a browser makes one per relay URL
    /// and network interface for each peer connection, and again on an ICE restart.
    pub max_per_user: usize,
    /// Per allocation, both directions (a 720p call needs about 2.5 Mbit/s).
    pub bandwidth_kbps: u64,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([0, 0, 0, 0], 3478)),
            turns_listen: None,
            public_ip: None,
            ports: 49152..=65535,
            allow_peers: Vec::new(),
            max_allocations: 4096,
            max_per_user: 64,
            bandwidth_kbps: 20_000,
        }
    }
}

/// `FIRST-LAST` → a port range.
pub fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let bad = || format!("turn ports: {text:?} is not a range like 49152-65535");
    let (first, last) = text.split_once('-').ok_or_else(bad)?;
    let first: u16 = first.trim().parse().map_err(|_| bad())?;
    let last: u16 = last.trim().parse().map_err(|_| bad())?;
    if first == 0 || last < first {
        return Err(bad());
    }
    Ok(first..=last)
}

/// A relay with a shared secret, from the config file's `[[turn_servers]]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// `turn:host:3478`, `turn:host:3478?transport=tcp`, `turns:host:443?transport=tcp`.
    pub urls: Vec<String>,
    /// The relay's `static-auth-secret`.
    pub secret: String,
}

/// Never prints the secret.
impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("urls", &self.urls)
            .field("secret", &"…")
            .finish()
    }
}

impl RelayConfig {
    /// Refuses what no relay could use: no URL, a URL that is not STUN/TURN, no secret.
    pub fn check(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("a [[turn_servers]] entry needs at least one URL".into());
        }
        if let Some(bad) = self.urls.iter().find(|u| {
            !["turn:", "turns:", "stun:"]
                .iter()
                .any(|s| u.starts_with(s))
        }) {
            return Err(format!(
                "{bad}: a relay URL starts with turn:, turns: or stun:"
            ));
        }
        if self.secret.trim().is_empty() {
            return Err("a [[turn_servers]] entry needs its shared secret".into());
        }
        Ok(())
    }
}

/// The relay's transports for a pre-visit check, each alone (`None`: not offered).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckServers {
    pub stun: Option<IceServer>,
    pub udp: Option<IceServer>,
    pub tcp: Option<IceServer>,
    pub tls: Option<IceServer>,
}

/// Hands each peer its ICE servers.
#[derive(Debug, Clone, Default)]
pub struct IceProvider {
    fixed: Vec<IceServer>,
    relays: Vec<RelayConfig>,
    /// The embedded relay's URLs and keys, when it runs.
    embedded: Option<(Vec<String>, Arc<DayKeys>)>,
    /// What was issued, so that it can be revoked (the embedded relay checks it).
    ledger: Arc<Ledger>,
}

impl IceProvider {
    pub fn new(fixed: Vec<IceServer>, relays: Vec<RelayConfig>) -> Self {
        Self {
            fixed,
            relays,
            ..Self::default()
        }
    }

    /// Credentials for the embedded relay too, made with `keys` and recorded in
    /// `ledger`, which the relay checks.
    pub fn with_embedded(
        mut self,
        urls: Vec<String>,
        keys: Arc<DayKeys>,
        ledger: Arc<Ledger>,
    ) -> Self {
        self.embedded = Some((urls, keys));
        self.ledger = ledger;
        self
    }

    /// The servers for `participant` (a peer id), good until `until` plus the grace,
    /// and no more than a day from `now`.
    pub fn for_peer(
        &self,
        participant: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<IceServer> {
        let unix = |t: DateTime<Utc>| u64::try_from(t.timestamp()).unwrap_or(0);
        let expiry = self
            .ledger
            .issue(participant, unix(until + CREDENTIAL_GRACE), unix(now));
        let embedded = self
            .embedded
            .iter()
            .filter_map(|(urls, keys)| Some((urls, keys.current()?)));
        let shared = self.relays.iter().map(|r| (&r.urls, r.secret.clone()));
        let mut servers = self.fixed.clone();
        servers.extend(embedded.chain(shared).map(|(urls, secret)| {
            let username = format!("{expiry}:{participant}");
            let credential = auth::rest_password(&secret, &username);
            IceServer {
                urls: urls.clone(),
                username: Some(username),
                credential: Some(credential),
            }
        }));
        servers
    }

    /// The relay, one transport at a time, for a pre-visit check (checks.rs): the
    /// page connects to itself through each to learn which get through from its
    /// network. Credentials for a few minutes only, in a participant name of their own.
    pub fn for_check(&self, participant: &str, now: DateTime<Utc>) -> CheckServers {
        let servers = self.for_peer(participant, now + chrono::Duration::minutes(3), now);
        let mut check = CheckServers::default();
        for server in servers.iter().filter(|s| s.username.is_some()) {
            for url in &server.urls {
                let slot = if url.starts_with("turns:") {
                    &mut check.tls
                } else if url.starts_with("turn:") && url.contains("transport=tcp") {
                    &mut check.tcp
                } else if url.starts_with("turn:") {
                    &mut check.udp
                } else {
                    continue;
                };
                slot.get_or_insert_with(|| IceServer {
                    urls: vec![url.clone()],
                    ..server.clone()
                });
            }
        }
        // The relay answers STUN on its UDP port: a server-reflexive address from it
        // says UDP leaves this network.
        check.stun = check.udp.as_ref().and_then(|udp| {
            let url = udp.urls.first()?;
            let host_port = url.strip_prefix("turn:")?.split('?').next()?;
            Some(IceServer {
                urls: vec![format!("stun:{host_port}")],
                username: None,
                credential: None,
            })
        });
        check
    }

    /// Every relay credential issued to `participant` so far stops working (its visit
    /// ended or was cancelled, its link was replaced, its device removed).
    pub fn revoke(&self, participant: &str) {
        self.ledger.revoke(participant);
    }
}

/// A TURN REST API credential: (`expiry:participant`, base64 HMAC-SHA1 of it).
pub fn rest_credential(secret: &str, participant: &str, expiry: DateTime<Utc>) -> (String, String) {
    let username = format!("{}:{participant}", expiry.timestamp());
    let password = auth::rest_password(secret, &username);
    (username, password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn credentials_are_the_turn_rest_api_form() {
        // Checked against openssl:
        // echo -n "1433895918:alice" | openssl dgst -sha1 -hmac north -binary | base64
        let expiry = Utc.timestamp_opt(1_433_895_918, 0).single().expect("time");
        let (username, password) = rest_credential("north", "alice", expiry);
        assert_eq!(username, "1433895918:alice");
        assert_eq!(password, "RqMvcGPYTJMGThVLSi4amT4zFtI=");
    }

    #[test]
    fn each_peer_gets_its_own_credentials_until_after_the_visit() {
        let provider = IceProvider::new(
            vec![IceServer {
                urls: vec!["stun:stun.example.org".into()],
                username: None,
                credential: None,
            }],
            vec![RelayConfig {
                urls: vec!["turn:relay.example.org:3478".into()],
                secret: "s3cret".into(),
            }],
        );
        let end = Utc.timestamp_opt(2_000_000_000, 0).single().expect("time");
        let now = end - Duration::minutes(20);
        let servers = provider.for_peer("p1", end, now);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None, "fixed servers pass as they are");
        let expected = (end + CREDENTIAL_GRACE).timestamp();
        assert_eq!(
            servers[1].username.as_deref(),
            Some(format!("{expected}:p1").as_str())
        );
        assert_ne!(
            provider.for_peer("p2", end, now)[1].credential,
            servers[1].credential,
            "another participant, another password"
        );
        assert!(
            !format!("{:?}", provider).contains("s3cret"),
            "never in a log"
        );
    }

    #[test]
    fn port_ranges_are_first_dash_last() {
        assert_eq!(parse_port_range("49152-65535"), Ok(49152..=65535));
        assert_eq!(parse_port_range(" 50000 - 50999 "), Ok(50000..=50999));
        for bad in ["", "50000", "0-10", "60000-50000", "a-b", "1-70000"] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_relay_entry_that_cannot_work_is_refused() {
        let relay = |urls: &[&str], secret: &str| RelayConfig {
            urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            secret: secret.into(),
        };
        assert!(
            relay(&["turn:a:3478", "turns:a:443?transport=tcp"], "x")
                .check()
                .is_ok()
        );
        assert!(relay(&[], "x").check().is_err());
        assert!(relay(&["https://a"], "x").check().is_err());
        assert!(relay(&["turn:a"], " ").check().is_err());
    }
}
