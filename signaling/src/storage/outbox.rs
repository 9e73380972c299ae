//! The outbox: messages to families waiting to be sent (src/messages). Rows are
//! written inside the transaction of the change that causes them (storage/visits.rs
//! calls [`enqueue`]); the worker reads what is due and records how each try went.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::visits::load_visit;
use super::{Db, from_ts, opt_from_ts, ts};
use crate::error::{Error, Result};
use crate::facility::Facility;
use crate::i18n::Lang;
use crate::messages::{Kind, State};
use crate::visits::Visit;

/// One message of the outbox, as the visit's page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: i64,
    pub visit_id: String,
    pub guest_id: String,
    pub kind: Kind,
    pub version: i64,
    pub state: State,
    pub due_at: DateTime<Utc>,
    pub attempts: u32,
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub resends: u32,
    /// When it was queued (or "Send again" was pressed): retries stop a day after.
    pub created_at: DateTime<Utc>,
    /// A "changed" message: when the visit started before the change.
    pub previous_start: Option<DateTime<Utc>>,
}

const MESSAGE_COLUMNS: &str = "id, visit_id, guest_id, kind, version, state, due_at, attempts, error, sent_at, resends, created_at, previous_start";

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let kind: String = r.get(3)?;
    let state: String = r.get(5)?;
    Ok(Message {
        id: r.get(0)?,
        visit_id: r.get(1)?,
        guest_id: r.get(2)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Invitation),
        version: r.get(4)?,
        state: State::parse(&state).unwrap_or(State::Dropped),
        due_at: from_ts(r.get(6)?),
        attempts: r.get(7)?,
        error: r.get(8)?,
        sent_at: opt_from_ts(r.get(9)?),
        resends: r.get(10)?,
        created_at: from_ts(r.get(11)?),
        previous_start: opt_from_ts(r.get(12)?),
    })
}

/// Who a message goes to: the guest's name, address, language and (sealed) link.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub guest_id: String,
    pub name: String,
    pub email: String,
    pub lang: Option<Lang>,
    pub link_sealed: Option<Vec<u8>>,
}

/// A message due now, with what writing it needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub message: Message,
    pub visit: Visit,
    /// `None` once the guest has no address any more (removed with a new link, or
    /// deleted after the visit).
    pub recipient: Option<Recipient>,
}

/// Queues a message, due at once, unless the same (visit, guest, kind, version) is
/// already there. `previous_start`: a "changed" message's old time.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    visit_id: &str,
    guest_id: &str,
    kind: Kind,
    version: i64,
    previous_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let added = tx.execute(
        "INSERT OR IGNORE INTO outbox (visit_id, guest_id, kind, version, previous_start, due_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![visit_id, guest_id, kind.as_str(), version, previous_start.map(ts), ts(now)],
    )?;
    Ok(added == 1)
}

/// Drops what a visit (or one guest of it) still has queued: after a cancellation, or
/// a new link that makes the old messages moot.
pub(super) fn drop_queued(
    tx: &Transaction<'_>,
    visit_id: &str,
    guest_id: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'dropped' WHERE visit_id = ?1 AND state = 'queued'
           AND (?2 IS NULL OR guest_id = ?2)",
        params![visit_id, guest_id],
    )?;
    Ok(())
}

/// Whether the guest's invitation has gone out (or is failing): only then do they
/// need to hear of a change or a cancellation. A queued invitation, written when it
/// is sent, already carries the visit as it stands.
pub(super) fn invitation_went_out(tx: &Transaction<'_>, guest_id: &str) -> Result<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE guest_id = ?1 AND kind = 'invitation'
           AND state IN ('sent', 'failed'))",
        [guest_id],
        |r| r.get(0),
    )?)
}

/// The guests of a visit who have an address.
pub(super) fn guests_with_email(c: &Connection, visit_id: &str) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT id FROM guests WHERE visit_id = ?1 AND email IS NOT NULL ORDER BY position",
    )?;
    let rows = stmt.query_map([visit_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Tells every guest with an address who has had their invitation of a change to the
/// visit (`Changed`, from `previous_start`; `Cancelled`). Version: the visit's new
/// sequence.
pub(super) fn tell_those_invited(
    tx: &Transaction<'_>,
    visit_id: &str,
    kind: Kind,
    sequence: u32,
    previous_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    for guest_id in guests_with_email(tx, visit_id)? {
        if invitation_went_out(tx, &guest_id)? {
            enqueue(
                tx,
                visit_id,
                &guest_id,
                kind,
                i64::from(sequence),
                previous_start,
                now,
            )?;
        }
    }
    Ok(())
}

fn recipient(c: &Connection, guest_id: &str) -> Result<Option<Recipient>> {
    Ok(c.query_row(
        "SELECT id, name, email, lang, link_sealed FROM guests WHERE id = ?1 AND email IS NOT NULL",
        [guest_id],
        |r| {
            Ok(Recipient {
                guest_id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                lang: r.get::<_, Option<String>>(3)?.and_then(|l| Lang::parse(&l)),
                link_sealed: r.get(4)?,
            })
        },
    )
    .optional()?)
}

impl Db {
    /// The link sealed for a guest's messages, or `None` when it cannot be opened (a
    /// database restored without its key file).
    pub fn open_link(&self, guest_id: &str, sealed: &[u8]) -> Option<String> {
        self.seal.open_for(guest_id, sealed)
    }

    /// Wakes the worker: something was queued.
    pub(crate) fn announce_message(&self) {
        self.messages_queued.notify_one();
    }

    /// Completes when something was queued since the worker last looked.
    pub async fn message_queued(&self) {
        self.messages_queued.notified().await;
    }

    /// Queues the reminders whose time has come (the day before, and shortly before
    /// the start), each once: its key is the visit's sequence, so a visit moved gets
    /// reminders for its new time, but only those due after the move. Returns how many
    /// were queued.
    pub async fn plan_reminders(&self, facility: Facility, now: DateTime<Utc>) -> Result<usize> {
        let queued = self
            .call(move |c| {
                let tx = c.transaction()?;
                let mut planned = 0;
                // Anything due by now is for a visit at most a day and a half ahead.
                let horizon = now + chrono::Duration::hours(48);
                let visits: Vec<(String, DateTime<Utc>, DateTime<Utc>, u32)> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, starts_at, COALESCE(timed_at, created_at), sequence FROM visits
                         WHERE cancelled_at IS NULL AND ended_at IS NULL
                           AND starts_at > ?1 AND starts_at <= ?2
                           AND EXISTS (SELECT 1 FROM guests g WHERE g.visit_id = visits.id AND g.email IS NOT NULL)",
                    )?;
                    let rows = stmt.query_map(params![ts(now), ts(horizon)], |r| {
                        Ok((r.get(0)?, from_ts(r.get(1)?), from_ts(r.get(2)?), r.get(3)?))
                    })?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for (visit_id, starts_at, timed_at, sequence) in visits {
                    let reminders = [
                        (Kind::ReminderDay, facility.reminder_day_before_at(starts_at)),
                        (Kind::ReminderSoon, facility.reminder_soon_at(starts_at)),
                    ];
                    for (kind, due) in reminders {
                        let Some(due) = due else { continue };
                        if !crate::messages::reminder_wanted(due, timed_at, now, starts_at) {
                            continue;
                        }
                        for guest_id in guests_with_email(&tx, &visit_id)? {
                            if enqueue(&tx, &visit_id, &guest_id, kind, i64::from(sequence), None, now)? {
                                planned += 1;
                            }
                        }
                    }
                }
                tx.commit()?;
                Ok(planned)
            })
            .await?;
        if queued > 0 {
            self.announce_message();
        }
        Ok(queued)
    }

    /// Messages due at `now`, oldest first, at most `limit`.
    pub async fn due_messages(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>> {
        self.call(move |c| {
            let messages: Vec<Message> = {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE state = 'queued' AND due_at <= ?1
                     ORDER BY due_at, id LIMIT ?2"
                ))?;
                let rows = stmt.query_map(
                    params![ts(now), i64::try_from(limit).unwrap_or(i64::MAX)],
                    message_from_row,
                )?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut due = Vec::with_capacity(messages.len());
            for message in messages {
                let visit = load_visit(c, &message.visit_id)?;
                let recipient = recipient(c, &message.guest_id)?;
                due.push(Due {
                    message,
                    visit,
                    recipient,
                });
            }
            Ok(due)
        })
        .await
    }

    /// The mail server accepted message `id`.
    pub async fn message_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.set_message("state = 'sent', sent_at = ?2, error = NULL", (id, ts(now)))
            .await
    }

    /// Message `id` failed for a reason that may pass: tried again at `next`.
    pub async fn message_retry(&self, id: i64, next: DateTime<Utc>, error: String) -> Result<()> {
        self.set_message(
            "attempts = attempts + 1, due_at = ?2, error = ?3",
            (id, ts(next), error),
        )
        .await
    }

    /// Message `id` will not go: refused for good, or failing for too long.
    pub async fn message_failed(&self, id: i64, error: String) -> Result<()> {
        self.set_message(
            "state = 'failed', attempts = attempts + 1, error = ?2",
            (id, error),
        )
        .await
    }

    /// Message `id` is no longer wanted (the visit moved on); `why` is kept for staff.
    pub async fn message_dropped(&self, id: i64, why: &'static str) -> Result<()> {
        self.set_message("state = 'dropped', error = ?2", (id, why))
            .await
    }

    /// Updates one outbox row: `set` names `?1` for its id.
    async fn set_message<P>(&self, set: &'static str, values: P) -> Result<()>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.call(move |c| {
            c.execute(&format!("UPDATE outbox SET {set} WHERE id = ?1"), values)?;
            Ok(())
        })
        .await
    }

    /// Every message of a visit, in the order they were queued.
    pub async fn messages_of_visit(&self, visit_id: String) -> Result<Vec<Message>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE visit_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([visit_id], message_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// "Send again" for a message that failed or did not arrive: queued at once, with
    /// its tries counted afresh. Only a failed or sent message, of a visit not over.
    pub async fn send_again(
        &self,
        visit_id: String,
        message_id: i64,
        actor: &crate::staff::Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.change_visit(
            visit_id,
            actor,
            crate::visits::Change::ResendMessage,
            now,
            move |tx, visit| {
                let changed = tx.execute(
                    "UPDATE outbox SET state = 'queued', due_at = ?3, attempts = 0, error = NULL,
                       resends = resends + 1, created_at = ?3
                     WHERE id = ?1 AND visit_id = ?2 AND state IN ('failed', 'sent')",
                    params![message_id, visit.id, ts(now)],
                )?;
                if changed == 0 {
                    return Err(Error::NotFound);
                }
                Ok(((), message_id.to_string()))
            },
        )
        .await
    }

    /// When `retention_days` have passed since a visit, its guests' names and
    /// addresses go (and its messages with them); links sealed for messages go as soon
    /// as the visit is over. Returns how many visits were forgotten.
    pub async fn forget_past_guests(
        &self,
        facility: Facility,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let before = now - chrono::Duration::days(i64::from(facility.retention_days));
        self.call(move |c| {
            // Asked first, read-only: the scheduler asks every second, and nearly always
            // there is nothing to do.
            let over = "SELECT id FROM visits WHERE cancelled_at IS NOT NULL OR ended_at IS NOT NULL OR ends_at <= ?1";
            let old = |until: &str| {
                format!(
                    "SELECT id FROM visits WHERE forgotten_at IS NULL
                       AND MIN(ends_at, COALESCE(ended_at, ends_at), COALESCE(cancelled_at, ends_at)) <= {until}"
                )
            };
            let anything: bool = c.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM guests WHERE link_sealed IS NOT NULL AND visit_id IN ({over}))
                         OR EXISTS ({})",
                    old("?2")
                ),
                params![ts(now), ts(before)],
                |r| r.get(0),
            )?;
            if !anything {
                return Ok(0);
            }
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE guests SET link_sealed = NULL WHERE link_sealed IS NOT NULL AND visit_id IN
                   (SELECT id FROM visits WHERE cancelled_at IS NOT NULL OR ended_at IS NOT NULL OR ends_at <= ?1)",
                [ts(now)],
            )?;
            tx.execute(
                &format!("DELETE FROM outbox WHERE visit_id IN ({})", old("?1")),
                [ts(before)],
            )?;
            tx.execute(
                &format!(
                    "UPDATE guests SET name = '', email = NULL, lang = NULL WHERE visit_id IN ({})",
                    old("?1")
                ),
                [ts(before)],
            )?;
            let forgotten = tx.execute(
                &format!("UPDATE visits SET forgotten_at = ?2 WHERE id IN ({})", old("?1")),
                params![ts(before), ts(now)],
            )?;
            tx.commit()?;
            Ok(forgotten)
        })
        .await
    }
}
