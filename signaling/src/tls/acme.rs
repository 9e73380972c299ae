//! Certificates from an ACME CA (RFC 8555; Let's Encrypt by default), validated with
//! TLS-ALPN-01 (RFC 8737) on the HTTPS port itself, cached under the data directory
//! and renewed in the background once a third of their lifetime is left.
//!
//! Built on `instant-acme` (the protocol: account, order, JWS, polling; tokio and
//! hyper, which the server already has) with the challenge answered by [`CertStore`]:
//! during a validation the CA connects with ALPN `acme-tls/1` and is shown a
//! self-signed certificate carrying the key authorization's digest.
//!
//! Renewal timing follows the injected clock, so tests can move time past two thirds of
//! a certificate's life and watch it renewed while calls stay connected.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::CertStore;
use crate::clock::Clock;

pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// What `--domain` and its companions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    pub domain: String,
    pub directory: String,
    pub contact: Option<String>,
    /// An extra root certificate trusted when talking to the directory.
    pub root: Option<PathBuf>,
    /// How often the renewal task looks at the certificate.
    pub check_every: Duration,
}

impl AcmeSettings {
    pub fn new(domain: String) -> Self {
        Self {
            domain,
            directory: LETS_ENCRYPT.to_owned(),
            contact: None,
            root: None,
            check_every: Duration::from_secs(3600),
        }
    }
}

/// The files kept under `DATA/acme/`.
struct Cache {
    dir: PathBuf,
}

impl Cache {
    fn account(&self) -> PathBuf {
        self.dir.join("account.json")
    }
    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// Writes a file readable by the owner only, atomically.
    fn write(&self, path: &Path, contents: &str) -> anyhow::Result<()> {
        crate::files::private_dir(&self.dir)?;
        crate::files::write_private(path, contents.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// A certificate in use and when it stops being valid.
struct Held {
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

impl Held {
    /// Renew once a third of the lifetime is left (Let's Encrypt's own advice for
    /// 90-day certificates: at 60 days).
    fn due(&self, now: DateTime<Utc>) -> bool {
        let life = self.not_after - self.not_before;
        now >= self.not_after - life / 3
    }
}

fn validity(chain: &[CertificateDer<'_>]) -> anyhow::Result<Held> {
    let leaf = chain.first().context("empty certificate chain")?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| anyhow::anyhow!("parsing the certificate: {e}"))?;
    let at = |t: x509_parser::time::ASN1Time| {
        DateTime::from_timestamp(t.timestamp(), 0).context("certificate time out of range")
    };
    Ok(Held {
        not_before: at(cert.validity().not_before)?,
        not_after: at(cert.validity().not_after)?,
    })
}

fn certified(chain_pem: &str, key_pem: &str) -> anyhow::Result<(Arc<CertifiedKey>, Held)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .context("reading the certificate chain")?;
    let held = validity(&chain)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).context("reading the key")?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| anyhow::anyhow!("certificate and key do not match: {e}"))?;
    Ok((Arc::new(certified), held))
}

/// The certificate the CA is shown during a TLS-ALPN-01 validation.
fn challenge_cert(domain: &str, digest: &[u8]) -> anyhow::Result<Arc<CertifiedKey>> {
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()])?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let der = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| anyhow::anyhow!("challenge key: {e}"))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&der)?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    )))
}

/// An HTTP client for the directory: the usual public roots, plus `--acme-root`.
fn http_client(root: Option<&Path>) -> anyhow::Result<Box<dyn instant_acme::HttpClient>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root {
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading --acme-root {}", path.display()))?
        {
            roots
                .add(cert.with_context(|| format!("--acme-root {}", path.display()))?)
                .with_context(|| format!("--acme-root {}", path.display()))?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, instant_acme::BodyWrapper<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    Ok(Box::new(client))
}

/// Where getting a certificate failed. The same words ("connection refused", "dns")
/// mean opposite fixes depending on who was connecting to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Menkai talking to the certificate authority (directory, account, order,
    /// finishing, download): this server's own outgoing connection.
    ReachingCa,
    /// The certificate authority checking this server: its incoming connection on 443.
    Validation,
}

/// A failed attempt, with where it failed.
#[derive(Debug)]
pub struct Failure {
    pub stage: Stage,
    pub error: anyhow::Error,
}

trait At<T> {
    fn at(self, stage: Stage) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> At<T> for Result<T, E> {
    fn at(self, stage: Stage) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            stage,
            error: e.into(),
        })
    }
}

/// What went wrong, in words an operator can act on.
pub fn advice(failure: &Failure) -> &'static str {
    let text = format!("{:#}", failure.error).to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["ratelimited", "rate limit", "too many"]) {
        return "The certificate authority's rate limit was reached. Menkai retries by itself; \
                if it keeps happening, wait an hour and check that only one server asks for this name.";
    }
    match failure.stage {
        Stage::ReachingCa if has(&["dns", "resolv", "lookup", "name or service"]) => {
            "Menkai could not look up the certificate authority's address. Check this \
             server's internet connection and DNS settings, and --acme-directory."
        }
        Stage::ReachingCa => {
            "Menkai could not talk to the certificate authority (this server's outgoing \
             connection). Check the internet connection, a proxy or firewall blocking \
             outgoing HTTPS, and --acme-directory (and --acme-root for a private CA)."
        }
        Stage::Validation if has(&["dns", "nxdomain", "no valid ip", "resolving"]) => {
            "The certificate authority could not look up the domain name. Check that the \
             name's DNS A/AAAA record points to this server's public address."
        }
        Stage::Validation if has(&["connection", "timeout", "refused"]) => {
            "The certificate authority could not reach this server on port 443. Check that \
             port 443 is open in the firewall and forwarded to this server, and that \
             --listen uses it."
        }
        Stage::Validation if has(&["unauthorized", "incorrect", "tls"]) => {
            "The certificate authority reached a different server or did not get Menkai's \
             answer. Check that the DNS record points here and nothing else answers on port 443."
        }
        Stage::Validation => {
            "The certificate authority could not validate this server. Menkai retries by \
             itself; the log has the CA's words."
        }
    }
}

/// Runs the certificate's life: loads the cached one, obtains one when there is none or
/// it is due, and checks again every `check_every` (on the injected clock). Never
/// returns; errors are logged with advice and retried with backoff.
pub async fn run(
    settings: AcmeSettings,
    data_dir: PathBuf,
    store: Arc<CertStore>,
    clock: Arc<dyn Clock>,
) {
    let cache = Cache {
        dir: data_dir.join("acme"),
    };
    let mut held = load_cached(&cache, &store);
    let mut retry = Duration::from_secs(5);
    loop {
        let now = clock.now();
        if held.as_ref().is_none_or(|h| h.due(now)) {
            match obtain(&settings, &cache, &store).await {
                Ok(new) => {
                    tracing::info!(
                        domain = settings.domain,
                        valid_until = %new.not_after,
                        "TLS certificate obtained"
                    );
                    held = Some(new);
                    retry = Duration::from_secs(5);
                }
                Err(failure) => {
                    tracing::error!(
                        domain = settings.domain,
                        failed_at = ?failure.stage,
                        error = format!("{:#}", failure.error),
                        advice = advice(&failure),
                        "could not get a TLS certificate"
                    );
                    tokio::time::sleep(retry.min(settings.check_every)).await;
                    retry = (retry * 2).min(Duration::from_secs(3600));
                    continue;
                }
            }
        }
        tokio::time::sleep(settings.check_every).await;
    }
}

fn load_cached(cache: &Cache, store: &CertStore) -> Option<Held> {
    let chain = std::fs::read_to_string(cache.cert()).ok()?;
    let key = std::fs::read_to_string(cache.key()).ok()?;
    match certified(&chain, &key) {
        Ok((certified, held)) => {
            store.install(certified);
            Some(held)
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "ignoring the cached certificate");
            None
        }
    }
}

async fn account(settings: &AcmeSettings, cache: &Cache) -> anyhow::Result<Account> {
    let builder = || {
        Ok::<_, anyhow::Error>(Account::builder_with_http(http_client(
            settings.root.as_deref(),
        )?))
    };
    if let Ok(saved) = std::fs::read_to_string(cache.account())
        && let Ok(credentials) = serde_json::from_str::<AccountCredentials>(&saved)
    {
        return Ok(builder()?.from_credentials(credentials).await?);
    }
    let contact = settings.contact.as_ref().map(|c| {
        if c.starts_with("mailto:") {
            c.clone()
        } else {
            format!("mailto:{c}")
        }
    });
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await
        .with_context(|| format!("creating an account at {}", settings.directory))?;
    cache.write(&cache.account(), &serde_json::to_string(&credentials)?)?;
    Ok(account)
}

/// One order, start to finish; the new certificate is cached and installed.
async fn obtain(
    settings: &AcmeSettings,
    cache: &Cache,
    store: &CertStore,
) -> Result<Held, Failure> {
    use Stage::{ReachingCa, Validation};
    let account = account(settings, cache).await.at(ReachingCa)?;
    let identifiers = [Identifier::Dns(settings.domain.clone())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .context("placing the order")
        .at(ReachingCa)?;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization
            .context("reading an authorization")
            .at(ReachingCa)?;
        if authorization.status != AuthorizationStatus::Pending {
            continue;
        }
        let mut challenge = authorization
            .challenge(ChallengeType::TlsAlpn01)
            .context("the CA offers no tls-alpn-01 validation")
            .at(ReachingCa)?;
        let digest = challenge.key_authorization().digest();
        store.set_challenge(
            &settings.domain,
            Some(challenge_cert(&settings.domain, digest.as_ref()).at(ReachingCa)?),
        );
        challenge
            .set_ready()
            .await
            .context("starting the validation")
            .at(ReachingCa)?;
    }
    let retries = RetryPolicy::new().timeout(Duration::from_secs(90));
    let status = order.poll_ready(&retries).await;
    store.set_challenge(&settings.domain, None);
    let status = status
        .context("waiting for the validation")
        .at(Validation)?;
    if status != OrderStatus::Ready {
        return Err(Failure {
            stage: Validation,
            error: anyhow::anyhow!(
                "the validation failed (order {status:?}): {:?}",
                order.state().error
            ),
        });
    }
    let key_pem = order
        .finalize()
        .await
        .context("finalizing the order")
        .at(ReachingCa)?;
    let chain_pem = order
        .poll_certificate(&retries)
        .await
        .context("downloading the certificate")
        .at(ReachingCa)?;
    let (certified, held) = certified(&chain_pem, &key_pem).at(ReachingCa)?;
    cache.write(&cache.key(), &key_pem).at(ReachingCa)?;
    cache.write(&cache.cert(), &chain_pem).at(ReachingCa)?;
    store.install(certified);
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_certificate_is_due_when_a_third_of_its_life_is_left() {
        let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let held = Held {
            not_before: start,
            not_after: start + chrono::Duration::days(90),
        };
        assert!(!held.due(start + chrono::Duration::days(59)));
        assert!(held.due(start + chrono::Duration::days(60)));
    }

    fn advice_for(stage: Stage, text: &'static str) -> &'static str {
        advice(&Failure {
            stage,
            error: anyhow::anyhow!(text),
        })
    }

    #[test]
    fn failures_come_with_advice_for_where_they_failed() {
        use Stage::{ReachingCa, Validation};
        let refused = "urn:ietf:params:acme:error:connection: Connection refused";
        assert!(advice_for(Validation, refused).contains("port 443"));
        // The same words from our own connection to the CA: not a port-443 problem.
        let ours = advice_for(
            ReachingCa,
            "creating an account at https://acme.example/dir: client error (Connect): tcp connect error: Connection refused",
        );
        assert!(ours.contains("outgoing"), "{ours}");
        assert!(!ours.contains("port 443"), "{ours}");
        let lookup = advice_for(
            ReachingCa,
            "client error (Connect): dns error: failed to lookup address information",
        );
        assert!(
            lookup.contains("look up the certificate authority"),
            "{lookup}"
        );
        assert!(
            advice_for(Validation, "urn:ietf:params:acme:error:rateLimited").contains("rate limit")
        );
        assert!(
            advice_for(ReachingCa, "urn:ietf:params:acme:error:rateLimited").contains("rate limit")
        );
        assert!(
            advice_for(Validation, "urn:ietf:params:acme:error:dns: NXDOMAIN")
                .contains("DNS A/AAAA")
        );
        assert!(
            advice_for(Validation, "urn:ietf:params:acme:error:unauthorized")
                .contains("different server")
        );
    }

    #[test]
    fn the_challenge_certificate_names_the_domain() {
        let cert = challenge_cert("visits.example.jp", &[7u8; 32]).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.cert[0].as_ref()).unwrap();
        let text = format!("{:?}", parsed.subject_alternative_name());
        assert!(text.contains("visits.example.jp"), "{text}");
    }
}
