//! Answers per source address to requests anyone can send (the bucket itself, also
//! used for bytes per allocation, is `crate::rate::TokenBucket`).
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

use crate::rate::TokenBucket;

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
                shared: TokenBucket::per_second(rate, now),
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
                .or_insert(TokenBucket::per_second(self.rate, now))
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
