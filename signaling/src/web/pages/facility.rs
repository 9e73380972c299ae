//! Facility settings (administrators): name, time zone, language, visiting hours per
//! weekday, slot length and cleaning buffer.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::{Chrome, field_message};
use crate::error::{FieldErrors, PageError};
use crate::facility::{Facility, VisitingHours};
use crate::i18n::Lang;
use crate::staff::StaffMember;
use crate::state::AppState;
use crate::web::extract::{AdminUser, CsrfForm, Ctx};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/facility", get(show).post(save))
}

pub struct DayRow {
    pub weekday: u8,
    pub label: String,
    pub open: bool,
    pub from: String,
    pub to: String,
}

#[derive(askama::Template)]
#[template(path = "facility.html")]
struct FacilityPage {
    c: Chrome,
    f: Facility,
    days: Vec<DayRow>,
    zones: Vec<&'static str>,
    languages: Vec<(&'static str, &'static str)>,
    /// Right after a save, on a new installation: the next of the first steps.
    next_step: Option<super::today::Step>,
    /// The choices for the lobby screen's names: (value, label).
    lobby_choices: Vec<(&'static str, String)>,
    /// E-mail as set up in the configuration (`None`: not set up).
    mail: Option<crate::messages::smtp::Summary>,
    /// The reminder before the start: (minutes or "" for off, label, chosen).
    before_choices: Vec<(String, String, bool)>,
    errors: FieldErrors,
}

impl FacilityPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

fn page(
    ctx: &Ctx,
    state: &AppState,
    me: &StaffMember,
    f: Facility,
    errors: FieldErrors,
) -> FacilityPage {
    let days = (1..=7u8)
        .map(|weekday| {
            let hours = f.visiting_hours.iter().find(|h| h.weekday == weekday);
            DayRow {
                weekday,
                label: ctx.tr.t(&format!("weekday-long-{weekday}")),
                open: hours.is_some(),
                from: hours.map_or("09:00".into(), |h| h.from.clone()),
                to: hours.map_or("17:00".into(), |h| h.to.clone()),
            }
        })
        .collect();
    FacilityPage {
        c: Chrome::staff(ctx, state, me, "facility"),
        days,
        zones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
        languages: Lang::ALL
            .iter()
            .map(|l| (l.code(), l.native_name()))
            .collect(),
        next_step: None,
        lobby_choices: crate::facility::LobbyNames::ALL
            .iter()
            .map(|l| {
                (
                    l.as_str(),
                    ctx.tr.t(&format!("facility-lobby-{}", l.as_str())),
                )
            })
            .collect(),
        mail: state.mail.clone(),
        before_choices: before_choices(&ctx.tr, f.reminder_before_minutes),
        f,
        errors,
    }
}

/// The offered times for the reminder before the start (and the one set, if the API
/// set another).
fn before_choices(tr: &crate::i18n::Tr, current: Option<u32>) -> Vec<(String, String, bool)> {
    let mut minutes = vec![30, 60, 90, 120, 180, 1440];
    if let Some(m) = current
        && !minutes.contains(&m)
    {
        minutes.push(m);
        minutes.sort_unstable();
    }
    std::iter::once((
        String::new(),
        tr.t("facility-reminder-off"),
        current.is_none(),
    ))
    .chain(minutes.into_iter().map(|m| {
        (
            m.to_string(),
            tr.t1("facility-reminder-minutes", "minutes", m),
            current == Some(m),
        )
    }))
    .collect()
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
) -> Result<Response, PageError> {
    let mut page = page(&ctx, &state, &me, state.facility(), FieldErrors::default());
    // Saved on a new installation: say what comes next instead of leaving the
    // administrator on a finished form.
    if ctx.saved {
        page.next_step = super::today::checklist(state.db.first_steps().await?)
            .into_iter()
            .find(|step| !step.done);
    }
    Ok(render(&page)?.into_response())
}

/// Reads the settings form: `open_N`, `from_N`, `to_N` per weekday N. Unparsable
/// numbers become 0, which validation then reports on the field.
fn parse_form(form: &HashMap<String, String>, current: &Facility) -> Facility {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let number = |k: &str| get(k).parse::<u32>().unwrap_or(0);
    let visiting_hours = (1..=7u8)
        .filter(|d| form.contains_key(&format!("open_{d}")))
        .map(|weekday| VisitingHours {
            weekday,
            from: get(&format!("from_{weekday}")),
            to: get(&format!("to_{weekday}")),
        })
        .collect();
    Facility {
        name: get("name"),
        phone: get("phone"),
        time_zone: get("time_zone"),
        language: Lang::parse(&get("language")).unwrap_or(current.language),
        slot_minutes: number("slot_minutes"),
        buffer_minutes: number("buffer_minutes"),
        visiting_hours,
        lobby_names: crate::facility::LobbyNames::parse(&get("lobby_names"))
            .unwrap_or(current.lobby_names),
        // A form without these fields keeps them; an empty field turns a reminder off.
        reminder_day_before: match form.get("reminder_day_before") {
            None => current.reminder_day_before.clone(),
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(v.trim().to_owned()),
        },
        reminder_before_minutes: match form.get("reminder_before_minutes") {
            None => current.reminder_before_minutes,
            Some(v) if v.trim().is_empty() => None,
            Some(_) => Some(number("reminder_before_minutes")),
        },
        retention_days: match form.get("retention_days") {
            None => current.retention_days,
            Some(_) => number("retention_days"),
        },
    }
}

async fn save(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let facility = parse_form(&form, &state.facility());
    match facility.clone().validate() {
        Ok(facility) => {
            state.save_facility(facility).await?;
            state
                .db
                .audit(
                    state.now(),
                    me.display_name.clone(),
                    "facility_changed",
                    String::new(),
                )
                .await?;
            Ok(Redirect::to("/staff/facility?saved=1").into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(&ctx, &state, &me, facility, errors))?,
        )
            .into_response()),
    }
}
