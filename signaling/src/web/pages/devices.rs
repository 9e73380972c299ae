//! Devices (administrators): add a kiosk or tablet and see its pairing code, give it a
//! new code, revoke it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Chrome, field_message, local_hm};
use crate::devices::{self, Device, DeviceInput, VOLUME_CHOICES};
use crate::error::{Error, FieldErrors, PageError};
use crate::i18n;
use crate::staff::{Actor, StaffMember};
use crate::state::AppState;
use crate::storage::PairingCode;
use crate::web::extract::{AdminUser, CsrfForm, Ctx, NoFields};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/devices", get(list).post(add))
        .route("/staff/devices/{id}/code", post(renew))
        .route("/staff/devices/{id}/revoke", post(revoke))
        .route("/staff/devices/{id}/volume", post(volume))
        .route("/staff/devices/{id}/check", post(check_now))
}

pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_code: &'static str,
    pub status: &'static str,
    pub status_label: String,
    pub last_seen: String,
    pub volume_percent: u16,
    /// For paired devices: connected now?
    pub online: Option<bool>,
    /// What it last said about itself, in plain words: (text, is a problem).
    pub facts: Vec<(String, bool)>,
}

/// A device's health in plain words, problems first.
fn health_facts(
    tr: &crate::i18n::Tr,
    facility: &crate::facility::Facility,
    device: &crate::devices::Device,
) -> Vec<(String, bool)> {
    let Some(h) = &device.health else {
        return vec![];
    };
    // Being offline is shown by the badge beside.
    let problems = device.problems(true);
    let mut facts: Vec<(String, bool)> = problems.iter().map(|id| (tr.t(id), true)).collect();
    if h.camera == Some(true) {
        facts.push((tr.t("health-camera-ok"), false));
    }
    if h.microphone == Some(true) {
        facts.push((tr.t("health-microphone-ok"), false));
    }
    if let Some(level) = h.battery
        && !problems.contains(&"health-low-battery")
    {
        let id = if h.charging == Some(true) {
            "health-battery-charging"
        } else {
            "health-battery"
        };
        facts.push((tr.t1(id, "percent", (level * 100.0).round() as u32), false));
    }
    // Only the kiosk program reports these: how long it has kept the screen up, and
    // how often it had to restart the browser (many restarts: look at the laptop).
    if let Some(uptime) = h.uptime_s {
        facts.push((tr.t1("health-kiosk-uptime", "hours", uptime / 3600), false));
    }
    if let Some(restarts) = h.restarts.filter(|n| *n > 0) {
        facts.push((
            tr.t1("health-kiosk-restarts", "count", restarts),
            restarts >= 3,
        ));
    }
    if let Some(check) = &h.check {
        facts.push((self_check_fact(tr, facility, check), check.failed()));
    }
    facts
}

/// "Self-check at 07:00: camera OK, microphone OK, connection ready (↑… ↓… kbit/s)".
fn self_check_fact(
    tr: &crate::i18n::Tr,
    facility: &crate::facility::Facility,
    check: &crate::checks::DeviceCheck,
) -> String {
    let time = check
        .checked_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| super::local_hm(facility, t.with_timezone(&chrono::Utc)))
        .unwrap_or_default();
    let report = crate::checks::Report {
        camera: check.camera,
        microphone: check.microphone,
        path: check.path,
        ..Default::default()
    };
    let mut parts = crate::checks::problem_words(tr, &report);
    parts.push(tr.t(match check.path {
        None | Some(crate::checks::Path::None) => "device-check-no-connection",
        Some(crate::checks::Path::RelayTcp | crate::checks::Path::RelayTls) => {
            "device-check-relayed"
        }
        Some(_) => "device-check-connection-ok",
    }));
    if let (Some(up), Some(down)) = (check.up_kbps, check.down_kbps) {
        parts.push(format!("↑{up} ↓{down} kbit/s"));
    }
    tr.t2(
        "device-check-fact",
        "time",
        time,
        "result",
        parts.join(tr.t("list-separator").as_str()),
    )
}

/// One choice of the volume list: `(percent, label)`.
pub struct VolumeChoice {
    pub percent: u16,
    pub label: String,
}

/// A pairing code not yet used, shown until it is used or replaced.
pub struct CodeView {
    pub device_id: String,
    pub device: String,
    pub code: String,
    pub expires: String,
    /// For the entrance kiosk: the one line to run on its laptop (menkai-kiosk pairs
    /// and starts the browser itself; opening /pair there is not how it is set up).
    pub kiosk_command: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    c: Chrome,
    devices: Vec<DeviceRow>,
    codes: Vec<CodeView>,
    name: String,
    errors: FieldErrors,
    pair_url: String,
    volumes: Vec<VolumeChoice>,
    /// After setting a volume: applied now, or kept for when the tablet connects.
    volume_notice: Option<String>,
}

impl DevicesPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn page(
    ctx: &Ctx,
    state: &AppState,
    me: &StaffMember,
    name: String,
    errors: FieldErrors,
) -> Result<DevicesPage, PageError> {
    let facility = state.facility();
    let now = state.now();
    let devices: Vec<Device> = state.db.devices().await?;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} {}",
            i18n::long_date(ctx.tr.lang, facility.local_date(t)),
            local_hm(&facility, t)
        )
    };
    let codes = devices
        .iter()
        .filter_map(|d| {
            let c = state.pairing_codes.for_device(d, now)?;
            Some(CodeView {
                device_id: d.id.clone(),
                device: d.name.clone(),
                // One argument: the code without the space it is shown with.
                kiosk_command: (d.kind == crate::devices::DeviceKind::Entrance).then(|| {
                    let code: String = c.code.split_whitespace().collect();
                    format!("menkai-kiosk pair {} {code}", state.public_url)
                }),
                code: c.code,
                expires: local_hm(&facility, c.expires_at),
            })
        })
        .collect();
    let rows = devices
        .iter()
        .map(|d| {
            let status = d.status(now).as_str();
            DeviceRow {
                id: d.id.clone(),
                name: d.name.clone(),
                kind: ctx.tr.t(&format!("kind-{}", d.kind.as_str())),
                kind_code: d.kind.as_str(),
                status,
                status_label: ctx.tr.t(&format!("device-{status}")),
                last_seen: d.last_seen_at.map(when).unwrap_or_default(),
                volume_percent: d.volume_percent,
                online: (status == "paired").then(|| state.hub.device_online(&d.id)),
                facts: health_facts(&ctx.tr, &facility, d),
            }
        })
        .collect();
    Ok(DevicesPage {
        c: Chrome::staff(ctx, state, me, "devices"),
        devices: rows,
        codes,
        name,
        errors,
        pair_url: format!("{}/pair", state.public_url),
        volumes: VOLUME_CHOICES
            .iter()
            .map(|&percent| VolumeChoice {
                percent,
                label: ctx.tr.t1(
                    match percent {
                        ..100 => "devices-volume-quieter",
                        100 => "devices-volume-normal",
                        _ => "devices-volume-louder",
                    },
                    "percent",
                    percent.to_string(),
                ),
            })
            .collect(),
        volume_notice: None,
    })
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    axum::extract::Query(q): axum::extract::Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let volume_notice = match q.notice.as_deref() {
        Some("volume-set") => Some(ctx.tr.t("devices-volume-set-now")),
        Some("volume-offline") => Some(ctx.tr.t("devices-volume-offline")),
        Some("check-sent") => Some(ctx.tr.t("devices-check-sent")),
        Some("check-offline") => Some(ctx.tr.t("devices-check-offline")),
        _ => None,
    };
    let page = page(&ctx, &state, &me, String::new(), FieldErrors::default()).await?;
    Ok(render(&DevicesPage {
        volume_notice,
        ..page
    })?
    .into_response())
}

async fn add(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    CsrfForm(form): CsrfForm<DeviceInput>,
) -> Result<Response, PageError> {
    match form.parse() {
        Ok((name, kind)) => {
            let code = state
                .db
                .add_device(name, kind, &Actor::from(&me), state.now())
                .await?;
            Ok(show_code(&state, &code))
        }
        Err(errors) => {
            let page = page(&ctx, &state, &me, form.name, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

async fn renew(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let code = state
        .db
        .renew_pairing_code(id, &Actor::from(&me), state.now())
        .await?;
    Ok(show_code(&state, &code))
}

/// Keeps a code just made for the devices page, which it then shows with every other
/// unused code (POST-redirect-GET: a reload neither repeats the POST nor loses a code).
fn show_code(state: &AppState, code: &PairingCode) -> Response {
    state.pairing_codes.keep(code, state.now());
    Redirect::to(&format!("/staff/devices#code-{}", code.device_id)).into_response()
}

async fn revoke(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    state.revoke_device(id, &Actor::from(&me)).await?;
    Ok(Redirect::to("/staff/devices").into_response())
}

#[derive(serde::Deserialize)]
struct VolumeForm {
    volume: u16,
}

/// Turns a ward tablet up (or down), for residents who hear poorly: stored for the
/// next time it connects, and applied at once if it is connected now.
async fn volume(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<VolumeForm>,
) -> Result<Response, PageError> {
    let percent = devices::parse_volume(form.volume).map_err(Error::from)?;
    state
        .db
        .set_device_volume(id.clone(), percent, &Actor::from(&me), state.now())
        .await?;
    let volume = devices::volume_gain(percent);
    let sent = state.hub.send_to_device(
        &id,
        &crate::signaling::protocol::ServerMsg::Control { volume },
    );
    let notice = if sent { "volume-set" } else { "volume-offline" };
    Ok(Redirect::to(&format!("/staff/devices?notice={notice}")).into_response())
}

/// "Check now": the device runs its self-check at once (between visits; a device in a
/// visit ignores it) and reports in its next `health`.
async fn check_now(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let sent = state.hub.ask_check(&id, state.now());
    let notice = if sent { "check-sent" } else { "check-offline" };
    Ok(Redirect::to(&format!("/staff/devices?notice={notice}")).into_response())
}
