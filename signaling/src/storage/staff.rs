use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::audit::{Audit, Lock};
use super::{Db, actor, ts};
use crate::error::{Error, FieldErrors, Result};
use crate::staff::{AccountInput, Actor, Role, SESSION_LIFETIME, SETUP_LINK_LIFETIME, StaffMember};
use crate::tokens;

const STAFF_COLUMNS: &str = "id, login, display_name, role, disabled";

/// An invitation still works (`?2` is now): unused, unexpired, and for a first-start
/// link, nobody has an account yet.
const INVITE_USABLE: &str = "used_at IS NULL AND expires_at > ?2 \
    AND (first_start = 0 OR NOT EXISTS (SELECT 1 FROM staff))";

fn insert_invite(
    tx: &rusqlite::Transaction<'_>,
    display_name: &str,
    role: Role,
    first_start: bool,
    now: DateTime<Utc>,
) -> rusqlite::Result<String> {
    let token = tokens::generate();
    tx.execute(
        "INSERT INTO staff_invites (token_hash, display_name, role, expires_at, first_start) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token.hash, display_name, role.as_str(), ts(now + SETUP_LINK_LIFETIME), first_start],
    )?;
    Ok(token.plain)
}

fn staff_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StaffMember> {
    let role: String = r.get(3)?;
    Ok(StaffMember {
        id: r.get(0)?,
        login: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Staff),
        disabled: r.get(4)?,
    })
}

/// A pending one-time account link, as its page shows it.
#[derive(Debug, Clone)]
pub struct StaffInvite {
    pub display_name: String,
    pub role: Role,
}

/// An account link sent to a colleague and not used yet.
#[derive(Debug, Clone)]
pub struct PendingInvite {
    /// The row's number: what "Revoke" names (never the token, which is not kept).
    pub id: i64,
    pub display_name: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

impl Db {
    /// Account links made on the Accounts page that still work, newest first.
    pub async fn pending_staff_invites(&self, now: DateTime<Utc>) -> Result<Vec<PendingInvite>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT rowid, display_name, role, expires_at FROM staff_invites
                 WHERE first_start = 0 AND used_at IS NULL AND expires_at > ?1 ORDER BY rowid DESC",
            )?;
            let rows = stmt.query_map([ts(now)], |r| {
                let role: String = r.get(2)?;
                Ok(PendingInvite {
                    id: r.get(0)?,
                    display_name: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Staff),
                    expires_at: super::from_ts(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// The account link `id` stops working at once (sent to the wrong person, or no
    /// longer wanted). Not found: nothing changes.
    pub async fn revoke_staff_invite(
        &self,
        id: i64,
        actor: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.audited(now, Lock::Immediate, move |tx| {
            let name: Option<String> = tx
                .query_row(
                    "SELECT display_name FROM staff_invites
                     WHERE rowid = ?1 AND first_start = 0 AND used_at IS NULL AND expires_at > ?2",
                    params![id, ts(now)],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(name) = name else {
                return Err(Error::NotFound);
            };
            tx.execute(
                "UPDATE staff_invites SET expires_at = ?2 WHERE rowid = ?1",
                params![id, ts(now)],
            )?;
            Ok(((), Some(Audit::new(&actor, "staff_invite_revoked", name))))
        })
        .await
    }

    pub async fn staff_count(&self) -> Result<u64> {
        let n: i64 = self
            .call(|c| Ok(c.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0))?))
            .await?;
        Ok(n.max(0) as u64)
    }

    /// A one-time link (its token) with which a person creates their own account.
    pub async fn create_staff_invite(
        &self,
        display_name: String,
        role: Role,
        actor: String,
        now: DateTime<Utc>,
    ) -> Result<String> {
        self.audited(now, Lock::Deferred, move |tx| {
            let token = insert_invite(tx, &display_name, role, false, now)?;
            Ok((
                token,
                Some(Audit::new(
                    &actor,
                    "staff_invited",
                    format!("{display_name} ({})", role.as_str()),
                )),
            ))
        })
        .await
    }

    /// The set-up link printed at start while nobody has an account: creating it spends
    /// every earlier one, so only the newest printed link works. `None` once anybody
    /// has an account.
    pub async fn create_first_admin_invite(&self, now: DateTime<Utc>) -> Result<Option<String>> {
        self.audited(now, Lock::Immediate, move |tx| {
            let staff: i64 = tx.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0))?;
            if staff > 0 {
                return Ok((None, None));
            }
            tx.execute(
                "UPDATE staff_invites SET used_at = ?1 WHERE first_start = 1 AND used_at IS NULL",
                params![ts(now)],
            )?;
            let token = insert_invite(tx, "", Role::Admin, true, now)?;
            Ok((
                Some(token),
                Some(Audit::new(
                    actor::FIRST_START,
                    "staff_invited",
                    Role::Admin.as_str(),
                )),
            ))
        })
        .await
    }

    pub async fn staff_invite(&self, token: String, now: DateTime<Utc>) -> Result<StaffInvite> {
        if !tokens::looks_valid(&token) {
            return Err(Error::NotFound);
        }
        self.call(move |c| {
            c.query_row(
                &format!("SELECT display_name, role FROM staff_invites WHERE token_hash = ?1 AND {INVITE_USABLE}"),
                params![tokens::hash(&token), ts(now)],
                |r| {
                    let role: String = r.get(1)?;
                    Ok(StaffInvite { display_name: r.get(0)?, role: Role::parse(&role).unwrap_or(Role::Staff) })
                },
            )
            .optional()?
            .ok_or(Error::NotFound)
        })
        .await
    }

    /// Uses a one-time link: creates the account and spends the link, atomically.
    pub async fn accept_staff_invite(
        &self,
        token: String,
        input: AccountInput,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<StaffMember> {
        let invite = self.staff_invite(token.clone(), now).await?;
        self.audited(now, Lock::Immediate, move |tx| {
            let spent = tx.execute(
                &format!("UPDATE staff_invites SET used_at = ?2 WHERE token_hash = ?1 AND {INVITE_USABLE}"),
                params![tokens::hash(&token), ts(now)],
            )?;
            if spent == 0 {
                return Err(Error::NotFound);
            }
            let login = input.login;
            let taken: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM staff WHERE login = ?1)", [&login], |r| r.get(0))?;
            if taken {
                return Err(FieldErrors::single("login", "login_taken").into());
            }
            let member = StaffMember {
                id: tokens::new_id(),
                login,
                display_name: input.display_name,
                role: invite.role,
                disabled: false,
            };
            tx.execute(
                "INSERT INTO staff (id, login, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![member.id, member.login, member.display_name, member.role.as_str(), password_hash, ts(now)],
            )?;
            let audit = Audit::new(&member.display_name, "staff_account_created", member.role.as_str());
            Ok((
                member,
                Some(audit),
            ))
        })
        .await
    }

    /// The member and their password hash, for a login attempt.
    pub async fn staff_for_login(&self, login: String) -> Result<Option<(StaffMember, String)>> {
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE login = ?1"),
                [login.trim()],
                |r| Ok((staff_from_row(r)?, r.get(5)?)),
            )
            .optional()?)
        })
        .await
    }

    pub async fn staff_members(&self) -> Result<Vec<StaffMember>> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {STAFF_COLUMNS} FROM staff ORDER BY disabled, display_name"
            ))?;
            let rows = stmt.query_map([], staff_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Disables or re-enables an account; disabling also ends its sessions. The last
    /// active administrator cannot be disabled.
    pub async fn set_staff_disabled(
        &self,
        id: String,
        disabled: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = actor.label.clone();
        self.audited(now, Lock::Immediate, move |tx| {
            let member = tx
                .query_row(
                    &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"),
                    [&id],
                    staff_from_row,
                )
                .optional()?
                .ok_or(Error::NotFound)?;
            if disabled && member.role == Role::Admin {
                let admins: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM staff WHERE role = 'admin' AND disabled = 0 AND id != ?1",
                    [&id],
                    |r| r.get(0),
                )?;
                if admins == 0 {
                    return Err(Error::Conflict("last_admin"));
                }
            }
            tx.execute(
                "UPDATE staff SET disabled = ?2 WHERE id = ?1",
                params![id, disabled],
            )?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE staff_id = ?1", [&id])?;
            }
            let action = if disabled {
                "staff_disabled"
            } else {
                "staff_enabled"
            };
            Ok(((), Some(Audit::new(&actor, action, &member.display_name))))
        })
        .await
    }

    /// Starts a session; returns the cookie value.
    pub async fn create_session(&self, staff_id: String, now: DateTime<Utc>) -> Result<String> {
        self.call(move |c| {
            let token = tokens::generate();
            c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?;
            c.execute(
                "INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token.hash, staff_id, ts(now + SESSION_LIFETIME)],
            )?;
            Ok(token.plain)
        })
        .await
    }

    /// The member behind a session cookie, if the session is live and the account active.
    pub async fn session_member(
        &self,
        token: String,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffMember>> {
        if !tokens::looks_valid(&token) {
            return Ok(None);
        }
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT s.id, s.login, s.display_name, s.role, s.disabled FROM sessions x
                 JOIN staff s ON s.id = x.staff_id
                 WHERE x.token_hash = ?1 AND x.expires_at > ?2 AND s.disabled = 0",
                params![tokens::hash(&token), ts(now)],
                staff_from_row,
            )
            .optional()?)
        })
        .await
    }

    pub async fn end_session(&self, token: String) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [tokens::hash(&token)],
            )?;
            Ok(())
        })
        .await
    }

    /// A new API token; the plain token is returned once.
    pub async fn create_api_token(&self, name: String, now: DateTime<Utc>) -> Result<String> {
        self.audited(now, Lock::Deferred, move |tx| {
            let token = tokens::generate();
            let plain = format!("mk_{}", token.plain);
            tx.execute(
                "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![tokens::new_id(), name, tokens::hash(&plain), ts(now)],
            )?;
            Ok((
                plain,
                Some(Audit::new(
                    super::actor::COMMAND_LINE,
                    "api_token_created",
                    &name,
                )),
            ))
        })
        .await
    }

    /// The name of a live API token. API tokens act with administrator rights.
    pub async fn api_token_name(&self, token: String) -> Result<Option<String>> {
        if !tokens::looks_valid(&token) {
            return Ok(None);
        }
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT name FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
                [tokens::hash(&token)],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }
}
