//! How often one invitation may take its seat anew.
//!
//! Every fresh join (a hello that is not the seated peer coming back) makes the others
//! in the visit hear `peer-left` and `peer-joined`, and each builds or tears down a
//! peer connection in their browser: one link opened and closed in a loop made the
//! resident's tablet rebuild its call two thousand times. A person reloads a page a
//! few times at most; past [`JOIN_BURST`] joins, and then three a minute, the link is
//! told `rate_limited`, and its page tries again after its back-off. Resuming the same seat (a phone changing
//! networks) is never counted: the others see nothing of it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::rate::TokenBucket;

/// Fresh joins one invitation may make at once: reloading a page a few times, or
/// opening it on the phone after the computer, never comes near it.
pub const JOIN_BURST: u64 = 10;
/// Then one more every this long (three a minute).
pub const JOIN_EVERY: Duration = Duration::from_secs(20);

/// Invitations whose recent joins are remembered before idle ones are forgotten.
const TRACKED: usize = 4096;

#[derive(Debug, Default)]
pub struct JoinRate {
    recent: HashMap<String, TokenBucket<DateTime<Utc>>>,
}

impl JoinRate {
    /// Whether `guest_id` may join afresh at `now` (and counts it if so).
    pub fn allow(&mut self, guest_id: &str, now: DateTime<Utc>) -> bool {
        if self.recent.len() >= TRACKED {
            self.recent.retain(|_, bucket| !bucket.is_full(now));
        }
        self.recent
            .entry(guest_id.to_owned())
            .or_insert_with(|| TokenBucket::new(JOIN_BURST, JOIN_EVERY, now))
            .take(1, now)
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
            .filter(|n| rate.allow("g1", start + chrono::Duration::milliseconds(*n)))
            .count();
        assert_eq!(allowed as u64, JOIN_BURST);
        assert!(rate.allow("g2", start), "another link is not held");
        let a_minute_on = start + chrono::Duration::seconds(61);
        let later = (0..100).filter(|_| rate.allow("g1", a_minute_on)).count();
        assert_eq!(later, 3, "three more a minute");
    }

    #[test]
    fn the_table_forgets_idle_links_when_full() {
        let mut rate = JoinRate::default();
        let start = Utc::now();
        for n in 0..TRACKED {
            rate.allow(&format!("g{n}"), start);
        }
        rate.allow("newcomer", start + chrono::Duration::minutes(10));
        assert_eq!(rate.recent.len(), 1);
    }
}
