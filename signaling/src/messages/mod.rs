//! Messages to families: the invitation, reminders, a changed time and a cancellation,
//! sent by the home itself (today by e-mail; the [`Notifier`] seam takes another channel
//! such as SMS or LINE as one more module).
//!
//! Every message is a row in the database's outbox, written in the same transaction
//! as the change that causes it (storage/outbox.rs), keyed by (visit, guest, kind,
//! version) so nothing is queued twice. One worker ([`outbox::run`]) writes each due
//! message from the visit as it stands, sends it, and marks it sent only once the mail
//! server has accepted it: a crash at any point loses nothing, and can repeat only a
//! message accepted in the instant before the crash.

pub mod compose;
pub mod outbox;
pub mod seal;
pub mod smtp;

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

pub use compose::Kind;

/// A message that failed for a reason that may pass (a 4xx answer, the network) is
/// tried again after this many minutes, doubling to an hour.
pub fn backoff(attempts: u32) -> Duration {
    Duration::minutes(1i64 << attempts.min(6)).min(Duration::hours(1))
}

/// A message still failing this long after it was first due is given up (and shown to
/// staff as failed).
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// An extension worth an e-mail ("the visit is now until …"): more than this, and only
/// before the visit starts (during it the family is there).
pub const CHANGE_WORTH_TELLING: Duration = Duration::minutes(5);

/// Whether a reminder due at `due` is sent at `now`, for a visit that got its current
/// time at `timed_at`: only once due, only if the visit was booked (or moved) before
/// that moment (booked at that very moment, the invitation itself is the reminder),
/// and only before the visit starts.
pub fn reminder_wanted(
    due: DateTime<Utc>,
    timed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    starts_at: DateTime<Utc>,
) -> bool {
    due <= now && timed_at < due && now < starts_at
}

/// An address as staff see it outside the visit's own page: `t…@example.jp`.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".to_owned(),
    }
}

/// Where a message stands, as the visit's page and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for its time, or for the next try.
    Queued,
    /// Accepted by the mail server.
    Sent,
    /// Given up: refused for good, or failing for a day.
    Failed,
    /// No longer wanted (the visit was cancelled or moved, a new link replaced the
    /// old one): never sent.
    Dropped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [State::Queued, State::Sent, State::Failed, State::Dropped]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One message as written for sending: everything a channel needs, nothing more.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The calendar entry: (`REQUEST` or `CANCEL`, the whole `.ics`).
    pub calendar: Option<(&'static str, String)>,
    /// The visit link's QR code as PNG, shown inline by the HTML part.
    pub qr_png: Option<Vec<u8>>,
    /// The same for every try of one outbox row (so a mail client shows a copy sent
    /// twice after a crash as one message).
    pub message_id: String,
}

/// Why a message did not go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// May pass by itself: tried again later.
    Transient(String),
    /// Will not pass (an unknown mailbox, a refused address): shown to staff.
    Permanent(String),
}

impl SendError {
    pub fn reason(&self) -> &str {
        match self {
            SendError::Transient(r) | SendError::Permanent(r) => r,
        }
    }
}

/// A way to reach families. E-mail is the one built ([`smtp::Mailer`]); SMS or LINE
/// would be another implementation, chosen where the worker starts.
pub trait Notifier: Send + Sync + 'static {
    /// Sends one message; `Ok` only once the other side has accepted it.
    fn send(&self, message: &Outgoing) -> impl Future<Output = Result<(), SendError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::minutes(1));
        assert_eq!(backoff(1), Duration::minutes(2));
        assert_eq!(backoff(5), Duration::minutes(32));
        assert_eq!(backoff(6), Duration::hours(1));
        assert_eq!(backoff(40), Duration::hours(1));
    }

    #[test]
    fn a_reminder_goes_once_due_for_visits_booked_before_it() {
        let t = |m: i64| DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(m);
        // Due at 100, visit at 200.
        assert!(!reminder_wanted(t(100), t(0), t(99), t(200)), "not yet");
        assert!(reminder_wanted(t(100), t(0), t(100), t(200)));
        assert!(
            reminder_wanted(t(100), t(0), t(150), t(200)),
            "late, still before"
        );
        assert!(
            !reminder_wanted(t(100), t(120), t(150), t(200)),
            "booked after it was due"
        );
        assert!(
            !reminder_wanted(t(100), t(0), t(200), t(200)),
            "the visit has begun"
        );
    }

    #[test]
    fn addresses_are_masked_for_lists() {
        assert_eq!(mask("taro@example.jp"), "t…@example.jp");
        assert_eq!(mask("花子@example.jp"), "花…@example.jp");
        assert_eq!(mask("nonsense"), "…");
    }
}
