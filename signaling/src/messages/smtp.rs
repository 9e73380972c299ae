//! E-mail through the home's SMTP server (its provider's submission port), with
//! `lettre` on tokio and rustls: the [`Notifier`] built today.
//!
//! Settings come from `[smtp]` in the configuration file and `MENKAI_SMTP_*`
//! variables (README, "E-mail"). A plain connection (`tls = "none"`) is allowed only to
//! this machine (a local relay such as Postfix), never across a network.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use super::{Notifier, Outgoing, SendError};

/// One try of one message (connect, TLS, login, send) gives up after this: lettre's
/// own timeout covers only the connection, and a server that stops answering must not
/// hold the outbox.
const TRY_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[smtp]` as written in the file or the environment; `None`: not set there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `starttls` (the default, port 587), `tls` (port 465) or `none` (this machine only).
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A file holding the password (e.g. a systemd credential), instead of `password`.
    pub password_file: Option<PathBuf>,
    /// The address messages come from, e.g. `visits@sakura-en.jp`.
    pub from: Option<String>,
    /// The name shown with it; the facility's name when not set.
    pub from_name: Option<String>,
    /// An extra root certificate (PEM) to trust: a relay with a private CA.
    pub root: Option<PathBuf>,
}

impl SmtpSettings {
    /// `MENKAI_SMTP_*` through `var` (the process environment in production).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<SmtpSettings> {
        let port =
            match var("MENKAI_SMTP_PORT") {
                Some(p) => Some(p.parse().with_context(|| {
                    format!("MENKAI_SMTP_PORT must be a port number (got {p:?})")
                })?),
                None => None,
            };
        Ok(SmtpSettings {
            host: var("MENKAI_SMTP_HOST"),
            port,
            tls: var("MENKAI_SMTP_TLS"),
            username: var("MENKAI_SMTP_USERNAME"),
            password: var("MENKAI_SMTP_PASSWORD"),
            password_file: var("MENKAI_SMTP_PASSWORD_FILE").map(PathBuf::from),
            from: var("MENKAI_SMTP_FROM"),
            from_name: var("MENKAI_SMTP_FROM_NAME"),
            root: var("MENKAI_SMTP_ROOT").map(PathBuf::from),
        })
    }

    /// Fills what `self` leaves unset from `lower`.
    pub fn over(self, lower: SmtpSettings) -> SmtpSettings {
        SmtpSettings {
            host: self.host.or(lower.host),
            port: self.port.or(lower.port),
            tls: self.tls.or(lower.tls),
            username: self.username.or(lower.username),
            password: self.password.or(lower.password),
            password_file: self.password_file.or(lower.password_file),
            from: self.from.or(lower.from),
            from_name: self.from_name.or(lower.from_name),
            root: self.root.or(lower.root),
        }
    }

    /// The checked configuration; `None` when nothing at all is set (no e-mail).
    pub fn check(self) -> anyhow::Result<Option<SmtpConfig>> {
        if self == SmtpSettings::default() {
            return Ok(None);
        }
        let host = self
            .host
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .context("smtp: host is missing (the mail server, e.g. smtp.example.jp)")?;
        let tls = match self.tls.as_deref().unwrap_or("starttls") {
            "starttls" => TlsMode::StartTls,
            "tls" => TlsMode::Tls,
            "none" => TlsMode::None,
            other => {
                anyhow::bail!("smtp: tls must be \"starttls\", \"tls\" or \"none\" (got {other:?})")
            }
        };
        anyhow::ensure!(
            tls != TlsMode::None || is_this_machine(&host),
            "smtp: tls = \"none\" sends the password and the families' links in clear: only to this machine (127.0.0.1, ::1, localhost), not to {host}"
        );
        let port = self.port.unwrap_or(match tls {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        });
        let password = match (self.password, self.password_file) {
            (Some(_), Some(_)) => anyhow::bail!("smtp: give password or password_file, not both"),
            (Some(p), None) => Some(p),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("smtp: reading password_file {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let credentials = match (self.username, password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => anyhow::bail!("smtp: username needs password or password_file"),
            (None, Some(_)) => anyhow::bail!("smtp: password needs username"),
        };
        let from = self
            .from
            .context("smtp: from is missing (the address messages come from)")?;
        let from = crate::validation::email(&from)
            .map_err(|_| anyhow::anyhow!("smtp: from is not an e-mail address ({from:?})"))?;
        Ok(Some(SmtpConfig {
            host,
            port,
            tls,
            credentials,
            from,
            from_name: self.from_name.map(|n| header_text(&n)),
            root: self.root,
        }))
    }
}

fn is_this_machine(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    StartTls,
    Tls,
    None,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
}

/// Checked SMTP settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    credentials: Option<(String, String)>,
    pub from: String,
    pub from_name: Option<String>,
    pub root: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|(u, _)| u))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// What the Settings page says about it (never the password).
    pub fn summary(&self) -> Summary {
        Summary {
            server: format!("{}:{} ({})", self.host, self.port, self.tls.as_str()),
            from: self.from.clone(),
        }
    }
}

/// The mail set-up as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub server: String,
    pub from: String,
}

/// Text for a header (a display name, a subject): no control characters, so nothing
/// typed can start a header of its own (lettre refuses a name with a line break).
pub fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// What went wrong talking to the mail server, in words for the person who set it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The server answered with a code (535: login refused; 550: no such mailbox…).
    Refused {
        code: u16,
        permanent: bool,
        text: String,
    },
    /// The server's certificate is not trusted or not for this name.
    Certificate(String),
    /// TLS failed otherwise (e.g. `tls` does not match the port).
    Tls(String),
    /// No connection (refused, unreachable).
    Unreachable(String),
    /// No answer in time.
    Timeout,
    Other(String),
}

impl Problem {
    fn of(e: &lettre::transport::smtp::Error) -> Problem {
        use std::error::Error as _;
        use std::io::ErrorKind as K;
        if let Some(code) = e.status() {
            let text = e.to_string();
            // "permanent error (550): 5.1.1 mailbox unknown" → "5.1.1 mailbox unknown"
            let text = text
                .split_once("): ")
                .map_or(text.as_str(), |(_, said)| said)
                .trim()
                .to_owned();
            return Problem::Refused {
                code: code.into(),
                permanent: e.is_permanent(),
                text,
            };
        }
        if e.is_timeout() {
            return Problem::Timeout;
        }
        let mut source = e.source();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return match tls {
                        rustls::Error::InvalidCertificate(why) => {
                            Problem::Certificate(format!("{why:?}"))
                        }
                        other => Problem::Tls(other.to_string()),
                    };
                }
                if matches!(
                    io.kind(),
                    K::ConnectionRefused
                        | K::HostUnreachable
                        | K::NetworkUnreachable
                        | K::ConnectionReset
                        | K::AddrNotAvailable
                        | K::NotFound
                ) {
                    return Problem::Unreachable(io.to_string());
                }
            }
            source = s.source();
        }
        Problem::Other(e.to_string())
    }

    /// As an outbox result: a refusal with a 5xx code is for good; the rest may pass.
    pub fn as_send_error(&self) -> SendError {
        match self {
            Problem::Refused {
                permanent: true,
                text,
                ..
            } => SendError::Permanent(text.clone()),
            other => SendError::Transient(other.short()),
        }
    }

    /// A short reason for the outbox and the visit's page.
    fn short(&self) -> String {
        match self {
            Problem::Refused { code, text, .. } => format!("{code} {text}"),
            Problem::Certificate(why) => format!("the mail server's certificate: {why}"),
            Problem::Tls(why) => format!("TLS: {why}"),
            Problem::Unreachable(why) => format!("mail server unreachable: {why}"),
            Problem::Timeout => "the mail server did not answer in time".to_owned(),
            Problem::Other(why) => why.clone(),
        }
    }

    /// What `menkai admin mail test` prints: the cause and what to check.
    pub fn advice(&self, config: &SmtpConfig) -> String {
        let at = format!("{}:{}", config.host, config.port);
        match self {
            Problem::Refused {
                code: 530 | 534 | 535 | 538,
                text,
                ..
            } => format!(
                "The mail server refused the login ({text}). Check username and password (or password_file); \
                 some providers need an app password for SMTP."
            ),
            Problem::Refused { code, text, .. } => {
                format!("The mail server at {at} refused the message: {code} {text}")
            }
            Problem::Certificate(why) => format!(
                "The mail server's certificate is not trusted ({why}). host must be the name on the \
                 certificate (not an IP address); a private CA's certificate goes in root."
            ),
            Problem::Tls(why) => format!(
                "TLS with {at} failed ({why}). Port 587 normally needs tls = \"starttls\", port 465 tls = \"tls\"."
            ),
            Problem::Unreachable(why) => format!(
                "Could not connect to {at} ({why}). Check host and port, and that a firewall lets this server reach it."
            ),
            Problem::Timeout => format!(
                "{at} did not answer within {} seconds. Check host and port (and tls: a TLS port \
                 waits silently for a plain connection).",
                TRY_TIMEOUT.as_secs()
            ),
            Problem::Other(why) => format!("Sending through {at} failed: {why}"),
        }
    }
}

/// Sends messages through one SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the from address: the right part of every Message-ID.
    domain: String,
}

impl Mailer {
    /// `fallback_name`: the name shown with the from address when `from_name` is not
    /// set (the facility's name).
    pub fn new(config: &SmtpConfig, fallback_name: &str) -> anyhow::Result<Mailer> {
        let builder = match config.tls {
            TlsMode::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            }
            mode => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(root) = &config.root {
                    let pem = std::fs::read(root)
                        .with_context(|| format!("smtp: reading root {}", root.display()))?;
                    params = params.add_root_certificate(
                        Certificate::from_pem(&pem)
                            .with_context(|| format!("smtp: root {}", root.display()))?,
                    );
                }
                let params = params.build().context("smtp: TLS settings")?;
                let tls = if mode == TlsMode::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                };
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
                    .tls(tls)
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(CONNECT_TIMEOUT));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let name = config
            .from_name
            .clone()
            .unwrap_or_else(|| header_text(fallback_name));
        let address = config
            .from
            .parse()
            .with_context(|| format!("smtp: from {}", config.from))?;
        let domain = config
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        Ok(Mailer {
            transport: builder.build(),
            from: Mailbox::new(Some(name).filter(|n| !n.is_empty()), address),
            domain,
        })
    }

    /// Connects, logs in and says goodbye: whether the settings work.
    pub async fn check(&self) -> Result<(), Problem> {
        match tokio::time::timeout(TRY_TIMEOUT, self.transport.test_connection()).await {
            Err(_) => Err(Problem::Timeout),
            Ok(Err(e)) => Err(Problem::of(&e)),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(Problem::Other("the server did not answer NOOP".into())),
        }
    }

    /// The whole message: text and HTML alternatives (the HTML with its inline QR
    /// code), and the calendar entry as an attachment.
    pub fn build(&self, m: &Outgoing) -> anyhow::Result<Message> {
        let to = Mailbox::new(
            Some(header_text(&m.to_name)).filter(|n| !n.is_empty()),
            m.to_address.parse().context("the guest's address")?,
        );
        let html = match &m.qr_png {
            Some(png) => MultiPart::related()
                .singlepart(SinglePart::html(m.html.clone()))
                .singlepart(
                    Attachment::new_inline(super::compose::QR_CID.to_owned())
                        .body(Body::new(png.clone()), ContentType::parse("image/png")?),
                ),
            None => MultiPart::related().singlepart(SinglePart::html(m.html.clone())),
        };
        let alternative = MultiPart::alternative()
            .singlepart(SinglePart::plain(m.text.clone()))
            .multipart(html);
        let body = match &m.calendar {
            Some((method, ics)) => MultiPart::mixed().multipart(alternative).singlepart(
                Attachment::new("invite.ics".to_owned()).body(
                    Body::new_with_encoding(
                        ics.clone(),
                        lettre::message::header::ContentTransferEncoding::Base64,
                    )
                    .map_err(|_| anyhow::anyhow!("encoding the calendar entry"))?,
                    ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))?,
                ),
            ),
            None => MultiPart::mixed().multipart(alternative),
        };
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_text(&m.subject))
            .message_id(Some(format!("<{}@{}>", m.message_id, self.domain)))
            .multipart(body)?)
    }
}

impl Notifier for Mailer {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let built = self.build(message).map_err(|e| {
            SendError::Permanent(format!("the message could not be written: {e:#}"))
        })?;
        match tokio::time::timeout(TRY_TIMEOUT, self.transport.send(built)).await {
            Err(_) => Err(Problem::Timeout.as_send_error()),
            Ok(Err(e)) => Err(Problem::of(&e).as_send_error()),
            Ok(Ok(_)) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: Some("smtp.example.jp".into()),
            from: Some("visits@sakura-en.jp".into()),
            ..SmtpSettings::default()
        }
    }

    #[test]
    fn nothing_set_means_no_mail_and_defaults_follow_tls() {
        assert_eq!(SmtpSettings::default().check().unwrap(), None);
        let c = settings().check().unwrap().unwrap();
        assert_eq!((c.port, c.tls), (587, TlsMode::StartTls));
        let c = SmtpSettings {
            tls: Some("tls".into()),
            ..settings()
        }
        .check()
        .unwrap()
        .unwrap();
        assert_eq!((c.port, c.tls), (465, TlsMode::Tls));
    }

    #[test]
    fn plain_smtp_only_to_this_machine_and_settings_must_fit() {
        let plain = |host: &str| SmtpSettings {
            host: Some(host.into()),
            tls: Some("none".into()),
            ..settings()
        };
        assert!(plain("smtp.example.jp").check().is_err());
        assert!(plain("192.168.1.10").check().is_err());
        assert!(plain("127.0.0.1").check().is_ok());
        assert!(plain("localhost").check().is_ok());
        assert!(plain("::1").check().is_ok());
        for bad in [
            SmtpSettings {
                tls: Some("ssl".into()),
                ..settings()
            },
            SmtpSettings {
                from: None,
                ..settings()
            },
            SmtpSettings {
                from: Some("not an address".into()),
                ..settings()
            },
            SmtpSettings {
                host: None,
                ..settings()
            },
            SmtpSettings {
                username: Some("u".into()),
                ..settings()
            },
            SmtpSettings {
                password: Some("p".into()),
                ..settings()
            },
            SmtpSettings {
                username: Some("u".into()),
                password: Some("p".into()),
                password_file: Some("/nonexistent".into()),
                ..settings()
            },
        ] {
            assert!(bad.clone().check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_environment_fills_in_over_the_file_and_a_password_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let env = |k: &str| match k {
            "MENKAI_SMTP_PORT" => Some("2525".to_owned()),
            "MENKAI_SMTP_USERNAME" => Some("menkai".to_owned()),
            "MENKAI_SMTP_PASSWORD_FILE" => Some(file.display().to_string()),
            _ => None,
        };
        let merged = SmtpSettings::from_env(env).unwrap().over(settings());
        let c = merged.check().unwrap().unwrap();
        assert_eq!(c.port, 2525);
        assert_eq!(c.credentials, Some(("menkai".into(), "s3cret".into())));
        assert!(!format!("{c:?}").contains("s3cret"), "no password in logs");
        assert!(SmtpSettings::from_env(|_| Some("x".into())).is_err());
    }

    /// (A tokio test: the transport's connection pool lives on the runtime.)
    #[tokio::test]
    async fn names_and_subjects_cannot_start_a_header() {
        assert_eq!(
            header_text("Taro\r\nBcc: all@example.jp"),
            "Taro  Bcc: all@example.jp"
        );
        let config = settings().check().unwrap().unwrap();
        let mailer = Mailer::new(&config, "さくら苑\r\nX-Evil: 1").unwrap();
        let message = mailer
            .build(&Outgoing {
                to_name: "山田 太郎\r\nBcc: all@example.jp".into(),
                to_address: "taro@example.jp".into(),
                subject: "面会\r\nBcc: all@example.jp".into(),
                text: "text".into(),
                html: "<p>html</p>".into(),
                calendar: None,
                qr_png: None,
                message_id: "m1".into(),
            })
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers
                .lines()
                .any(|l| l.starts_with("Bcc") || l.starts_with("X-Evil")),
            "{headers}"
        );
        assert!(
            headers.contains("Message-ID: <m1@sakura-en.jp>"),
            "{headers}"
        );
    }
}
