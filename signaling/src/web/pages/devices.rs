//! Devices (administrators): add a kiosk or tablet and see its pairing code, give it a
//! new code, revoke it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Chrome, field_message, local_hm};
use crate::devices::{Device, DeviceInput};
use crate::error::{FieldErrors, PageError};
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
}

pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_code: &'static str,
    pub status: &'static str,
    pub status_label: String,
    pub last_seen: String,
}

/// A pairing code just made, shown once.
pub struct CodeView {
    pub device: String,
    pub code: String,
    pub expires: String,
}

#[derive(askama::Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    c: Chrome,
    devices: Vec<DeviceRow>,
    code: Option<CodeView>,
    name: String,
    errors: FieldErrors,
    pair_url: String,
    volume_offline: bool,
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
    code: Option<PairingCode>,
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
    let code = code.map(|c| CodeView {
        device: devices
            .iter()
            .find(|d| d.id == c.device_id)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        code: c.code,
        expires: local_hm(&facility, c.expires_at),
    });
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
            }
        })
        .collect();
    Ok(DevicesPage {
        c: Chrome::staff(ctx, state, me, "devices"),
        devices: rows,
        code,
        name,
        errors,
        pair_url: format!("{}/pair", state.public_url),
        volume_offline: false,
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
    let volume_offline = q.notice.as_deref() == Some("volume-offline");
    let page = page(
        &ctx,
        &state,
        &me,
        None,
        String::new(),
        FieldErrors::default(),
    )
    .await?;
    Ok(render(&DevicesPage {
        volume_offline,
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
            show_code(&ctx, &state, &me, code).await
        }
        Err(errors) => {
            let page = page(&ctx, &state, &me, None, form.name, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

async fn renew(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let code = state
        .db
        .renew_pairing_code(id, &Actor::from(&me), state.now())
        .await?;
    show_code(&ctx, &state, &me, code).await
}

/// The devices page with a pairing code just made. It answers a POST, so it offers
/// no language switch (that would reload the page and lose the code).
async fn show_code(
    ctx: &Ctx,
    state: &AppState,
    me: &StaffMember,
    code: PairingCode,
) -> Result<Response, PageError> {
    let page = page(
        ctx,
        state,
        me,
        Some(code),
        String::new(),
        FieldErrors::default(),
    )
    .await?;
    let c = page.c.clone().without_lang_switch();
    Ok(render(&DevicesPage { c, ..page })?.into_response())
}

async fn revoke(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    state
        .db
        .revoke_device(id, &Actor::from(&me), state.now())
        .await?;
    Ok(Redirect::to("/staff/devices").into_response())
}

#[derive(serde::Deserialize)]
struct VolumeForm {
    volume: u8,
}

/// Turns a ward tablet up (or down) at once, for residents who hear poorly.
async fn volume(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<VolumeForm>,
) -> Result<Response, PageError> {
    let volume = f32::from(form.volume.min(100)) / 100.0;
    let sent = state.hub.send_to_device(
        &id,
        &crate::signaling::protocol::ServerMsg::Control { volume },
    );
    let target = if sent {
        "/staff/devices"
    } else {
        "/staff/devices?notice=volume-offline"
    };
    Ok(Redirect::to(target).into_response())
}
