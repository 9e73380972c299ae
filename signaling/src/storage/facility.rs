use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};

use super::Db;
use crate::error::Result;
use crate::facility::Facility;
use crate::i18n::Lang;

impl Db {
    /// The facility's settings; defaults until an administrator saves them.
    pub async fn facility(&self) -> Result<Facility> {
        self.call(|c| load_facility(c)).await
    }

    pub async fn save_facility(&self, f: Facility) -> Result<()> {
        self.call(move |c| {
            let hours = serde_json::to_string(&f.visiting_hours).context("encoding hours")?;
            c.execute(
                "INSERT INTO facility (id, name, time_zone, language, slot_minutes, buffer_minutes, visiting_hours, phone, lobby_names,
                   reminder_day_before, reminder_before_minutes, retention_days)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO UPDATE SET name = ?1, time_zone = ?2, language = ?3,
                   slot_minutes = ?4, buffer_minutes = ?5, visiting_hours = ?6, phone = ?7, lobby_names = ?8,
                   reminder_day_before = ?9, reminder_before_minutes = ?10, retention_days = ?11",
                params![f.name.trim(), f.time_zone, f.language.code(), f.slot_minutes, f.buffer_minutes, hours, f.phone.trim(), f.lobby_names.as_str(),
                        f.reminder_day_before, f.reminder_before_minutes, f.retention_days],
            )?;
            Ok(())
        })
        .await
    }
}

pub(super) fn load_facility(c: &Connection) -> Result<Facility> {
    let row = c
        .query_row(
            "SELECT name, time_zone, language, slot_minutes, buffer_minutes, visiting_hours, phone, lobby_names,
               reminder_day_before, reminder_before_minutes, retention_days FROM facility WHERE id = 1",
            [],
            |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, u32>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                    ),
                    (
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<u32>>(9)?,
                        r.get::<_, u32>(10)?,
                    ),
                ))
            },
        )
        .optional()?;
    let Some((
        (name, time_zone, language, slot_minutes, buffer_minutes, hours, phone, lobby),
        (reminder_day_before, reminder_before_minutes, retention_days),
    )) = row
    else {
        return Ok(Facility::default());
    };
    Ok(Facility {
        name,
        phone,
        time_zone,
        language: Lang::parse(&language).unwrap_or_default(),
        slot_minutes,
        buffer_minutes,
        visiting_hours: serde_json::from_str(&hours).context("reading visiting hours")?,
        lobby_names: crate::facility::LobbyNames::parse(&lobby).unwrap_or_default(),
        reminder_day_before,
        reminder_before_minutes,
        retention_days,
    })
}
