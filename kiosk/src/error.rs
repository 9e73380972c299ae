//! What can go wrong, as the operator reads it: each error is a catalog message.

use std::path::PathBuf;

use crate::i18n::Tr;
use crate::pairing::Field;

#[derive(Debug, thiserror::Error)]
pub enum KioskError {
    #[error("not a web address: {0}")]
    BadUrl(String),
    #[error("cannot reach {0}")]
    Unreachable(String),
    #[error("untrusted certificate at {0}")]
    Certificate(String),
    #[error("{url} is not a Menkai server ({status})")]
    NotMenkai { url: String, status: String },
    /// The server answered with a redirect; it was not followed (see `server`).
    #[error("{url} redirects to {to}")]
    Redirect { url: String, to: String },
    /// The server's answer was larger than any of Menkai's (`server::MAX_BODY`).
    #[error("answer from {0} too large")]
    TooLarge(String),
    /// The server sent a field out of bounds (`Pairing::from_server`).
    #[error("{url} sent an unacceptable {field:?}")]
    BadAnswer { url: String, field: Field },
    #[error("wrong, used or expired pairing code")]
    InvalidCode,
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    #[error("not paired")]
    NotPaired,
    #[error("pairing file {path}: {error}")]
    PairingFile { path: PathBuf, error: String },
    /// The pairing file holds a field out of bounds (changed by hand).
    #[error("pairing file {path}: unacceptable {field:?}")]
    PairingField { path: PathBuf, field: Field },
    #[error("pairing file {0} too large")]
    PairingTooLarge(PathBuf),
    #[error("cannot save {path}: {error}")]
    Save { path: PathBuf, error: String },
    #[error("no browser found")]
    NoBrowser,
    #[error("browser did not start: {0}")]
    BrowserStart(String),
}

impl KioskError {
    /// The sentence for the person at the laptop, with what to do next.
    pub fn message(&self, tr: &Tr) -> String {
        match self {
            KioskError::BadUrl(url) => tr.args("err-bad-url", &[("url", url)]),
            KioskError::Unreachable(url) => tr.args("err-unreachable", &[("url", url)]),
            KioskError::Certificate(url) => tr.args("err-certificate", &[("url", url)]),
            KioskError::NotMenkai { url, status } => {
                tr.args("err-not-menkai", &[("url", url), ("status", status)])
            }
            KioskError::Redirect { url, to } => {
                tr.args("err-redirect", &[("url", url), ("to", to)])
            }
            KioskError::TooLarge(url) => tr.args("err-too-large", &[("url", url)]),
            KioskError::BadAnswer { url, field } => {
                let field = tr.t(field.label());
                tr.args("err-bad-answer", &[("url", url), ("field", &field)])
            }
            KioskError::InvalidCode => tr.t("pair-invalid-code"),
            KioskError::RateLimited(seconds) => {
                tr.args("pair-rate-limited", &[("seconds", seconds)])
            }
            KioskError::NotPaired => tr.t("err-not-paired"),
            KioskError::PairingFile { path, error } => tr.args(
                "err-pairing-file",
                &[("path", &path.display()), ("error", error)],
            ),
            KioskError::PairingField { path, field } => {
                let field = tr.t(field.label());
                tr.args(
                    "err-pairing-field",
                    &[("path", &path.display()), ("field", &field)],
                )
            }
            KioskError::PairingTooLarge(path) => {
                tr.args("err-pairing-too-large", &[("path", &path.display())])
            }
            KioskError::Save { path, error } => {
                tr.args("err-save", &[("path", &path.display()), ("error", error)])
            }
            KioskError::NoBrowser => tr.t("err-no-browser"),
            KioskError::BrowserStart(error) => tr.args("err-browser-start", &[("error", error)]),
        }
    }

    /// The process's exit code: 2 for what the operator must fix in what they typed or
    /// set up, 3 for the network or the server.
    pub fn exit_code(&self) -> u8 {
        match self {
            KioskError::Unreachable(_)
            | KioskError::Certificate(_)
            | KioskError::NotMenkai { .. }
            | KioskError::Redirect { .. }
            | KioskError::TooLarge(_)
            | KioskError::BadAnswer { .. } => 3,
            _ => 2,
        }
    }
}
