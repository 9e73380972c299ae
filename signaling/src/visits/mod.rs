//! Visits: who meets whom, when, on which devices, and in what state.
//!
//! A visit goes `scheduled → open → live → ended`, or is `cancelled`. Its state is a
//! pure function of what is stored and the time, so no background job has to flip it.
//! Booking rules live in [`booking`].

pub mod booking;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How the family takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The family joins from home by link.
    Remote,
    /// The family sits at the entrance kiosk.
    Entrance,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Remote => "remote",
            Mode::Entrance => "entrance",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "remote" => Some(Mode::Remote),
            "entrance" => Some(Mode::Entrance),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisitState {
    Scheduled,
    Open,
    Live,
    Ended,
    Cancelled,
}

impl VisitState {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitState::Scheduled => "scheduled",
            VisitState::Open => "open",
            VisitState::Live => "live",
            VisitState::Ended => "ended",
            VisitState::Cancelled => "cancelled",
        }
    }
}

/// A guest of a visit and the state of their invitation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub id: String,
    pub name: String,
    /// Whether the guest has a link at all (entrance visitors do not).
    pub has_link: bool,
    pub link_revoked: bool,
    /// The latest pre-visit check from the guest's current link, if any.
    pub check: Option<crate::checks::CheckResult>,
    /// Where messages go (src/messages); shown in full only on the visit's page.
    pub email: Option<String>,
    /// The language of the guest's messages; `None`: the facility's.
    pub lang: Option<crate::i18n::Lang>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub id: String,
    pub resident_id: String,
    pub resident_name: String,
    pub resident_room: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub mode: Mode,
    pub ward_device_id: String,
    pub entrance_device_id: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub guests: Vec<Guest>,
    /// Grows with each change families are told of: the calendar entry's SEQUENCE.
    pub sequence: u32,
    /// Live captions of what the family says, on the resident's screen.
    pub captions: bool,
}

/// How long before the start an invitation link starts to work.
pub const LINK_OPENS_BEFORE: Duration = Duration::minutes(15);
/// The most one extension adds.
pub const MAX_EXTENSION_MINUTES: u32 = 120;

/// What staff can do to a booked visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Reschedule,
    Cancel,
    Extend,
    End,
    /// A guest's lost link replaced by a new one.
    ReissueLink,
    /// A message to the family sent once more ("Send again").
    ResendMessage,
    /// Live captions turned on or off.
    Captions,
}

impl Visit {
    /// The state at `now`. `live` (people connected) is known only to signaling, which
    /// passes it in.
    pub fn state(&self, now: DateTime<Utc>, live: bool) -> VisitState {
        if self.cancelled_at.is_some() {
            VisitState::Cancelled
        } else if self.ended_at.is_some() || now >= self.ends_at {
            VisitState::Ended
        } else if now >= self.starts_at {
            if live {
                VisitState::Live
            } else {
                VisitState::Open
            }
        } else {
            VisitState::Scheduled
        }
    }

    pub fn duration_minutes(&self) -> i64 {
        (self.ends_at - self.starts_at).num_minutes()
    }

    /// The devices the visit uses: the ward tablet, and the kiosk for entrance visits.
    pub fn device_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.ward_device_id.as_str()).chain(self.entrance_device_id.as_deref())
    }

    /// Whether staff may make `change` at `now`; the conflict code if not.
    pub fn check_change(&self, change: Change, now: DateTime<Utc>) -> Result<(), &'static str> {
        match (self.state(now, false), change) {
            (VisitState::Cancelled, _) => Err("visit_cancelled"),
            (VisitState::Ended, _) => Err("visit_ended"),
            (VisitState::Open | VisitState::Live, Change::Reschedule) => Err("visit_started"),
            (VisitState::Scheduled, Change::End) => Err("visit_not_started"),
            _ => Ok(()),
        }
    }

    /// Where the visit would end after `minutes` more; the field code if that is not
    /// an extension staff may make at once.
    pub fn extended_end(&self, minutes: u32) -> Result<DateTime<Utc>, &'static str> {
        if (1..=MAX_EXTENSION_MINUTES).contains(&minutes) {
            Ok(self.ends_at + Duration::minutes(i64::from(minutes)))
        } else {
            Err("out_of_range")
        }
    }

    /// What a guest's link shows at `now`.
    pub fn link_status(&self, link_revoked: bool, now: DateTime<Utc>) -> LinkStatus {
        match self.state(now, false) {
            VisitState::Cancelled => LinkStatus::Cancelled,
            VisitState::Ended => LinkStatus::Ended,
            _ if link_revoked => LinkStatus::Replaced,
            VisitState::Open | VisitState::Live => LinkStatus::Open,
            VisitState::Scheduled if now >= self.starts_at - LINK_OPENS_BEFORE => {
                LinkStatus::Waiting
            }
            VisitState::Scheduled => LinkStatus::TooEarly {
                opens_at: self.starts_at - LINK_OPENS_BEFORE,
            },
        }
    }
}

/// What a visit link can show. Only `Waiting` and `Open` let the family in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// More than 15 minutes before the start.
    TooEarly {
        opens_at: DateTime<Utc>,
    },
    /// In the 15 minutes before the start: the family waits in the waiting room.
    Waiting,
    Open,
    Ended,
    Cancelled,
    /// Staff issued a new link for this guest; this one no longer works.
    Replaced,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::TooEarly { .. } => "too_early",
            LinkStatus::Waiting => "waiting",
            LinkStatus::Open => "open",
            LinkStatus::Ended => "ended",
            LinkStatus::Cancelled => "cancelled",
            LinkStatus::Replaced => "replaced",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn visit_at(start: DateTime<Utc>) -> Visit {
        Visit {
            id: "v".into(),
            resident_id: "r".into(),
            resident_name: "Hanako".into(),
            resident_room: "101".into(),
            starts_at: start,
            ends_at: start + Duration::minutes(20),
            mode: Mode::Remote,
            ward_device_id: "w".into(),
            entrance_device_id: None,
            cancelled_at: None,
            ended_at: None,
            guests: vec![],
            sequence: 0,
            captions: false,
        }
    }

    #[test]
    fn the_state_follows_the_clock() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let v = visit_at(start);
        assert_eq!(
            v.state(start - Duration::minutes(1), false),
            VisitState::Scheduled
        );
        assert_eq!(v.state(start, false), VisitState::Open);
        assert_eq!(v.state(start, true), VisitState::Live);
        assert_eq!(
            v.state(start + Duration::minutes(20), true),
            VisitState::Ended
        );
    }

    #[test]
    fn cancelled_and_ended_early_win_over_the_clock() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let mut v = visit_at(start);
        v.ended_at = Some(start + Duration::minutes(5));
        assert_eq!(
            v.state(start + Duration::minutes(6), false),
            VisitState::Ended
        );
        v.cancelled_at = Some(start - Duration::days(1));
        assert_eq!(
            v.state(start + Duration::minutes(6), false),
            VisitState::Cancelled
        );
    }

    #[test]
    fn the_link_opens_fifteen_minutes_before_and_closes_at_the_end() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let v = visit_at(start);
        let opens = start - Duration::minutes(15);
        assert_eq!(
            v.link_status(false, opens - Duration::seconds(1)),
            LinkStatus::TooEarly { opens_at: opens }
        );
        assert_eq!(v.link_status(false, opens), LinkStatus::Waiting);
        assert_eq!(v.link_status(false, start), LinkStatus::Open);
        assert_eq!(
            v.link_status(false, v.ends_at - Duration::seconds(1)),
            LinkStatus::Open
        );
        assert_eq!(v.link_status(false, v.ends_at), LinkStatus::Ended);
        assert_eq!(v.link_status(true, start), LinkStatus::Replaced);
    }

    #[test]
    fn changes_follow_the_visits_state() {
        let start = Utc::now() + Duration::hours(1);
        let mut visit = visit_at(start);
        let before = start - Duration::minutes(1);
        let during = start + Duration::minutes(1);
        assert_eq!(visit.check_change(Change::Reschedule, before), Ok(()));
        assert_eq!(
            visit.check_change(Change::End, before),
            Err("visit_not_started")
        );
        assert_eq!(
            visit.check_change(Change::Reschedule, during),
            Err("visit_started")
        );
        assert_eq!(visit.check_change(Change::End, during), Ok(()));
        assert_eq!(visit.check_change(Change::Extend, during), Ok(()));
        assert_eq!(
            visit.check_change(Change::Extend, start + Duration::hours(1)),
            Err("visit_ended")
        );
        visit.cancelled_at = Some(before);
        assert_eq!(
            visit.check_change(Change::Cancel, before),
            Err("visit_cancelled")
        );
    }

    #[test]
    fn an_extension_is_one_minute_to_two_hours() {
        let visit = visit_at(Utc::now());
        assert_eq!(visit.extended_end(0), Err("out_of_range"));
        assert_eq!(visit.extended_end(121), Err("out_of_range"));
        assert_eq!(
            visit.extended_end(10),
            Ok(visit.ends_at + Duration::minutes(10))
        );
    }
}
