//! The one place where errors become HTTP responses.
//!
//! Domain and storage code return [`Error`]. JSON API handlers wrap it in [`ApiError`]
//! (`{"error":{"code","message"}}`), page handlers in [`PageError`] (a friendly page in
//! the visitor's language). Codes are stable snake_case strings that clients and
//! tests match on; messages come from the translation catalogs. Internal errors are
//! logged with their context and shown to nobody.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::i18n::{self, Lang};

pub use crate::validation::{FieldError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("missing or wrong form token")]
    Csrf,
    /// A state that forbids the request: a double booking, a cancelled visit.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("too many attempts, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// The server is at a limit it sets itself (password checks, connections): the
    /// request was not tried; trying again shortly works.
    #[error("busy")]
    Busy,
    /// A request body over the limit.
    #[error("payload too large")]
    TooLarge,
    /// An error status produced outside the handlers (a wrong method, a timeout),
    /// carried with its code so the API can answer it as JSON.
    #[error("{1}")]
    Status(StatusCode, &'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Invalid(errors)
    }
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::Csrf => StatusCode::FORBIDDEN,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Status(status, _) => *status,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "not_found",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden => "forbidden",
            Error::Csrf => "csrf_failed",
            Error::Conflict(code) | Error::BadRequest(code) => code,
            Error::Invalid(_) => "invalid_input",
            Error::RateLimited { .. } => "rate_limited",
            Error::Busy => "busy",
            Error::TooLarge => "payload_too_large",
            Error::Status(_, code) => code,
            Error::Internal(_) => "internal",
        }
    }

    /// The message a person reads, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Error::RateLimited { retry_after_secs } => i18n::text(
                lang,
                "error-rate_limited",
                &[("seconds", (*retry_after_secs).into())],
            ),
            _ => i18n::text(lang, &format!("error-{}", self.code()), &[]),
        }
    }

    /// The error for a bare status produced before any handler ran.
    pub fn from_status(status: StatusCode) -> Error {
        match status {
            StatusCode::NOT_FOUND => Error::NotFound,
            StatusCode::UNAUTHORIZED => Error::Unauthorized,
            StatusCode::FORBIDDEN => Error::Forbidden,
            StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge,
            StatusCode::SERVICE_UNAVAILABLE => Error::Busy,
            StatusCode::METHOD_NOT_ALLOWED => Error::Status(status, "method_not_allowed"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::Status(status, "unsupported_media_type"),
            StatusCode::REQUEST_TIMEOUT => Error::Status(status, "timeout"),
            _ if status.is_server_error() => Error::Status(status, "internal"),
            _ => Error::Status(status, "bad_request"),
        }
    }

    fn log_if_internal(&self) {
        if let Error::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
    }

    fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(HeaderValue::from(*retry_after_secs)),
            Error::Busy => Some(HeaderValue::from(1u64)),
            _ => None,
        }
    }
}

/// Per-field messages, `{"starts_at": {"code": "...", "message": "..."}}`.
pub fn field_messages(errors: &FieldErrors, lang: Lang) -> Map<String, Value> {
    errors
        .0
        .iter()
        .map(|e| {
            let message = i18n::text(lang, &format!("error-{}", e.code), &[]);
            (
                e.field.to_owned(),
                json!({"code": e.code, "message": message}),
            )
        })
        .collect()
}

/// An error answered to the JSON API (in English: API clients are programs).
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

#[derive(Serialize)]
struct ApiErrorBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Map<String, Value>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log_if_internal();
        let fields = match &e {
            Error::Invalid(errors) => Some(field_messages(errors, Lang::En)),
            _ => None,
        };
        let body = ApiErrorBody {
            code: e.code(),
            message: e.message(Lang::En),
            fields,
        };
        let mut response = (e.status(), Json(json!({ "error": body }))).into_response();
        if let Some(retry) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        response
    }
}

/// An error answered with a page. The page itself is rendered by the error-page
/// middleware in `web`, which knows the visitor's language; here it is only marked.
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

/// Carried in a response's extensions to ask for the error page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub code: &'static str,
    pub retry_after_secs: Option<u64>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log_if_internal();
        let mut response = e.status().into_response();
        if let Some(retry) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        response.extensions_mut().insert(ErrorPage {
            code: e.code(),
            retry_after_secs: match e {
                Error::RateLimited { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            },
        });
        response
    }
}

impl ErrorPage {
    /// Rebuilds the message in the visitor's language.
    pub fn message(&self, lang: Lang) -> String {
        match self.retry_after_secs {
            Some(secs) => Error::RateLimited {
                retry_after_secs: secs,
            }
            .message(lang),
            None => i18n::text(lang, &format!("error-{}", self.code), &[]),
        }
    }
}

/// Why the signaling server refuses or ends something: the `code` of a WebSocket
/// `error` frame (docs/PROTOCOL.md), defined with the wire protocol (`menkai-protocol`)
/// so the pages' types and menkai-peer know every code the server can send.
pub use menkai_protocol::ErrorCode as SignalingError;

/// The message of an `error` frame (English: clients show their own translated text).
pub fn signaling_message(error: SignalingError) -> String {
    i18n::text(Lang::En, &format!("ws-{}", error.as_str()), &[])
}
