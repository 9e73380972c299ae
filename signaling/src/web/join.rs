//! What a family opens: the visit link `/v/{token}` (a page for each state of the
//! link), its QR code, its calendar file and the printable card.
//!
//! Tokens arrive in the path; they are never logged (the request log records only
//! the route pattern) and `Referrer-Policy: no-referrer` keeps them from leaking.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::pages::Chrome;
use crate::error::{Error, PageError};

use crate::i18n::{Lang, Tr};
use crate::invitations::{self, ics, qr, visit_url};
use crate::state::AppState;
use crate::visits::{LinkStatus, Visit};
use crate::web::extract::Ctx;
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v/{token}", get(join_page))
        .route("/v/{token}/qr.svg", get(qr_svg))
        .route("/v/{token}/invite.ics", get(calendar))
        .route("/v/{token}/card", get(card))
}

#[derive(askama::Template)]
#[template(path = "join.html")]
struct JoinPage {
    c: Chrome,
    /// too_early, waiting, open, ended, cancelled, replaced, unknown
    status: &'static str,
    resident: String,
    guest: String,
    date: String,
    start: String,
    end: String,
    opens: String,
    /// Seconds from now until the start, for the countdown. Counted from the server's
    /// clock, so a phone whose clock is wrong still counts right.
    countdown_secs: i64,
    /// Seconds from now until the page should look again (the link opens, the visit
    /// starts); none when nothing will change by itself.
    refresh_secs: Option<i64>,
}

impl JoinPage {
    fn empty(c: Chrome, status: &'static str) -> Self {
        Self {
            c,
            status,
            resident: String::new(),
            guest: String::new(),
            date: String::new(),
            start: String::new(),
            end: String::new(),
            opens: String::new(),
            countdown_secs: 0,
            refresh_secs: None,
        }
    }
}

async fn find(state: &AppState, token: &str) -> Result<Option<(Visit, String, bool)>, Error> {
    let found = state.db.visit_by_invitation(token.to_owned()).await?;
    Ok(found.map(|i| (i.visit, i.guest, i.revoked)))
}

async fn join_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let facility = state.facility();
    let c = Chrome::public(ctx.tr, ctx.csrf.clone(), &facility);
    let Some((visit, guest, revoked)) = find(&state, &token).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            render(&JoinPage::empty(c, "unknown"))?,
        )
            .into_response());
    };
    let now = state.now();
    let link = visit.link_status(revoked, now);
    let times = invitations::local_times(&facility, ctx.tr.lang, visit.starts_at, visit.ends_at);
    let refresh_secs = match link {
        LinkStatus::TooEarly { opens_at } => Some((opens_at - now).num_seconds()),
        LinkStatus::Waiting => Some((visit.starts_at - now).num_seconds()),
        _ => None,
    };
    let opens = match link {
        LinkStatus::TooEarly { opens_at } => super::pages::local_hm(&facility, opens_at),
        _ => String::new(),
    };
    let page = JoinPage {
        c,
        status: link.as_str(),
        resident: visit.resident_name.clone(),
        guest,
        date: times.date,
        start: times.start,
        end: times.end,
        opens,
        countdown_secs: (visit.starts_at - now).num_seconds().max(0),
        refresh_secs,
    };
    let status = match link {
        LinkStatus::Cancelled | LinkStatus::Ended | LinkStatus::Replaced => StatusCode::GONE,
        _ => StatusCode::OK,
    };
    Ok((status, render(&page)?).into_response())
}

/// A link that still leads somewhere (not cancelled, not replaced), with its visit.
async fn live_link(state: &AppState, token: &str) -> Result<(Visit, String), Error> {
    match find(state, token).await? {
        Some((visit, guest, false)) if visit.cancelled_at.is_none() => Ok((visit, guest)),
        _ => Err(Error::NotFound),
    }
}

async fn qr_svg(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    live_link(&state, &token).await?;
    let svg = qr::svg(&visit_url(&state.public_url, &token))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}

/// `?in=ja|en`: the language of a card or calendar file staff make for a family. Not
/// the `?lang=` switch, which would also change the staff member's own pages.
#[derive(serde::Deserialize)]
pub struct MadeIn {
    #[serde(rename = "in")]
    lang: Option<String>,
}

impl MadeIn {
    pub fn tr(&self, ctx: &Ctx) -> Tr {
        Tr::new(
            self.lang
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or(ctx.tr.lang),
        )
    }
}

async fn calendar(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let (visit, _guest) = live_link(&state, &token).await?;
    Ok(calendar_file(
        made_in.tr(&ctx),
        &state,
        &visit,
        Some(&token),
    ))
}

/// The calendar file of `visit`: with the family's link, or (at the entrance) with
/// what to do at reception.
pub fn calendar_file(tr: Tr, state: &AppState, visit: &Visit, token: Option<&str>) -> Response {
    let facility = state.facility();
    let url = token
        .map(|t| visit_url(&state.public_url, t))
        .unwrap_or_default();
    let summary = invitations::title(tr.lang, &visit.resident_name);
    let description = match token {
        Some(_) => tr.t1("ics-description", "url", &url),
        None => tr.t1("ics-entrance-description", "facility", &facility.name),
    };
    let uid = format!("{}@menkai", visit.id);
    let event = ics::Event {
        uid: &uid,
        summary: &summary,
        description: &description,
        url: &url,
        location: &facility.name,
        starts_at: visit.starts_at,
        ends_at: visit.ends_at,
        cancelled: false,
        alarm_text: &summary,
        stamp: state.now(),
    };
    let body = ics::calendar(&event, facility.tz());
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"menkai-visit.ics\"",
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(askama::Template)]
#[template(path = "card.html")]
pub struct CardPage {
    c: Chrome,
    /// The family's link and its QR code; none for a visit at the entrance.
    link: Option<CardLink>,
    title: String,
    date: String,
    start: String,
    end: String,
}

pub struct CardLink {
    qr: String,
    url: String,
}

impl CardPage {
    /// The printed card of `visit`: with its link (`token`) for a family at home, or
    /// with what to do at reception for a family coming to the entrance.
    pub fn new(tr: Tr, csrf: String, state: &AppState, visit: &Visit, token: Option<&str>) -> Self {
        let facility = state.facility();
        let times = invitations::local_times(&facility, tr.lang, visit.starts_at, visit.ends_at);
        CardPage {
            c: Chrome::public(tr, csrf, &facility),
            link: token.map(|token| CardLink {
                qr: format!("/v/{token}/qr.svg"),
                url: visit_url(&state.public_url, token),
            }),
            title: invitations::title(tr.lang, &visit.resident_name),
            date: times.date,
            start: times.start,
            end: times.end,
        }
    }
}

async fn card(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let (visit, _guest) = live_link(&state, &token).await?;
    let page = CardPage::new(made_in.tr(&ctx), ctx.csrf, &state, &visit, Some(&token));
    Ok(render(&page)?.into_response())
}
