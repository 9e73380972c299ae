//! `/api/v1/visits`: book, list by day, cancel, extend, end.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ApiResult;
use crate::checks::CheckResult;
use crate::error::{Error, FieldErrors};
use crate::invitations::visit_url;
use crate::state::AppState;
use crate::visits::booking::BookingInput;
use crate::visits::{Mode, Visit};
use crate::web::extract::{ApiActor, ApiJson};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/visits", get(list).post(book))
        .route("/visits/{id}", get(show))
        .route("/visits/{id}/cancel", post(cancel))
        .route("/visits/{id}/extend", post(extend))
        .route("/visits/{id}/end", post(end))
        .route("/visits/{id}/captions", post(captions))
}

#[derive(Serialize)]
struct GuestJson {
    id: String,
    name: String,
    /// The address messages go to: in full for one visit, masked in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// The language of the guest's messages, when chosen (else the facility's).
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<crate::i18n::Lang>,
}

/// One message to a family (`GET /visits/{id}`): what it is and how it went.
#[derive(Serialize)]
struct MessageJson {
    id: i64,
    guest_id: String,
    kind: &'static str,
    /// queued, sent, failed or dropped.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_at: Option<String>,
    /// Why it failed (or why the last try failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    attempts: u32,
}

/// A guest's link: its URL and token only when it is made (only their hashes are
/// kept), its latest pre-visit check always (`null`: not checked yet).
#[derive(Serialize)]
struct InvitationJson {
    guest: String,
    guest_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    check: Option<CheckResult>,
}

#[derive(Serialize)]
struct VisitJson {
    id: String,
    resident_id: String,
    resident: String,
    room: String,
    starts_at: String,
    ends_at: String,
    duration_minutes: i64,
    mode: Mode,
    state: &'static str,
    ward_device_id: String,
    entrance_device_id: Option<String>,
    /// Live captions on for this visit.
    captions: bool,
    guests: Vec<GuestJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitations: Option<Vec<InvitationJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageJson>>,
}

/// A visit in a list: addresses masked.
fn visit_json(v: &Visit, now: DateTime<Utc>) -> VisitJson {
    let mut json = full_visit_json(v, now);
    for g in &mut json.guests {
        g.email = g.email.as_deref().map(crate::messages::mask);
    }
    json
}

/// One visit as its own resource: addresses in full.
fn full_visit_json(v: &Visit, now: DateTime<Utc>) -> VisitJson {
    VisitJson {
        id: v.id.clone(),
        resident_id: v.resident_id.clone(),
        resident: v.resident_name.clone(),
        room: v.resident_room.clone(),
        starts_at: v.starts_at.to_rfc3339(),
        ends_at: v.ends_at.to_rfc3339(),
        duration_minutes: v.duration_minutes(),
        mode: v.mode,
        state: v.state(now, false).as_str(),
        ward_device_id: v.ward_device_id.clone(),
        entrance_device_id: v.entrance_device_id.clone(),
        captions: v.captions,
        guests: v
            .guests
            .iter()
            .map(|g| GuestJson {
                id: g.id.clone(),
                name: g.name.clone(),
                email: g.email.clone(),
                lang: g.lang,
            })
            .collect(),
        invitations: Some(
            v.guests
                .iter()
                .filter(|g| g.has_link && !g.link_revoked)
                .map(|g| InvitationJson {
                    guest: g.name.clone(),
                    guest_id: g.id.clone(),
                    url: None,
                    token: None,
                    check: g.check.clone(),
                })
                .collect(),
        ),
        messages: None,
    }
}

async fn book(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiJson(input): ApiJson<BookingInput>,
) -> ApiResult<impl IntoResponse> {
    let facility = state.facility();
    let request = input.parse(facility.slot_minutes)?;
    let now = state.now();
    let booked = state
        .db
        .book_visit(request, facility, &actor.0, now)
        .await?;
    let mut json = full_visit_json(&booked.visit, now);
    json.invitations = Some(
        booked
            .invitations
            .into_iter()
            .map(|i| InvitationJson {
                url: Some(visit_url(&state.public_url, &i.token)),
                guest: i.guest,
                guest_id: i.guest_id,
                token: Some(i.token),
                check: None,
            })
            .collect(),
    );
    Ok((StatusCode::CREATED, Json(json)))
}

#[derive(Deserialize)]
struct DateQuery {
    date: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _: ApiActor,
    Query(q): Query<DateQuery>,
) -> ApiResult<Json<Vec<VisitJson>>> {
    let facility = state.facility();
    let now = state.now();
    let date = match q.date {
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| Error::Invalid(FieldErrors::single("date", "invalid_date")))?,
        None => facility.local_date(now),
    };
    let visits = state.db.visits_on(&facility, date).await?;
    Ok(Json(visits.iter().map(|v| visit_json(v, now)).collect()))
}

async fn show(
    State(state): State<AppState>,
    _: ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<VisitJson>> {
    let visit = state.db.visit(id).await?;
    let messages = state.db.messages_of_visit(visit.id.clone()).await?;
    let mut json = full_visit_json(&visit, state.now());
    json.messages = Some(
        messages
            .into_iter()
            .map(|m| MessageJson {
                id: m.id,
                guest_id: m.guest_id,
                kind: m.kind.as_str(),
                state: m.state.as_str(),
                sent_at: m.sent_at.map(|t| t.to_rfc3339()),
                error: m.error,
                attempts: m.attempts,
            })
            .collect(),
    );
    Ok(Json(json))
}

async fn cancel(
    State(state): State<AppState>,
    actor: ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<VisitJson>> {
    let now = state.now();
    let visit = state
        .db
        .cancel_visit(id, state.facility(), &actor.0, now)
        .await?;
    Ok(Json(visit_json(&visit, now)))
}

#[derive(Deserialize)]
struct ExtendInput {
    minutes: Option<u32>,
}

/// Body optional: `{"minutes": 10}`; without it, one slot's length.
async fn extend(
    State(state): State<AppState>,
    actor: ApiActor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<VisitJson>> {
    let now = state.now();
    let facility = state.facility();
    let input: ExtendInput = if body.iter().all(u8::is_ascii_whitespace) {
        ExtendInput { minutes: None }
    } else {
        serde_json::from_slice(&body).map_err(|_| Error::BadRequest("bad_json"))?
    };
    let minutes = input.minutes.unwrap_or(facility.slot_minutes.min(120));
    let visit = state
        .db
        .extend_visit(id, minutes, facility, &actor.0, now)
        .await?;
    Ok(Json(visit_json(&visit, now)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptionsRequest {
    on: bool,
}

/// `POST /visits/{id}/captions` `{"on": true}`: live captions on or off for one visit,
/// also while it runs.
async fn captions(
    State(state): State<AppState>,
    actor: ApiActor,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CaptionsRequest>,
) -> ApiResult<Json<VisitJson>> {
    let now = state.now();
    let visit = state
        .db
        .set_visit_captions(id, req.on, state.facility(), &actor.0, now)
        .await?;
    Ok(Json(visit_json(&visit, now)))
}

async fn end(
    State(state): State<AppState>,
    actor: ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<VisitJson>> {
    let now = state.now();
    let visit = state
        .db
        .end_visit(id, state.facility(), &actor.0, now)
        .await?;
    Ok(Json(visit_json(&visit, now)))
}
