//! Calendar files (RFC 5545) for a visit, written exactly to the standard: CRLF line
//! ends, lines folded at 75 octets, text escaped, and the start and end given in the
//! facility's time zone with a VTIMEZONE that describes that zone's offsets around the
//! visit (taken from the IANA database through chrono-tz).

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};

/// What goes into the calendar entry.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub uid: &'a str,
    pub summary: &'a str,
    pub description: &'a str,
    pub url: &'a str,
    pub location: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
    pub alarm_text: &'a str,
    pub stamp: DateTime<Utc>,
    /// `PUBLISH` for a file to download; in e-mail `REQUEST` (add or update the entry)
    /// or `CANCEL` (RFC 5546).
    pub method: &'a str,
    /// Grows with each change, so a calendar replaces the entry it has.
    pub sequence: u32,
    /// Who sends the entry and who it is for (`name`, address): what a calendar
    /// needs to take a `REQUEST` or `CANCEL` as an update of the entry it has.
    pub organizer: Option<(&'a str, &'a str)>,
    pub attendee: Option<(&'a str, &'a str)>,
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (`CN=…`) in quotes, without what a quoted value cannot hold
/// (RFC 5545 §3.1: no `"` and no control characters).
fn quoted(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `+0900`, `-0430`.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool) {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc());
    let total = offset.fix().local_minus_utc();
    (total, !offset.dst_offset().is_zero())
}

/// Instants within `[from, to]` where the zone's offset changes. Found day by day, then
/// to the second by bisection; zones change at most a few times a year.
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut found = vec![];
    let mut day = from;
    while day < to {
        let next = day + Duration::days(1);
        if offset_at(tz, day) != offset_at(tz, next) {
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == offset_at(tz, lo) {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            found.push(hi);
        }
        day = next;
    }
    found
}

fn observance(out: &mut String, onset_local: &str, from: (i32, bool), to: (i32, bool)) {
    let kind = if to.1 { "DAYLIGHT" } else { "STANDARD" };
    fold(&format!("BEGIN:{kind}"), out);
    fold(&format!("DTSTART:{onset_local}"), out);
    fold(&format!("TZOFFSETFROM:{}", offset_text(from.0)), out);
    fold(&format!("TZOFFSETTO:{}", offset_text(to.0)), out);
    fold(&format!("END:{kind}"), out);
}

/// A VTIMEZONE valid for a year either side of `around`.
fn vtimezone(tz: Tz, around: DateTime<Utc>, out: &mut String) {
    let from = around - Duration::days(366);
    let changes = transitions(tz, from, around + Duration::days(366));
    fold("BEGIN:VTIMEZONE", out);
    fold(&format!("TZID:{}", tz.name()), out);
    let first = offset_at(tz, from);
    let first_onset = tz
        .from_utc_datetime(&from.naive_utc())
        .format("%Y%m%dT%H%M%S")
        .to_string();
    observance(out, &first_onset, first, first);
    for at in changes {
        let before = offset_at(tz, at - Duration::seconds(1));
        let after = offset_at(tz, at);
        // The onset is written in the local time that was in force before the change.
        let onset = (at.naive_utc() + Duration::seconds(i64::from(before.0)))
            .format("%Y%m%dT%H%M%S")
            .to_string();
        observance(out, &onset, before, after);
    }
    fold("END:VTIMEZONE", out);
}

/// The whole calendar file.
pub fn calendar(event: &Event<'_>, tz: Tz) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string();
    let mut out = String::with_capacity(2048);
    fold("BEGIN:VCALENDAR", &mut out);
    fold("VERSION:2.0", &mut out);
    fold("PRODID:-//Menkai//Menkai video visits//EN", &mut out);
    fold("CALSCALE:GREGORIAN", &mut out);
    fold(&format!("METHOD:{}", event.method), &mut out);
    vtimezone(tz, event.starts_at, &mut out);
    fold("BEGIN:VEVENT", &mut out);
    fold(&format!("UID:{}", escape(event.uid)), &mut out);
    fold(&format!("DTSTAMP:{}", utc_stamp(event.stamp)), &mut out);
    fold(&format!("SEQUENCE:{}", event.sequence), &mut out);
    if let Some((name, address)) = event.organizer {
        fold(
            &format!("ORGANIZER;CN={}:mailto:{address}", quoted(name)),
            &mut out,
        );
    }
    if let Some((name, address)) = event.attendee {
        fold(
            &format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{address}",
                quoted(name)
            ),
            &mut out,
        );
    }
    fold(
        &format!("DTSTART;TZID={}:{}", tz.name(), local(event.starts_at)),
        &mut out,
    );
    fold(
        &format!("DTEND;TZID={}:{}", tz.name(), local(event.ends_at)),
        &mut out,
    );
    fold(&format!("SUMMARY:{}", escape(event.summary)), &mut out);
    fold(
        &format!("DESCRIPTION:{}", escape(event.description)),
        &mut out,
    );
    fold(&format!("LOCATION:{}", escape(event.location)), &mut out);
    // A visit at the entrance has no link: the family comes in person.
    if !event.url.is_empty() {
        fold(&format!("URL:{}", event.url), &mut out);
    }
    let status = if event.cancelled {
        "CANCELLED"
    } else {
        "CONFIRMED"
    };
    fold(&format!("STATUS:{status}"), &mut out);
    if !event.cancelled {
        fold("BEGIN:VALARM", &mut out);
        fold("ACTION:DISPLAY", &mut out);
        fold("TRIGGER:-PT15M", &mut out);
        fold(
            &format!("DESCRIPTION:{}", escape(event.alarm_text)),
            &mut out,
        );
        fold("END:VALARM", &mut out);
    }
    fold("END:VEVENT", &mut out);
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(start: DateTime<Utc>) -> Event<'static> {
        Event {
            uid: "v1-g1@menkai",
            summary: "Video visit with Hanako; room 101, east wing",
            description: "A long description that certainly goes past the seventy-five octet limit of one line: 面会のご案内です。",
            url: "http://127.0.0.1:8080/v/abc",
            location: "Menkai",
            starts_at: start,
            ends_at: start + Duration::minutes(20),
            cancelled: false,
            alarm_text: "Soon",
            stamp: start,
            method: "PUBLISH",
            sequence: 0,
            organizer: None,
            attendee: None,
        }
    }

    #[test]
    fn lines_are_crlf_folded_and_escaped() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let ics = calendar(&event(start), chrono_tz::Asia::Tokyo);
        assert!(ics.lines().all(|l| l.len() <= 76), "{ics}");
        assert!(!ics.replace("\r\n", "").contains('\n'));
        assert!(ics.contains("SUMMARY:Video visit with Hanako\\; room 101\\, east wing"));
        assert!(ics.contains("DTSTART;TZID=Asia/Tokyo:20261201T100000"));
        assert!(ics.contains("TZOFFSETTO:+0900"));
    }

    #[test]
    fn a_zone_with_daylight_saving_lists_its_changes() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let ics = calendar(&event(start), chrono_tz::Europe::Berlin);
        assert!(ics.contains("BEGIN:DAYLIGHT"));
        // The autumn change of 2026: 03:00 summer time becomes 02:00.
        assert!(ics.contains("DTSTART:20261025T030000"), "{ics}");
        assert!(ics.contains("DTSTART;TZID=Europe/Berlin:20261201T020000"));
    }

    #[test]
    fn offsets_are_written_with_sign_hours_and_minutes() {
        assert_eq!(offset_text(9 * 3600), "+0900");
        assert_eq!(offset_text(-(4 * 3600 + 1800)), "-0430");
    }
}
