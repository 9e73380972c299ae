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

/// One invalid field of a form or JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

/// Every invalid field of one request, so a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, code: &'static str) {
        self.0.push(FieldError { field, code });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The code of the first error on a field, for templates.
    pub fn code_for(&self, field: &str) -> Option<&'static str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.code)
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    pub fn single(field: &'static str, code: &'static str) -> Self {
        Self(vec![FieldError { field, code }])
    }
}

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

    fn log_if_internal(&self) {
        if let Error::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
    }

    fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(HeaderValue::from(*retry_after_secs)),
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
