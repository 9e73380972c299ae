use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::{Db, from_ts, ts};
use crate::error::Result;

/// One line of the audit list: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// Records an action inside the caller's transaction, so the record and the change
/// land together or not at all.
pub(super) fn record(
    c: &Connection,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
        params![ts(at), actor, action, detail],
    )?;
    Ok(())
}

/// A change's line in the audit list: who did what (to whom or what).
pub(super) struct Audit {
    actor: String,
    action: &'static str,
    detail: String,
}

impl Audit {
    pub(super) fn new(
        actor: impl Into<String>,
        action: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            actor: actor.into(),
            action,
            detail: detail.into(),
        }
    }
}

/// How a write transaction starts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lock {
    /// At the first write (most changes).
    Deferred,
    /// At once: a check and the write that depends on it cannot race another writer
    /// (a double booking, a duplicate resident, the first administrator).
    Immediate,
}

impl Db {
    /// Runs `change` in one write transaction together with its line in the audit
    /// list: both land, or neither. `change` returns its result and the line (`None`:
    /// nothing changed worth recording, e.g. a duplicate refused).
    pub(super) async fn audited<T, F>(&self, now: DateTime<Utc>, lock: Lock, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<(T, Option<Audit>)> + Send + 'static,
    {
        self.call(move |c| {
            let tx = c.transaction_with_behavior(match lock {
                Lock::Deferred => TransactionBehavior::Deferred,
                Lock::Immediate => TransactionBehavior::Immediate,
            })?;
            let (result, audit) = change(&tx)?;
            if let Some(audit) = audit {
                record(&tx, now, &audit.actor, audit.action, &audit.detail)?;
            }
            tx.commit()?;
            Ok(result)
        })
        .await
    }
}

/// Which of the first steps are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstSteps {
    pub settings: bool,
    pub devices: bool,
    pub residents: bool,
    pub booked: bool,
}

impl FirstSteps {
    pub fn all_done(&self) -> bool {
        self.settings && self.devices && self.residents && self.booked
    }
}

impl Db {
    pub async fn audit(
        &self,
        at: DateTime<Utc>,
        actor: String,
        action: &'static str,
        detail: String,
    ) -> Result<()> {
        self.call(move |c| record(c, at, &actor, action, &detail))
            .await
    }

    /// How far a new installation has got: the first steps Today lists until all are
    /// done (settings saved once, a device, a resident, a visit booked).
    pub async fn first_steps(&self) -> Result<FirstSteps> {
        self.call(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'facility_changed'),
                        EXISTS (SELECT 1 FROM devices WHERE paired_at IS NOT NULL AND revoked_at IS NULL),
                        EXISTS (SELECT 1 FROM residents),
                        EXISTS (SELECT 1 FROM visits)",
                [],
                |r| {
                    Ok(FirstSteps {
                        settings: r.get(0)?,
                        devices: r.get(1)?,
                        residents: r.get(2)?,
                        booked: r.get(3)?,
                    })
                },
            )?)
        })
        .await
    }

    /// The newest entries first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.call(move |c| {
            let mut stmt =
                c.prepare("SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?1")?;
            let rows = stmt.query_map([limit], |r| {
                Ok(AuditEntry {
                    at: from_ts(r.get(0)?),
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
