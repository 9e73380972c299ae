//! A real SMTP server for the e-mail tests: Debian's aiosmtpd, run by smtp_sink.py
//! (beside this file), writing every message it accepts to a Maildir the test reads.
//! It can require a login, refuse a mailbox (any address with "unknown" in it: 550),
//! fail for a while (451), answer slowly, stop and come back on the same port.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use menkai::messages::smtp::{SmtpConfig, SmtpSettings};
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/e2e/support/smtp_sink.py"
);
/// Debian's interpreter, which has python3-aiosmtpd (scripts/test installs it).
const PYTHON: &str = "/usr/bin/python3";
pub const FROM: &str = "visits@sakura-en.jp";

/// How the sink behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Require this login.
    pub login: Option<(String, String)>,
    /// Wait this long before answering each message.
    pub delay_ms: u64,
    /// Offer STARTTLS with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// With `tls`: TLS from the first byte (port 465 style) instead of STARTTLS.
    pub implicit_tls: bool,
}

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    options: SinkOptions,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_with(SinkOptions::default()).await
    }

    pub async fn start_with(options: SinkOptions) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sink = SmtpSink {
            child: None,
            port: 0,
            dir,
            options,
        };
        sink.launch(0).await;
        sink
    }

    async fn launch(&mut self, port: u16) {
        assert!(
            Path::new(PYTHON).exists(),
            "{PYTHON} is missing: run scripts/test, which installs python3-aiosmtpd"
        );
        let mut command = Command::new(PYTHON);
        command
            .arg(SCRIPT)
            .args(["--port", &port.to_string(), "--maildir"])
            .arg(self.maildir())
            .arg("--tempfail-file")
            .arg(self.tempfail_file())
            .args(["--delay-ms", &self.options.delay_ms.to_string()]);
        if let Some((user, password)) = &self.options.login {
            command.args(["--user", user, "--password", password]);
        }
        if let Some((cert, key)) = &self.options.tls {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
            if self.options.implicit_tls {
                command.arg("--implicit-tls");
            }
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink starts (python3-aiosmtpd installed?)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(
            StdDuration::from_secs(20),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the SMTP sink says where it listens")
        .expect("read");
        self.port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the sink's first line: {line:?}"));
        self.child = Some(child);
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("Maildir")
    }

    fn tempfail_file(&self) -> PathBuf {
        self.dir.path().join("tempfail")
    }

    /// While on, every message is refused with "451 try again later".
    pub fn fail_for_now(&self, on: bool) {
        if on {
            std::fs::write(self.tempfail_file(), b"").expect("tempfail flag");
        } else {
            let _ = std::fs::remove_file(self.tempfail_file());
        }
    }

    /// The server goes away (connections refused) until [`SmtpSink::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Back on the same port, with the same Maildir.
    pub async fn restart(&mut self) {
        self.stop().await;
        let port = self.port;
        self.launch(port).await;
    }

    /// Settings for Menkai: plain SMTP to this machine, the login when one is needed.
    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: Some("127.0.0.1".into()),
            port: Some(self.port),
            tls: Some("none".into()),
            username: self.options.login.as_ref().map(|(u, _)| u.clone()),
            password: self.options.login.as_ref().map(|(_, p)| p.clone()),
            from: Some(FROM.into()),
            ..SmtpSettings::default()
        }
    }

    pub fn config(&self) -> SmtpConfig {
        self.settings()
            .check()
            .expect("valid settings")
            .expect("mail set up")
    }

    /// The same as a `[smtp]` section of a configuration file.
    pub fn toml(&self) -> String {
        let mut text = format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"{FROM}\"\n",
            self.port
        );
        if let Some((user, password)) = &self.options.login {
            text.push_str(&format!(
                "username = \"{user}\"\npassword = \"{password}\"\n"
            ));
        }
        text
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let dir = self.maildir().join("new");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let at = e
                            .metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (at, e.path())
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| Received::parse(&std::fs::read(&path).expect("a message")))
            .collect()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: StdDuration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} message(s) arrived within {within:?}, not {n}: {:?}",
                got.len(),
                got.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}

/// One message as the family's mail program would show it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub to_name: String,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    /// The calendar attachment: its method from the Content-Type, and its text.
    pub calendar: Option<(String, String)>,
    /// The inline image's bytes and its Content-ID.
    pub inline_png: Option<(Vec<u8>, String)>,
    /// Every header name, in order (to see that nothing was injected).
    pub header_names: Vec<String>,
}

impl Received {
    fn parse(bytes: &[u8]) -> Received {
        use mail_parser::{MessageParser, MimeHeaders as _};
        let message = MessageParser::default()
            .parse(bytes)
            .expect("a MIME message");
        let first = |a: Option<&mail_parser::Address<'_>>| {
            a.and_then(|a| a.first())
                .map(|a| {
                    (
                        a.address().unwrap_or_default().to_owned(),
                        a.name().unwrap_or_default().to_owned(),
                    )
                })
                .unwrap_or_default()
        };
        let (to, to_name) = first(message.to());
        let (from, _) = first(message.from());
        let mut calendar = None;
        let mut inline_png = None;
        for part in message.attachments() {
            let Some(kind) = part.content_type() else {
                continue;
            };
            let full = format!("{}/{}", kind.ctype(), kind.subtype().unwrap_or_default());
            if full == "text/calendar" {
                let method = kind.attribute("method").unwrap_or_default().to_owned();
                let text = String::from_utf8_lossy(part.contents()).into_owned();
                calendar = Some((method, text));
            } else if full == "image/png" {
                inline_png = Some((
                    part.contents().to_vec(),
                    part.content_id().unwrap_or_default().to_owned(),
                ));
            }
        }
        Received {
            to,
            to_name,
            from,
            subject: message.subject().unwrap_or_default().to_owned(),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            calendar,
            inline_png,
            header_names: message
                .headers()
                .iter()
                .map(|h| h.name().to_owned())
                .collect(),
        }
    }

    /// The visit link in the text body.
    pub fn link(&self) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.contains("/v/") && !w.ends_with("/check"))
            .map(|w| w.trim_end_matches(['.', ')', '）', '。']).to_owned())
    }
}
