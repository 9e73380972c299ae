use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::audit::{Audit, Lock};
use super::{Db, name_of, opt_from_ts, ts};
use crate::devices::{Device, DeviceKind, PAIRING_VALID_FOR};
use crate::error::{Error, Result};
use crate::staff::Actor;
use crate::tokens::{self, NewToken};

pub(super) const DEVICE_COLUMNS: &str = "id, name, kind, pairing_expires_at, paired_at, revoked_at, last_seen_at, volume_percent, health";

pub(super) fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let kind: String = r.get(2)?;
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: DeviceKind::parse(&kind).unwrap_or(DeviceKind::Ward),
        pairing_expires_at: opt_from_ts(r.get(3)?),
        paired_at: opt_from_ts(r.get(4)?),
        revoked_at: opt_from_ts(r.get(5)?),
        last_seen_at: opt_from_ts(r.get(6)?),
        volume_percent: r.get(7)?,
        // Written only from a checked report; anything unreadable counts as none.
        health: r
            .get::<_, Option<String>>(8)?
            .and_then(|json| serde_json::from_str(&json).ok()),
    })
}

/// A device just added or given a new code. The plain code lives only in memory
/// (`devices::UnusedCodes`) until it is used or replaced.
#[derive(Debug, Clone)]
pub struct PairingCode {
    pub device_id: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

impl Db {
    pub async fn add_device(
        &self,
        name: String,
        kind: DeviceKind,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PairingCode> {
        let actor = actor.label.clone();
        self.audited(now, Lock::Deferred, move |tx| {
            let id = tokens::new_id();
            let code = tokens::pairing_code();
            let expires_at = now + PAIRING_VALID_FOR;
            tx.execute(
                "INSERT INTO devices (id, name, kind, pairing_code_hash, pairing_expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, name, kind.as_str(), code.hash, ts(expires_at), ts(now)],
            )?;
            Ok((
                PairingCode { device_id: id, code: code.plain, expires_at },
                Some(Audit::new(&actor, "device_added", &name)),
            ))
        })
        .await
    }

    /// A fresh pairing code for a device, e.g. a new tablet replacing a broken one. The
    /// old device token stops working.
    pub async fn renew_pairing_code(
        &self,
        id: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PairingCode> {
        let actor = actor.label.clone();
        self.audited(now, Lock::Deferred, move |tx| {
            let code = tokens::pairing_code();
            let expires_at = now + PAIRING_VALID_FOR;
            let name = name_of(tx, "devices", &id)?;
            tx.execute(
                "UPDATE devices SET pairing_code_hash = ?2, pairing_expires_at = ?3, token_hash = NULL,
                   paired_at = NULL, revoked_at = NULL WHERE id = ?1",
                params![id, code.hash, ts(expires_at)],
            )?;
            Ok((
                PairingCode { device_id: id, code: code.plain, expires_at },
                Some(Audit::new(&actor, "device_code_renewed", &name)),
            ))
        })
        .await
    }

    pub async fn revoke_device(&self, id: String, actor: &Actor, now: DateTime<Utc>) -> Result<()> {
        let actor = actor.label.clone();
        self.audited(now, Lock::Deferred, move |tx| {
            let name = name_of(tx, "devices", &id)?;
            tx.execute(
                "UPDATE devices SET revoked_at = ?2, token_hash = NULL, pairing_code_hash = NULL WHERE id = ?1",
                params![id, ts(now)],
            )?;
            Ok((
                (),
                Some(Audit::new(&actor, "device_revoked", &name)),
            ))
        })
        .await
    }

    /// Trades a valid, unexpired pairing code for a device token (once).
    pub async fn pair_device(&self, code: String, now: DateTime<Utc>) -> Result<(Device, String)> {
        self.audited(now, Lock::Immediate, move |tx| {
            let hash = tokens::hash(&tokens::normalize_pairing_code(&code));
            let device = tx
                .query_row(
                    &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE pairing_code_hash = ?1 AND revoked_at IS NULL AND pairing_expires_at > ?2"),
                    params![hash, ts(now)],
                    device_from_row,
                )
                .optional()?
                .ok_or(Error::BadRequest("invalid_pairing_code"))?;
            let token: NewToken = tokens::generate();
            tx.execute(
                "UPDATE devices SET token_hash = ?2, paired_at = ?3, pairing_code_hash = NULL, pairing_expires_at = NULL WHERE id = ?1",
                params![device.id, token.hash, ts(now)],
            )?;
            let audit = Audit::new(super::actor::DEVICE, "device_paired", &device.name);
            Ok((
                (device, token.plain),
                Some(audit),
            ))
        })
        .await
    }

    /// Keeps a device's latest health report; it was also seen now.
    pub async fn record_health(
        &self,
        id: String,
        health: crate::devices::Health,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let json = serde_json::to_string(&health).map_err(anyhow::Error::from)?;
        self.call(move |c| {
            c.execute(
                "UPDATE devices SET health = ?2, last_seen_at = ?3 WHERE id = ?1",
                params![id, json, ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY revoked_at IS NOT NULL, kind, name"
            ))?;
            let rows = stmt.query_map([], device_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    pub async fn device(&self, id: String) -> Result<Device> {
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [id],
                device_from_row,
            )
            .optional()?
            .ok_or(Error::NotFound)
        })
        .await
    }

    /// The device a token belongs to, if it is paired and not revoked.
    pub async fn device_by_token(&self, token: String) -> Result<Option<Device>> {
        if !tokens::looks_valid(&token) {
            return Ok(None);
        }
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL"),
                [tokens::hash(&token)],
                device_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// Stores a ward tablet's volume (already checked by `devices::parse_volume`).
    pub async fn set_device_volume(
        &self,
        id: String,
        percent: u16,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = actor.label.clone();
        self.audited(now, Lock::Deferred, move |tx| {
            let name = name_of(tx, "devices", &id)?;
            tx.execute(
                "UPDATE devices SET volume_percent = ?2 WHERE id = ?1",
                params![id, percent],
            )?;
            Ok((
                (),
                Some(Audit::new(
                    &actor,
                    "device_volume",
                    format!("{name}: {percent}%"),
                )),
            ))
        })
        .await
    }

    pub async fn touch_device(&self, id: String, now: DateTime<Utc>) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
                params![id, ts(now)],
            )?;
            Ok(())
        })
        .await
    }
}
