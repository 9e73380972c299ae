//! HTTPS: where the server's certificate comes from, and the one rustls configuration
//! every TLS listener shares.
//!
//! Browsers give a page the camera only in a secure context, so anywhere but
//! `localhost` Menkai must speak TLS. The certificate comes from one of two sources —
//! PEM files an outside tool renews (`files`), or an ACME CA such as Let's Encrypt
//! (`acme`) — and both put it into one [`CertStore`]. The store is the rustls
//! certificate resolver: a new certificate is used by the next handshake, so a renewal
//! needs no restart and drops no call or signaling socket. It also answers ACME's
//! TLS-ALPN-01 challenge on the same port, so a care home opens one port only. Other
//! TLS listeners (the TURN relay's `turns:`) can share the same store.

pub mod acme;
pub mod files;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The ALPN protocol of an ACME TLS-ALPN-01 validation (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Where the certificate comes from, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files, reloaded when they change.
    Files { cert: PathBuf, key: PathBuf },
    /// An ACME CA, certificates cached under the data directory and renewed.
    Acme(acme::AcmeSettings),
}

/// The certificate served now, and the challenge certificates of validations under
/// way. Cheap to share.
#[derive(Default)]
pub struct CertStore {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("has_certificate", &self.current().is_some())
            .finish_non_exhaustive()
    }
}

impl CertStore {
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `key` from the next handshake on.
    pub fn install(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    pub fn set_challenge(&self, domain: &str, key: Option<Arc<CertifiedKey>>) {
        let mut challenges = self.challenges.lock().unwrap_or_else(|e| e.into_inner());
        match key {
            Some(key) => challenges.insert(domain.to_ascii_lowercase(), key),
            None => challenges.remove(&domain.to_ascii_lowercase()),
        };
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            let name = hello.server_name()?.to_ascii_lowercase();
            return self
                .challenges
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&name)
                .cloned();
        }
        self.current()
    }
}

/// The rustls configuration of every TLS listener: certificates from `store`,
/// HTTP/1.1 (and ACME validations) by ALPN.
pub fn server_config(store: Arc<CertStore>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![
        b"http/1.1".to_vec(),
        ACME_TLS_ALPN.to_vec(),
        TURN_ALPN.to_vec(),
    ];
    Ok(Arc::new(config))
}

/// Whether a finished handshake was an ACME validation (nothing else to serve on it).
/// The ALPN id of TURN over TLS (RFC 7443): such connections go to the relay.
pub const TURN_ALPN: &[u8] = b"stun.turn";

pub fn is_acme_validation(alpn: Option<&[u8]>) -> bool {
    alpn == Some(ACME_TLS_ALPN)
}
