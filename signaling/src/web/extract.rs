//! Who is asking, and what they sent: staff sessions, API tokens, CSRF-checked forms and
//! JSON bodies that fail with the API's error shape.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::CsrfToken;
use crate::error::{ApiError, Error, PageError};
use crate::i18n::{Lang, Tr};
use crate::staff::{Actor, Role, StaffMember};
use crate::state::AppState;
use crate::tokens;

pub const SESSION_COOKIE: &str = "menkai_session";

impl From<&StaffMember> for Actor {
    fn from(m: &StaffMember) -> Self {
        Actor {
            label: m.display_name.clone(),
            role: m.role,
            staff_id: Some(m.id.clone()),
        }
    }
}

/// The language and CSRF value the middleware chose for this request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tr: Tr,
    pub csrf: String,
    /// The page was reached right after a save (`?saved=1`): it says "Saved".
    pub saved: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let saved = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair == "saved=1"));
        Ok(Ctx {
            tr: Tr::new(lang),
            csrf,
            saved,
        })
    }
}

async fn session_member(parts: &mut Parts, state: &AppState) -> Result<Option<StaffMember>, Error> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    state.db.session_member(token, state.now()).await
}

/// A logged-in staff member; anyone else is sent to the login page.
#[derive(Debug, Clone)]
pub struct StaffUser(pub StaffMember);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_member(parts, state).await {
            Ok(Some(member)) => Ok(StaffUser(member)),
            Ok(None) => Err(Redirect::to("/staff/login").into_response()),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

/// A logged-in administrator.
#[derive(Debug, Clone)]
pub struct AdminUser(pub StaffMember);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let StaffUser(member) = StaffUser::from_request_parts(parts, state).await?;
        if member.role == Role::Admin {
            Ok(AdminUser(member))
        } else {
            Err(PageError(Error::Forbidden).into_response())
        }
    }
}

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

/// Whoever calls the API: an API token (`Authorization: Bearer …`, administrator
/// rights) or a staff session (whose changes also carry `X-CSRF-Token`).
#[derive(Debug, Clone)]
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer_token(&parts.headers) {
            let name = state
                .db
                .api_token_name(token)
                .await?
                .ok_or(Error::Unauthorized)?;
            return Ok(ApiActor(Actor {
                label: format!("API: {name}"),
                role: Role::Admin,
                staff_id: None,
            }));
        }
        let member = session_member(parts, state)
            .await?
            .ok_or(Error::Unauthorized)?;
        // A browser sends the session cookie with any request, also one another site
        // makes it send: a change needs the session's CSRF value in a header too.
        if !parts.method.is_safe() {
            let expected = parts.extensions.get::<CsrfToken>().map(|t| t.0.as_str());
            let sent = parts
                .headers
                .get(super::CSRF_HEADER)
                .and_then(|v| v.to_str().ok());
            match (expected, sent) {
                (Some(expected), Some(sent)) if tokens::constant_time_eq(expected, sent) => {}
                _ => return Err(ApiError(Error::Csrf)),
            }
        }
        Ok(ApiActor(Actor::from(&member)))
    }
}

impl ApiActor {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.is_admin() {
            Ok(())
        } else {
            Err(ApiError(Error::Forbidden))
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// A form whose `csrf` field matches this browser's CSRF cookie; otherwise 403 and the
/// handler never runs.
#[derive(Debug, Clone)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req
            .extensions()
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::BadRequest("bad_form"))?;
        let sent: CsrfOnly =
            serde_html_form::from_bytes(&bytes).map_err(|_| Error::BadRequest("bad_form"))?;
        if expected.is_empty() || !tokens::constant_time_eq(&sent.csrf, &expected) {
            return Err(PageError(Error::Csrf));
        }
        let form =
            serde_html_form::from_bytes(&bytes).map_err(|_| Error::BadRequest("bad_form"))?;
        Ok(CsrfForm(form))
    }
}

/// A JSON body; malformed JSON gets the API's error shape.
#[derive(Debug, Clone, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return Error::TooLarge;
        }
        let code = match rejection {
            JsonRejection::JsonDataError(_) => "bad_json_fields",
            JsonRejection::MissingJsonContentType(_) => "json_content_type_required",
            _ => "bad_json",
        };
        Error::BadRequest(code)
    }
}

/// A form with nothing but its CSRF field (a button).
#[derive(Debug, Deserialize)]
pub struct NoFields {}
