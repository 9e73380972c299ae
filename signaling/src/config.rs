//! Settings, from three places in rising precedence: a TOML file, `MENKAI_*`
//! environment variables, and command-line flags. With none of them Menkai runs on
//! 127.0.0.1:8080 with its data under `./data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::signaling::protocol::IceServer;

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
    /// Connections held open at once (WebSockets included); more are refused with 503.
    pub max_connections: usize,
    /// Whether `/metrics` answers anyone, not only loopback clients and API tokens.
    pub metrics_public: bool,
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
    pub max_connections: Option<usize>,
    pub metrics_public: Option<bool>,
}

impl Settings {
    /// Fills what `self` leaves unset from `lower`.
    fn over(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data: self.data.or(lower.data),
            public_url: self.public_url.or(lower.public_url),
            ice_servers: self.ice_servers.or(lower.ice_servers),
            max_connections: self.max_connections.or(lower.max_connections),
            metrics_public: self.metrics_public.or(lower.metrics_public),
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
    Ok(Config {
        listen: match merged.listen {
            Some(addr) => addr,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        },
        data_dir: merged
            .data
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        public_url,
        ice_servers: merged.ice_servers.unwrap_or_default(),
        max_connections,
        metrics_public: merged.metrics_public.unwrap_or(false),
    })
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
}
