//! Links just made, kept in memory for the staff member who made them, so the page
//! that shows them survives a reload: booking posts, then redirects to a page that
//! reads them from here (POST-redirect-GET). The database only ever has their hashes;
//! here the plain links live for half an hour at most, in a bounded list, and only the
//! staff member who made them can see them (behind an unguessable key).

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::storage::InvitationLink;
use crate::tokens;

/// How long a "Visit booked" page can be reloaded.
const KEEP: Duration = Duration::minutes(30);
/// The most kept at once (oldest dropped first): far more than staff book in 30 min.
const MAX: usize = 256;

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
    staff_id: String,
    made_at: DateTime<Utc>,
    recent: Recent,
}

#[derive(Default)]
pub struct RecentLinks {
    entries: Mutex<VecDeque<Entry>>,
}

impl RecentLinks {
    /// Keeps `recent` for `staff_id`; returns the key of the page that shows it.
    pub fn keep(&self, staff_id: &str, recent: Recent, now: DateTime<Utc>) -> String {
        let key = tokens::generate().plain;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| now - e.made_at < KEEP);
        while entries.len() >= MAX {
            entries.pop_front();
        }
        entries.push_back(Entry {
            key: key.clone(),
            staff_id: staff_id.to_owned(),
            made_at: now,
            recent,
        });
        key
    }

    /// The links kept under `key`, if they are still kept and `staff_id` made them.
    pub fn get(&self, key: &str, staff_id: &str, now: DateTime<Utc>) -> Option<Recent> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|e| {
                tokens::constant_time_eq(&e.key, key)
                    && e.staff_id == staff_id
                    && now - e.made_at < KEEP
            })
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
    fn the_store_never_grows_past_its_bound() {
        let store = RecentLinks::default();
        let now = Utc::now();
        let first = store.keep("sato", recent("v0"), now);
        for i in 0..MAX {
            store.keep("sato", recent(&format!("v{i}")), now);
        }
        assert!(
            store.get(&first, "sato", now).is_none(),
            "the oldest went first"
        );
        assert_eq!(store.entries.lock().map(|e| e.len()).unwrap_or(0), MAX);
    }
}
