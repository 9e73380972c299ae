//! How long a relay credential is good for, and how one is taken back.
//!
//! A TURN REST credential (`expiry:participant`, see `auth.rs`) is checked with no
//! lookup, which is what lets a relay fleet share one secret, but it also means a
//! credential cannot be forgotten: a guest of a cancelled visit could relay until 30
//! minutes after the planned end, a removed tablet for half a day, and anyone who read
//! the database's secret could mint credentials valid for ten years. So, for the
//! embedded relay:
//! - [`DayKeys`]: a new random key each UTC day; credentials are made with today's and
//!   accepted with today's or yesterday's. Older keys are deleted from the database,
//!   so a copy of it (or of a backup) mints nothing after two days at most.
//! - [`MAX_CREDENTIAL_LIFETIME_S`]: no credential is made, or accepted, for longer than
//!   a day ahead, whatever its username says.
//! - [`Ledger`]: what was issued to whom, and what was taken back. When a visit ends or
//!   is cancelled, a link is replaced or a device removed, its participants'
//!   credentials issued so far are revoked; the relay refuses them at the next request
//!   (a hash lookup) and closes their allocations within a second. A credential issued
//!   later to the same participant (a tablet seated in its next visit) is made to expire
//!   after the revoked ones, so it is not caught by the revocation.
//!
//! Relays outside the process (`[[turn_servers]]`) check only the expiry: their
//! credentials still end with the visit plus the grace, no later than a day ahead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use base64::Engine;

/// The longest any credential is made or accepted for, from now.
pub const MAX_CREDENTIAL_LIFETIME_S: u64 = 24 * 3600;

/// Participants a ledger remembers at most (each one a peer with a live credential;
/// a busy home has a few hundred a day).
const MAX_ENTRIES: usize = 100_000;

/// The UTC day number of a Unix time: the key's name.
pub fn day_of(unix_s: i64) -> i64 {
    unix_s.div_euclid(86_400)
}

/// The embedded relay's keys: today's, and yesterday's while its credentials live.
#[derive(Default)]
pub struct DayKeys {
    keys: RwLock<Option<Keys>>,
}

#[derive(Clone)]
struct Keys {
    day: i64,
    current: String,
    previous: Option<String>,
}

impl std::fmt::Debug for DayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayKeys").field("day", &self.day()).finish()
    }
}

fn encode(key: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

impl DayKeys {
    pub fn new(day: i64, current: &[u8; 32], previous: Option<&[u8; 32]>) -> Self {
        let keys = Self::default();
        keys.install(day, current, previous);
        keys
    }

    /// The keys of `day` (and the day before), as kept in the database.
    pub fn install(&self, day: i64, current: &[u8; 32], previous: Option<&[u8; 32]>) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(Keys {
            day,
            current: encode(current),
            previous: previous.map(encode),
        });
    }

    fn read(&self) -> Option<Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The day of the key credentials are made with now.
    pub fn day(&self) -> Option<i64> {
        self.read().map(|k| k.day)
    }

    /// The secret to make credentials with.
    pub fn current(&self) -> Option<String> {
        self.read().map(|k| k.current)
    }

    /// The secrets a presented credential may have been made with, newest first.
    pub fn accepted(&self) -> Vec<String> {
        self.read()
            .map(|k| std::iter::once(k.current).chain(k.previous).collect())
            .unwrap_or_default()
    }
}

/// Credentials issued and revoked, per participant (a peer id).
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Entries>,
    /// Grows with every revocation, so the relay knows when to look for allocations
    /// to close.
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    /// The latest expiry issued to each participant.
    issued: HashMap<String, u64>,
    /// Credentials expiring at or before this are revoked.
    revoked: HashMap<String, u64>,
    pruned_at: u64,
}

impl Entries {
    /// Forgets what has expired anyway, at most once a minute.
    fn prune(&mut self, now: u64) {
        if now < self.pruned_at + 60 {
            return;
        }
        self.pruned_at = now;
        self.issued.retain(|_, expiry| *expiry >= now);
        self.revoked.retain(|_, cutoff| *cutoff >= now);
    }
}

/// The participant and expiry of a TURN REST username (`expiry:participant`).
pub fn parse_username(username: &str) -> Option<(u64, &str)> {
    let (expiry, participant) = username.split_once(':')?;
    let expiry = expiry.parse().ok()?;
    (!participant.is_empty()).then_some((expiry, participant))
}

impl Ledger {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A credential for `participant` wanted until `expiry` (Unix seconds): the expiry
    /// to give it — at most a day ahead, and after any revoked credential of the same
    /// participant — recorded so that it can be revoked.
    pub fn issue(&self, participant: &str, expiry: u64, now: u64) -> u64 {
        let mut entries = self.entries();
        entries.prune(now);
        let mut expiry = expiry.min(now + MAX_CREDENTIAL_LIFETIME_S);
        if let Some(&cutoff) = entries.revoked.get(participant) {
            expiry = expiry.max(cutoff.saturating_add(1));
        }
        if entries.issued.len() < MAX_ENTRIES || entries.issued.contains_key(participant) {
            let latest = entries.issued.entry(participant.to_owned()).or_default();
            *latest = (*latest).max(expiry);
        }
        expiry
    }

    /// Every credential issued to `participant` so far stops working.
    pub fn revoke(&self, participant: &str) {
        let mut entries = self.entries();
        let Some(&latest) = entries.issued.get(participant) else {
            return;
        };
        let cutoff = entries.revoked.entry(participant.to_owned()).or_default();
        *cutoff = (*cutoff).max(latest);
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the credential named `username` was revoked.
    pub fn is_revoked(&self, username: &str) -> bool {
        let Some((expiry, participant)) = parse_username(username) else {
            return false;
        };
        self.entries()
            .revoked
            .get(participant)
            .is_some_and(|&cutoff| expiry <= cutoff)
    }

    /// Changes whenever something is revoked.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_revoked_participant_s_credentials_stop_and_its_next_one_works() {
        let ledger = Ledger::default();
        let visit = ledger.issue("tablet", NOW + 1800, NOW);
        let between = ledger.issue("tablet", NOW + 600, NOW);
        let generation = ledger.generation();
        ledger.revoke("tablet");
        assert!(ledger.generation() > generation);
        assert!(ledger.is_revoked(&format!("{visit}:tablet")));
        assert!(ledger.is_revoked(&format!("{between}:tablet")));
        assert!(
            !ledger.is_revoked(&format!("{visit}:guest")),
            "others untouched"
        );
        // The tablet's next visit ends before the revoked credential would have.
        let next = ledger.issue("tablet", NOW + 1200, NOW + 120);
        assert!(next > visit, "made to outlast what was revoked");
        assert!(!ledger.is_revoked(&format!("{next}:tablet")));
    }

    #[test]
    fn nothing_is_issued_for_longer_than_a_day() {
        let ledger = Ledger::default();
        let ten_years = NOW + 10 * 365 * 86_400;
        assert_eq!(
            ledger.issue("p", ten_years, NOW),
            NOW + MAX_CREDENTIAL_LIFETIME_S
        );
    }

    #[test]
    fn revoking_what_was_never_issued_changes_nothing() {
        let ledger = Ledger::default();
        ledger.revoke("stranger");
        assert_eq!(ledger.generation(), 0);
        assert!(!ledger.is_revoked(&format!("{NOW}:stranger")));
        assert!(!ledger.is_revoked("not a username"));
    }

    #[test]
    fn expired_entries_are_forgotten() {
        let ledger = Ledger::default();
        let expiry = ledger.issue("p", NOW + 100, NOW);
        ledger.revoke("p");
        ledger.issue("q", NOW + 10_000, NOW + 200);
        let entries = ledger.entries();
        assert!(!entries.issued.contains_key("p"));
        assert!(!entries.revoked.contains_key("p"), "{expiry} is past");
    }

    #[test]
    fn keys_accept_today_s_and_yesterday_s() {
        let keys = DayKeys::new(day_of(NOW as i64), &[1; 32], Some(&[2; 32]));
        let accepted = keys.accepted();
        assert_eq!(accepted.len(), 2);
        assert_eq!(Some(accepted[0].clone()), keys.current());
        assert!(
            !format!("{keys:?}").contains(&accepted[0]),
            "never in a log"
        );
        assert_eq!(day_of(-1), -1, "days before 1970 round down");
    }
}
