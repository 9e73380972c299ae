//! Durable state in one SQLite file (`<data>/menkai.sqlite3`): WAL journal, foreign
//! keys on, `synchronous = FULL` so an acknowledged booking survives a power cut.
//!
//! SQL lives here and nowhere else, one file per concept. Connections come from a
//! small pool; every call runs on tokio's blocking threads. Writes that must not race
//! (booking) take SQLite's write lock up front with `BEGIN IMMEDIATE`. Every change
//! staff make is written with its line in the audit list, in one transaction
//! (`Db::audited`).

mod audit;
mod devices;
mod facility;
mod outbox;
mod residents;
mod staff;
mod visits;

pub use audit::{AuditEntry, FirstSteps};
pub use devices::PairingCode;
pub use outbox::{Due, Message, Recipient};
pub use staff::StaffInvite;
pub use visits::{InvitationLink, Invited, NewVisit};

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, TimeZone, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};

pub const DB_FILE: &str = "menkai.sqlite3";

/// Audit-list actors that are not people. Stored as keys (`@…`) and translated when
/// shown, so the list reads in the viewer's language.
pub mod actor {
    pub const FIRST_START: &str = "@first-start";
    pub const COMMAND_LINE: &str = "@command-line";
    pub const DEVICE: &str = "@device";
}

/// Migrations, applied in order; `PRAGMA user_version` records how many ran. Never
/// edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_facility_phone.sql"),
    include_str!("migrations/0003_server_keys.sql"),
    include_str!("migrations/0004_device_volume.sql"),
    include_str!("migrations/0005_first_start_invites.sql"),
    include_str!("migrations/0006_device_health.sql"),
    include_str!("migrations/0007_invitation_checks.sql"),
    include_str!("migrations/0008_lobby_names.sql"),
    include_str!("migrations/0009_messages.sql"),
    include_str!("migrations/0010_captions.sql"),
];

#[derive(Clone)]
pub struct Db {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Signalled after every committed change to a visit, so signaling can act at once
    /// (a cancelled visit ends its call now, not at the next tick).
    visits_changed: std::sync::Arc<tokio::sync::Notify>,
    /// Signalled when a message is queued, so the outbox worker sends it at once.
    messages_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Seals the links messages still need (key outside the database).
    seal: std::sync::Arc<crate::messages::seal::LinkSeal>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

/// Settings every pooled connection needs. The journal mode is not among them: it is
/// stored in the file, set once in `Db::open` before the pool opens its connections
/// (switching it from several new connections at once made them fail with "database
/// is locked", which the pool logged as an error at every first start).
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

impl Db {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up
    /// to date.
    pub fn open(data_dir: &Path) -> anyhow::Result<Db> {
        let was_open = crate::files::private_dir(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        if was_open {
            tracing::warn!(
                dir = %data_dir.display(),
                "the data directory was readable by other users of this machine; it is now \
                 private (0700), but anything they copied from it (the database holds the \
                 server's keys) should be treated as leaked"
            );
        }
        let path = data_dir.join(DB_FILE);
        // SQLite gives its -wal and -shm files the database file's mode: a database
        // created 0600 keeps all three private whatever the umask.
        if !path.exists() {
            crate::files::create_private(&path)
                .with_context(|| format!("creating database {}", path.display()))?;
        }
        for file in [DB_FILE, "menkai.sqlite3-wal", "menkai.sqlite3-shm"] {
            crate::files::private_file(&data_dir.join(file))
                .with_context(|| format!("making {file} private"))?;
        }
        {
            let mut conn = Connection::open(&path)
                .with_context(|| format!("opening database {}", path.display()))?;
            configure(&mut conn)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            migrate(&mut conn)?;
        }
        let manager = SqliteConnectionManager::file(&path).with_init(configure);
        let pool = Pool::builder()
            .max_size(8)
            .build(manager)
            .with_context(|| format!("opening database {}", path.display()))?;
        let seal = crate::messages::seal::LinkSeal::open(data_dir)?;
        let db = Db {
            pool,
            path,
            visits_changed: Default::default(),
            messages_queued: Default::default(),
            seal: std::sync::Arc::new(seal),
        };
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Completes after the next committed change to any visit.
    pub async fn visit_changed(&self) {
        self.visits_changed.notified().await;
    }

    pub(crate) fn announce_visit_change(&self) {
        self.visits_changed.notify_one();
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().context("getting a database connection")?;
            f(&mut conn)
        })
        .await
        .context("database task failed")?
    }

    /// A 32-byte key of the server's own, made randomly on first use and kept.
    pub async fn server_key(&self, name: &'static str) -> Result<[u8; 32]> {
        self.call(move |c| {
            let mut fresh = [0u8; 32];
            rand::Rng::fill_bytes(&mut rand::rng(), &mut fresh);
            c.execute(
                "INSERT OR IGNORE INTO server_keys (name, value) VALUES (?1, ?2)",
                rusqlite::params![name, fresh.to_vec()],
            )?;
            let stored: Vec<u8> = c.query_row(
                "SELECT value FROM server_keys WHERE name = ?1",
                [name],
                |r| r.get(0),
            )?;
            <[u8; 32]>::try_from(stored.as_slice())
                .map_err(|_| Error::Internal(anyhow::anyhow!("server key {name} is damaged")))
        })
        .await
    }

    /// The embedded relay's keys for UTC day `day` and the day before (if it was
    /// made); today's is made on first use. Older ones, and the single key of earlier
    /// versions, are deleted: a copy of the database made from now on mints no
    /// credential for more than two days.
    pub async fn turn_keys(&self, day: i64) -> Result<([u8; 32], Option<[u8; 32]>)> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut fresh = [0u8; 32];
            rand::Rng::fill_bytes(&mut rand::rng(), &mut fresh);
            let name = |d: i64| format!("turn:{d}");
            tx.execute(
                "INSERT OR IGNORE INTO server_keys (name, value) VALUES (?1, ?2)",
                rusqlite::params![name(day), fresh.to_vec()],
            )?;
            tx.execute(
                "DELETE FROM server_keys WHERE (name = 'turn' OR name LIKE 'turn:%') \
                 AND name NOT IN (?1, ?2)",
                rusqlite::params![name(day), name(day - 1)],
            )?;
            let key = |d: i64| -> Result<Option<[u8; 32]>> {
                let stored: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT value FROM server_keys WHERE name = ?1",
                        [name(d)],
                        |r| r.get(0),
                    )
                    .optional()?;
                stored
                    .map(|v| {
                        <[u8; 32]>::try_from(v.as_slice()).map_err(|_| {
                            Error::Internal(anyhow::anyhow!("relay key {d} is damaged"))
                        })
                    })
                    .transpose()
            };
            let today = key(day)?.ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("relay key {day} was not stored"))
            })?;
            let yesterday = key(day - 1)?;
            tx.commit()?;
            Ok((today, yesterday))
        })
        .await
    }

    /// The same, for callers that are not async (command line tools).
    pub fn call_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get().context("getting a database connection")?;
        f(&mut conn)
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(applied).context("negative schema version")?;
    anyhow::ensure!(
        applied <= MIGRATIONS.len(),
        "the database was written by a newer Menkai (schema {applied}, this build knows {})",
        MIGRATIONS.len()
    );
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying migration {}", n + 1))?;
        tx.pragma_update(None, "user_version", (n + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = n + 1, "applied database migration");
    }
    Ok(())
}

/// Takes a consistent copy of a live database into `out` (SQLite's `VACUUM INTO`
/// reads one snapshot, so writes going on meanwhile are either wholly in or out).
pub fn backup(data_dir: &Path, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists(),
        "{} already exists; choose a new file name",
        out.display()
    );
    let db = Db::open(data_dir)?;
    // VACUUM INTO fills an empty file and keeps its mode.
    crate::files::create_private(out).with_context(|| format!("creating {}", out.display()))?;
    let target = out
        .to_str()
        .context("the backup path must be valid UTF-8")?
        .to_owned();
    db.call_blocking(move |conn| {
        conn.execute("VACUUM INTO ?1", [target])
            .context("writing the backup")?;
        Ok(())
    })
    .map_err(|e| {
        // No empty file is left to be mistaken for a backup.
        let _ = std::fs::remove_file(out);
        anyhow::anyhow!("{e}")
    })
}

/// The name of a device or resident, for the audit log; `NotFound` if there is none.
/// `table` is one of this module's tables, never input.
fn name_of(
    tx: &rusqlite::Transaction<'_>,
    table: &'static str,
    id: &str,
) -> crate::error::Result<String> {
    use rusqlite::OptionalExtension;
    tx.query_row(
        &format!("SELECT name FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(crate::error::Error::NotFound)
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

pub(crate) fn opt_from_ts(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.map(from_ts)
}

/// Database errors are internal: logged with context, never shown.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Db::open(dir.path()).unwrap();
        // Opening again applies nothing new.
        let db = Db::open(dir.path()).unwrap();
        db.call_blocking(|c| {
            c.pragma_update(None, "user_version", 99)?;
            Ok(())
        })
        .unwrap();
        let err = Db::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("newer Menkai"), "{err}");
    }
}
