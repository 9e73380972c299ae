//! The outbox worker: every few seconds (and at once when something is queued) it
//! queues the reminders whose time has come, then writes and sends each due message,
//! one at a time, through the [`Notifier`]. A message is marked sent only after the
//! other side accepted it; a failure that may pass is tried again with growing waits
//! for up to a day; a refusal is kept for staff to see on the visit's page.
//!
//! The log says only how each message went (its number, kind and state): never an
//! address, a body, a link or the server's words (which can quote the address).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use super::compose::{self, Context, Skip};
use super::{GIVE_UP_AFTER, Notifier, SendError, backoff};
use crate::clock::Clock;
use crate::error::Result;
use crate::storage::{Db, Due};

/// How often the worker looks without being woken: reminders fall due by the clock.
const LOOK_EVERY: StdDuration = StdDuration::from_secs(2);
/// Messages read from the database at once.
const BATCH: usize = 25;

/// What the worker needs besides the database.
pub struct Outbox<N> {
    pub db: Db,
    pub notifier: N,
    pub clock: Arc<dyn Clock>,
    pub public_url: String,
    /// The from address (the calendar entries' organizer).
    pub from: String,
    pub metrics: crate::metrics::Metrics,
}

impl<N: Notifier> Outbox<N> {
    /// Runs until the task is dropped.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "outbox: a round failed; trying again shortly");
            }
            tokio::select! {
                () = self.db.message_queued() => {}
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }

    /// One round: plan the reminders that are due, then send everything due.
    pub async fn step(&self) -> Result<usize> {
        let now = self.clock.now();
        let facility = self.db.facility().await?;
        self.db.plan_reminders(facility.clone(), now).await?;
        let mut handled = 0;
        loop {
            let due = self.db.due_messages(now, BATCH).await?;
            if due.is_empty() {
                return Ok(handled);
            }
            for message in due {
                let cx = Context {
                    facility: &facility,
                    public_url: &self.public_url,
                    organizer: &self.from,
                    now: self.clock.now(),
                };
                self.handle(message, &cx).await?;
                handled += 1;
            }
        }
    }

    async fn handle(&self, due: Due, cx: &Context<'_>) -> Result<()> {
        let id = due.message.id;
        let kind = due.message.kind.as_str();
        let Some(recipient) = &due.recipient else {
            self.db.message_dropped(id, "no_address").await?;
            return self.note(id, kind, "dropped");
        };
        let link = recipient
            .link_sealed
            .as_deref()
            .and_then(|sealed| self.db.open_link(&recipient.guest_id, sealed));
        let outgoing = match compose::write(&due, recipient, link.as_deref(), cx) {
            Ok(outgoing) => outgoing,
            Err(Skip::Drop(why)) => {
                self.db.message_dropped(id, why).await?;
                return self.note(id, kind, "dropped");
            }
            Err(Skip::Fail(why)) => {
                self.db.message_failed(id, why.to_owned()).await?;
                return self.note(id, kind, "failed");
            }
        };
        match self.notifier.send(&outgoing).await {
            Ok(()) => {
                self.db.message_sent(id, self.clock.now()).await?;
                self.note(id, kind, "sent")
            }
            Err(SendError::Permanent(reason)) => {
                self.db.message_failed(id, reason).await?;
                self.note(id, kind, "failed")
            }
            Err(SendError::Transient(reason)) => {
                let now = self.clock.now();
                if given_up(due.message.created_at, now) {
                    self.db
                        .message_failed(id, format!("gave up after a day: {reason}"))
                        .await?;
                    self.note(id, kind, "failed")
                } else {
                    let next = now + backoff(due.message.attempts);
                    self.db.message_retry(id, next, reason).await?;
                    self.note(id, kind, "retry")
                }
            }
        }
    }

    fn note(&self, id: i64, kind: &str, state: &'static str) -> Result<()> {
        tracing::info!(message = id, kind, state, "outbox");
        self.metrics.message(state);
        Ok(())
    }
}

/// Whether a message first queued at `queued` has been failing for too long.
fn given_up(queued: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - queued >= GIVE_UP_AFTER
}
