use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::audit::{Audit, Lock};
use super::{Db, name_of, ts};
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
        captions: r.get(4)?,
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
        self.audited(now, Lock::Immediate, move |tx| {
            if !duplicate_confirmed {
                let listed = {
                    let mut stmt = tx.prepare(
                        "SELECT id, name, room, archived_at, captions FROM residents WHERE archived_at IS NULL",
                    )?;
                    let rows = stmt.query_map([], resident_from_row)?;
                    rows.collect::<rusqlite::Result<Vec<Resident>>>()?
                };
                if let Some(twin) = residents::possible_duplicate(&input, &listed) {
                    return Ok((Addition::PossibleDuplicate(twin.clone()), None));
                }
            }
            let id = tokens::new_id();
            tx.execute(
                "INSERT INTO residents (id, name, room, created_at, captions) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, input.name, input.room, ts(now), input.captions],
            )?;
            Ok((
                Addition::Added(id),
                Some(Audit::new(&actor, "resident_added", &input.name)),
            ))
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
        self.audited(now, Lock::Deferred, move |tx| {
            let n = tx.execute(
                "UPDATE residents SET name = ?2, room = ?3, captions = ?4 WHERE id = ?1",
                params![id, input.name, input.room, input.captions],
            )?;
            if n == 0 {
                return Err(Error::NotFound);
            }
            Ok((
                (),
                Some(Audit::new(&actor, "resident_changed", &input.name)),
            ))
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
        self.audited(now, Lock::Deferred, move |tx| {
            let name = name_of(tx, "residents", &id)?;
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
            Ok(((), Some(Audit::new(&actor, action, &name))))
        })
        .await
    }

    /// All residents, by room then name; archived ones only when asked for.
    pub async fn residents(&self, include_archived: bool) -> Result<Vec<Resident>> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, room, archived_at, captions FROM residents
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
                "SELECT id, name, room, archived_at, captions FROM residents WHERE id = ?1",
                [id],
                resident_from_row,
            )
            .optional()?
            .ok_or(Error::NotFound)
        })
        .await
    }
}
