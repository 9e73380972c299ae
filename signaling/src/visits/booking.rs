//! The booking rules, as pure functions: what makes a request valid, when two visits
//! collide, and which slots a day still has free.
//!
//! A resident and a device are never double-booked, and shared devices get the
//! facility's cleaning buffer between visits. Storage calls [`find_conflict`] inside a
//! write transaction, so two requests racing for one slot cannot both win.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::Mode;
use crate::facility::{Facility, MAX_SLOT_MINUTES, MIN_SLOT_MINUTES};
use crate::validation::{self, FieldErrors};

/// The resident side plus up to three family homes.
pub const MAX_GUESTS: usize = 3;
const MAX_GUEST_NAME_CHARS: usize = 80;
/// A visit may start up to this long ago: "a visit that starts now".
pub const START_GRACE: Duration = Duration::minutes(5);
/// How far ahead a visit may be booked.
pub const MAX_DAYS_AHEAD: i64 = 366;

/// A booking request, already parsed from JSON or a form.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingRequest {
    pub resident_id: String,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: u32,
    pub mode: Mode,
    pub ward_device_id: String,
    pub entrance_device_id: Option<String>,
    pub guests: Vec<GuestRequest>,
    /// `None`: as the resident's setting.
    pub captions: Option<bool>,
}

/// A guest as staff typed them: a name, and optionally an address for messages and
/// the language to write them in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestRequest {
    pub name: String,
    /// Empty: no messages.
    pub email: String,
    pub lang: Option<crate::i18n::Lang>,
}

impl GuestRequest {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

impl From<&str> for GuestRequest {
    fn from(name: &str) -> Self {
        Self::named(name)
    }
}

/// A guest as stored: name cleaned, address checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGuest {
    pub name: String,
    pub email: Option<String>,
    pub lang: Option<crate::i18n::Lang>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GuestInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// `ja` or `en`.
    #[serde(default)]
    pub lang: Option<String>,
}

/// A booking as the JSON API receives it, before parsing.
#[derive(Debug, Clone, Deserialize)]
pub struct BookingInput {
    pub resident_id: String,
    pub starts_at: String,
    pub duration_minutes: Option<u32>,
    pub mode: String,
    pub ward_device_id: String,
    pub entrance_device_id: Option<String>,
    #[serde(default)]
    pub guests: Vec<GuestInput>,
    /// Live captions; left out: as the resident's setting.
    #[serde(default)]
    pub captions: Option<bool>,
}

impl BookingInput {
    /// Turns JSON into a booking request, collecting every field error.
    pub fn parse(self, default_minutes: u32) -> Result<BookingRequest, FieldErrors> {
        let mut errors = FieldErrors::default();
        let starts_at =
            DateTime::parse_from_rfc3339(&self.starts_at).map(|t| t.with_timezone(&Utc));
        if starts_at.is_err() {
            errors.add("starts_at", "invalid_time");
        }
        let mode = Mode::parse(&self.mode);
        if mode.is_none() {
            errors.add("mode", "invalid_choice");
        }
        let mut guests = vec![];
        for g in self.guests {
            let lang = match g.lang.as_deref() {
                None | Some("") => None,
                Some(code) => match crate::i18n::Lang::parse(code) {
                    Some(lang) => Some(lang),
                    None => {
                        errors.add("guests", "invalid_language");
                        None
                    }
                },
            };
            guests.push(GuestRequest {
                name: g.name,
                email: g.email.unwrap_or_default(),
                lang,
            });
        }
        match (starts_at, mode) {
            (Ok(starts_at), Some(mode)) if errors.is_empty() => Ok(BookingRequest {
                resident_id: self.resident_id,
                starts_at,
                duration_minutes: self.duration_minutes.unwrap_or(default_minutes),
                mode,
                ward_device_id: self.ward_device_id,
                entrance_device_id: self.entrance_device_id,
                guests,
                captions: self.captions,
            }),
            _ => Err(errors),
        }
    }
}

/// The time and the things a visit holds: what conflict checks compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub visit_id: String,
    pub resident_id: String,
    pub ward_device_id: String,
    pub entrance_device_id: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl BookingRequest {
    /// The request that would book `visit` as it stands (for moving or extending it).
    pub fn for_visit(visit: &super::Visit) -> Self {
        Self {
            resident_id: visit.resident_id.clone(),
            starts_at: visit.starts_at,
            duration_minutes: u32::try_from(visit.duration_minutes()).unwrap_or(0),
            mode: visit.mode,
            ward_device_id: visit.ward_device_id.clone(),
            entrance_device_id: visit.entrance_device_id.clone(),
            guests: vec![],
            captions: Some(visit.captions),
        }
    }

    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at + Duration::minutes(i64::from(self.duration_minutes))
    }

    /// The guests' names as stored (trimmed, NFC), blanks dropped.
    pub fn guest_names(&self) -> Vec<String> {
        self.new_guests().into_iter().map(|g| g.name).collect()
    }

    /// The guests as stored: names trimmed (NFC), addresses checked ([`validate`]
    /// refuses a bad one first), rows with neither dropped.
    ///
    /// [`validate`]: BookingRequest::validate
    pub fn new_guests(&self) -> Vec<NewGuest> {
        self.guests
            .iter()
            .filter_map(|g| {
                let name = validation::normalize(&g.name);
                let email = validation::email(&g.email).ok();
                (!name.is_empty()).then_some(NewGuest {
                    name,
                    email,
                    lang: g.lang,
                })
            })
            .collect()
    }

    pub fn as_booked(&self, visit_id: &str) -> Booked {
        Booked {
            visit_id: visit_id.to_owned(),
            resident_id: self.resident_id.clone(),
            ward_device_id: self.ward_device_id.clone(),
            entrance_device_id: match self.mode {
                Mode::Entrance => self.entrance_device_id.clone(),
                Mode::Remote => None,
            },
            starts_at: self.starts_at,
            ends_at: self.ends_at(),
        }
    }

    /// Everything that can be checked without looking at other visits.
    pub fn validate(&self, facility: &Facility, now: DateTime<Utc>) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.resident_id.trim().is_empty() {
            errors.add("resident_id", "required");
        }
        if self.ward_device_id.trim().is_empty() {
            errors.add("ward_device_id", "required");
        }
        if self.mode == Mode::Entrance
            && self
                .entrance_device_id
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
        {
            errors.add("entrance_device_id", "required");
        }
        if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&self.duration_minutes) {
            errors.add("duration_minutes", "out_of_range");
        }
        if self.starts_at < now - START_GRACE {
            errors.add("starts_at", "in_the_past");
        } else if self.starts_at > now + Duration::days(MAX_DAYS_AHEAD) {
            errors.add("starts_at", "too_far_ahead");
        } else if errors.code_for("duration_minutes").is_none()
            && !facility.within_visiting_hours(self.starts_at, self.ends_at())
        {
            errors.add("starts_at", "outside_visiting_hours");
        }
        let names = self.guest_names();
        if self.mode == Mode::Remote && names.is_empty() {
            errors.add("guests", "guests_required");
        } else if names.len() > MAX_GUESTS || self.guests.len() > MAX_GUESTS * 4 {
            errors.add("guests", "too_many_guests");
        } else if let Some(code) = names
            .iter()
            .find_map(|n| validation::name(n, MAX_GUEST_NAME_CHARS).err())
        {
            errors.add("guests", code);
        }
        for g in &self.guests {
            if g.email.trim().is_empty() {
                continue;
            }
            if validation::normalize(&g.name).is_empty() {
                errors.add("guests", "email_without_name");
            } else if let Err(code) = validation::email(&g.email) {
                errors.add(
                    "guests",
                    if code == "too_long" {
                        code
                    } else {
                        "invalid_email"
                    },
                );
            }
        }
        errors.into_result()
    }
}

/// Which of the visit's holdings is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Resident,
    Device,
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Conflict::Resident => "resident_busy",
            Conflict::Device => "device_busy",
        }
    }
}

/// Whether two time ranges come closer than `buffer` to each other.
fn too_close(a: &Booked, b: &Booked, buffer: Duration) -> bool {
    a.starts_at < b.ends_at + buffer && b.starts_at < a.ends_at + buffer
}

fn devices(b: &Booked) -> impl Iterator<Item = &str> {
    std::iter::once(b.ward_device_id.as_str()).chain(b.entrance_device_id.as_deref())
}

/// The first collision between `candidate` and the visits already booked (itself
/// excluded, for a reschedule). The buffer holds for the resident and every device.
pub fn find_conflict(
    existing: &[Booked],
    candidate: &Booked,
    buffer: Duration,
) -> Option<Conflict> {
    let near: Vec<&Booked> = existing
        .iter()
        .filter(|b| b.visit_id != candidate.visit_id && too_close(b, candidate, buffer))
        .collect();
    if near.iter().any(|b| b.resident_id == candidate.resident_id) {
        return Some(Conflict::Resident);
    }
    let shares_device = |b: &&&Booked| devices(b).any(|d| devices(candidate).any(|c| c == d));
    near.iter().find(shares_device).map(|_| Conflict::Device)
}

/// A visit starting this very minute, for "now" on the booking page: only if a whole
/// slot from now fits the visiting hours and collides with nothing for the resident
/// and the devices.
pub fn slot_now(
    facility: &Facility,
    now: DateTime<Utc>,
    existing: &[Booked],
    wanted: &Booked,
) -> Option<DateTime<Utc>> {
    use chrono::DurationRound;
    let start = now.duration_trunc(Duration::minutes(1)).ok()?;
    let length = Duration::minutes(i64::from(facility.slot_minutes));
    let buffer = Duration::minutes(i64::from(facility.buffer_minutes));
    let within_hours = facility
        .openings_on(facility.local_date(now))
        .iter()
        .any(|(from, to)| *from <= start && start + length <= *to);
    let candidate = Booked {
        starts_at: start,
        ends_at: start + length,
        ..wanted.clone()
    };
    (within_hours && find_conflict(existing, &candidate, buffer).is_none()).then_some(start)
}

/// When "now" is taken (a visit just ended early, and its cleaning break runs), the
/// first minute within the next `within` from which a whole slot is free: the rest of
/// an ended visit's time is offered at once, not from the next slot of the grid.
pub fn soonest_slot(
    facility: &Facility,
    now: DateTime<Utc>,
    existing: &[Booked],
    wanted: &Booked,
    within: Duration,
) -> Option<DateTime<Utc>> {
    (1..=within.num_minutes())
        .map(|m| now + Duration::minutes(m))
        .find_map(|at| slot_now(facility, at, existing, wanted))
}

/// How much longer `visit` could run before it meets the next booking of its resident
/// or one of its devices (the buffer kept). `None`: nothing follows it.
pub fn room_to_extend(existing: &[Booked], visit: &Booked, buffer: Duration) -> Option<Duration> {
    existing
        .iter()
        .filter(|b| b.visit_id != visit.visit_id && b.starts_at >= visit.ends_at)
        .filter(|b| {
            b.resident_id == visit.resident_id || devices(b).any(|d| devices(visit).any(|c| c == d))
        })
        .map(|b| (b.starts_at - buffer - visit.ends_at).max(Duration::zero()))
        .min()
}

/// The start times the booking page offers on one local date: a grid of slot length
/// plus buffer from the start of each opening, skipping times already past and those
/// that collide with `existing` for the chosen resident and devices.
pub fn free_slots(
    facility: &Facility,
    date: NaiveDate,
    now: DateTime<Utc>,
    existing: &[Booked],
    wanted: &Booked,
) -> Vec<DateTime<Utc>> {
    let length = Duration::minutes(i64::from(facility.slot_minutes));
    let buffer = Duration::minutes(i64::from(facility.buffer_minutes));
    // Settings are validated on save; the floor guards a hand-edited database.
    let step = (length + buffer).max(Duration::minutes(i64::from(MIN_SLOT_MINUTES)));
    let mut slots = vec![];
    for (from, to) in facility.openings_on(date) {
        let mut start = from;
        while start + length <= to {
            let candidate = Booked {
                starts_at: start,
                ends_at: start + length,
                ..wanted.clone()
            };
            if start >= now && find_conflict(existing, &candidate, buffer).is_none() {
                slots.push(start);
            }
            start += step;
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-12-01 is a Tuesday; Tokyo is UTC+9, so 09:00 local is 00:00 UTC.
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn booked(id: &str, resident: &str, ward: &str, start: DateTime<Utc>) -> Booked {
        Booked {
            visit_id: id.into(),
            resident_id: resident.into(),
            ward_device_id: ward.into(),
            entrance_device_id: None,
            starts_at: start,
            ends_at: start + Duration::minutes(20),
        }
    }

    fn request(start: DateTime<Utc>) -> BookingRequest {
        BookingRequest {
            resident_id: "r1".into(),
            starts_at: start,
            duration_minutes: 20,
            mode: Mode::Remote,
            ward_device_id: "w1".into(),
            entrance_device_id: None,
            guests: vec!["Taro".into()],
            captions: None,
        }
    }

    const BUFFER: Duration = Duration::minutes(10);

    #[test]
    fn now_is_offered_when_a_whole_slot_from_this_minute_is_free() {
        let facility = Facility::default();
        let wanted = booked("", "r1", "w1", at(0, 0));
        // 09:07:30 Tokyo: from 09:07 on, nothing booked.
        let now = at(0, 7) + Duration::seconds(30);
        assert_eq!(slot_now(&facility, now, &[], &wanted), Some(at(0, 7)));
        // The tablet is busy at 09:30: 09:07–09:27 plus the break collides.
        let busy = booked("b", "r2", "w1", at(0, 30));
        assert_eq!(slot_now(&facility, now, &[busy], &wanted), None);
        // 16:50 Tokyo: a 20-minute visit would run past 17:00.
        assert_eq!(slot_now(&facility, at(7, 50), &[], &wanted), None);
    }

    #[test]
    fn the_room_to_extend_ends_at_the_next_booking_of_the_resident_or_a_device() {
        let visit = booked("v", "r1", "w1", at(0, 0));
        // Nothing after it (an earlier visit does not count): no limit.
        let earlier = booked("e", "r1", "w1", at(0, 0) - Duration::hours(1));
        assert_eq!(
            room_to_extend(&[visit.clone(), earlier], &visit, BUFFER),
            None
        );
        // Another resident on another tablet: no limit either.
        let elsewhere = booked("x", "r2", "w2", at(0, 30));
        assert_eq!(
            room_to_extend(std::slice::from_ref(&elsewhere), &visit, BUFFER),
            None
        );
        // The same tablet at 00:50, the same resident at 00:40: 10 minutes (00:20 end,
        // 10 minutes of buffer before 00:40).
        let tablet = booked("t", "r3", "w1", at(0, 50));
        let resident = booked("r", "r1", "w9", at(0, 40));
        assert_eq!(
            room_to_extend(&[elsewhere, tablet.clone(), resident], &visit, BUFFER),
            Some(Duration::minutes(10))
        );
        // Back to back (inside the buffer already): no room, never negative.
        let next = booked("n", "r3", "w1", at(0, 25));
        assert_eq!(
            room_to_extend(&[next, tablet], &visit, BUFFER),
            Some(Duration::zero())
        );
    }

    #[test]
    fn the_same_resident_cannot_be_booked_twice() {
        let existing = [booked("a", "r1", "w1", at(1, 0))];
        let c = booked("b", "r1", "w2", at(1, 10));
        assert_eq!(
            find_conflict(&existing, &c, BUFFER),
            Some(Conflict::Resident)
        );
    }

    #[test]
    fn a_shared_device_needs_its_cleaning_buffer() {
        let existing = [booked("a", "r1", "w1", at(1, 0))];
        // Ends 01:20; the next on w1 may start at 01:30, not 01:25.
        assert_eq!(
            find_conflict(&existing, &booked("b", "r2", "w1", at(1, 25)), BUFFER),
            Some(Conflict::Device)
        );
        assert_eq!(
            find_conflict(&existing, &booked("b", "r2", "w1", at(1, 30)), BUFFER),
            None
        );
        // Another device at the same time is fine.
        assert_eq!(
            find_conflict(&existing, &booked("b", "r2", "w2", at(1, 0)), BUFFER),
            None
        );
    }

    #[test]
    fn the_entrance_kiosk_counts_as_a_shared_device() {
        let mut a = booked("a", "r1", "w1", at(1, 0));
        a.entrance_device_id = Some("k".into());
        let mut b = booked("b", "r2", "w2", at(1, 0));
        b.entrance_device_id = Some("k".into());
        assert_eq!(find_conflict(&[a], &b, BUFFER), Some(Conflict::Device));
    }

    #[test]
    fn a_reschedule_does_not_collide_with_itself() {
        let existing = [booked("a", "r1", "w1", at(1, 0))];
        assert_eq!(
            find_conflict(&existing, &booked("a", "r1", "w1", at(1, 5)), BUFFER),
            None
        );
    }

    #[test]
    fn requests_outside_hours_or_in_the_past_are_invalid() {
        let f = Facility::default();
        let now = at(0, 0) - Duration::days(1);
        assert!(request(at(1, 0)).validate(&f, now).is_ok());
        let late = request(at(7, 50)); // 16:50 local, ends 17:10
        assert_eq!(
            late.validate(&f, now).unwrap_err().code_for("starts_at"),
            Some("outside_visiting_hours")
        );
        let past = request(at(1, 0));
        assert_eq!(
            past.validate(&f, at(1, 6))
                .unwrap_err()
                .code_for("starts_at"),
            Some("in_the_past")
        );
        // Starting a few minutes ago is "now", not the past.
        assert!(past.validate(&f, at(1, 4)).is_ok());
    }

    #[test]
    fn guests_are_required_for_remote_visits_and_capped() {
        let f = Facility::default();
        let now = at(0, 0) - Duration::days(1);
        let mut r = request(at(1, 0));
        r.guests = vec![" ".into()];
        assert_eq!(
            r.validate(&f, now).unwrap_err().code_for("guests"),
            Some("guests_required")
        );
        r.guests = vec!["a".into(), "b".into(), "c".into(), "d".into()];
        assert_eq!(
            r.validate(&f, now).unwrap_err().code_for("guests"),
            Some("too_many_guests")
        );
        r.guests = vec![GuestRequest {
            name: "Taro".into(),
            email: "taro@example.jp\r\nBcc: x@example.jp".into(),
            lang: None,
        }];
        assert_eq!(
            r.validate(&f, now).unwrap_err().code_for("guests"),
            Some("invalid_email")
        );
        r.guests = vec![
            "Hanako".into(),
            GuestRequest {
                name: " ".into(),
                email: "taro@example.jp".into(),
                lang: None,
            },
        ];
        assert_eq!(
            r.validate(&f, now).unwrap_err().code_for("guests"),
            Some("email_without_name")
        );
        r.guests = vec![GuestRequest {
            name: "Taro".into(),
            email: " Taro@Example.JP ".into(),
            lang: Some(crate::i18n::Lang::En),
        }];
        assert!(r.validate(&f, now).is_ok());
        assert_eq!(r.new_guests()[0].email.as_deref(), Some("Taro@example.jp"));
        r.mode = Mode::Entrance;
        r.guests = vec![];
        assert_eq!(
            r.validate(&f, now)
                .unwrap_err()
                .code_for("entrance_device_id"),
            Some("required")
        );
    }

    #[test]
    fn free_slots_follow_the_grid_and_skip_taken_and_past_times() {
        let f = Facility::default();
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let wanted = booked("new", "r2", "w1", at(0, 0));
        let all = free_slots(&f, date, at(0, 0) - Duration::days(1), &[], &wanted);
        // 09:00–17:00 with 20-minute slots every 30 minutes: 16 slots.
        assert_eq!(all.len(), 16);
        assert_eq!(all[1], at(0, 30));
        let existing = [booked("a", "r1", "w1", at(0, 30))];
        let free = free_slots(&f, date, at(0, 10), &existing, &wanted);
        assert!(!free.contains(&at(0, 0)), "past");
        assert!(!free.contains(&at(0, 30)), "device taken");
        assert!(free.contains(&at(1, 0)));
        assert_eq!(free.len(), 14);
    }

    mod properties {
        //! Booking input comes from anyone holding an API token or a staff page: any
        //! JSON must be refused with field codes or accepted as a sane request, never
        //! panic, and what is accepted always keeps the rules.
        use super::*;
        use proptest::prelude::*;

        fn time_text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                (-400i64..800, 0i64..1440).prop_map(|(days, minutes)| {
                    (at(0, 0) + Duration::days(days) + Duration::minutes(minutes)).to_rfc3339()
                }),
                Just("2026-12-01T00:00:00+09:00".to_owned()),
                Just("2026-02-30T25:61:00Z".to_owned()),
            ]
        }

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[a-zA-Z\\u{3040}-\\u{30ff} ]{0,100}",
                Just("Taro\u{202E}".to_owned()),
                Just(" ".to_owned()),
            ]
        }

        fn input() -> impl Strategy<Value = BookingInput> {
            (
                any::<String>(),
                time_text(),
                prop::option::of(any::<u32>()),
                prop_oneof![
                    Just("remote".to_owned()),
                    Just("entrance".to_owned()),
                    any::<String>()
                ],
                prop::option::of(any::<String>()),
                prop::collection::vec(name(), 0..16),
            )
                .prop_map(
                    |(resident_id, starts_at, duration_minutes, mode, entrance, guests)| {
                        BookingInput {
                            resident_id,
                            starts_at,
                            duration_minutes,
                            mode,
                            ward_device_id: "w1".into(),
                            entrance_device_id: entrance,
                            guests: guests
                                .into_iter()
                                .map(|name| GuestInput {
                                    name,
                                    email: None,
                                    lang: None,
                                })
                                .collect(),
                            captions: None,
                        }
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn any_input_is_refused_with_field_codes_or_accepted_within_the_rules(input in input()) {
                let facility = Facility::default();
                let now = at(0, 0);
                match input.parse(20).map_err(|e| (e, "parse")).and_then(|req| {
                    req.validate(&facility, now).map(|()| req).map_err(|e| (e, "validate"))
                }) {
                    Ok(req) => {
                        let names = req.guest_names();
                        prop_assert!(names.len() <= MAX_GUESTS);
                        prop_assert!(req.mode == Mode::Entrance || !names.is_empty());
                        prop_assert!(names.iter().all(|n| validation::name(n, MAX_GUEST_NAME_CHARS).as_deref() == Ok(n.as_str())));
                        prop_assert!((MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&req.duration_minutes));
                        prop_assert!(req.starts_at >= now - START_GRACE);
                        prop_assert!(facility.within_visiting_hours(req.starts_at, req.ends_at()));
                    }
                    Err((errors, _)) => {
                        prop_assert!(!errors.is_empty());
                        prop_assert!(errors.0.iter().all(|e| !e.code.is_empty() && !e.field.is_empty()));
                    }
                }
            }

            #[test]
            fn any_json_body_parses_or_is_refused_without_panicking(body in any::<String>()) {
                let _ = serde_json::from_str::<BookingInput>(&body).map(|i| i.parse(20));
            }
        }
    }
}
