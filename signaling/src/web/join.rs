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

use super::shared::{CardPage, Chrome, MadeIn, calendar_file, local_hm};
use crate::error::{Error, PageError};

use crate::invitations::{self, qr, visit_url};
use crate::state::AppState;
use crate::visits::{LinkStatus, Visit};
use crate::web::extract::Ctx;
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v/{token}", get(join_page))
        .route("/v/{token}/state", get(link_state))
        .route("/v/{token}/qr.svg", get(qr_svg))
        .route("/v/{token}/invite.ics", get(calendar))
        .route("/v/{token}/card", get(card))
}

#[derive(askama::Template)]
#[template(path = "join.html")]
struct JoinPage {
    c: Chrome,
    /// The link's token, for the link to its pre-visit check.
    token: String,
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
    /// What the page was made from ([`state_key`]): a waiting page asks
    /// `/v/{token}/state` now and then and reloads when it differs.
    state_key: String,
    /// Live captions will be on in this visit (the page says so ahead of it).
    captions: bool,
}

impl JoinPage {
    fn empty(c: Chrome, status: &'static str) -> Self {
        Self {
            c,
            token: String::new(),
            status,
            resident: String::new(),
            guest: String::new(),
            date: String::new(),
            start: String::new(),
            end: String::new(),
            opens: String::new(),
            countdown_secs: 0,
            refresh_secs: None,
            state_key: String::new(),
            captions: false,
        }
    }
}

pub(super) async fn find(
    state: &AppState,
    token: &str,
) -> Result<Option<(Visit, String, bool)>, Error> {
    let found = state.db.visit_by_invitation(token.to_owned()).await?;
    Ok(found.map(|i| (i.visit, i.guest, i.revoked)))
}

async fn join_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    join_status_page(ctx, &state, &token).await
}

/// The visit page for what the link `token` leads to now (also what the check page
/// shows for a link that no longer leads to a visit).
pub(super) async fn join_status_page(
    ctx: Ctx,
    state: &AppState,
    token: &str,
) -> Result<Response, PageError> {
    let facility = state.facility();
    let c = Chrome::public(ctx.tr, ctx.csrf.clone(), &facility).with_captions(state);
    let Some((visit, guest, revoked)) = find(state, token).await? else {
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
        LinkStatus::TooEarly { opens_at } => local_hm(&facility, opens_at),
        _ => String::new(),
    };
    let page = JoinPage {
        c,
        token: token.to_owned(),
        status: link.as_str(),
        resident: visit.resident_name.clone(),
        guest,
        date: times.date,
        start: times.start,
        end: times.end,
        opens,
        countdown_secs: (visit.starts_at - now).num_seconds().max(0),
        refresh_secs,
        state_key: state_key(Some((&visit, revoked)), now),
        captions: state.captions.is_some() && visit.captions,
    };
    let status = match link {
        LinkStatus::Cancelled | LinkStatus::Ended | LinkStatus::Replaced => StatusCode::GONE,
        _ => StatusCode::OK,
    };
    Ok((status, render(&page)?).into_response())
}

/// Everything a family's waiting page shows that staff can change (cancel, replace the
/// link, move the visit), as one string: the page compares it with the one it was made
/// from. No times of day or names: the link's token already gives those.
fn state_key(found: Option<(&Visit, bool)>, now: chrono::DateTime<chrono::Utc>) -> String {
    match found {
        None => "unknown".to_owned(),
        Some((visit, revoked)) => format!(
            "{}/{}/{}",
            visit.link_status(revoked, now).as_str(),
            visit.starts_at.timestamp(),
            visit.ends_at.timestamp()
        ),
    }
}

/// `GET /v/{token}/state`: the link's [`state_key`], so a page opened days before the
/// visit learns of a cancellation, a new link or a new time without a socket.
async fn link_state(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let found = find(&state, &token).await?;
    let key = state_key(found.as_ref().map(|(v, _, r)| (v, *r)), state.now());
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "state": key })),
    )
        .into_response())
}

/// A link that still leads somewhere (not cancelled, not replaced), with its visit.
async fn live_link(state: &AppState, token: &str) -> Result<crate::storage::Invited, Error> {
    match state.db.visit_by_invitation(token.to_owned()).await? {
        Some(invited) if !invited.revoked && invited.visit.cancelled_at.is_none() => Ok(invited),
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

async fn calendar(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let invited = live_link(&state, &token).await?;
    Ok(calendar_file(
        made_in.tr(&ctx),
        &state,
        &invited.visit,
        Some((&token, &invited.guest_id)),
    ))
}

async fn card(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let visit = live_link(&state, &token).await?.visit;
    let page = CardPage::new(made_in.tr(&ctx), ctx.csrf, &state, &visit, Some(&token));
    Ok(render(&page)?.into_response())
}
