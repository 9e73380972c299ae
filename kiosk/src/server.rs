//! Talking to the Menkai server over HTTP: the pairing exchange, whether it answers,
//! and whether the saved device token still works. One TLS set-up (rustls with ring:
//! the public roots plus those installed on this computer) for everything.
//!
//! The server is trusted with visits, not with the laptop. No redirect is followed:
//! one from https to http would send the pairing code or the device token again in
//! clear text (while `doctor` went on reporting a trusted certificate), and the kiosk
//! talks to one origin only, the one the operator typed. A redirect is reported with
//! where it points, so the operator can pair with that address if it is right. No
//! answer is read past 1 MiB (Menkai's are a few hundred bytes): a body that says it
//! is larger is refused before it is read, one that does not say is read piece by
//! piece and dropped as soon as it grows past the cap. What the answer carries is
//! checked in `pairing` before it is printed or saved.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::error::KioskError;
use crate::pairing::{self, Pairing};

const TIMEOUT: Duration = Duration::from_secs(15);
/// The most read of any answer from the server.
pub const MAX_BODY: usize = 1024 * 1024;
/// The longest redirect target shown (cut with "…").
const MAX_SHOWN_URL: usize = 200;
/// The longest wait a 429's Retry-After can ask for; a server asking more is not
/// believed (a pairing attempt waits minutes at most).
const MAX_RETRY_AFTER_SECS: u64 = 3600;

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
            // Never followed: see the module's documentation.
            .redirect(reqwest::redirect::Policy::none())
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
        let res = self.not_redirected(res)?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|seconds| seconds.min(MAX_RETRY_AFTER_SECS));
        let body = self.json(res).await?;
        let code_of = body["error"]["code"].as_str().unwrap_or_default();
        match status.as_u16() {
            200 => {
                let device = &body["device"];
                match (
                    body["device_token"].as_str(),
                    device["id"].as_str(),
                    device["name"].as_str(),
                    device["kind"].as_str(),
                ) {
                    (Some(token), Some(id), Some(name), Some(kind)) => {
                        Pairing::from_server(self.shown(), token, id, name, kind).map_err(|field| {
                            KioskError::BadAnswer {
                                url: self.shown(),
                                field,
                            }
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

    /// Every answer passes here first: a redirect is reported, never followed.
    fn not_redirected(&self, res: reqwest::Response) -> Result<reqwest::Response, KioskError> {
        if !res.status().is_redirection() {
            return Ok(res);
        }
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        match redirect_target(res.url(), location) {
            Some(to) => Err(KioskError::Redirect {
                url: self.shown(),
                to,
            }),
            None => Err(self.not_menkai(&res.status().to_string())),
        }
    }

    /// The answer's body, at most `MAX_BODY` bytes (see [`BoundedBody`]).
    async fn body(&self, mut res: reqwest::Response) -> Result<Vec<u8>, KioskError> {
        let too_large = |_: TooLarge| KioskError::TooLarge(self.shown());
        let mut body = BoundedBody::new(res.content_length(), MAX_BODY).map_err(too_large)?;
        while let Some(chunk) = res.chunk().await.map_err(|e| self.failed(&e))? {
            body.push(&chunk).map_err(too_large)?;
        }
        Ok(body.into_bytes())
    }

    /// The answer's body as JSON (`Null` when it is not JSON), read within the cap.
    async fn json(&self, res: reqwest::Response) -> Result<Value, KioskError> {
        let body = self.body(res).await?;
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
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
        let res = self.not_redirected(res)?;
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
        let res = self.not_redirected(res)?;
        match res.status().as_u16() {
            200 => {
                let body = self.json(res).await?;
                // Only shown, never stored: cleaned and cut to a name's length.
                let field = |k: &str| {
                    pairing::printable(
                        body["device"][k].as_str().unwrap_or_default(),
                        pairing::MAX_NAME_CHARS,
                    )
                };
                Ok(Some((field("name"), field("kind"))))
            }
            401 => Ok(None),
            429 => Err(KioskError::RateLimited(60)),
            _ => Err(self.not_menkai(&res.status().to_string())),
        }
    }
}

/// Where a redirect points, resolved against the address asked and cleaned for the
/// screen (it came from the server); `None` when it names no address.
pub fn redirect_target(asked: &Url, location: Option<&str>) -> Option<String> {
    let to = asked.join(location?.trim()).ok()?;
    Some(pairing::printable(to.as_str(), MAX_SHOWN_URL))
}

/// An answer larger than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// A body read piece by piece that never holds more than its cap: refused at once
/// when its declared length (Content-Length) is over the cap, and at the first piece
/// that would take it over otherwise (a chunked answer declares nothing).
#[derive(Debug)]
pub struct BoundedBody {
    bytes: Vec<u8>,
    cap: usize,
}

impl BoundedBody {
    pub fn new(declared: Option<u64>, cap: usize) -> Result<BoundedBody, TooLarge> {
        let cap_u64 = u64::try_from(cap).unwrap_or(u64::MAX);
        if declared.is_some_and(|length| length > cap_u64) {
            return Err(TooLarge);
        }
        // Nothing reserved from what the server declared: it is only a claim.
        Ok(BoundedBody {
            bytes: Vec::new(),
            cap,
        })
    }

    pub fn push(&mut self, piece: &[u8]) -> Result<(), TooLarge> {
        if self.bytes.len().saturating_add(piece.len()) > self.cap {
            return Err(TooLarge);
        }
        self.bytes.extend_from_slice(piece);
        Ok(())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
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

    #[test]
    fn a_body_is_refused_past_its_cap_whether_declared_or_not() {
        assert_eq!(
            BoundedBody::new(Some(400 * 1024 * 1024), MAX_BODY).err(),
            Some(TooLarge)
        );
        let mut declared = BoundedBody::new(Some(MAX_BODY as u64), MAX_BODY).expect("at the cap");
        declared
            .push(&vec![b'x'; MAX_BODY])
            .expect("the whole cap fits");
        assert_eq!(declared.push(b"x"), Err(TooLarge));

        // Chunked: no length said; refused at the piece that goes over, and what was
        // read stays at most the cap.
        let mut chunked = BoundedBody::new(None, 10).expect("nothing declared");
        for piece in [&b"{\"a\""[..], b":1", b"}"] {
            chunked.push(piece).expect("within the cap");
        }
        assert_eq!(chunked.push(b"1234"), Err(TooLarge));
        assert_eq!(chunked.into_bytes(), b"{\"a\":1}");
    }

    #[test]
    fn a_redirect_is_shown_where_it_points_and_nothing_else() {
        let asked = Url::parse("https://visits.example.org/api/v1/devices/pair").expect("url");
        assert_eq!(
            redirect_target(
                &asked,
                Some("http://visits.example.org/api/v1/devices/pair")
            )
            .as_deref(),
            Some("http://visits.example.org/api/v1/devices/pair")
        );
        // Relative: resolved against the address asked.
        assert_eq!(
            redirect_target(&asked, Some("/elsewhere")).as_deref(),
            Some("https://visits.example.org/elsewhere")
        );
        assert_eq!(redirect_target(&asked, None), None);
        // What a terminal would act on does not reach it; a long one is cut.
        let hostile = redirect_target(&asked, Some("https://evil.example/\u{1b}[2J\u{202E}x"))
            .expect("shown");
        assert!(
            !hostile.chars().any(|c| c.is_control() || c == '\u{202E}'),
            "{hostile}"
        );
        let long_path = format!("/{}", "a".repeat(10_000));
        let long = redirect_target(&asked, Some(long_path.as_str())).expect("shown");
        assert_eq!(long.chars().count(), MAX_SHOWN_URL);
    }
}
