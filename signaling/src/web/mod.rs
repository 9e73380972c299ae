//! The HTTP surface: thin handlers that parse input, call the domain and storage, and
//! render a template or JSON.
//!
//! - `api` — the JSON API under `/api/v1` (docs/API.md)
//! - `pages` — staff pages under `/staff`, login and account set-up
//! - `join` — what a family opens: `/v/{token}` and its QR code, calendar file and card
//! - `assets` — the stylesheet and scripts, embedded in the binary
//! - `extract` — who is asking (staff session, API token) and CSRF-checked forms
//!
//! Middleware here applies to every response: security headers, the language of the
//! request, the CSRF cookie, error pages, and request logs that never contain a path.

pub mod api;
pub mod assets;
pub mod check;
pub mod device;
pub mod extract;
pub mod join;
pub mod pages;
pub mod shared;
pub mod ws;

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{Error, ErrorPage, PageError};
use crate::i18n::{self, Lang, Tr};
use crate::state::AppState;
use crate::tokens;

/// Largest request body accepted anywhere. Forms and JSON here are small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const LANG_COOKIE: &str = "menkai_lang";
pub const CSRF_COOKIE: &str = "menkai_csrf";

/// A page's Content-Security-Policy: only this server's own scripts, styles and
/// images; no inline script; never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; media-src 'self' blob:; font-src 'self'; manifest-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(api::metrics))
        .route("/ws", get(ws::upgrade))
        .merge(assets::router())
        .merge(join::router())
        .merge(check::router())
        .merge(device::router())
        .merge(pages::router())
        .nest("/api/v1", api::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            render_error_pages,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), csrf_cookie))
        .layer(middleware::from_fn_with_state(state.clone(), language))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn(api_errors_as_json))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        // No log line per failed response: a flood of refused requests (503 while the
        // password checkers are busy) would write one each. Internal errors are
        // logged where they happen (`error.rs`); refusals are counted (`metrics.rs`).
        .layer(
            TraceLayer::new_for_http()
                .on_failure(())
                .make_span_with(|req: &Request| {
                    // The route pattern, not the path: `/v/{token}` must never be logged
                    // with its token.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("(unmatched)", |p| p.as_str());
                    tracing::info_span!("request", method = %req.method(), route)
                }),
        )
        .with_state(state)
}

/// The plain-HTTP listener's only answer: the same address over HTTPS.
pub fn redirect_router(public_url: std::sync::Arc<str>) -> Router {
    Router::new().fallback(move |uri: axum::http::Uri| {
        let public_url = public_url.clone();
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::permanent(&format!("{public_url}{path}"))
        }
    })
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        crate::error::ApiError(Error::NotFound).into_response()
    } else {
        let _ = method;
        PageError(Error::NotFound).into_response()
    }
}

async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    if state.hsts {
        // A year, as browsers' preload lists expect; only ever sent over TLS.
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(self), geolocation=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // Pages carry secrets (tokens in links, CSRF values): never stored by caches.
    set(h, header::CACHE_CONTROL, "no-store");
    res
}

/// Picks the language of the request (see `i18n::negotiate`) and puts it into the
/// request's extensions. `?lang=en` is the explicit switch; it sticks in a cookie.
async fn language(
    State(state): State<AppState>,
    jar: CookieJar,
    mut req: Request,
    next: Next,
) -> Response {
    let switch = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded_get(q, "lang"))
        .and_then(|v| Lang::parse(&v));
    let remembered = jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value()));
    // A kiosk laptop or a ward tablet speaks the facility's language to the people in
    // front of it, not the language its browser was installed in (an English Windows
    // at a Japanese reception). Only its own switch changes that.
    let device_page = matches!(
        req.uri().path(),
        "/device" | "/pair" | "/device.webmanifest"
    );
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| !device_page);
    let lang = i18n::negotiate(switch.or(remembered), accept, state.facility().language);
    req.extensions_mut().insert(lang);
    let res = next.run(req).await;
    match switch {
        Some(lang) if remembered != Some(lang) => {
            let cookie = Cookie::build((LANG_COOKIE, lang.code()))
                .path("/")
                .max_age(time_1y())
                .same_site(SameSite::Lax)
                .http_only(true)
                .secure(state.secure_cookies)
                .build();
            (jar.add(cookie), res).into_response()
        }
        _ => res,
    }
}

fn time_1y() -> time::Duration {
    time::Duration::days(365)
}

fn form_urlencoded_get(query: &str, key: &str) -> Option<String> {
    serde_html_form::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The value forms (and API calls made with a session cookie, in `X-CSRF-Token`) must
/// echo back. With a staff session it is derived from the session, so it changes at
/// every login and is worthless to anyone without that session. Before login (the
/// login and set-up forms) it is a random value in its own cookie (double submit; the
/// cookie is HttpOnly and SameSite=Strict, so another site can neither read nor send it).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The header API clients using a session cookie send the CSRF value in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF value bound to a staff session.
pub fn csrf_for_session(session: &str) -> String {
    tokens::hash(&format!("csrf:{session}"))
}

async fn csrf_cookie(
    State(state): State<AppState>,
    jar: CookieJar,
    mut req: Request,
    next: Next,
) -> Response {
    let cookie_value = |name: &str| {
        jar.get(name)
            .map(|c| c.value().to_owned())
            .filter(|v| tokens::looks_valid(v))
    };
    let known = cookie_value(extract::SESSION_COOKIE)
        .map(|session| csrf_for_session(&session))
        .or_else(|| cookie_value(CSRF_COOKIE));
    if let Some(token) = known {
        req.extensions_mut().insert(CsrfToken(token));
        return next.run(req).await;
    }
    let fresh = tokens::generate().plain;
    req.extensions_mut().insert(CsrfToken(fresh.clone()));
    let res = next.run(req).await;
    let cookie = Cookie::build((CSRF_COOKIE, fresh))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .build();
    (jar.add(cookie), res).into_response()
}

/// Under `/api/`, every error is JSON (`{"error":{"code","message"}}`), including the
/// ones axum and tower produce before a handler runs: 405 for a wrong method, 413 over
/// the body limit, 415, 408 on a timeout.
async fn api_errors_as_json(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(res.status().is_client_error() || res.status().is_server_error()) {
        return res;
    }
    let (parts, _) = res.into_parts();
    let mut json = crate::error::ApiError(Error::from_status(parts.status)).into_response();
    *json.status_mut() = parts.status;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    c: pages::Chrome,
    message: String,
    status: u16,
}

/// Turns a response marked by `PageError` into the error page, in the visitor's
/// language.
async fn render_error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = req.extensions().get::<Lang>().copied().unwrap_or_default();
    let csrf = req
        .extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let res = next.run(req).await;
    let Some(page) = res.extensions().get::<ErrorPage>().cloned() else {
        return res;
    };
    let status = res.status();
    let template = ErrorTemplate {
        c: pages::Chrome::public(Tr::new(lang), csrf, &state.facility()),
        message: page.message(lang),
        status: status.as_u16(),
    };
    let body = template.render().unwrap_or_else(|_| page.message(lang));
    let mut out = (status, Html(body)).into_response();
    for (name, value) in res.headers() {
        if name == header::RETRY_AFTER {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Renders a template, turning a render failure into a logged 500.
pub fn render(template: &impl Template) -> Result<Html<String>, PageError> {
    template
        .render()
        .map(Html)
        .map_err(|e| PageError(Error::Internal(anyhow::anyhow!("rendering page: {e}"))))
}
