//! Booking a visit: pick resident, mode and devices, see only the free slots of the
//! day, name the guests, book, and get the links.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Chrome, chosen_date, field_message, local_hm};
use crate::devices::{Device, DeviceKind};
use crate::error::{Error, FieldErrors, PageError};
use crate::i18n;
use crate::invitations::recent::Recent;
use crate::residents::Resident;
use crate::staff::{Actor, StaffMember};
use crate::state::AppState;
use crate::visits::Mode;
use crate::visits::booking::{
    Booked, BookingRequest, GuestRequest, MAX_GUESTS, free_slots, slot_now, soonest_slot,
};
use crate::web::extract::{CsrfForm, Ctx, StaffUser};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/book", get(booking_page).post(book))
}

/// What is chosen so far; comes from the query (choices) or the form (booking).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Choice {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    ward_device_id: String,
    #[serde(default)]
    entrance_device_id: String,
}

/// The booking form: the choice again (hidden fields), the slot and the guests. Not
/// `#[serde(flatten)]`: repeated `guest` fields need the plain form shape.
#[derive(Debug, Deserialize)]
struct BookForm {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    ward_device_id: String,
    #[serde(default)]
    entrance_device_id: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    guest: Vec<String>,
    /// One per guest row, in the same order (empty: no messages).
    #[serde(default)]
    guest_email: Vec<String>,
    /// One per guest row: `ja`, `en`, or empty for the facility's language.
    #[serde(default)]
    guest_lang: Vec<String>,
    /// "Show captions" ticked (only offered when a recogniser is installed).
    #[serde(default)]
    captions: bool,
}

impl BookForm {
    /// The guest rows as typed: name, address and language lined up by position.
    fn guests(&self) -> Vec<GuestRequest> {
        self.guest
            .iter()
            .enumerate()
            .map(|(i, name)| GuestRequest {
                name: name.clone(),
                email: self.guest_email.get(i).cloned().unwrap_or_default(),
                lang: self
                    .guest_lang
                    .get(i)
                    .and_then(|code| crate::i18n::Lang::parse(code)),
            })
            .collect()
    }
}

/// One guest row of the form, as typed.
pub struct GuestRow {
    pub name: String,
    pub email: String,
    /// `ja`, `en` or empty.
    pub lang: &'static str,
}

impl From<&GuestRequest> for GuestRow {
    fn from(g: &GuestRequest) -> Self {
        GuestRow {
            name: g.name.clone(),
            email: g.email.clone(),
            lang: g.lang.map(|l| l.code()).unwrap_or(""),
        }
    }
}

pub struct Slot {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct SelectOption {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

#[derive(askama::Template)]
#[template(path = "booking.html")]
struct BookingPage {
    c: Chrome,
    date: String,
    date_label: String,
    min_date: String,
    remote: bool,
    residents: Vec<SelectOption>,
    wards: Vec<SelectOption>,
    kiosks: Vec<SelectOption>,
    choice: Choice,
    /// None until resident and devices are chosen.
    slots: Option<Vec<Slot>>,
    guests: Vec<GuestRow>,
    /// Whether e-mail is set up: the address fields say so when it is not.
    mail_ready: bool,
    errors: FieldErrors,
    conflict: Option<String>,
    slot_minutes: u32,
}

impl BookingPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

fn options<T>(
    items: &[T],
    selected: &str,
    id: impl Fn(&T) -> &str,
    label: impl Fn(&T) -> String,
) -> Vec<SelectOption> {
    items
        .iter()
        .map(|item| SelectOption {
            id: id(item).to_owned(),
            label: label(item),
            selected: id(item) == selected,
        })
        .collect()
}

/// What the person has entered so far, and what the last attempt to book said.
#[derive(Debug, Default)]
struct Entered {
    choice: Choice,
    /// The slot to keep checked.
    picked: Option<DateTime<Utc>>,
    guests: Vec<GuestRequest>,
    errors: FieldErrors,
    conflict: Option<String>,
}

/// Builds the page for what has been entered so far.
async fn page(
    ctx: &Ctx,
    state: &AppState,
    me: &StaffMember,
    entered: Entered,
) -> Result<BookingPage, PageError> {
    let Entered {
        mut choice,
        picked,
        guests,
        errors,
        conflict,
    } = entered;
    let facility = state.facility();
    let now = state.now();
    let date = chosen_date(choice.date.as_deref(), &facility, now);
    let residents: Vec<Resident> = state.db.residents(false).await?;
    let devices: Vec<Device> = state
        .db
        .devices()
        .await?
        .into_iter()
        .filter(Device::bookable)
        .collect();
    let wards: Vec<&Device> = devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Ward)
        .collect();
    let kiosks: Vec<&Device> = devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Entrance)
        .collect();
    // With one tablet or one kiosk there is nothing to choose; otherwise the tablet
    // the resident had last time is the likely one.
    if choice.ward_device_id.is_empty() && wards.len() == 1 {
        choice.ward_device_id = wards[0].id.clone();
    }
    if choice.ward_device_id.is_empty() && !choice.resident_id.is_empty() {
        let usual = state.db.usual_tablet(choice.resident_id.clone()).await?;
        if let Some(usual) = usual.filter(|id| wards.iter().any(|w| &w.id == id)) {
            choice.ward_device_id = usual;
        }
    }
    if choice.entrance_device_id.is_empty() && kiosks.len() == 1 {
        choice.entrance_device_id = kiosks[0].id.clone();
    }
    let mode = Mode::parse(&choice.mode).unwrap_or(Mode::Remote);
    choice.mode = mode.as_str().to_owned();
    let ready = !choice.resident_id.is_empty()
        && !choice.ward_device_id.is_empty()
        && (mode == Mode::Remote || !choice.entrance_device_id.is_empty());
    let slots = if ready {
        let wanted = Booked {
            visit_id: String::new(),
            resident_id: choice.resident_id.clone(),
            ward_device_id: choice.ward_device_id.clone(),
            entrance_device_id: (mode == Mode::Entrance).then(|| choice.entrance_device_id.clone()),
            starts_at: now,
            ends_at: now,
        };
        let booked = state.db.booked_on(&facility, date).await?;
        let length = Duration::minutes(i64::from(facility.slot_minutes));
        let times = |start: DateTime<Utc>| {
            format!(
                "{}–{}",
                local_hm(&facility, start),
                local_hm(&facility, start + length)
            )
        };
        let grid = free_slots(&facility, date, now, &booked, &wanted);
        // Today, "now" comes first when a whole slot from this minute is free.
        let today = date == facility.local_date(now);
        let right_now = today
            .then(|| slot_now(&facility, now, &booked, &wanted))
            .flatten();
        // Not free this minute (a visit just ended early; its cleaning break runs):
        // the first free minute before the next slot of the grid.
        let next_grid = grid.first().copied();
        let soonest = (today && right_now.is_none())
            .then(|| soonest_slot(&facility, now, &booked, &wanted, Duration::minutes(60)))
            .flatten()
            .filter(|start| next_grid.is_none_or(|g| *start < g));
        let now_slot = right_now
            .map(|start| (start, "book-now"))
            .or(soonest.map(|start| (start, "book-soonest")))
            .filter(|(start, _)| !grid.contains(start))
            .map(|(start, label)| Slot {
                value: start.to_rfc3339(),
                label: ctx.tr.t1(label, "times", times(start)),
                checked: picked == Some(start),
            });
        Some(
            now_slot
                .into_iter()
                .chain(grid.into_iter().map(|start| Slot {
                    value: start.to_rfc3339(),
                    label: times(start),
                    checked: picked == Some(start),
                }))
                .collect(),
        )
    } else {
        None
    };
    let mut guests: Vec<GuestRow> = guests.iter().map(GuestRow::from).collect();
    guests.resize_with(MAX_GUESTS.max(guests.len()), || {
        GuestRow::from(&GuestRequest::default())
    });
    let room = |r: &Resident| {
        if r.room.is_empty() {
            r.name.clone()
        } else {
            ctx.tr
                .t2("resident-with-room", "name", &r.name, "room", &r.room)
        }
    };
    Ok(BookingPage {
        c: Chrome::staff(ctx, state, me, "book"),
        date: date.to_string(),
        date_label: i18n::long_date(ctx.tr.lang, date),
        min_date: facility.local_date(now).to_string(),
        remote: mode == Mode::Remote,
        residents: options(&residents, &choice.resident_id, |r| &r.id, room),
        wards: options(
            &wards,
            &choice.ward_device_id,
            |d| &d.id,
            |d| d.name.clone(),
        ),
        kiosks: options(
            &kiosks,
            &choice.entrance_device_id,
            |d| &d.id,
            |d| d.name.clone(),
        ),
        choice,
        slots,
        guests,
        mail_ready: state.mail_ready(),
        errors,
        conflict,
        slot_minutes: facility.slot_minutes,
    })
}

async fn booking_page(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Query(choice): Query<Choice>,
) -> Result<Response, PageError> {
    let page = page(
        &ctx,
        &state,
        &me,
        Entered {
            choice,
            ..Entered::default()
        },
    )
    .await?;
    Ok(render(&page)?.into_response())
}

async fn book(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    CsrfForm(form): CsrfForm<BookForm>,
) -> Result<Response, PageError> {
    super::visits::links_allowed(&state, &me)?;
    let facility = state.facility();
    let now = state.now();
    let slot = DateTime::parse_from_rfc3339(&form.slot)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    let choice = Choice {
        date: form.date.clone(),
        resident_id: form.resident_id.clone(),
        mode: form.mode.clone(),
        ward_device_id: form.ward_device_id.clone(),
        entrance_device_id: form.entrance_device_id.clone(),
    };
    let request = BookingRequest {
        resident_id: choice.resident_id.clone(),
        starts_at: slot.unwrap_or(now - Duration::days(1)),
        duration_minutes: facility.slot_minutes,
        mode: Mode::parse(&choice.mode).unwrap_or(Mode::Remote),
        ward_device_id: choice.ward_device_id.clone(),
        entrance_device_id: Some(choice.entrance_device_id.clone()).filter(|d| !d.is_empty()),
        guests: form.guests(),
        // Ticked: on for this visit; not ticked: as the resident's own setting.
        captions: form.captions.then_some(true),
    };
    let result = if slot.is_none() {
        Err(Error::Invalid(FieldErrors::single("slot", "choose_slot")))
    } else {
        state
            .db
            .book_visit(request, facility.clone(), &Actor::from(&me), now)
            .await
    };
    match result {
        Ok(booked) => Ok(super::visits::show_links(
            &state,
            &me,
            Recent {
                visit_id: booked.visit.id.clone(),
                links: booked.invitations,
                reissued: false,
            },
        )),
        Err(Error::Invalid(errors)) => {
            let entered = Entered {
                choice,
                picked: slot,
                guests: form.guests(),
                errors,
                conflict: None,
            };
            let page = page(&ctx, &state, &me, entered).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(Error::Conflict(code)) => {
            let message = ctx.tr.t(&format!("error-{code}"));
            let entered = Entered {
                choice,
                guests: form.guests(),
                conflict: Some(message),
                ..Entered::default()
            };
            let page = page(&ctx, &state, &me, entered).await?;
            Ok((StatusCode::CONFLICT, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
