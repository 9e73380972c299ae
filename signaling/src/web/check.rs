//! The pre-visit check from the family's own link (`/v/{token}/check`): the page,
//! the relay's transports it tests itself against, and where it leaves its result
//! (checks.rs decides the verdict). The check never says hello on the signaling
//! socket, so it never joins the visit or takes the guest's seat.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::join::{find, join_status_page};
use super::shared::Chrome;
use crate::checks::{CheckResult, Report};
use crate::error::{ApiError, Error, FieldErrors, PageError};
use crate::invitations;
use crate::state::AppState;
use crate::visits::{LinkStatus, Visit};
use crate::web::extract::{ApiJson, Ctx};
use crate::web::render;

/// A report is a handful of words and numbers.
const MAX_REPORT_BYTES: usize = 2048;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v/{token}/check", get(check_page).post(keep_result))
        .route("/v/{token}/check/relay", get(relay))
        .layer(DefaultBodyLimit::max(MAX_REPORT_BYTES))
}

#[derive(askama::Template)]
#[template(path = "check.html")]
struct CheckPage {
    c: Chrome,
    token: String,
    resident: String,
    guest: String,
    date: String,
    start: String,
    end: String,
}

/// From booking until the visit's end, on a link that still works.
fn checkable(link: LinkStatus) -> bool {
    matches!(
        link,
        LinkStatus::TooEarly { .. } | LinkStatus::Waiting | LinkStatus::Open
    )
}

/// The visit behind a link the check may use now.
async fn checkable_visit(state: &AppState, token: &str) -> Result<(Visit, String), Error> {
    match find(state, token).await? {
        Some((visit, guest, revoked)) if checkable(visit.link_status(revoked, state.now())) => {
            Ok((visit, guest))
        }
        _ => Err(Error::NotFound),
    }
}

async fn check_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let facility = state.facility();
    let found = find(&state, &token).await?;
    let usable = found
        .as_ref()
        .is_some_and(|(visit, _, revoked)| checkable(visit.link_status(*revoked, state.now())));
    let Some((visit, guest, _)) = found.filter(|_| usable) else {
        // A link that no longer leads to a visit says why, as the visit page does.
        return join_status_page(ctx, &state, &token).await;
    };
    let times = invitations::local_times(&facility, ctx.tr.lang, visit.starts_at, visit.ends_at);
    let page = CheckPage {
        c: Chrome::public(ctx.tr, ctx.csrf, &facility),
        token,
        resident: visit.resident_name,
        guest,
        date: times.date,
        start: times.start,
        end: times.end,
    };
    Ok(render(&page)?.into_response())
}

/// The relay's transports, each alone, with credentials for a few minutes.
async fn relay(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (visit, _) = checkable_visit(&state, &token).await?;
    let servers = state
        .hub
        .ice()
        .for_check(&format!("check-{}", visit.id), state.now());
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(servers)).into_response())
}

/// Keeps the page's report as the link's latest check; answers with the verdict.
async fn keep_result(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(report): ApiJson<Report>,
) -> Result<Response, ApiError> {
    checkable_visit(&state, &token).await?;
    let report = report
        .checked()
        .map_err(|field| Error::Invalid(FieldErrors::single(field, "out_of_range")))?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let result = CheckResult::new(report, agent, state.now());
    if !state.db.record_check(token, result.clone()).await? {
        return Err(Error::NotFound.into());
    }
    Ok((StatusCode::OK, Json(result)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn the_check_works_from_booking_until_the_end_on_a_live_link() {
        assert!(checkable(LinkStatus::TooEarly {
            opens_at: Utc::now()
        }));
        assert!(checkable(LinkStatus::Waiting));
        assert!(checkable(LinkStatus::Open));
        for gone in [
            LinkStatus::Ended,
            LinkStatus::Cancelled,
            LinkStatus::Replaced,
        ] {
            assert!(!checkable(gone));
        }
    }
}
