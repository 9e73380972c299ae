use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

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
                        EXISTS (SELECT 1 FROM devices),
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
