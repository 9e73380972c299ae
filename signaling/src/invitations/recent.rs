//! Links just made, kept in memory for the staff member who made them, so the page
//! that shows them survives a reload: booking posts, then redirects to a page that
//! reads them from here (POST-redirect-GET). The database only ever has their hashes;
//! here the plain links live for half an hour at most, in a bounded list, and only the
//! staff member who made them can see them (behind an unguessable key).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::storage::InvitationLink;
use crate::tokens;

/// How long a "Visit booked" page can be reloaded.
const KEEP: Duration = Duration::minutes(30);
/// Kept per staff member at once (their own oldest dropped first): far more than a
/// person books in half an hour. Each member has a share of their own, so nobody's
/// bookings, however many, push out a colleague's links.
const PER_STAFF: usize = 64;
/// Link sets one staff member may make a minute: a person books or reissues a few; a
/// script reissuing in a loop is stopped before it has turned every link over.
pub const PER_MINUTE: usize = 20;

/// Links just made, for one visit.
#[derive(Debug, Clone)]
pub struct Recent {
    pub visit_id: String,
    pub links: Vec<InvitationLink>,
    /// A replaced link rather than a new booking.
    pub reissued: bool,
}

struct Entry {
    key: String,
    made_at: DateTime<Utc>,
    recent: Recent,
}

/// Per staff member, oldest first.
#[derive(Default)]
pub struct RecentLinks {
    by_staff: Mutex<HashMap<String, VecDeque<Entry>>>,
}

impl RecentLinks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Entry>>> {
        self.by_staff.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `staff_id` may make more links now; else how many seconds to wait.
    /// Asked before the links are made, so a refused reissue leaves the old link as
    /// it was.
    pub fn allowance(&self, staff_id: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let by_staff = self.lock();
        let Some(mine) = by_staff.get(staff_id) else {
            return Ok(());
        };
        let minute = Duration::minutes(1);
        let last_minute: Vec<DateTime<Utc>> = mine
            .iter()
            .map(|e| e.made_at)
            .filter(|t| now - *t < minute)
            .collect();
        if last_minute.len() < PER_MINUTE {
            return Ok(());
        }
        // The oldest of the minute's link sets makes room when it turns a minute old.
        let frees_at = last_minute[0] + minute;
        Err(u64::try_from((frees_at - now).num_seconds())
            .unwrap_or(0)
            .max(1))
    }

    /// Keeps `recent` for `staff_id`; returns the key of the page that shows it.
    pub fn keep(&self, staff_id: &str, recent: Recent, now: DateTime<Utc>) -> String {
        let key = tokens::generate().plain;
        let mut by_staff = self.lock();
        // Forget what expired, everyone's, so members who left cost nothing.
        by_staff.retain(|_, entries| {
            entries.retain(|e| now - e.made_at < KEEP);
            !entries.is_empty()
        });
        let mine = by_staff.entry(staff_id.to_owned()).or_default();
        while mine.len() >= PER_STAFF {
            mine.pop_front();
        }
        mine.push_back(Entry {
            key: key.clone(),
            made_at: now,
            recent,
        });
        key
    }

    /// The links kept under `key`, if they are still kept and `staff_id` made them.
    pub fn get(&self, key: &str, staff_id: &str, now: DateTime<Utc>) -> Option<Recent> {
        self.lock()
            .get(staff_id)?
            .iter()
            .find(|e| tokens::constant_time_eq(&e.key, key) && now - e.made_at < KEEP)
            .map(|e| e.recent.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(visit: &str) -> Recent {
        Recent {
            visit_id: visit.into(),
            links: vec![InvitationLink {
                guest_id: "g".into(),
                guest: "Taro".into(),
                token: "secret".into(),
            }],
            reissued: false,
        }
    }

    #[test]
    fn only_their_maker_sees_them_and_only_for_half_an_hour() {
        let store = RecentLinks::default();
        let now = Utc::now();
        let key = store.keep("sato", recent("v1"), now);
        assert_eq!(
            store.get(&key, "sato", now).map(|r| r.visit_id).as_deref(),
            Some("v1")
        );
        assert!(
            store.get(&key, "suzuki", now).is_none(),
            "another staff member"
        );
        assert!(store.get("guessed", "sato", now).is_none());
        assert!(store.get(&key, "sato", now + KEEP).is_none(), "expired");
    }

    #[test]
    fn one_member_s_flood_never_pushes_out_a_colleague_s_links() {
        let store = RecentLinks::default();
        let now = Utc::now();
        let sato = store.keep("sato", recent("v-sato"), now);
        let first = store.keep("suzuki", recent("v0"), now);
        for i in 0..1000 {
            store.keep("suzuki", recent(&format!("v{i}")), now);
        }
        assert!(
            store.get(&sato, "sato", now).is_some(),
            "a colleague's kept"
        );
        assert!(
            store.get(&first, "suzuki", now).is_none(),
            "their own oldest went"
        );
        assert_eq!(
            store.lock().get("suzuki").map(VecDeque::len),
            Some(PER_STAFF)
        );
    }

    #[test]
    fn link_sets_are_rated_per_member() {
        let store = RecentLinks::default();
        let now = Utc::now();
        for i in 0..PER_MINUTE {
            assert_eq!(store.allowance("suzuki", now), Ok(()));
            store.keep("suzuki", recent(&format!("v{i}")), now);
        }
        assert_eq!(store.allowance("suzuki", now), Err(60));
        assert_eq!(store.allowance("sato", now), Ok(()), "others are not held");
        assert_eq!(
            store.allowance("suzuki", now + Duration::seconds(61)),
            Ok(()),
            "a minute later"
        );
    }
}
