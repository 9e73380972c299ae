//! The care home itself: its name, time zone, language, visiting hours, slot length
//! and the cleaning buffer between visits on a shared device.
//!
//! Times are stored in UTC everywhere else; this module is where "09:00 on Monday in
//! Tokyo" becomes an instant and back.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::validation::{self, FieldErrors};

/// Facility settings as the API and the settings page show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facility {
    pub name: String,
    /// A number families can call; shown on their pages and the card. Optional.
    #[serde(default)]
    pub phone: String,
    pub time_zone: String,
    pub language: Lang,
    pub slot_minutes: u32,
    pub buffer_minutes: u32,
    pub visiting_hours: Vec<VisitingHours>,
    /// How the entrance kiosk's idle screen, in the lobby, names the residents of the
    /// day's visits (ward tablets, on the ward, always show full names). Left out of
    /// the JSON while it is the default, so settings written before it existed read
    /// back as they were written.
    #[serde(default, skip_serializing_if = "LobbyNames::is_default")]
    pub lobby_names: LobbyNames,
    /// E-mail reminders the day before a visit, at this local time (`HH:MM`); `null`
    /// turns them off. Like `lobby_names`, left out of the JSON while at the default.
    #[serde(
        default = "default_reminder_day_before",
        skip_serializing_if = "is_default_reminder_day_before"
    )]
    pub reminder_day_before: Option<String>,
    /// E-mail reminders this many minutes before the start; `null` turns them off.
    #[serde(
        default = "default_reminder_before_minutes",
        skip_serializing_if = "is_default_reminder_before_minutes"
    )]
    pub reminder_before_minutes: Option<u32>,
    /// Days after a visit that its guests' names and e-mail addresses are kept.
    #[serde(
        default = "default_retention_days",
        skip_serializing_if = "is_default_retention_days"
    )]
    pub retention_days: u32,
}

fn default_reminder_day_before() -> Option<String> {
    Some("09:00".to_owned())
}
fn is_default_reminder_day_before(v: &Option<String>) -> bool {
    *v == default_reminder_day_before()
}
fn default_reminder_before_minutes() -> Option<u32> {
    Some(60)
}
fn is_default_reminder_before_minutes(v: &Option<u32>) -> bool {
    *v == default_reminder_before_minutes()
}
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}
fn is_default_retention_days(v: &u32) -> bool {
    *v == DEFAULT_RETENTION_DAYS
}
/// The reminder before the start: from a few minutes to a day.
pub const REMINDER_BEFORE_RANGE: std::ops::RangeInclusive<u32> = 5..=1440;
/// Names and addresses kept: at least a day (the visit page after the visit), at most
/// ten years.
pub const RETENTION_RANGE: std::ops::RangeInclusive<u32> = 1..=3650;

/// What a screen in a public place may show of a resident's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LobbyNames {
    Full,
    /// "鈴木 一郎" → "鈴. 一.": enough for the family who came, nothing for strangers.
    #[default]
    Initials,
    /// Only the times.
    TimesOnly,
}

impl LobbyNames {
    pub const ALL: [LobbyNames; 3] = [
        LobbyNames::Initials,
        LobbyNames::TimesOnly,
        LobbyNames::Full,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LobbyNames::Full => "full",
            LobbyNames::Initials => "initials",
            LobbyNames::TimesOnly => "times_only",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == LobbyNames::default()
    }

    pub fn parse(text: &str) -> Option<LobbyNames> {
        LobbyNames::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// `name` as this rule shows it in the lobby.
    pub fn show(self, name: &str) -> String {
        match self {
            LobbyNames::Full => name.to_owned(),
            LobbyNames::TimesOnly => String::new(),
            LobbyNames::Initials => name
                .split_whitespace()
                .filter_map(|part| part.chars().next())
                .map(|c| format!("{c}."))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One opening on one weekday. `weekday` 1 = Monday … 7 = Sunday; `to` may be
/// `24:00` (midnight at the end of the day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitingHours {
    pub weekday: u8,
    pub from: String,
    pub to: String,
}

pub const MIN_SLOT_MINUTES: u32 = 5;
pub const MAX_SLOT_MINUTES: u32 = 240;
pub const MAX_BUFFER_MINUTES: u32 = 120;
const MAX_NAME_CHARS: usize = 100;
const MAX_OPENINGS: usize = 7 * 4;

impl Default for Facility {
    fn default() -> Self {
        Self {
            name: "Menkai".to_owned(),
            phone: String::new(),
            time_zone: "Asia/Tokyo".to_owned(),
            language: Lang::Ja,
            slot_minutes: 20,
            buffer_minutes: 10,
            visiting_hours: (1..=7)
                .map(|weekday| VisitingHours {
                    weekday,
                    from: "09:00".to_owned(),
                    to: "17:00".to_owned(),
                })
                .collect(),
            lobby_names: LobbyNames::default(),
            reminder_day_before: default_reminder_day_before(),
            reminder_before_minutes: default_reminder_before_minutes(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

/// Minutes since midnight, parsed from `HH:MM` (`24:00` allowed).
fn parse_minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl Facility {
    /// Checks every field and returns the settings as stored (the name cleaned); the
    /// caller stores nothing unless this passes.
    pub fn validate(mut self) -> Result<Facility, FieldErrors> {
        let mut errors = FieldErrors::default();
        if let Some(name) = errors.check("name", validation::name(&self.name, MAX_NAME_CHARS)) {
            self.name = name;
        }
        if self.phone.chars().count() > 30
            || !self
                .phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            errors.add("phone", "invalid_phone");
        }
        if self.time_zone.parse::<Tz>().is_err() {
            errors.add("time_zone", "unknown_time_zone");
        }
        if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&self.slot_minutes) {
            errors.add("slot_minutes", "out_of_range");
        }
        if self.buffer_minutes > MAX_BUFFER_MINUTES {
            errors.add("buffer_minutes", "out_of_range");
        }
        if self.visiting_hours.len() > MAX_OPENINGS {
            errors.add("visiting_hours", "too_many");
        }
        if let Some(at) = &self.reminder_day_before
            && parse_minutes(at).is_none_or(|m| m >= 24 * 60)
        {
            errors.add("reminder_day_before", "invalid_time");
        }
        if self
            .reminder_before_minutes
            .is_some_and(|m| !REMINDER_BEFORE_RANGE.contains(&m))
        {
            errors.add("reminder_before_minutes", "out_of_range");
        }
        if !RETENTION_RANGE.contains(&self.retention_days) {
            errors.add("retention_days", "out_of_range");
        }
        for hours in &self.visiting_hours {
            let from = parse_minutes(&hours.from);
            let to = parse_minutes(&hours.to);
            let valid = (1..=7).contains(&hours.weekday)
                && matches!((from, to), (Some(f), Some(t)) if f < t);
            if !valid {
                errors.add("visiting_hours", "invalid_hours");
                break;
            }
        }
        errors.into_result().map(|()| self)
    }

    /// The number for a `tel:` link: digits and a leading plus only.
    pub fn phone_link(&self) -> String {
        self.phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }

    /// The facility's time zone. Validated on save, so a stored facility always has one;
    /// Tokyo is the fallback for a hand-edited database.
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo)
    }

    /// Today's date where the facility is.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz()).date_naive()
    }

    /// The instant a local date and time happen in the facility's time zone. A time that
    /// a daylight-saving jump skips moves forward to the first one that exists.
    pub fn instant(&self, date: NaiveDate, minutes: u32) -> Option<DateTime<Utc>> {
        let midnight = date.and_time(NaiveTime::MIN);
        let local = midnight + Duration::minutes(i64::from(minutes));
        let tz = self.tz();
        (0..=120)
            .step_by(30)
            .find_map(|skip| {
                tz.from_local_datetime(&(local + Duration::minutes(skip)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
    }

    /// The visiting-hours windows of one local date, as UTC instants.
    pub fn openings_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let weekday = date.weekday().number_from_monday() as u8;
        let mut openings: Vec<_> = self
            .visiting_hours
            .iter()
            .filter(|h| h.weekday == weekday)
            .filter_map(|h| {
                let from = self.instant(date, parse_minutes(&h.from)?)?;
                let to = self.instant(date, parse_minutes(&h.to)?)?;
                Some((from, to))
            })
            .collect();
        openings.sort();
        openings
    }

    /// Whether a visit from `start` to `end` lies wholly inside one opening.
    pub fn within_visiting_hours(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let date = self.local_date(start);
        self.openings_on(date)
            .iter()
            .any(|(from, to)| *from <= start && end <= *to)
    }

    /// When the day-before reminder of a visit starting at `starts_at` is due: the
    /// home's chosen local time on the day before. `None` while it is turned off.
    pub fn reminder_day_before_at(&self, starts_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minutes = parse_minutes(self.reminder_day_before.as_deref()?)?;
        let day_before = self.local_date(starts_at).pred_opt()?;
        self.instant(day_before, minutes)
    }

    /// When the reminder shortly before a visit starting at `starts_at` is due.
    pub fn reminder_soon_at(&self, starts_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(starts_at - Duration::minutes(i64::from(self.reminder_before_minutes?)))
    }

    /// The opening of each weekday, for the settings form (first opening only; the API
    /// can set several a day).
    pub fn hours_for(&self, weekday: Weekday) -> Option<&VisitingHours> {
        let n = weekday.number_from_monday() as u8;
        self.visiting_hours.iter().find(|h| h.weekday == n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lobby_shows_initials_unless_told_otherwise() {
        assert_eq!(LobbyNames::default().show("鈴木 一郎"), "鈴. 一.");
        assert_eq!(LobbyNames::Initials.show("Suzuki  Ichiro"), "S. I.");
        assert_eq!(LobbyNames::Initials.show("ハナ"), "ハ.");
        assert_eq!(LobbyNames::TimesOnly.show("鈴木 一郎"), "");
        assert_eq!(LobbyNames::Full.show("鈴木 一郎"), "鈴木 一郎");
        assert_eq!(LobbyNames::parse("times_only"), Some(LobbyNames::TimesOnly));
        assert_eq!(LobbyNames::parse("everything"), None);
    }

    use super::*;

    fn tokyo() -> Facility {
        Facility::default()
    }

    #[test]
    fn the_default_facility_is_valid() {
        assert!(tokyo().validate().is_ok());
    }

    #[test]
    fn reminders_fall_at_the_home_s_local_times_and_can_be_off() {
        let f = tokyo();
        // Tuesday 2026-12-08 10:00 in Tokyo.
        let start = f
            .instant(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), 600)
            .unwrap();
        // 09:00 Tokyo on Monday the 7th is 00:00 UTC.
        assert_eq!(
            f.reminder_day_before_at(start).unwrap().to_rfc3339(),
            "2026-12-07T00:00:00+00:00"
        );
        assert_eq!(
            f.reminder_soon_at(start),
            Some(start - Duration::minutes(60))
        );
        let off = Facility {
            reminder_day_before: None,
            reminder_before_minutes: None,
            ..tokyo()
        };
        assert_eq!(off.reminder_day_before_at(start), None);
        assert_eq!(off.reminder_soon_at(start), None);
        let bad = Facility {
            reminder_day_before: Some("25:00".into()),
            reminder_before_minutes: Some(2),
            retention_days: 0,
            ..tokyo()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "reminder_day_before",
                "reminder_before_minutes",
                "retention_days"
            ]
        );
    }

    #[test]
    fn hours_parse_including_midnight() {
        assert_eq!(parse_minutes("09:30"), Some(570));
        assert_eq!(parse_minutes("24:00"), Some(1440));
        assert_eq!(parse_minutes("24:01"), None);
        assert_eq!(parse_minutes("9:30"), None);
        assert_eq!(parse_minutes("ab:cd"), None);
    }

    #[test]
    fn bad_settings_are_reported_per_field() {
        let mut f = tokyo();
        f.name = " ".into();
        f.time_zone = "Mars/Olympus".into();
        f.slot_minutes = 0;
        f.visiting_hours = vec![VisitingHours {
            weekday: 8,
            from: "10:00".into(),
            to: "09:00".into(),
        }];
        let errors = f.validate().unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["name", "time_zone", "slot_minutes", "visiting_hours"]
        );
    }

    #[test]
    fn visiting_hours_are_in_the_facility_time_zone() {
        let f = tokyo();
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let openings = f.openings_on(date);
        assert_eq!(openings.len(), 1);
        // 09:00 in Tokyo is 00:00 UTC.
        assert_eq!(openings[0].0.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        let start = openings[0].0;
        assert!(f.within_visiting_hours(start, start + Duration::minutes(20)));
        assert!(
            !f.within_visiting_hours(start - Duration::minutes(1), start + Duration::minutes(19))
        );
        assert!(!f.within_visiting_hours(
            start + Duration::hours(8),
            start + Duration::hours(8) + Duration::minutes(20)
        ));
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_moves_forward() {
        let f = Facility {
            time_zone: "Europe/Berlin".into(),
            ..tokyo()
        };
        // 2026-03-29 02:30 does not exist in Berlin.
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let t = f.instant(date, 150).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:00:00+00:00");
    }
}
