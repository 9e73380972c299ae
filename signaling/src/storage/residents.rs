use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Db, audit, name_of, ts};
use crate::error::{Error, Result};
use crate::residents::{self, Addition, Resident, ResidentInput};
use crate::staff::Actor;
use crate::tokens;

fn resident_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resident> {
    Ok(Resident {
        id: r.get(0)?,
        name: r.get(1)?,
        room: r.get(2)?,
        archived: r.get::<_, Option<i64>>(3)?.is_some(),
    })
}

impl Db {
    /// Adds a resident, unless one on the list is likely the same person
    /// ([`residents::possible_duplicate`]) and staff have not confirmed a second one.
    /// Check and insert are one `BEGIN IMMEDIATE` transaction, so two racing requests
    /// (a double click) cannot both pass the check.
    pub async fn add_resident(
        &self,
        input: ResidentInput,
        duplicate_confirmed: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Addition> {
        let actor = actor.label.clone();
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !duplicate_confirmed {
                let listed = {
                    let mut stmt = tx.prepare(
                        "SELECT id, name, room, archived_at FROM residents WHERE archived_at IS NULL",
                    )?;
                    let rows = stmt.query_map([], resident_from_row)?;
                    rows.collect::<rusqlite::Result<Vec<Resident>>>()?
                };
                if let Some(twin) = residents::possible_duplicate(&input, &listed) {
                    return Ok(Addition::PossibleDuplicate(twin.clone()));
                }
            }
            let id = tokens::new_id();
            tx.execute(
                "INSERT INTO residents (id, name, room, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, input.name, input.room, ts(now)],
            )?;
            audit::record(&tx, now, &actor, "resident_added", &input.name)?;
            tx.commit()?;
            Ok(Addition::Added(id))
        })
        .await
    }

    pub async fn update_resident(
        &self,
        id: String,
        input: ResidentInput,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = actor.label.clone();
        self.call(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE residents SET name = ?2, room = ?3 WHERE id = ?1",
                params![id, input.name, input.room],
            )?;
            if n == 0 {
                return Err(Error::NotFound);
            }
            audit::record(&tx, now, &actor, "resident_changed", &input.name)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Archives (or restores) a resident: kept for history, no longer offered for booking.
    pub async fn set_resident_archived(
        &self,
        id: String,
        archived: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = actor.label.clone();
        self.call(move |c| {
            let tx = c.transaction()?;
            let name = name_of(&tx, "residents", &id)?;
            let at = archived.then_some(ts(now));
            tx.execute(
                "UPDATE residents SET archived_at = ?2 WHERE id = ?1",
                params![id, at],
            )?;
            let action = if archived {
                "resident_archived"
            } else {
                "resident_restored"
            };
            audit::record(&tx, now, &actor, action, &name)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// All residents, by room then name; archived ones only when asked for.
    pub async fn residents(&self, include_archived: bool) -> Result<Vec<Resident>> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, room, archived_at FROM residents
                 WHERE ?1 OR archived_at IS NULL ORDER BY archived_at IS NOT NULL, room, name",
            )?;
            let rows = stmt.query_map([include_archived], resident_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    pub async fn resident(&self, id: String) -> Result<Resident> {
        self.call(move |c| {
            c.query_row(
                "SELECT id, name, room, archived_at FROM residents WHERE id = ?1",
                [id],
                resident_from_row,
            )
            .optional()?
            .ok_or(Error::NotFound)
        })
        .await
    }
}
