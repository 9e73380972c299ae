//! The one token bucket: how Menkai holds anything to a rate — bytes an allocation
//! relays, unsigned answers per source address, frames per signaling socket, fresh
//! joins per invitation.
//!
//! Time is passed in, never read here, so each use is tested in simulated time. The
//! relay and the sockets count in monotonic time ([`std::time::Instant`]); the hub
//! counts in the clock it is given ([`chrono::DateTime`]), which tests move by hand.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A point in time a bucket can count from.
pub trait Moment: Copy {
    /// Nanoseconds from `earlier` to `self` (0 if `earlier` is later).
    fn nanos_since(self, earlier: Self) -> u128;
    /// `self` moved `nanos` later.
    fn later_by(self, nanos: u64) -> Self;
}

impl Moment for Instant {
    fn nanos_since(self, earlier: Self) -> u128 {
        self.saturating_duration_since(earlier).as_nanos()
    }

    fn later_by(self, nanos: u64) -> Self {
        self + Duration::from_nanos(nanos)
    }
}

impl Moment for DateTime<Utc> {
    fn nanos_since(self, earlier: Self) -> u128 {
        (self - earlier)
            .num_nanoseconds()
            .map_or(u128::MAX, |n| u128::try_from(n).unwrap_or(0))
    }

    fn later_by(self, nanos: u64) -> Self {
        self + chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX))
    }
}

/// Up to `capacity` units at once, one more earned every `per_unit`.
///
/// What does not fit is refused, not queued: media senders adapt to loss, a client
/// whose request went unanswered sends it again, and a person is told to wait.
#[derive(Debug, Clone)]
pub struct TokenBucket<T = Instant> {
    capacity: u64,
    per_unit_nanos: u64,
    tokens: u64,
    at: T,
}

impl<T: Moment> TokenBucket<T> {
    /// `capacity` at once (full now), refilled one unit every `per_unit`.
    pub fn new(capacity: u64, per_unit: Duration, now: T) -> Self {
        Self {
            capacity,
            per_unit_nanos: u64::try_from(per_unit.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
            tokens: capacity,
            at: now,
        }
    }

    /// `rate` units a second, with one second of burst.
    pub fn per_second(rate: u64, now: T) -> Self {
        Self::new(rate, Self::period(rate), now)
    }

    fn period(rate: u64) -> Duration {
        Duration::from_nanos(1_000_000_000 / rate.max(1))
    }

    fn refill(&mut self, now: T) {
        let earned = now.nanos_since(self.at) / u128::from(self.per_unit_nanos);
        if earned == 0 {
            // Not a whole unit yet: the time is kept, so frequent callers still earn.
            return;
        }
        let earned = u64::try_from(earned).unwrap_or(u64::MAX);
        self.tokens = self.tokens.saturating_add(earned).min(self.capacity);
        self.at = if self.tokens == self.capacity {
            now
        } else {
            // Only the time the earned units took is spent; the rest counts towards
            // the next one.
            self.at.later_by(earned.saturating_mul(self.per_unit_nanos))
        };
    }

    /// Takes `units` if they fit now.
    pub fn take(&mut self, units: usize, now: T) -> bool {
        self.refill(now);
        let units = u64::try_from(units).unwrap_or(u64::MAX);
        if units <= self.tokens {
            self.tokens -= units;
            true
        } else {
            false
        }
    }

    /// Whether the whole allowance is back: the owner has been quiet for a while.
    pub fn is_full(&mut self, now: T) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }

    /// From now on `rate` units a second with a second of burst, and the extra burst at
    /// once (never lowers a bucket).
    pub fn raise_to(&mut self, rate: u64, now: T) {
        if rate > self.capacity {
            self.refill(now);
            self.tokens += rate - self.capacity;
            self.capacity = rate;
            self.per_unit_nanos = u64::try_from(Self::period(rate).as_nanos())
                .unwrap_or(u64::MAX)
                .max(1);
        }
    }

    /// How long until one more unit can be taken (zero when one can now).
    pub fn wait(&mut self, now: T) -> Duration {
        self.refill(now);
        if self.tokens > 0 {
            return Duration::ZERO;
        }
        let into = u64::try_from(now.nanos_since(self.at)).unwrap_or(u64::MAX);
        Duration::from_nanos(self.per_unit_nanos.saturating_sub(into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_a_rate_with_a_second_of_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::per_second(10_000, t0);
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
        let mut b = TokenBucket::per_second(64, t0);
        // Asked every millisecond for ten seconds: a unit takes 15.6 ms to earn.
        let taken = (0..10_000)
            .filter(|ms| b.take(1, t0 + Duration::from_millis(*ms)))
            .count();
        assert!((64 + 630..=64 + 640).contains(&taken), "{taken}");
    }

    #[test]
    fn a_burst_and_a_slow_refill_count_in_the_clock_it_is_given() {
        let t0 = Utc::now();
        let mut b = TokenBucket::new(10, Duration::from_secs(20), t0);
        let taken = (0..1000)
            .filter(|n| b.take(1, t0 + chrono::Duration::milliseconds(*n)))
            .count();
        assert_eq!(taken, 10, "the burst, then nothing within the second");
        let later = t0 + chrono::Duration::seconds(61);
        assert_eq!(
            b.wait(t0 + chrono::Duration::seconds(5)),
            Duration::from_secs(15)
        );
        assert_eq!(
            (0..10).filter(|_| b.take(1, later)).count(),
            3,
            "three a minute"
        );
        assert!(!b.is_full(later));
    }

    #[test]
    fn raising_a_bucket_gives_the_new_burst_at_once() {
        let t0 = Instant::now();
        let mut b = TokenBucket::per_second(4, t0);
        assert!(b.take(4, t0));
        b.raise_to(16, t0);
        assert!(b.take(12, t0), "the extra twelve at once");
        assert!(!b.take(1, t0));
        b.raise_to(8, t0);
        assert!(b.take(16, t0 + Duration::from_secs(1)), "never lowered");
    }
}
