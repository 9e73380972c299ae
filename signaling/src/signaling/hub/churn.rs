//! How often one invitation may take its seat anew.
//!
//! Every fresh join (a hello that is not the seated peer coming back) makes the others
//! in the visit hear `peer-left` and `peer-joined`, and each builds or tears down a
//! peer connection in their browser: one link opened and closed in a loop made the
//! resident's tablet rebuild its call two thousand times. A person reloads a page a
//! few times at most; past [`JOINS_PER_MINUTE`] the link is told `rate_limited`, and
//! its page tries again after its back-off. Resuming the same seat (a phone changing
//! networks) is never counted: the others see nothing of it.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

/// Fresh joins one invitation may make in a minute.
pub const JOINS_PER_MINUTE: usize = 5;

/// Invitations whose recent joins are remembered before idle ones are forgotten.
const TRACKED: usize = 4096;

#[derive(Debug, Default)]
pub struct JoinRate {
    recent: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl JoinRate {
    /// Whether `guest_id` may join afresh at `now` (and counts it if so).
    pub fn allow(&mut self, guest_id: &str, now: DateTime<Utc>) -> bool {
        let window = Duration::minutes(1);
        if self.recent.len() >= TRACKED {
            self.recent
                .retain(|_, joins| joins.back().is_some_and(|t| now - *t < window));
        }
        let joins = self.recent.entry(guest_id.to_owned()).or_default();
        while joins.front().is_some_and(|t| now - *t >= window) {
            joins.pop_front();
        }
        if joins.len() >= JOINS_PER_MINUTE {
            return false;
        }
        joins.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_joining_in_a_loop_is_held_to_a_few_joins_a_minute() {
        let mut rate = JoinRate::default();
        let start = Utc::now();
        let allowed = (0..1000)
            .filter(|n| rate.allow("g1", start + Duration::milliseconds(*n)))
            .count();
        assert_eq!(allowed, JOINS_PER_MINUTE);
        assert!(rate.allow("g2", start), "another link is not held");
        assert!(
            rate.allow("g1", start + Duration::seconds(61)),
            "a minute later it may join again"
        );
    }

    #[test]
    fn the_table_forgets_idle_links_when_full() {
        let mut rate = JoinRate::default();
        let start = Utc::now();
        for n in 0..TRACKED {
            rate.allow(&format!("g{n}"), start);
        }
        rate.allow("newcomer", start + Duration::minutes(2));
        assert_eq!(rate.recent.len(), 1);
    }
}
