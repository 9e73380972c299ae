//! Logging in and out, and creating an account from a one-time link.

use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use super::{Chrome, field_message};
use crate::error::{Error, FieldErrors, PageError};
use crate::staff::{self, AccountInput};
use crate::state::AppState;
use crate::throttle::Account;
use crate::web::extract::{CsrfForm, Ctx, NoFields, SESSION_COOKIE};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_page).post(login))
        .route("/staff/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    login: String,
    error: Option<String>,
}

async fn login_page(ctx: Ctx, State(state): State<AppState>) -> Result<Response, PageError> {
    let c = Chrome::public(ctx.tr, ctx.csrf, &state.facility());
    Ok(render(&LoginPage {
        c,
        login: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login(
    ctx: Ctx,
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let now = state.now();
    let found = state.db.staff_for_login(form.login.clone()).await?;
    let account = match &found {
        Some((m, _)) => Account::Known(&m.id),
        None => Account::Unknown(&form.login),
    };
    if let Some(secs) = state.login_throttle.wait(account, client.ip(), now) {
        state.metrics.refusals.note("login_throttled");
        return Err(Error::RateLimited {
            retry_after_secs: secs,
        }
        .into());
    }
    // Unknown and disabled accounts cost a real check too: no hint which names exist.
    let (member, hash) = match &found {
        Some((m, h)) if !m.disabled => (Some(m), h.as_str()),
        _ => (None, staff::UNKNOWN_ACCOUNT_HASH),
    };
    let ok = state
        .passwords
        .verify(&form.password, hash)
        .await
        .map_err(|_| {
            state.metrics.refusals.note("login_busy");
            Error::Busy
        })?;
    let Some(member) = member.filter(|_| ok) else {
        state.login_throttle.failed(account, client.ip(), now);
        state.metrics.refusals.note("login");
        let c = Chrome::public(ctx.tr, ctx.csrf, &state.facility());
        let page = LoginPage {
            error: Some(ctx.tr.t("login-failed")),
            login: form.login,
            c,
        };
        return Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response());
    };
    state.login_throttle.succeeded(account, client.ip());
    let session = state.db.create_session(member.id.clone(), now).await?;
    Ok((start_session(jar, &state, session), Redirect::to("/staff")).into_response())
}

/// Sets the session cookie. The CSRF value is derived from it (`web::csrf_for_session`),
/// so a value planted before login is worthless after it.
fn start_session(jar: CookieJar, state: &AppState, session: String) -> CookieJar {
    let cookie = Cookie::build((SESSION_COOKIE, session))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .build();
    jar.add(cookie)
}

async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    if let Some(session) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) {
        state.db.end_session(session).await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/staff/login")).into_response())
}

#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupPage {
    c: Chrome,
    token: String,
    login: String,
    display_name: String,
    role: String,
    errors: FieldErrors,
    min_password: usize,
    /// The link printed at first start (it names nobody): the first administrator,
    /// not an invited colleague. Kept when the form comes back with an error.
    first: bool,
}

impl SetupPage {
    fn new(
        ctx: Ctx,
        state: &AppState,
        invite: crate::storage::StaffInvite,
        token: String,
        typed: Option<(AccountInput, FieldErrors)>,
    ) -> Self {
        let first = invite.display_name.is_empty();
        let (login, display_name, errors) = match typed {
            Some((form, errors)) => (form.login, form.display_name, errors),
            None => (String::new(), invite.display_name, FieldErrors::default()),
        };
        SetupPage {
            role: ctx.tr.t(&format!("role-{}", invite.role.as_str())),
            c: Chrome::public(ctx.tr, ctx.csrf, &state.facility()),
            token,
            login,
            display_name,
            errors,
            min_password: staff::MIN_PASSWORD_CHARS,
            first,
        }
    }

    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn setup_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let invite = state.db.staff_invite(token.clone(), state.now()).await?;
    let page = SetupPage::new(ctx, &state, invite, token, None);
    Ok(render(&page)?.into_response())
}

async fn setup(
    ctx: Ctx,
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<AccountInput>,
) -> Result<Response, PageError> {
    let now = state.now();
    // A dead link is refused before any hashing is spent on it.
    state.db.staff_invite(token.clone(), now).await?;
    let created = match form.clone().validate() {
        Ok(input) => {
            let hash = state
                .passwords
                .hash(&input.password)
                .await
                .map_err(|_| Error::Busy)??;
            state
                .db
                .accept_staff_invite(token.clone(), input, hash, now)
                .await
        }
        Err(errors) => Err(Error::Invalid(errors)),
    };
    match created {
        Ok(member) => {
            let session = state.db.create_session(member.id, now).await?;
            Ok((start_session(jar, &state, session), Redirect::to("/staff")).into_response())
        }
        Err(Error::Invalid(errors)) => {
            let invite = state.db.staff_invite(token.clone(), now).await?;
            let page = SetupPage::new(ctx, &state, invite, token, Some((form, errors)));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
