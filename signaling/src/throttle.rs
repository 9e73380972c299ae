//! Slowing down guessing: consecutive failures per key, and a growing wait after a
//! few of them (1 s, 2 s, 4 s … up to 15 minutes).
//!
//! Held in memory, in tables of bounded size, because an attacker chooses the keys
//! (login names, source addresses). What a full table does is chosen per table so that
//! filling it never frees the attacker: a table of invented login names forgets its
//! oldest entry (they protect nothing), a table of client addresses lets newcomers
//! share one entry (so a flood from many addresses is slowed as one). Real accounts
//! are counted in a table of their own that only existing accounts can enter, so no
//! amount of junk can push them out. A restart forgives, which is acceptable because
//! argon2 already makes each guess slow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

const MAX_DELAY_SECS: i64 = 15 * 60;

/// The wait imposed after `count` consecutive failures, `free` of which cost nothing.
pub fn delay_after(count: u32, free: u32) -> Duration {
    if count < free {
        return Duration::zero();
    }
    let exponent = (count - free).min(20);
    Duration::seconds((1i64 << exponent).min(MAX_DELAY_SECS))
}

/// What a full table does with a key it has no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Forget the entry whose last failure is oldest.
    EvictOldest,
    /// Count the newcomer in one shared entry.
    Share,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

/// Failures per key in a table of at most `capacity` entries.
#[derive(Debug)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Failures>>,
    capacity: usize,
    free: u32,
    when_full: WhenFull,
}

const SHARED_KEY: &str = "\u{0}shared";

impl Throttle {
    pub fn new(capacity: usize, free: u32, when_full: WhenFull) -> Self {
        Self {
            entries: Mutex::default(),
            capacity: capacity.max(1),
            free,
            when_full,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds the caller must still wait before trying `key` again, if any.
    pub fn wait(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        let entries = self.lock();
        let f = entries.get(key).or_else(|| {
            // A newcomer counted in the shared entry waits with it.
            (self.when_full == WhenFull::Share && entries.len() >= self.capacity)
                .then(|| entries.get(SHARED_KEY))
                .flatten()
        })?;
        let until = f.last + delay_after(f.count, self.free);
        (until > now).then(|| {
            ((until - now).num_milliseconds() + 999)
                .div_euclid(1000)
                .max(1) as u64
        })
    }

    pub fn failed(&self, key: &str, now: DateTime<Utc>) {
        let mut entries = self.lock();
        if !entries.contains_key(key) && entries.len() >= self.capacity {
            // Entries whose wait is long over protect nothing any more.
            let free = self.free;
            entries.retain(|k, f| {
                k == SHARED_KEY
                    || f.last + delay_after(f.count, free) + Duration::seconds(MAX_DELAY_SECS) > now
            });
        }
        let key = if entries.contains_key(key) || entries.len() < self.capacity {
            key
        } else {
            match self.when_full {
                WhenFull::Share => SHARED_KEY,
                WhenFull::EvictOldest => {
                    if let Some(oldest) = entries
                        .iter()
                        .min_by_key(|(_, f)| f.last)
                        .map(|(k, _)| k.clone())
                    {
                        entries.remove(&oldest);
                    }
                    key
                }
            }
        };
        let entry = entries.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key for a client address: IPv6 clients are counted per /64, because one home
/// connection gets a whole /64 and could otherwise pick a new address per guess.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Who a login attempt was for, as far as the server knows.
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    /// An existing account, by its id.
    Known(&'a str),
    /// A login name that matches no account.
    Unknown(&'a str),
}

/// Staff logins: per account and per client address. Every kind of failure (unknown
/// name, disabled account, wrong or over-long password) counts the same.
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Throttle,
    unknown_names: Throttle,
    addresses: Throttle,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::with_capacity(10_000)
    }
}

impl LoginThrottle {
    /// Tables of at most `capacity` invented names and `capacity` addresses.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            // Only existing accounts enter: bounded by the staff table, never full.
            accounts: Throttle::new(usize::MAX, 3, WhenFull::EvictOldest),
            unknown_names: Throttle::new(capacity, 3, WhenFull::EvictOldest),
            // A care home's staff share one address: more free failures there.
            addresses: Throttle::new(capacity, 10, WhenFull::Share),
        }
    }

    fn account<'a>(&'a self, account: Account<'a>) -> (&'a Throttle, String) {
        match account {
            Account::Known(id) => (&self.accounts, id.to_owned()),
            Account::Unknown(name) => (&self.unknown_names, name.trim().to_lowercase()),
        }
    }

    /// Seconds to wait before this attempt may be checked, if any.
    pub fn wait(&self, account: Account<'_>, ip: IpAddr, now: DateTime<Utc>) -> Option<u64> {
        let (table, key) = self.account(account);
        let by_account = table.wait(&key, now);
        let by_address = self.addresses.wait(&address_key(ip), now);
        by_account.max(by_address)
    }

    pub fn failed(&self, account: Account<'_>, ip: IpAddr, now: DateTime<Utc>) {
        let (table, key) = self.account(account);
        table.failed(&key, now);
        self.addresses.failed(&address_key(ip), now);
    }

    pub fn succeeded(&self, account: Account<'_>, ip: IpAddr) {
        let (table, key) = self.account(account);
        table.succeeded(&key);
        self.addresses.succeeded(&address_key(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_delay_grows_after_the_free_failures_and_is_capped() {
        assert_eq!(delay_after(2, 3), Duration::zero());
        assert_eq!(delay_after(3, 3), Duration::seconds(1));
        assert_eq!(delay_after(5, 3), Duration::seconds(4));
        assert_eq!(delay_after(100, 3), Duration::seconds(MAX_DELAY_SECS));
    }

    #[test]
    fn the_next_attempt_waits_and_success_forgives() {
        let t = LoginThrottle::default();
        let now = Utc::now();
        let a = ip("203.0.113.7");
        for _ in 0..4 {
            t.failed(Account::Known("s1"), a, now);
        }
        assert_eq!(
            t.wait(Account::Known("s1"), ip("198.51.100.1"), now),
            Some(2)
        );
        assert_eq!(
            t.wait(Account::Known("s1"), a, now + Duration::seconds(2)),
            None
        );
        t.succeeded(Account::Known("s1"), a);
        assert_eq!(t.wait(Account::Known("s1"), a, now), None);
    }

    #[test]
    fn junk_names_cannot_flush_a_real_account() {
        let t = LoginThrottle::with_capacity(500);
        let now = Utc::now();
        for _ in 0..5 {
            t.failed(Account::Known("admin-id"), ip("203.0.113.7"), now);
        }
        for n in 0..3_000u32 {
            let from = IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
            t.failed(Account::Unknown(&format!("junk{n}")), from, now);
        }
        assert!(t.unknown_names.len() <= 500);
        assert!(
            t.addresses.len() <= 501,
            "the addresses and one shared entry"
        );
        assert!(
            t.wait(Account::Known("admin-id"), ip("192.0.2.1"), now)
                .is_some()
        );
    }

    #[test]
    fn an_address_is_slowed_whatever_names_it_tries() {
        let t = LoginThrottle::default();
        let now = Utc::now();
        let a = ip("203.0.113.9");
        for n in 0..10 {
            t.failed(Account::Unknown(&format!("name{n}")), a, now);
        }
        assert!(t.wait(Account::Unknown("fresh-name"), a, now).is_some());
        assert!(
            t.wait(Account::Unknown("fresh-name"), ip("198.51.100.2"), now)
                .is_none()
        );
    }

    #[test]
    fn a_full_address_table_slows_newcomers_together() {
        let t = Throttle::new(3, 0, WhenFull::Share);
        let now = Utc::now();
        for k in ["a", "b", "c", "d", "e"] {
            t.failed(k, now);
        }
        assert_eq!(t.len(), 4, "three addresses and the shared entry");
        assert!(t.wait("never-seen", now).is_some());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
