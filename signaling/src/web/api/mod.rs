//! The JSON API under `/api/v1` (docs/API.md). Authenticated by
//! `Authorization: Bearer <api token>` or a staff session; errors are
//! `{"error":{"code","message"}}` with a fitting status.

mod visits;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::devices::{Device, DeviceInput};
use crate::error::{ApiError, Error};
use crate::facility::Facility;
use crate::residents::{Addition, Resident, ResidentInput};
use crate::state::AppState;
use crate::web::extract::{ApiActor, ApiJson, bearer_token};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/facility", get(get_facility).put(put_facility))
        .route("/residents", get(list_residents).post(add_resident))
        .route("/devices", get(list_devices).post(add_device))
        .route("/devices/pair", post(pair_device))
        .route("/devices/check", post(check_device))
        .route("/devices/{id}/revoke", post(revoke_device))
        .merge(visits::router())
}

type ApiResult<T> = Result<T, ApiError>;

async fn get_facility(State(state): State<AppState>, _: ApiActor) -> Json<Facility> {
    Json(state.facility())
}

async fn put_facility(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiJson(facility): ApiJson<Facility>,
) -> ApiResult<Json<Facility>> {
    actor.require_admin()?;
    let facility = facility.validate()?;
    state.save_facility(facility.clone()).await?;
    state
        .db
        .audit(
            state.now(),
            actor.0.label,
            "facility_changed",
            String::new(),
        )
        .await?;
    Ok(Json(facility))
}

async fn list_residents(
    State(state): State<AppState>,
    _: ApiActor,
) -> ApiResult<Json<Vec<Resident>>> {
    Ok(Json(state.db.residents(true).await?))
}

/// `POST /residents`: a resident, and whether the client confirms adding one that is
/// likely already on the list.
#[derive(Deserialize)]
struct NewResident {
    name: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    confirm_duplicate: bool,
    /// Live captions of what the family says in this resident's visits.
    #[serde(default)]
    captions: bool,
}

/// Asks about a likely duplicate (same name and room once case, width, spaces and
/// invisible characters are set aside) the way the residents page does: 409
/// `possible_duplicate`, nothing added, unless `"confirm_duplicate": true`.
async fn add_resident(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiJson(req): ApiJson<NewResident>,
) -> ApiResult<impl IntoResponse> {
    let input = ResidentInput {
        name: req.name,
        room: req.room,
        captions: req.captions,
    }
    .parse()?;
    match state
        .db
        .add_resident(input, req.confirm_duplicate, &actor.0, state.now())
        .await?
    {
        Addition::Added(id) => Ok((axum::http::StatusCode::CREATED, Json(json!({ "id": id })))),
        Addition::PossibleDuplicate(_) => Err(ApiError(Error::Conflict("possible_duplicate"))),
    }
}

#[derive(Serialize)]
struct DeviceJson {
    id: String,
    name: String,
    kind: crate::devices::DeviceKind,
    status: &'static str,
    /// A socket is open now.
    online: bool,
    last_seen_at: Option<String>,
    /// The device's latest report on itself, if any.
    health: Option<crate::devices::Health>,
}

async fn list_devices(
    State(state): State<AppState>,
    _: ApiActor,
) -> ApiResult<Json<Vec<DeviceJson>>> {
    let now = state.now();
    let devices = state.db.devices().await?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d: Device| DeviceJson {
                status: d.status(now).as_str(),
                online: state.hub.device_online(&d.id),
                last_seen_at: d.last_seen_at.map(|t| t.to_rfc3339()),
                health: d.health,
                id: d.id,
                name: d.name,
                kind: d.kind,
            })
            .collect(),
    ))
}

async fn add_device(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiJson(input): ApiJson<DeviceInput>,
) -> ApiResult<impl IntoResponse> {
    actor.require_admin()?;
    let (name, kind) = input.parse()?;
    let code = state
        .db
        .add_device(name, kind, &actor.0, state.now())
        .await?;
    state.pairing_codes.keep(&code, state.now());
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            json!({ "id": code.device_id, "pairing_code": code.code, "expires_at": code.expires_at.to_rfc3339() }),
        ),
    ))
}

/// Revokes a device (administrator): its token stops working and an open socket is
/// closed at once with `device_revoked`.
async fn revoke_device(
    State(state): State<AppState>,
    actor: ApiActor,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    actor.require_admin()?;
    state.revoke_device(id.clone(), &actor.0).await?;
    Ok(Json(json!({ "id": id, "status": "revoked" })))
}

/// Pairing codes and device tokens are tried without a login, so a client address
/// that got them wrong too often waits: its throttle key, or 429 with how long.
fn device_secret_attempt(
    state: &AppState,
    peer: SocketAddr,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Error> {
    let key = crate::throttle::address_key(peer.ip());
    match state.pairing_throttle.wait(&key, now) {
        Some(secs) => {
            state.metrics.refusals.note("pairing_throttled");
            Err(Error::RateLimited {
                retry_after_secs: secs,
            })
        }
        None => Ok(key),
    }
}

#[derive(Deserialize)]
struct PairRequest {
    code: String,
}

/// Pairing needs no login (the code is the secret), so wrong codes are throttled per
/// client address.
async fn pair_device(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<PairRequest>,
) -> ApiResult<Json<Value>> {
    let now = state.now();
    let key = device_secret_attempt(&state, peer, now)?;
    match state.db.pair_device(req.code, now).await {
        Ok((device, token)) => {
            state.pairing_throttle.succeeded(&key);
            Ok(Json(
                json!({ "device_token": token, "device": { "id": device.id, "name": device.name, "kind": device.kind } }),
            ))
        }
        Err(e) => {
            state.pairing_throttle.failed(&key, now);
            state.metrics.refusals.note("pairing");
            Err(e.into())
        }
    }
}

#[derive(Deserialize)]
struct CheckRequest {
    device_token: String,
}

/// Whether a device token still works, without connecting as the device (which would
/// take over the device's own socket): `menkai-kiosk doctor` asks this. Failures are
/// throttled like pairing codes.
async fn check_device(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> ApiResult<Json<Value>> {
    let now = state.now();
    let key = device_secret_attempt(&state, peer, now)?;
    match state.db.device_by_token(req.device_token).await? {
        Some(device) => Ok(Json(
            json!({ "device": { "id": device.id, "name": device.name, "kind": device.kind } }),
        )),
        None => {
            state.pairing_throttle.failed(&key, now);
            state.metrics.refusals.note("pairing");
            Err(Error::Status(axum::http::StatusCode::UNAUTHORIZED, "invalid_device_token").into())
        }
    }
}

/// Prometheus text: a few numbers about what the server holds. Answered to loopback
/// clients (a local Prometheus or agent) and API tokens, or to anyone with
/// `metrics_public`: on the internet, nobody else needs to count a care home's visits.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if !state.metrics_public && !client.ip().to_canonical().is_loopback() {
        let bearer = bearer_token(&headers).ok_or(Error::Unauthorized)?;
        state
            .db
            .api_token_name(bearer)
            .await?
            .ok_or(Error::Unauthorized)?;
    }
    let facility = state.facility();
    let now = state.now();
    let today = state
        .db
        .visits_on(&facility, facility.local_date(now))
        .await?;
    let devices = state.db.devices().await?;
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let hub = state.hub.counts();
    let snapshot = crate::metrics::Snapshot {
        visits_today: ["scheduled", "open", "live", "ended", "cancelled"]
            .into_iter()
            .map(|s| {
                let n = today
                    .iter()
                    .filter(|v| v.state(now, state.hub.is_live(&v.id)).as_str() == s)
                    .count();
                (s, count(n))
            })
            .collect(),
        devices: ["awaiting_pairing", "pairing_expired", "paired", "revoked"]
            .into_iter()
            .map(|s| {
                let n = devices
                    .iter()
                    .filter(|d| d.status(now).as_str() == s)
                    .count();
                (s, count(n))
            })
            .collect(),
        sockets: count(hub.sockets),
        rooms: count(hub.rooms),
        relay_allocations: state.relay.as_ref().map(|r| count(r.allocations())),
        live_rooms: count(hub.live_rooms),
        devices_online: count(hub.devices_online),
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(&snapshot),
    ))
}
