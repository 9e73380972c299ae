//! Certificates from PEM files (`--tls-cert`, `--tls-key`): checked at start, so a
//! missing, unreadable or mismatched pair stops the server with a clear message, and
//! watched afterwards, so a renewal by an outside tool (certbot, a hosting panel) is
//! picked up without a restart. A broken replacement is logged and the certificate in
//! use is kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::CertStore;

/// How often the files are looked at for a change.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Reads a certificate chain and its private key (RSA, ECDSA or Ed25519) and checks that
/// they belong together.
pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Arc<CertifiedKey>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate file {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no certificate (expected a PEM file with -----BEGIN CERTIFICATE-----)",
        cert.display()
    );
    let private = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "reading the private key file {} (expected a PEM private key)",
            key.display()
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, private, &provider)
        .map(Arc::new)
        .map_err(|e| {
            anyhow::anyhow!(
                "the key {} does not belong to the certificate {} ({e}); check that both files come from the same issue",
                key.display(),
                cert.display()
            )
        })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Loads the pair into `store` now (an error stops the start), then reloads it
/// whenever either file changes, until the task is dropped.
pub fn serve_from(
    cert: PathBuf,
    key: PathBuf,
    store: Arc<CertStore>,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    store.install(load(&cert, &key)?);
    let mut seen = (modified(&cert), modified(&key));
    Ok(async move {
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let now = (modified(&cert), modified(&key));
            if now == seen {
                continue;
            }
            // Both files are often replaced one after the other: wait for the second.
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen = (modified(&cert), modified(&key));
            match load(&cert, &key) {
                Ok(pair) => {
                    store.install(pair);
                    tracing::info!("TLS certificate reloaded from its files");
                }
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "the TLS certificate files changed but cannot be used; still serving the previous certificate"
                ),
            }
        }
    })
}
