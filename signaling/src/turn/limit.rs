//! Rates the relay keeps: bytes per allocation, and answers per source address to
//! requests anyone can send.
//!
//! Why answers are limited: a UDP source address can be forged, and every TURN server
//! answers requests without credentials (the 401 that carries the nonce, a Binding's
//! mapped address). Those answers are two to four times the request's size, so without
//! a limit the relay would reflect and amplify a flood at whoever's address an
//! attacker writes in. A signed request needs a key only a participant has, and TCP or
//! TLS needs a handshake a forged source cannot complete, so only unsigned answers
//! over UDP are counted.
//!
//! A source that has signed a request with a nonce the relay sent to that address has
//! shown it receives there: it is a real client (or many behind one NAT: a care home's
//! ward, a mobile carrier's shared address, a load generator) and gets a larger
//! allowance, so many calls starting at once from one address are not held back by
//! the flood limit. Reflecting at such an address is still bounded by that allowance.
//!
//! The table of sources is bounded like every table an attacker can fill: sources idle
//! long enough to have their full allowance again are forgotten, and when the table is
//! still full, newcomers share one allowance, so a flood from many forged addresses is
//! answered as if it came from one, while sources already known keep their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: up to `rate` units a second (bytes, answers), with one second of
/// burst.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u64,
    tokens: u64,
    at: Instant,
}

impl TokenBucket {
    pub fn new(rate: u64, now: Instant) -> Self {
        Self {
            rate,
            tokens: rate,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_nanos();
        let earned = elapsed * u128::from(self.rate) / 1_000_000_000;
        if earned == 0 {
            // Not a whole unit yet: the time is kept, so frequent callers still earn.
            return;
        }
        let earned = u64::try_from(earned).unwrap_or(u64::MAX);
        self.tokens = self.tokens.saturating_add(earned).min(self.rate);
        self.at = if self.tokens == self.rate {
            now
        } else {
            // Only the time the earned units took is spent; the rest counts towards
            // the next one.
            let spent = u128::from(earned) * 1_000_000_000 / u128::from(self.rate.max(1));
            self.at + Duration::from_nanos(u64::try_from(spent).unwrap_or(u64::MAX))
        };
    }

    /// Takes `units` if they fit now. What does not fit is dropped by the caller: media
    /// senders adapt to loss, queueing would only add delay, and a client whose
    /// request went unanswered sends it again.
    pub fn take(&mut self, units: usize, now: Instant) -> bool {
        self.refill(now);
        let units = units as u64;
        if units <= self.tokens {
            self.tokens -= units;
            true
        } else {
            false
        }
    }

    /// Whether the whole allowance is back: the owner has been quiet for a while.
    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.rate
    }

    /// From now on earns `rate` units a second, and the extra second of burst at once.
    fn raise_to(&mut self, rate: u64, now: Instant) {
        if rate > self.rate {
            self.refill(now);
            self.tokens += rate - self.rate;
            self.rate = rate;
        }
    }
}

/// Unsigned answers a second per source address, in a table of bounded size.
#[derive(Debug)]
pub struct SourceLimit {
    rate: u64,
    /// The allowance of a source that has shown it receives at its address.
    verified_rate: u64,
    capacity: usize,
    table: Mutex<Sources>,
}

#[derive(Debug)]
struct Sources {
    each: HashMap<IpAddr, TokenBucket>,
    /// The allowance newcomers share while `each` is full.
    shared: TokenBucket,
    pruned: Instant,
}

impl SourceLimit {
    pub fn new(rate: u64, verified_rate: u64, capacity: usize, now: Instant) -> Self {
        Self {
            rate,
            verified_rate: verified_rate.max(rate),
            capacity: capacity.max(1),
            table: Mutex::new(Sources {
                each: HashMap::new(),
                shared: TokenBucket::new(rate, now),
                pruned: now,
            }),
        }
    }

    /// Whether `source` may be answered now (and counts the answer if so).
    pub fn allow(&self, source: IpAddr, now: Instant) -> bool {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = table.each.get_mut(&source) {
            return bucket.take(1, now);
        }
        match self.place(&mut table, source, now) {
            Some(bucket) => bucket.take(1, now),
            None => table.shared.take(1, now),
        }
    }

    /// `source` signed a request with a nonce sent to it, so it receives at its
    /// address: it gets the larger allowance (while the table has room for it).
    pub fn verified(&self, source: IpAddr, now: Instant) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = if table.each.contains_key(&source) {
            table.each.get_mut(&source)
        } else {
            self.place(&mut table, source, now)
        };
        if let Some(bucket) = bucket {
            bucket.raise_to(self.verified_rate, now);
        }
    }

    /// A new entry for `source` with a full allowance, if the table has room (after
    /// forgetting the quiet).
    fn place<'t>(
        &self,
        table: &'t mut Sources,
        source: IpAddr,
        now: Instant,
    ) -> Option<&'t mut TokenBucket> {
        // Pruning scans the table, so a flood of newcomers does it at most once a second.
        if table.each.len() >= self.capacity
            && now.saturating_duration_since(table.pruned) >= Duration::from_secs(1)
        {
            table.each.retain(|_, bucket| !bucket.is_full(now));
            table.pruned = now;
        }
        (table.each.len() < self.capacity).then(|| {
            table
                .each
                .entry(source)
                .or_insert(TokenBucket::new(self.rate, now))
        })
    }

    /// Sources with an allowance of their own (bounded by the capacity).
    #[cfg(test)]
    fn known(&self) -> usize {
        self.table.lock().map(|t| t.each.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_bucket_is_a_rate_with_a_second_of_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10_000, t0);
        assert!(b.take(10_000, t0));
        assert!(!b.take(1, t0), "the burst is spent");
        assert!(b.take(5_000, t0 + Duration::from_millis(500)));
        assert!(!b.take(1_000, t0 + Duration::from_millis(500)));
        assert!(
            b.take(10_000, t0 + Duration::from_secs(60)),
            "capped at one second"
        );
        assert!(!b.take(1, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn a_slow_rate_still_refills_under_constant_asking() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(64, t0);
        // Asked every millisecond for ten seconds: a unit takes 15.6 ms to earn.
        let taken = (0..10_000)
            .filter(|ms| b.take(1, t0 + Duration::from_millis(*ms)))
            .count();
        assert!((64 + 630..=64 + 640).contains(&taken), "{taken}");
    }

    #[test]
    fn each_source_has_its_own_allowance() {
        let t0 = Instant::now();
        let limit = SourceLimit::new(3, 3, 16, t0);
        let flooded = ip("192.0.2.1");
        let answered = (0..100).filter(|_| limit.allow(flooded, t0)).count();
        assert_eq!(answered, 3, "one second's worth, then nothing");
        assert!(
            limit.allow(ip("192.0.2.2"), t0),
            "another source is answered"
        );
        assert!(
            limit.allow(flooded, t0 + Duration::from_secs(1)),
            "and later"
        );
    }

    #[test]
    fn a_full_table_makes_newcomers_share_and_forgets_the_quiet() {
        let t0 = Instant::now();
        let limit = SourceLimit::new(2, 2, 4, t0);
        let known = ip("2001:db8::1");
        assert!(limit.allow(known, t0));
        // A flood from forged addresses fills the table, then shares one allowance.
        let mut answered = 0;
        for i in 0..1_000u32 {
            if limit.allow(IpAddr::from((0xcb00_7100u32 + i).to_be_bytes()), t0) {
                answered += 1;
            }
        }
        assert_eq!(limit.known(), 4, "bounded");
        assert_eq!(
            answered,
            3 + 2,
            "three got a place of their own, the rest shared two"
        );
        assert!(
            limit.allow(known, t0),
            "a known source keeps its own allowance"
        );
        // A second later every quiet source has its allowance back and is forgotten.
        let later = t0 + Duration::from_secs(1);
        assert!(limit.allow(ip("198.51.100.9"), later));
        assert_eq!(limit.known(), 1);
    }

    #[test]
    fn a_source_that_receives_at_its_address_gets_the_larger_allowance() {
        let t0 = Instant::now();
        let limit = SourceLimit::new(4, 100, 16, t0);
        let ward = ip("198.51.100.20");
        let forged = ip("198.51.100.21");
        let answered = |source, at| (0..1_000).filter(|_| limit.allow(source, at)).count();
        assert_eq!(answered(ward, t0), 4, "before: the flood limit");
        limit.verified(ward, t0);
        assert_eq!(
            answered(ward, t0),
            96,
            "at once: the rest of the larger burst"
        );
        let later = t0 + Duration::from_secs(1);
        assert_eq!(answered(ward, later), 100, "then the larger rate");
        limit.verified(ward, later);
        assert_eq!(
            answered(ward, later),
            0,
            "granted once, not on every signature"
        );
        assert_eq!(
            answered(forged, later),
            4,
            "other sources keep the small one"
        );
    }
}
