//! One visit: its details and links, reschedule, cancel, and replacing a lost link.
//! Also the invitations page shown right after booking.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::Deserialize;

use super::today::VisitRow;
use super::{Chrome, field_message, local_hm};
use crate::error::{Error, FieldErrors, PageError};
use crate::i18n::Lang;
use crate::invitations::recent::Recent;
use crate::invitations::{self, visit_url};
use crate::staff::{Actor, StaffMember};
use crate::state::AppState;
use crate::storage::InvitationLink;
use crate::visits::{Mode, Visit, VisitState};
use crate::web::extract::{CsrfForm, Ctx, NoFields, StaffUser};
use crate::web::render;
use crate::web::shared::{CardPage, MadeIn, calendar_file};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/visits/{id}", get(visit_page))
        .route("/staff/visits/{id}/cancel", post(cancel))
        .route("/staff/visits/{id}/extend", post(extend))
        .route("/staff/visits/{id}/end", post(end))
        .route("/staff/visits/{id}/captions", post(captions))
        .route("/staff/visits/{id}/reschedule", post(reschedule))
        .route("/staff/visits/{id}/guests/{guest}/link", post(new_link))
        .route(
            "/staff/visits/{id}/messages/{message}/again",
            post(send_again),
        )
        .route("/staff/visits/{id}/links/{key}", get(links_page))
        .route("/staff/visits/{id}/card", get(entrance_card))
        .route("/staff/visits/{id}/invite.ics", get(entrance_calendar))
}

/// One guest's link with everything staff hand over.
pub struct LinkView {
    pub guest: String,
    pub url: String,
    pub qr: String,
    pub ics: String,
    pub card: String,
    pub message_ja: String,
    pub message_en: String,
    /// The guest's address, masked (`t…@example.jp`), when Menkai e-mails them the
    /// invitation itself: the page then says so instead of asking staff to send it.
    pub emailed_to: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "invitations.html")]
pub struct InvitationsPage {
    c: Chrome,
    visit_id: String,
    resident: String,
    when: String,
    links: Vec<LinkView>,
    /// A replaced link, not a new booking: the page says so.
    reissued: bool,
    /// Whether e-mail is set up (else addresses wait, and the page says so).
    mail_ready: bool,
}

impl InvitationsPage {
    pub fn new(
        ctx: &Ctx,
        state: &AppState,
        me: &StaffMember,
        visit: &Visit,
        links: &[InvitationLink],
    ) -> Self {
        let facility = state.facility();
        let times =
            invitations::local_times(&facility, ctx.tr.lang, visit.starts_at, visit.ends_at);
        let links = links
            .iter()
            .map(|link| {
                let url = visit_url(&state.public_url, &link.token);
                let message = |lang| {
                    invitations::message(
                        &facility,
                        lang,
                        &visit.resident_name,
                        &link.guest,
                        visit.starts_at,
                        visit.ends_at,
                        &url,
                        state.now(),
                    )
                };
                let emailed_to = visit
                    .guests
                    .iter()
                    .find(|g| g.id == link.guest_id)
                    .and_then(|g| g.email.as_deref())
                    .map(crate::messages::mask);
                LinkView {
                    emailed_to,
                    guest: link.guest.clone(),
                    qr: format!("/v/{}/qr.svg", link.token),
                    ics: format!("/v/{}/invite.ics?in={}", link.token, ctx.tr.lang),
                    card: format!("/v/{}/card?in={}", link.token, ctx.tr.lang),
                    message_ja: message(Lang::Ja),
                    message_en: message(Lang::En),
                    url,
                }
            })
            .collect();
        Self {
            c: Chrome::staff(ctx, state, me, "book").without_lang_switch(),
            visit_id: visit.id.clone(),
            resident: visit.resident_name.clone(),
            when: format!("{} {}–{}", times.date, times.start, times.end),
            links,
            reissued: false,
            mail_ready: state.mail_ready(),
        }
    }
}

pub struct GuestView {
    pub id: String,
    pub name: String,
    pub has_link: bool,
    pub link_state: String,
    /// What the guest's pre-visit check found (guests with a live link).
    pub check: Option<super::today::GuestCheck>,
    /// In full: this page is where staff check an address.
    pub email: String,
}

/// One message to a family, as the visit's page lists it.
pub struct MessageView {
    pub id: i64,
    pub guest: String,
    pub kind: String,
    /// queued, sent, failed, dropped (for the badge's colour).
    pub state: &'static str,
    pub state_label: String,
    /// "Send again" for a message that failed or did not arrive.
    pub can_resend: bool,
}

/// The visit's messages, newest last, and a sentence for each that failed ("The
/// invitation to t…@example.jp could not be delivered: mailbox unknown").
fn message_views(
    tr: &crate::i18n::Tr,
    facility: &crate::facility::Facility,
    visit: &Visit,
    messages: &[crate::storage::Message],
    changeable: bool,
) -> (Vec<MessageView>, Vec<String>) {
    let mut failures = vec![];
    let views = messages
        .iter()
        .map(|m| {
            let guest = visit.guests.iter().find(|g| g.id == m.guest_id);
            let kind = tr.t(&format!("msg-kind-{}", m.kind.as_str()));
            let reason = m.error.clone().unwrap_or_default();
            let state_label = match m.state {
                crate::messages::State::Queued if m.attempts > 0 => {
                    tr.t1("msg-state-retrying", "reason", &reason)
                }
                crate::messages::State::Queued => tr.t("msg-state-queued"),
                crate::messages::State::Sent => tr.t1(
                    "msg-state-sent",
                    "time",
                    m.sent_at
                        .map(|t| {
                            format!(
                                "{} {}",
                                facility.local_date(t).format("%-m/%-d"),
                                local_hm(facility, t)
                            )
                        })
                        .unwrap_or_default(),
                ),
                crate::messages::State::Failed => tr.t1("msg-state-failed", "reason", &reason),
                crate::messages::State::Dropped => tr.t("msg-state-dropped"),
            };
            if m.state == crate::messages::State::Failed {
                let to = guest
                    .and_then(|g| g.email.as_deref())
                    .map(crate::messages::mask)
                    .unwrap_or_default();
                failures.push(tr.t2(
                    "msg-failed-alert",
                    "what",
                    tr.t2("msg-what", "kind", &kind, "to", to),
                    "reason",
                    &reason,
                ));
            }
            MessageView {
                id: m.id,
                guest: guest.map(|g| g.name.clone()).unwrap_or_default(),
                kind,
                state: m.state.as_str(),
                state_label,
                can_resend: changeable
                    && matches!(
                        m.state,
                        crate::messages::State::Failed | crate::messages::State::Sent
                    ),
            }
        })
        .collect();
    (views, failures)
}

#[derive(askama::Template)]
#[template(path = "visit.html")]
struct VisitPage {
    c: Chrome,
    row: VisitRow,
    guests: Vec<GuestView>,
    any_link: bool,
    changeable: bool,
    not_started: bool,
    /// The day as people write it ("2030年1月7日（月）"), for reading.
    date_label: String,
    /// The devices the visit uses, by name (the ward tablet, the kiosk).
    devices: Vec<(String, String)>,
    /// `YYYY-MM-DD`, for the reschedule form's date field.
    date: String,
    time: String,
    duration: i64,
    errors: FieldErrors,
    conflict: Option<String>,
    /// Why the links are not shown here any more.
    notice: Option<String>,
    /// Messages to the family (invitation, reminders, changes).
    messages: Vec<MessageView>,
    /// A sentence for each message that could not be delivered.
    message_failures: Vec<String>,
}

impl VisitPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn visit_view(ctx: &Ctx, state: &AppState, me: &StaffMember, visit: &Visit) -> VisitPage {
    let facility = state.facility();
    let now = state.now();
    let visit_state = visit.state(now, false);
    let local = visit.starts_at.with_timezone(&facility.tz());
    let known = state.db.devices().await.unwrap_or_default();
    let name_of = |id: &str| {
        known
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| "—".to_owned(), |d| d.name.clone())
    };
    let changeable = matches!(
        visit_state,
        VisitState::Scheduled | VisitState::Open | VisitState::Live
    );
    let stored = state
        .db
        .messages_of_visit(visit.id.clone())
        .await
        .unwrap_or_default();
    let (messages, message_failures) =
        message_views(&ctx.tr, &facility, visit, &stored, changeable);
    let mut devices = vec![(ctx.tr.t("book-ward-device"), name_of(&visit.ward_device_id))];
    if let Some(kiosk) = &visit.entrance_device_id {
        devices.push((ctx.tr.t("book-kiosk"), name_of(kiosk)));
    }
    VisitPage {
        c: Chrome::staff(ctx, state, me, "today"),
        row: VisitRow::new(&ctx.tr, &facility, visit, now, &state.hub),
        guests: visit
            .guests
            .iter()
            .map(|g| GuestView {
                id: g.id.clone(),
                name: g.name.clone(),
                has_link: g.has_link,
                email: g.email.clone().unwrap_or_default(),
                check: (g.has_link && !g.link_revoked)
                    .then(|| super::today::GuestCheck::new(&ctx.tr, &facility, g)),
                link_state: ctx.tr.t(match (g.has_link, g.link_revoked) {
                    (false, _) => "link-none",
                    (true, true) => "link-revoked",
                    (true, false) => "link-active",
                }),
            })
            .collect(),
        any_link: visit.guests.iter().any(|g| g.has_link),
        changeable,
        not_started: visit_state == VisitState::Scheduled,
        date_label: crate::i18n::long_date(ctx.tr.lang, local.date_naive()),
        devices,
        date: local.date_naive().to_string(),
        time: format!("{:02}:{:02}", local.hour(), local.minute()),
        duration: visit.duration_minutes(),
        errors: FieldErrors::default(),
        conflict: None,
        notice: None,
        messages,
        message_failures,
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn visit_page(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let visit = state.db.visit(id).await?;
    let mut page = visit_view(&ctx, &state, &me, &visit).await;
    // Only a known notice is shown (never text from the address).
    page.conflict = q
        .notice
        .filter(|n| n == "cancel-conflict")
        .map(|n| ctx.tr.t(&format!("notice-{n}")));
    Ok(render(&page)?.into_response())
}

async fn cancel(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let notice = match state
        .db
        .cancel_visit(id.clone(), state.facility(), &Actor::from(&me), state.now())
        .await
    {
        Ok(_) => "",
        Err(Error::Conflict(_)) => "?notice=cancel-conflict",
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("/staff/visits/{id}{notice}")).into_response())
}

#[derive(Deserialize)]
struct RescheduleForm {
    date: String,
    time: String,
    duration: u32,
}

async fn reschedule(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RescheduleForm>,
) -> Result<Response, PageError> {
    let facility = state.facility();
    let start = NaiveDate::parse_from_str(&form.date, "%Y-%m-%d")
        .ok()
        .zip(NaiveTime::parse_from_str(&form.time, "%H:%M").ok())
        .and_then(|(d, t)| facility.instant(d, t.hour() * 60 + t.minute()));
    let result = match start {
        Some(start) => {
            state
                .db
                .reschedule_visit(
                    id.clone(),
                    start,
                    form.duration,
                    facility,
                    &Actor::from(&me),
                    state.now(),
                )
                .await
        }
        None => Err(Error::Invalid(FieldErrors::single(
            "starts_at",
            "invalid_time",
        ))),
    };
    let (status, errors, conflict) = match result {
        Ok(_) => return Ok(Redirect::to(&format!("/staff/visits/{id}")).into_response()),
        Err(Error::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        Err(Error::Conflict(code)) => (
            StatusCode::CONFLICT,
            FieldErrors::default(),
            Some(ctx.tr.t(&format!("error-{code}"))),
        ),
        Err(e) => return Err(e.into()),
    };
    let visit = state.db.visit(id).await?;
    let mut page = visit_view(&ctx, &state, &me, &visit).await;
    page.errors = errors;
    page.conflict = conflict;
    (page.date, page.time) = (form.date, form.time);
    Ok((status, render(&page)?).into_response())
}

/// "New link": optionally with the address the new invitation goes to. A form without
/// the field keeps the address as it was; an empty field means "no e-mail".
#[derive(Debug, serde::Deserialize)]
struct NewLinkForm {
    #[serde(default)]
    email: Option<String>,
}

async fn new_link(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path((id, guest)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<NewLinkForm>,
) -> Result<Response, PageError> {
    links_allowed(&state, &me)?;
    let email = match form.email.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => {
            Some(Some(crate::validation::email(raw).map_err(|code| {
                Error::Invalid(FieldErrors::single("email", code))
            })?))
        }
    };
    let link = state
        .reissue_invitation(id.clone(), guest, email, &Actor::from(&me))
        .await?;
    Ok(show_links(
        &state,
        &me,
        Recent {
            visit_id: id,
            links: vec![link],
            reissued: true,
        },
    ))
}

/// "Send again": the message is queued at once (a failed one after its cause was
/// fixed, or one the family says never arrived).
async fn send_again(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path((id, message)): Path<(String, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    state
        .db
        .send_again(id.clone(), message, &Actor::from(&me), state.now())
        .await?;
    Ok(Redirect::to(&format!("/staff/visits/{id}#messages")).into_response())
}

/// Whether `me` may make more links now (checked before any are made): 429 with how
/// long to wait when they made many in the last minute.
pub fn links_allowed(state: &AppState, me: &StaffMember) -> Result<(), Error> {
    state
        .recent_links
        .allowance(&me.id, state.now())
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })
}

/// After links are made: keep them for this staff member and send the browser to the
/// page that shows them, so a reload shows them again and never books twice.
pub fn show_links(state: &AppState, me: &StaffMember, recent: Recent) -> Response {
    let visit_id = recent.visit_id.clone();
    let key = state.recent_links.keep(&me.id, recent, state.now());
    Redirect::to(&format!("/staff/visits/{visit_id}/links/{key}")).into_response()
}

/// The links just made, for as long as they are kept; then the visit's page, which
/// says why they are gone and offers new ones.
async fn links_page(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let visit = state.db.visit(id.clone()).await?;
    match state.recent_links.get(&key, &me.id, state.now()) {
        Some(recent) if recent.visit_id == id => {
            let page = InvitationsPage {
                reissued: recent.reissued,
                ..InvitationsPage::new(&ctx, &state, &me, &visit, &recent.links)
            };
            Ok(render(&page)?.into_response())
        }
        _ => {
            let mut page = visit_view(&ctx, &state, &me, &visit).await;
            page.notice = Some(ctx.tr.t("visit-links-gone"));
            Ok(render(&page)?.into_response())
        }
    }
}

/// A visit at the entrance has no link; staff print this card for the family instead
/// (when, where, what to do at reception).
async fn entrance_visit(state: &AppState, id: String) -> Result<Visit, Error> {
    let visit = state.db.visit(id).await?;
    if visit.mode == Mode::Entrance {
        Ok(visit)
    } else {
        Err(Error::NotFound)
    }
}

async fn entrance_card(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(_): StaffUser,
    Path(id): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let visit = entrance_visit(&state, id).await?;
    let page = CardPage::new(made_in.tr(&ctx), ctx.csrf, &state, &visit, None);
    Ok(render(&page)?.into_response())
}

async fn entrance_calendar(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(_): StaffUser,
    Path(id): Path<String>,
    Query(made_in): Query<MadeIn>,
) -> Result<Response, PageError> {
    let visit = entrance_visit(&state, id).await?;
    Ok(calendar_file(made_in.tr(&ctx), &state, &visit, None))
}

/// Ten more minutes for a visit in progress (if nothing else needs the time).
async fn extend(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let minutes = super::today::EXTEND_MINUTES as u32;
    match state
        .db
        .extend_visit(
            id,
            minutes,
            state.facility(),
            &Actor::from(&me),
            state.now(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/staff").into_response()),
        // Over meanwhile, or the time booked by someone else: say so on Today, with
        // everything else still there.
        Err(Error::Conflict(code)) => {
            let notice = if code.starts_with("visit_") {
                "end-conflict"
            } else {
                "extend-conflict"
            };
            Ok(Redirect::to(&format!("/staff?notice={notice}")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends a visit in progress now; everyone in it sees the end screen.
#[derive(Debug, serde::Deserialize)]
struct CaptionsForm {
    on: bool,
    /// The page the button was on: `today` or `visit`.
    #[serde(default)]
    back: String,
}

/// Live captions on or off for one visit, also while it runs (the devices and the
/// family's page follow within a second).
async fn captions(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CaptionsForm>,
) -> Result<Response, PageError> {
    let back = if form.back == "visit" {
        format!("/staff/visits/{id}")
    } else {
        "/staff".to_owned()
    };
    match state
        .db
        .set_visit_captions(
            id,
            form.on,
            state.facility(),
            &Actor::from(&me),
            state.now(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(Error::Conflict(_)) => Ok(Redirect::to("/staff?notice=end-conflict").into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn end(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    match state
        .db
        .end_visit(id, state.facility(), &Actor::from(&me), state.now())
        .await
    {
        Ok(_) => Ok(Redirect::to("/staff").into_response()),
        // Already over (or not begun) by the time the button was pressed: say so on
        // Today rather than on an error page.
        Err(Error::Conflict(_)) => Ok(Redirect::to("/staff?notice=end-conflict").into_response()),
        Err(e) => Err(e.into()),
    }
}
