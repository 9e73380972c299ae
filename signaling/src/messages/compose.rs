//! One e-mail to one family member, written from the visit as it stands when the
//! message is sent: subject, a plain-text body, an HTML alternative (no remote
//! images; the QR code travels inside the message), and the calendar entry.

use askama::Template as _;
use chrono::{DateTime, Datelike, Utc};

use super::Outgoing;
use crate::checks::Verdict;
use crate::facility::Facility;
use crate::i18n::Tr;
use crate::invitations::{self, ics};
use crate::storage::{Due, Recipient};
use crate::visits::{Mode, Visit};

/// What kind of message: also its key in the outbox and in the catalogs
/// (`mail-subject-{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The first message: the link, the QR code, the calendar entry.
    Invitation,
    /// The day before, at the home's chosen time.
    ReminderDay,
    /// Shortly before the start.
    ReminderSoon,
    /// The time moved (or grew by more than a few minutes).
    Changed,
    Cancelled,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Invitation,
        Kind::ReminderDay,
        Kind::ReminderSoon,
        Kind::Changed,
        Kind::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::ReminderDay => "reminder_day",
            Kind::ReminderSoon => "reminder_soon",
            Kind::Changed => "changed",
            Kind::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The family's pre-visit check, as a reminder mentions it.
#[derive(Debug, Clone)]
pub struct CheckLine {
    /// Ready for the visit (possibly through the relay).
    pub ready: bool,
    /// What the check found, in the guest's language ("The camera showed only black").
    pub text: String,
}

/// Everything the templates show; plain data, already in the guest's language.
#[derive(Debug, Clone)]
pub struct Mail {
    pub tr: Tr,
    pub kind: Kind,
    /// `kind.as_str()`, for the templates.
    pub kind_code: &'static str,
    pub facility: String,
    /// The home's phone number as written on the Settings page; may be empty.
    pub phone: String,
    pub resident: String,
    pub guest: String,
    /// The visit's date, long, in the guest's language: 「2026年12月8日（火）」.
    pub date: String,
    /// `9:00`, `9:20`, in the facility's time zone.
    pub start: String,
    pub end: String,
    pub minutes: i64,
    /// A visit at the entrance kiosk: the family comes to reception; no link.
    pub entrance: bool,
    /// The guest's own visit link; empty for entrance visits and cancellations.
    pub link: String,
    /// The link's pre-visit check page; empty where `link` is.
    pub check_link: String,
    /// Reminders only: the family's last pre-visit check; `None`: not run yet.
    pub check: Option<CheckLine>,
    /// `Changed` only: the time before the change, e.g. 「12月8日（火）9:00」.
    pub before: String,
    /// The inline QR code's content id (`cid:` in the HTML); empty without a link.
    pub qr_cid: String,
}

/// The plain-text body.
#[derive(askama::Template)]
#[template(path = "mail/message.txt")]
pub struct TextBody<'a> {
    pub m: &'a Mail,
}

/// The HTML alternative.
#[derive(askama::Template)]
#[template(path = "mail/message.html")]
pub struct HtmlBody<'a> {
    pub m: &'a Mail,
}

/// The content id of the QR code inside an HTML part.
pub const QR_CID: &str = "qr@menkai";

/// Why a due message is not sent after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No longer wanted (a later change, a cancellation, the visit is over): dropped.
    Drop(&'static str),
    /// Cannot be written (its link cannot be read): failed, for staff to see.
    Fail(&'static str),
}

/// Whether a message queued as `kind`/`version` still says something true at `now`.
/// A cancellation is always told; everything else only for a visit still ahead, and a
/// reminder or change note only for the visit's current time.
pub fn still_wanted(
    kind: Kind,
    version: i64,
    visit: &Visit,
    now: DateTime<Utc>,
) -> Result<(), Skip> {
    if kind == Kind::Cancelled {
        return Ok(());
    }
    if visit.cancelled_at.is_some() {
        return Err(Skip::Drop("cancelled"));
    }
    if visit.ended_at.is_some() || now >= visit.ends_at {
        return Err(Skip::Drop("over"));
    }
    let current = version == i64::from(visit.sequence);
    match kind {
        Kind::ReminderDay | Kind::ReminderSoon if now >= visit.starts_at => {
            Err(Skip::Drop("started"))
        }
        Kind::ReminderDay | Kind::ReminderSoon | Kind::Changed if !current => {
            Err(Skip::Drop("superseded"))
        }
        _ => Ok(()),
    }
}

/// What writing a message needs besides the visit and the guest.
pub struct Context<'a> {
    pub facility: &'a Facility,
    pub public_url: &'a str,
    /// The from address: the calendar entry's organizer.
    pub organizer: &'a str,
    pub now: DateTime<Utc>,
}

/// Writes a due message: subject, bodies, calendar entry, QR code. `link` is the
/// guest's current link token (opened from its seal), `None` if it cannot be read.
pub fn write(
    due: &Due,
    recipient: &Recipient,
    link: Option<&str>,
    cx: &Context<'_>,
) -> Result<Outgoing, Skip> {
    let message = &due.message;
    let visit = &due.visit;
    let kind = message.kind;
    still_wanted(kind, message.version, visit, cx.now)?;
    let lang = recipient.lang.unwrap_or(cx.facility.language);
    let tr = Tr::new(lang);
    let entrance = visit.mode == Mode::Entrance;
    let needs_link = !entrance && kind != Kind::Cancelled;
    let url = match (needs_link, link) {
        (false, _) => String::new(),
        (true, Some(token)) => invitations::visit_url(cx.public_url, token),
        (true, None) => return Err(Skip::Fail("link_unavailable")),
    };
    let times = invitations::local_times(cx.facility, lang, visit.starts_at, visit.ends_at);
    let when = short_when(&tr, cx.facility, visit.starts_at);
    let guest = visit.guests.iter().find(|g| g.id == recipient.guest_id);
    let reminder = matches!(kind, Kind::ReminderDay | Kind::ReminderSoon);
    let check = guest
        .and_then(|g| g.check.as_ref())
        .filter(|_| reminder && !entrance)
        .map(|c| CheckLine {
            ready: matches!(c.verdict, Verdict::Ready | Verdict::ReadyRelayed),
            text: crate::checks::problem_words(&tr, &c.report).join(&tr.t("list-separator")),
        });
    // The QR code is for the invitation (read on a computer, opened on the phone);
    // in a reminder it is clutter. A message without it still carries the link.
    let qr_png = if url.is_empty() || kind != Kind::Invitation {
        None
    } else {
        invitations::qr::png(&url).ok()
    };
    let before = message
        .previous_start
        .map(|t| short_when(&tr, cx.facility, t))
        .unwrap_or_default();
    let mail = Mail {
        tr,
        kind,
        kind_code: kind.as_str(),
        facility: cx.facility.name.clone(),
        phone: cx.facility.phone.clone(),
        resident: visit.resident_name.clone(),
        guest: recipient.name.clone(),
        date: times.date,
        start: times.start,
        end: times.end,
        minutes: visit.duration_minutes(),
        entrance,
        check_link: if url.is_empty() {
            String::new()
        } else {
            format!("{url}/check")
        },
        link: url,
        check,
        before,
        qr_cid: if qr_png.is_some() {
            QR_CID.to_owned()
        } else {
            String::new()
        },
    };
    let text = TextBody { m: &mail }
        .render()
        .map_err(|_| Skip::Fail("template"))?;
    let html = HtmlBody { m: &mail }
        .render()
        .map_err(|_| Skip::Fail("template"))?;
    let subject = tr.t2(
        &format!("mail-subject-{}", kind.as_str()),
        "resident",
        &visit.resident_name,
        "when",
        &when,
    );
    Ok(Outgoing {
        to_name: recipient.name.clone(),
        to_address: recipient.email.clone(),
        subject,
        text,
        html,
        calendar: calendar(kind, visit, recipient, &mail, cx),
        qr_png,
        message_id: format!(
            "menkai.{}.{}.{}.{}.{}",
            visit.id,
            recipient.guest_id,
            kind.as_str(),
            message.version,
            message.resends
        ),
    })
}

/// `12月8日（火） 9:00` / `Tuesday 8 December 9:00`: a moment in a subject line or the
/// "changed" message's old time (no year), in the home's time zone.
fn short_when(tr: &Tr, facility: &Facility, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&facility.tz());
    let weekday = tr.t(&format!("weekday-{}", local.weekday().number_from_monday()));
    let month = tr.t(&format!("month-{}", local.month()));
    let time = local.format("%-H:%M");
    match tr.lang {
        crate::i18n::Lang::Ja => format!("{month}{}日（{weekday}） {time}", local.day()),
        crate::i18n::Lang::En => format!("{weekday} {} {month} {time}", local.day()),
    }
}

/// The entry for the family's calendar: `REQUEST` with the visit's time (added, or
/// updated in place: same UID, the visit's SEQUENCE), `CANCEL` to take it out.
/// Reminders carry none (the entry is already there).
fn calendar(
    kind: Kind,
    visit: &Visit,
    recipient: &Recipient,
    mail: &Mail,
    cx: &Context<'_>,
) -> Option<(&'static str, String)> {
    let method = match kind {
        Kind::Invitation | Kind::Changed => "REQUEST",
        Kind::Cancelled => "CANCEL",
        Kind::ReminderDay | Kind::ReminderSoon => return None,
    };
    let summary = mail
        .tr
        .t1("mail-calendar-summary", "resident", &visit.resident_name);
    let description = if mail.link.is_empty() {
        mail.tr
            .t1("ics-entrance-description", "facility", &cx.facility.name)
    } else {
        mail.tr.t1("ics-description", "url", &mail.link)
    };
    let uid = invitations::calendar_uid(&visit.id, Some(&recipient.guest_id));
    let organizer_name = cx.facility.name.clone();
    let event = ics::Event {
        uid: &uid,
        summary: &summary,
        description: &description,
        url: &mail.link,
        location: &cx.facility.name,
        starts_at: visit.starts_at,
        ends_at: visit.ends_at,
        cancelled: kind == Kind::Cancelled,
        alarm_text: &mail.tr.t("mail-calendar-alarm"),
        stamp: cx.now,
        method,
        sequence: visit.sequence,
        organizer: Some((&organizer_name, cx.organizer)),
        attendee: Some((&recipient.name, &recipient.email)),
    };
    Some((method, ics::calendar(&event, cx.facility.tz())))
}
