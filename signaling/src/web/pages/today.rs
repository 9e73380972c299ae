//! The staff home page: the day's visits at a glance.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, Redirect};
use axum::routing::get;
use chrono::Duration;
use serde::Deserialize;

use super::{Chrome, chosen_date, local_hm};
use crate::devices::Device;
use crate::error::PageError;
use crate::facility::Facility;
use crate::i18n::{self, Tr};
use crate::state::AppState;
use crate::visits::Visit;
use crate::web::extract::{Ctx, StaffUser};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/staff") }))
        .route("/staff", get(today))
}

/// One visit as a line of a list.
#[derive(Debug, Clone)]
pub struct VisitRow {
    pub id: String,
    pub time: String,
    pub resident: String,
    pub room: String,
    pub mode: String,
    pub guests: String,
    pub state: &'static str,
    pub state_label: String,
    /// Who is connected now (names), for visits in progress.
    pub connected: Vec<String>,
    /// Problems of the visit's devices that staff should fix before it (plain words).
    pub warnings: Vec<String>,
}

impl VisitRow {
    /// A row for `visit`; `hub` says who is connected (and so whether it is live).
    pub fn new(
        tr: &Tr,
        facility: &Facility,
        visit: &Visit,
        now: chrono::DateTime<chrono::Utc>,
        hub: &crate::signaling::Hub,
    ) -> Self {
        let connected: Vec<String> = hub
            .presence(&visit.id)
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        let state = visit.state(now, connected.len() >= 2).as_str();
        Self {
            id: visit.id.clone(),
            time: format!(
                "{}–{}",
                local_hm(facility, visit.starts_at),
                local_hm(facility, visit.ends_at)
            ),
            resident: visit.resident_name.clone(),
            room: visit.resident_room.clone(),
            mode: tr.t(&format!("mode-{}", visit.mode.as_str())),
            guests: visit
                .guests
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            state,
            state_label: tr.t(&format!("state-{state}")),
            connected,
            warnings: vec![],
        }
    }

    /// Adds what would stop the visit's devices serving it, if it starts within the
    /// hour or is under way.
    fn warn_about_devices(
        mut self,
        tr: &Tr,
        visit: &Visit,
        devices: &[Device],
        now: chrono::DateTime<chrono::Utc>,
        hub: &crate::signaling::Hub,
    ) -> Self {
        let soon = visit.starts_at - now <= Duration::hours(1)
            && matches!(self.state, "scheduled" | "open" | "live");
        if !soon {
            return self;
        }
        for device in devices
            .iter()
            .filter(|d| visit.device_ids().any(|id| id == d.id))
        {
            for problem in device.problems(hub.device_online(&device.id)) {
                self.warnings.push(tr.t2(
                    "today-device-warning",
                    "device",
                    &device.name,
                    "problem",
                    tr.t(problem),
                ));
            }
        }
        self
    }
}

#[derive(askama::Template)]
#[template(path = "today.html")]
struct TodayPage {
    c: Chrome,
    date_label: String,
    date: String,
    prev: String,
    next: String,
    is_today: bool,
    rows: Vec<VisitRow>,
    /// Every device problem of the visits in the next hour, shown at the top.
    alerts: Vec<String>,
}

#[derive(Deserialize)]
struct DateQuery {
    date: Option<String>,
}

async fn today(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Query(q): Query<DateQuery>,
) -> Result<Html<String>, PageError> {
    let facility = state.facility();
    let now = state.now();
    let date = chosen_date(q.date.as_deref(), &facility, now);
    let visits = state.db.visits_on(&facility, date).await?;
    let devices = state.db.devices().await?;
    let rows: Vec<VisitRow> = visits
        .iter()
        .map(|v| {
            VisitRow::new(&ctx.tr, &facility, v, now, &state.hub)
                .warn_about_devices(&ctx.tr, v, &devices, now, &state.hub)
        })
        .collect();
    let alerts = rows
        .iter()
        .flat_map(|r| {
            r.warnings
                .iter()
                .map(move |w| format!("{} {} — {w}", r.time, r.resident))
        })
        .collect();
    render(&TodayPage {
        c: Chrome::staff(&ctx, &state, &me, "today"),
        date_label: i18n::long_date(ctx.tr.lang, date),
        date: date.to_string(),
        prev: (date - Duration::days(1)).to_string(),
        next: (date + Duration::days(1)).to_string(),
        is_today: date == facility.local_date(now),
        rows,
        alerts,
    })
}
