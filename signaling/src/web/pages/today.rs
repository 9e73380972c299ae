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
use crate::storage::FirstSteps;
use crate::visits::Visit;
use crate::visits::booking::{Booked, BookingRequest, room_to_extend};

/// What one press of Extend adds.
pub const EXTEND_MINUTES: i64 = 10;
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
    /// For a visit under way: whether 10 more minutes fit before the next booking of
    /// its resident or devices, and how many minutes are free (None: no limit near).
    pub extend: Option<Extension>,
    /// Live captions are on for this visit.
    pub captions: bool,
    /// The call goes through a relay (its tablet says so).
    pub relayed: bool,
    /// Each guest with a link, and what their pre-visit check found.
    pub checks: Vec<GuestCheck>,
}

/// A guest's pre-visit check as a badge: `kind` (ready, relayed, slow, problem,
/// unchecked) picks its colour, `label` says it in words.
#[derive(Debug, Clone)]
pub struct GuestCheck {
    pub name: String,
    pub kind: &'static str,
    pub label: String,
    /// When and with what it was checked, and the figures ("" if never).
    pub detail: String,
}

impl GuestCheck {
    pub fn new(tr: &Tr, facility: &Facility, guest: &crate::visits::Guest) -> Self {
        use crate::checks::{Path, Verdict};
        let Some(check) = &guest.check else {
            return Self {
                name: guest.name.clone(),
                kind: "unchecked",
                label: tr.t("check-badge-unchecked"),
                detail: String::new(),
            };
        };
        let (kind, label) = match check.verdict {
            Verdict::Ready => ("ready", tr.t("check-badge-ready")),
            Verdict::ReadyRelayed => (
                "relayed",
                tr.t1(
                    "check-badge-relayed",
                    "transport",
                    if check.report.path == Some(Path::RelayTls) {
                        "TLS 443"
                    } else {
                        "TCP"
                    },
                ),
            ),
            Verdict::AudioOnly => ("slow", tr.t("check-badge-audio-only")),
            Verdict::CannotConnect => ("problem", tr.t("check-badge-cannot-connect")),
            Verdict::Problem => (
                "problem",
                tr.t1("check-badge-problem", "what", problems(tr, &check.report)),
            ),
        };
        let mut detail = tr.t1(
            "check-detail-when",
            "time",
            local_hm(facility, check.checked_at),
        );
        if let Some(browser) = &check.browser {
            detail.push_str(&format!(" · {browser}"));
        }
        if let (Some(up), Some(down)) = (check.report.up_kbps, check.report.down_kbps) {
            detail.push_str(&format!(" · ↑{up} ↓{down} kbit/s"));
        }
        if let Some(rtt) = check.report.rtt_ms {
            detail.push_str(&format!(" · {rtt} ms"));
        }
        Self {
            name: guest.name.clone(),
            kind,
            label,
            detail,
        }
    }
}

/// The steps of a check that found a problem, in words ("camera blocked, no sound").
fn problems(tr: &Tr, report: &crate::checks::Report) -> String {
    crate::checks::problem_words(tr, report).join(tr.t("list-separator").as_str())
}

/// What the Extend button can promise.
#[derive(Debug, Clone)]
pub struct Extension {
    pub free_minutes: Option<i64>,
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
            extend: None,
            captions: visit.captions,
            relayed: false,
            checks: visit
                .guests
                .iter()
                .filter(|g| g.has_link)
                .map(|g| GuestCheck::new(tr, facility, g))
                .collect(),
        }
    }

    /// Offers Extend only when the extra time fits before the next booking (of the
    /// resident, the tablet or the kiosk); `booked` are the day's bookings.
    fn offer_extension(mut self, visit: &Visit, booked: &[Booked], buffer: Duration) -> Self {
        if !matches!(self.state, "open" | "live") {
            return self;
        }
        let this = BookingRequest::for_visit(visit).as_booked(&visit.id);
        let room = room_to_extend(booked, &this, buffer);
        if room.is_none_or(|r| r >= Duration::minutes(EXTEND_MINUTES)) {
            self.extend = Some(Extension {
                free_minutes: room.map(|r| r.num_minutes()),
            });
        }
        self
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
            let online = hub.device_online(&device.id);
            if online
                && matches!(self.state, "open" | "live")
                && device.health.as_ref().and_then(|h| h.relayed) == Some(true)
            {
                self.relayed = true;
            }
            for problem in device.problems(online) {
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
    /// What the last action could not do, in plain words.
    notice: Option<String>,
    /// A new installation's checklist, until every step is done.
    first_steps: Vec<Step>,
    /// Tomorrow's visits with a family that has not run the pre-visit check:
    /// (visit id, "10:00 山田 花子 — 山田 太郎").
    unchecked_tomorrow: Vec<(String, String)>,
}

/// The visits of `visits` (tomorrow's) whose guests with links have not all checked.
fn unchecked(facility: &Facility, visits: &[Visit]) -> Vec<(String, String)> {
    visits
        .iter()
        .filter(|v| v.cancelled_at.is_none())
        .filter_map(|v| {
            let names: Vec<&str> = v
                .guests
                .iter()
                .filter(|g| g.has_link && !g.link_revoked && g.check.is_none())
                .map(|g| g.name.as_str())
                .collect();
            (!names.is_empty()).then(|| {
                let line = format!(
                    "{} {} — {}",
                    local_hm(facility, v.starts_at),
                    v.resident_name,
                    names.join("、")
                );
                (v.id.clone(), line)
            })
        })
        .collect()
}

/// One line of the first-steps checklist.
pub struct Step {
    pub done: bool,
    pub label: &'static str,
    pub href: &'static str,
}

/// The checklist of a new installation (empty once every step is done).
pub fn checklist(steps: FirstSteps) -> Vec<Step> {
    if steps.all_done() {
        return vec![];
    }
    [
        (steps.settings, "first-steps-settings", "/staff/facility"),
        (steps.devices, "first-steps-devices", "/staff/devices"),
        (steps.residents, "first-steps-residents", "/staff/residents"),
        (steps.booked, "first-steps-book", "/staff/book"),
    ]
    .into_iter()
    .map(|(done, label, href)| Step { done, label, href })
    .collect()
}

#[derive(Deserialize)]
struct DateQuery {
    date: Option<String>,
    /// What the last action on this page could not do (a known message id).
    notice: Option<String>,
}

/// Notices an action may leave for Today (via `?notice=`): only these are shown.
const NOTICES: [&str; 2] = ["extend-conflict", "end-conflict"];

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
    let booked = state.db.booked_on(&facility, date).await?;
    let first_steps = checklist(state.db.first_steps().await?);
    let is_today = date == facility.local_date(now);
    let unchecked_tomorrow = if is_today {
        let tomorrow = state
            .db
            .visits_on(&facility, date + Duration::days(1))
            .await?;
        unchecked(&facility, &tomorrow)
    } else {
        vec![]
    };
    let buffer = Duration::minutes(i64::from(facility.buffer_minutes));
    let rows: Vec<VisitRow> = visits
        .iter()
        .map(|v| {
            VisitRow::new(&ctx.tr, &facility, v, now, &state.hub)
                .warn_about_devices(&ctx.tr, v, &devices, now, &state.hub)
                .offer_extension(v, &booked, buffer)
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
        is_today,
        rows,
        unchecked_tomorrow,
        alerts,
        first_steps,
        notice: q
            .notice
            .filter(|n| NOTICES.contains(&n.as_str()))
            .map(|n| ctx.tr.t(&format!("notice-{n}"))),
    })
}
