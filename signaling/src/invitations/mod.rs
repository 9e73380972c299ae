//! Invitations: one per guest, each an unguessable link `/v/{token}` (only the hash is
//! stored) that works from 15 minutes before the visit until its end.
//!
//! This module turns a link into the things staff hand over: a QR code, a calendar
//! file, a ready-to-send message and the printed card's text.

pub mod ics;
pub mod qr;
pub mod recent;

use chrono::{DateTime, Utc};

use crate::facility::Facility;
use crate::i18n::{self, Lang, Tr};

/// The public address of a visit link.
pub fn visit_url(public_url: &str, token: &str) -> String {
    format!("{}/v/{token}", public_url.trim_end_matches('/'))
}

/// A date and time as the family reads them, in the facility's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTimes {
    pub date: String,
    pub start: String,
    pub end: String,
}

pub fn local_times(
    facility: &Facility,
    lang: Lang,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> LocalTimes {
    let tz = facility.tz();
    let start = starts_at.with_timezone(&tz);
    let end = ends_at.with_timezone(&tz);
    LocalTimes {
        date: i18n::long_date(lang, start.date_naive()),
        start: start.format("%-H:%M").to_string(),
        end: end.format("%-H:%M").to_string(),
    }
}

/// The message staff paste into LINE, an e-mail or a text message. A visit booked for
/// "now" says the link works already (`now` is when the message is made).
#[allow(clippy::too_many_arguments)]
pub fn message(
    facility: &Facility,
    lang: Lang,
    resident: &str,
    guest: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    url: &str,
    now: DateTime<Utc>,
) -> String {
    let open = if starts_at - crate::visits::LINK_OPENS_BEFORE <= now {
        "yes"
    } else {
        "no"
    };
    let times = local_times(facility, lang, starts_at, ends_at);
    i18n::text(
        lang,
        "invite-message",
        &[
            ("guest", guest.into()),
            ("resident", resident.into()),
            ("facility", facility.name.as_str().into()),
            ("date", times.date.into()),
            ("start", times.start.into()),
            ("end", times.end.into()),
            ("url", url.into()),
            ("open", open.into()),
        ],
    )
}

/// The title of a visit, for the calendar and the card.
/// A calendar entry's UID: one per guest's visit (so the family's own calendar keeps
/// one entry however often it changes), or per visit for the entrance's file.
pub fn calendar_uid(visit_id: &str, guest_id: Option<&str>) -> String {
    match guest_id {
        Some(guest) => format!("{visit_id}-{guest}@menkai"),
        None => format!("{visit_id}@menkai"),
    }
}

pub fn title(lang: Lang, resident: &str) -> String {
    Tr::new(lang).t1("invite-title", "resident", resident)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn the_message_names_the_resident_the_time_in_the_facility_zone_and_the_link() {
        let f = Facility::default();
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let text = message(
            &f,
            Lang::En,
            "Hanako",
            "Taro",
            start,
            start + Duration::minutes(20),
            "http://x/v/abc",
            start - Duration::days(1),
        );
        assert!(text.contains("Hanako"), "{text}");
        assert!(text.contains("from 15 minutes before"), "{text}");
        assert!(text.contains("10:00"), "{text}");
        assert!(text.contains("http://x/v/abc"), "{text}");
        let ja = message(
            &f,
            Lang::Ja,
            "花子",
            "太郎",
            start,
            start + Duration::minutes(20),
            "http://x/v/abc",
            start - Duration::days(1),
        );
        assert!(ja.contains("12月1日"), "{ja}");
    }

    #[test]
    fn a_visit_booked_for_now_says_its_link_works_already() {
        let f = Facility::default();
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let text = |lang| {
            message(
                &f,
                lang,
                "Hanako",
                "Taro",
                start,
                start + Duration::minutes(20),
                "http://x/v/abc",
                start,
            )
        };
        let en = text(Lang::En);
        assert!(
            en.contains("works now") && !en.contains("15 minutes"),
            "{en}"
        );
        let ja = text(Lang::Ja);
        assert!(
            ja.contains("もう使えます") && !ja.contains("15分前"),
            "{ja}"
        );
    }

    #[test]
    fn visit_urls_do_not_double_slashes() {
        assert_eq!(visit_url("http://h:1/", "t"), "http://h:1/v/t");
    }
}
