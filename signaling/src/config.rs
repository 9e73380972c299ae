//! Settings, from three places in rising precedence: a TOML file, `MENKAI_*`
//! environment variables, and command-line flags. With none of them Menkai runs on
//! 127.0.0.1:8080 with its data under `./data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::messages::smtp::{SmtpConfig, SmtpSettings};
use crate::tls::TlsSource;
use crate::tls::acme::AcmeSettings;
use crate::turn::{RelayConfig, TurnConfig};
use menkai_protocol::IceServer;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The address families use, e.g. `https://visits.example-care.jp`. Without it,
    /// `http://` plus the address the server is listening on.
    pub public_url: Option<String>,
    /// STUN/TURN servers handed to clients in `welcome` (from the config file). With
    /// none, calls on one network still connect.
    pub ice_servers: Vec<IceServer>,
    /// Relays sharing a secret with Menkai (`[[turn_servers]]`): each peer gets its own
    /// time-limited credentials for them.
    pub relays: Vec<RelayConfig>,
    /// Every call through a relay (`relay_only = true`): to prove a relay set-up works.
    pub relay_only: bool,
    /// Connections held open at once (WebSockets included); more are refused with 503.
    pub max_connections: usize,
    /// Whether `/metrics` answers anyone, not only loopback clients and API tokens.
    pub metrics_public: bool,
    /// HTTPS on `listen`, and where its certificate comes from; `None`: plain HTTP.
    pub tls: Option<TlsSource>,
    /// A plain-HTTP listener that only redirects to HTTPS.
    pub redirect_http: Option<SocketAddr>,
    /// The embedded TURN relay; `None` with `--no-turn`.
    pub turn: Option<TurnConfig>,
    /// E-mail to families (`[smtp]`); `None`: messages wait in the outbox.
    pub smtp: Option<SmtpConfig>,
    /// The recogniser for live captions; `None`: none installed, no captions anywhere.
    pub captions: Option<crate::captions::Recogniser>,
}

/// Values that may come from any of the three places; `None` means "not set here".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub public_url: Option<String>,
    /// File only: `[[ice_servers]]` tables with `urls`, `username`, `credential`.
    #[serde(default)]
    pub ice_servers: Option<Vec<IceServer>>,
    /// File only: `[[turn_servers]]` tables with `urls` and `secret`.
    #[serde(default)]
    pub turn_servers: Option<Vec<RelayConfig>>,
    /// File only.
    #[serde(default)]
    pub relay_only: Option<bool>,
    pub max_connections: Option<usize>,
    pub metrics_public: Option<bool>,
    pub domain: Option<String>,
    pub acme_directory: Option<String>,
    pub acme_contact: Option<String>,
    pub acme_root: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub redirect_http: Option<SocketAddr>,
    pub no_turn: Option<bool>,
    pub turn_listen: Option<SocketAddr>,
    pub turns_listen: Option<SocketAddr>,
    pub turn_public_ip: Option<std::net::IpAddr>,
    /// `FIRST-LAST`, e.g. `49152-65535`.
    pub turn_ports: Option<String>,
    /// File only: ranges the relay may reach although they are private (closed LANs).
    #[serde(default)]
    pub turn_allow_peers: Option<Vec<String>>,
    /// File only.
    #[serde(default)]
    pub turn_max_allocations: Option<usize>,
    /// File only.
    #[serde(default)]
    pub turn_user_quota: Option<usize>,
    /// File only: kilobits a second per allocation.
    #[serde(default)]
    pub turn_bandwidth_kbps: Option<u64>,
    /// `[smtp]` in the file; `MENKAI_SMTP_*` in the environment (no flags: a password
    /// on the command line is seen by every user of the machine).
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
    /// The recogniser program (default: `menkai-captions` next to `menkai`).
    pub captions_bin: Option<PathBuf>,
    /// A recogniser on another machine, e.g. ws://10.0.0.5:7447 (instead of starting
    /// one here).
    pub captions_url: Option<String>,
    /// A file holding that recogniser's secret.
    pub captions_secret_file: Option<PathBuf>,
    /// Recognition threads when started here (default 1: one core).
    pub captions_workers: Option<usize>,
}

impl Settings {
    /// Fills what `self` leaves unset from `lower`.
    fn over(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data: self.data.or(lower.data),
            public_url: self.public_url.or(lower.public_url),
            ice_servers: self.ice_servers.or(lower.ice_servers),
            turn_servers: self.turn_servers.or(lower.turn_servers),
            relay_only: self.relay_only.or(lower.relay_only),
            max_connections: self.max_connections.or(lower.max_connections),
            metrics_public: self.metrics_public.or(lower.metrics_public),
            domain: self.domain.or(lower.domain),
            acme_directory: self.acme_directory.or(lower.acme_directory),
            acme_contact: self.acme_contact.or(lower.acme_contact),
            acme_root: self.acme_root.or(lower.acme_root),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            redirect_http: self.redirect_http.or(lower.redirect_http),
            no_turn: self.no_turn.or(lower.no_turn),
            turn_listen: self.turn_listen.or(lower.turn_listen),
            turns_listen: self.turns_listen.or(lower.turns_listen),
            turn_public_ip: self.turn_public_ip.or(lower.turn_public_ip),
            turn_ports: self.turn_ports.or(lower.turn_ports),
            turn_allow_peers: self.turn_allow_peers.or(lower.turn_allow_peers),
            turn_max_allocations: self.turn_max_allocations.or(lower.turn_max_allocations),
            turn_user_quota: self.turn_user_quota.or(lower.turn_user_quota),
            turn_bandwidth_kbps: self.turn_bandwidth_kbps.or(lower.turn_bandwidth_kbps),
            smtp: match (self.smtp, lower.smtp) {
                (Some(upper), Some(lower)) => Some(upper.over(lower)),
                (upper, lower) => upper.or(lower),
            },
            captions_bin: self.captions_bin.or(lower.captions_bin),
            captions_url: self.captions_url.or(lower.captions_url),
            captions_secret_file: self.captions_secret_file.or(lower.captions_secret_file),
            captions_workers: self.captions_workers.or(lower.captions_workers),
        }
    }
}

/// Builds the configuration. `flags_and_env` come from the command line, where clap has
/// already let a flag win over its environment variable.
pub fn load(file: Option<&Path>, flags_and_env: Settings) -> anyhow::Result<Config> {
    let from_file = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("in config file {}", path.display()))?
        }
        None => Settings::default(),
    };
    let merged = flags_and_env.over(from_file);
    let tls = tls_source(&merged)?;
    let turn = turn_config(&merged)?;
    let smtp = merged.smtp.clone().unwrap_or_default().check()?;
    let max_connections = merged
        .max_connections
        .unwrap_or(crate::server::Limits::default().max_connections);
    anyhow::ensure!(
        max_connections >= 16,
        "max_connections must be at least 16 (got {max_connections})"
    );
    let public_url = merged
        .public_url
        .map(|u| u.trim_end_matches('/').to_owned());
    if let Some(url) = &public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "public_url must start with http:// or https:// (got {url})"
        );
    }
    let relays = merged.turn_servers.unwrap_or_default();
    for relay in &relays {
        relay.check().map_err(anyhow::Error::msg)?;
    }
    anyhow::ensure!(
        merged.redirect_http.is_none() || tls.is_some(),
        "redirect_http redirects to HTTPS: it needs domain or tls_cert and tls_key"
    );
    anyhow::ensure!(
        merged.turns_listen.is_none() || tls.is_some(),
        "turns_listen serves TURN over TLS: it needs domain or tls_cert and tls_key"
    );
    let data_dir = merged
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let captions_secret = merged
        .captions_secret_file
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .with_context(|| format!("reading captions_secret_file {}", path.display()))
        })
        .transpose()?;
    let captions = crate::captions::Recogniser::find(
        &data_dir,
        merged.captions_url.clone(),
        captions_secret,
        merged.captions_bin.clone(),
        merged.captions_workers.unwrap_or(1),
    )?;
    Ok(Config {
        captions,
        turn,
        smtp,
        tls,
        redirect_http: merged.redirect_http,
        listen: match merged.listen {
            Some(addr) => addr,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        },
        data_dir,
        public_url,
        ice_servers: merged.ice_servers.unwrap_or_default(),
        relays,
        relay_only: merged.relay_only.unwrap_or(false),
        max_connections,
        metrics_public: merged.metrics_public.unwrap_or(false),
    })
}

/// The relay's settings (`None` with `no_turn`).
fn turn_config(s: &Settings) -> anyhow::Result<Option<TurnConfig>> {
    if s.no_turn == Some(true) {
        return Ok(None);
    }
    let mut turn = TurnConfig::default();
    if let Some(listen) = s.turn_listen {
        turn.listen = listen;
    }
    turn.turns_listen = s.turns_listen;
    turn.public_ip = s.turn_public_ip;
    if let Some(ports) = &s.turn_ports {
        turn.ports = crate::turn::parse_port_range(ports).map_err(anyhow::Error::msg)?;
    }
    for net in s.turn_allow_peers.iter().flatten() {
        turn.allow_peers.push(
            net.parse()
                .or_else(|_| net.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "turn_allow_peers: {net:?} is not an address or a range like 192.168.0.0/16"
                    )
                })?,
        );
    }
    if let Some(n) = s.turn_max_allocations {
        turn.max_allocations = n;
    }
    if let Some(n) = s.turn_user_quota {
        turn.max_per_user = n;
    }
    if let Some(kbps) = s.turn_bandwidth_kbps {
        anyhow::ensure!(
            kbps >= 64,
            "turn_bandwidth_kbps must be at least 64 (got {kbps})"
        );
        turn.bandwidth_kbps = kbps;
    }
    Ok(Some(turn))
}

/// Which of the three ways to serve the settings choose (see README, "HTTPS").
fn tls_source(s: &Settings) -> anyhow::Result<Option<TlsSource>> {
    let acme_extras =
        s.acme_directory.is_some() || s.acme_contact.is_some() || s.acme_root.is_some();
    match (&s.domain, &s.tls_cert, &s.tls_key) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => anyhow::bail!(
            "choose one way to get a certificate: domain (from an ACME CA such as Let's Encrypt) or tls_cert and tls_key (your own files), not both"
        ),
        (Some(domain), None, None) => {
            let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
            anyhow::ensure!(
                domain.contains('.')
                    && domain.split('.').all(|label| !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')),
                "domain must be a DNS name like visits.example.jp (got {domain:?})"
            );
            let mut acme = AcmeSettings::new(domain);
            if let Some(directory) = &s.acme_directory {
                acme.directory = directory.clone();
            }
            acme.contact = s.acme_contact.clone();
            acme.root = s.acme_root.clone();
            Ok(Some(TlsSource::Acme(acme)))
        }
        (None, Some(cert), Some(key)) if !acme_extras => Ok(Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        })),
        (None, Some(_), None) => {
            anyhow::bail!("tls_cert needs tls_key (the certificate's private key)")
        }
        (None, None, Some(_)) => {
            anyhow::bail!("tls_key needs tls_cert (the certificate it belongs to)")
        }
        _ if acme_extras => {
            anyhow::bail!("acme_directory, acme_contact and acme_root need domain")
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_nothing() {
        let c = load(None, Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.public_url, None);
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("menkai.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata = \"/srv/menkai\"\npublic_url = \"https://x.example/\"\n").unwrap();
        let flags = Settings {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Settings::default()
        };
        let c = load(Some(&path), flags).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.data_dir, PathBuf::from("/srv/menkai"));
        assert_eq!(c.public_url.as_deref(), Some("https://x.example"));
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("menkai.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(load(Some(&path), Settings::default()).is_err());
        let flags = Settings {
            public_url: Some("ftp://x".into()),
            ..Settings::default()
        };
        assert!(load(None, flags).is_err());
    }

    #[test]
    fn smtp_comes_from_the_file_with_the_environment_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("menkai.toml");
        std::fs::write(
            &path,
            "[smtp]\nhost = \"smtp.example.jp\"\nfrom = \"visits@sakura-en.jp\"\nusername = \"file\"\npassword = \"pw\"\n",
        )
        .unwrap();
        let env = Settings {
            smtp: Some(SmtpSettings {
                port: Some(2587),
                ..SmtpSettings::default()
            }),
            ..Settings::default()
        };
        let smtp = load(Some(&path), env).unwrap().smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.jp", 2587));
        assert_eq!(load(None, Settings::default()).unwrap().smtp, None);
        std::fs::write(
            &path,
            "[smtp]\nhost = \"smtp.example.jp\"\nfrom = \"visits@sakura-en.jp\"\nsmarthost = 1\n",
        )
        .unwrap();
        assert!(
            load(Some(&path), Settings::default()).is_err(),
            "unknown keys"
        );
    }

    #[test]
    fn one_way_to_serve_https_at_a_time() {
        let both = Settings {
            domain: Some("visits.example.jp".into()),
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            ..Settings::default()
        };
        assert!(load(None, both).is_err());
        let half = Settings {
            tls_cert: Some("cert.pem".into()),
            ..Settings::default()
        };
        assert!(load(None, half).is_err());
        let redirect_alone = Settings {
            redirect_http: Some("127.0.0.1:80".parse().unwrap()),
            ..Settings::default()
        };
        assert!(load(None, redirect_alone).is_err());
        let acme = Settings {
            domain: Some("Visits.Example.JP.".into()),
            acme_contact: Some("it@example.jp".into()),
            ..Settings::default()
        };
        match load(None, acme).unwrap().tls {
            Some(TlsSource::Acme(a)) => {
                assert_eq!(a.domain, "visits.example.jp");
                assert_eq!(a.directory, crate::tls::acme::LETS_ENCRYPT);
            }
            other => panic!("{other:?}"),
        }
        let bad = Settings {
            domain: Some("not a name".into()),
            ..Settings::default()
        };
        assert!(load(None, bad).is_err());
    }
}
