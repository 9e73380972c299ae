use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Db, audit, name_of, ts};
use crate::error::{Error, Result};
use crate::residents::{Resident, ResidentInput};
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
    pub async fn add_resident(
        &self,
        input: ResidentInput,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let actor = actor.label.clone();
        self.call(move |c| {
            let id = tokens::new_id();
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO residents (id, name, room, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, input.name, input.room, ts(now)],
            )?;
            audit::record(&tx, now, &actor, "resident_added", &input.name)?;
            tx.commit()?;
            Ok(id)
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
