//! Talking to the Menkai server over HTTP: the pairing exchange, whether it answers,
//! and whether the saved device token still works. One TLS set-up (rustls with ring:
//! the public roots plus those installed on this computer) for everything.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::error::KioskError;
use crate::pairing::Pairing;

const TIMEOUT: Duration = Duration::from_secs(15);

/// The server's origin from what the operator typed: `https://host[:port]`, no path.
/// A bare host name means HTTPS.
pub fn origin(typed: &str) -> Result<Url, KioskError> {
    let typed = typed.trim();
    let with_scheme = if typed.contains("://") {
        typed.to_owned()
    } else {
        format!("https://{typed}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| KioskError::BadUrl(typed.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(KioskError::BadUrl(typed.to_owned()));
    }
    Url::parse(&url.origin().ascii_serialization())
        .map_err(|_| KioskError::BadUrl(typed.to_owned()))
}

/// The TLS client set-up shared by HTTP and the WebSocket check.
pub fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A care home's own CA, installed on the laptop, is trusted too.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            // The ring provider supports the default versions; this is not reached.
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
}

pub struct Server {
    pub origin: Url,
    http: reqwest::Client,
}

impl Server {
    pub fn new(origin: Url) -> Result<Server, KioskError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("menkai-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KioskError::Unreachable(e.to_string()))?;
        Ok(Server { origin, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin.as_str().trim_end_matches('/'))
    }

    fn shown(&self) -> String {
        self.origin.as_str().trim_end_matches('/').to_owned()
    }

    /// Why a request did not get an answer, in the operator's terms.
    fn failed(&self, error: &reqwest::Error) -> KioskError {
        if is_certificate_error(error) {
            KioskError::Certificate(self.shown())
        } else {
            KioskError::Unreachable(self.shown())
        }
    }

    /// Trades a one-time pairing code for a device token.
    pub async fn pair(&self, code: &str) -> Result<Pairing, KioskError> {
        let res = self
            .http
            .post(self.url("/api/v1/devices/pair"))
            .json(&json!({ "code": code }))
            .send()
            .await
            .map_err(|e| self.failed(&e))?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let code_of = body["error"]["code"].as_str().unwrap_or_default();
        match status.as_u16() {
            200 => {
                let text = |v: &Value| v.as_str().map(str::to_owned);
                let device = &body["device"];
                match (
                    text(&body["device_token"]),
                    text(&device["id"]),
                    text(&device["name"]),
                    text(&device["kind"]),
                ) {
                    (Some(device_token), Some(device_id), Some(device_name), Some(kind)) => {
                        Ok(Pairing {
                            server: self.shown(),
                            device_token,
                            device_id,
                            device_name,
                            kind,
                        })
                    }
                    _ => Err(self.not_menkai("200 OK")),
                }
            }
            400 if code_of == "invalid_pairing_code" => Err(KioskError::InvalidCode),
            422 => Err(KioskError::InvalidCode),
            429 => Err(KioskError::RateLimited(retry_after.unwrap_or(60))),
            _ => Err(self.not_menkai(&status.to_string())),
        }
    }

    fn not_menkai(&self, status: &str) -> KioskError {
        KioskError::NotMenkai {
            url: self.shown(),
            status: status.to_owned(),
        }
    }

    /// Whether the server answers its health check.
    pub async fn healthz(&self) -> Result<(), KioskError> {
        let res = self
            .http
            .get(self.url("/healthz"))
            .send()
            .await
            .map_err(|e| self.failed(&e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(self.not_menkai(&res.status().to_string()))
        }
    }

    /// Whether the device token still works: `Some((name, kind))`, or `None` when it
    /// never did or staff removed the device. Asked over HTTP, not by connecting as
    /// the device: that would take the running kiosk's socket over.
    pub async fn check(&self, token: &str) -> Result<Option<(String, String)>, KioskError> {
        let res = self
            .http
            .post(self.url("/api/v1/devices/check"))
            .json(&json!({ "device_token": token }))
            .send()
            .await
            .map_err(|e| self.failed(&e))?;
        match res.status().as_u16() {
            200 => {
                let body: Value = res.json().await.unwrap_or(Value::Null);
                let field = |k: &str| body["device"][k].as_str().unwrap_or_default().to_owned();
                Ok(Some((field("name"), field("kind"))))
            }
            401 => Ok(None),
            429 => Err(KioskError::RateLimited(60)),
            _ => Err(self.not_menkai(&res.status().to_string())),
        }
    }
}

/// Whether the TLS handshake failed on the server's certificate. The rustls error sits
/// inside I/O errors (wrapped twice, by tokio-rustls and by hyper), whose `source()`
/// skips the error they carry: look inside them with `get_ref`.
fn is_certificate_error(error: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_operator_types_becomes_an_origin() {
        let ok = |typed: &str| origin(typed).map(|u| u.to_string());
        assert_eq!(
            ok("visits.example.org").ok().as_deref(),
            Some("https://visits.example.org/")
        );
        assert_eq!(
            ok(" http://127.0.0.1:8080/staff?x=1 ").ok().as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        for bad in ["ftp://example.org", "https://", "not a url at all", ""] {
            assert!(matches!(origin(bad), Err(KioskError::BadUrl(_))), "{bad}");
        }
    }
}
