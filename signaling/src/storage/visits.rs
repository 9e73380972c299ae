use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::audit::{Audit, Lock};
use super::devices::{DEVICE_COLUMNS, device_from_row};
use super::{Db, from_ts, opt_from_ts, outbox, ts};
use crate::checks::CheckResult;
use crate::devices::DeviceKind;
use crate::error::{Error, FieldErrors, Result};
use crate::facility::Facility;
use crate::messages::Kind;
use crate::messages::seal::LinkSeal;
use crate::staff::Actor;
use crate::tokens;
use crate::visits::booking::{Booked, BookingRequest, GuestRequest, find_conflict};
use crate::visits::{Change, Guest, Mode, Visit};

/// A guest's link, returned once when it is made.
#[derive(Debug, Clone)]
pub struct InvitationLink {
    pub guest_id: String,
    pub guest: String,
    pub token: String,
}

/// A visit just booked, with the links of its guests.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub visit: Visit,
    pub invitations: Vec<InvitationLink>,
}

const VISIT_COLUMNS: &str = "v.id, v.resident_id, r.name, r.room, v.starts_at, v.ends_at, v.mode,
    v.ward_device_id, v.entrance_device_id, v.cancelled_at, v.ended_at, v.sequence, v.captions";

fn visit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Visit> {
    let mode: String = r.get(6)?;
    Ok(Visit {
        id: r.get(0)?,
        resident_id: r.get(1)?,
        resident_name: r.get(2)?,
        resident_room: r.get(3)?,
        starts_at: from_ts(r.get(4)?),
        ends_at: from_ts(r.get(5)?),
        mode: Mode::parse(&mode).unwrap_or(Mode::Remote),
        ward_device_id: r.get(7)?,
        entrance_device_id: r.get(8)?,
        cancelled_at: opt_from_ts(r.get(9)?),
        ended_at: opt_from_ts(r.get(10)?),
        guests: vec![],
        sequence: r.get(11)?,
        captions: r.get(12)?,
    })
}

fn load_guests(c: &Connection, visit: &mut Visit) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT g.id, g.name,
           EXISTS (SELECT 1 FROM invitations i WHERE i.guest_id = g.id),
           NOT EXISTS (SELECT 1 FROM invitations i WHERE i.guest_id = g.id AND i.revoked_at IS NULL),
           (SELECT i.check_result FROM invitations i WHERE i.guest_id = g.id AND i.revoked_at IS NULL),
           g.email, g.lang
         FROM guests g WHERE g.visit_id = ?1 ORDER BY g.position",
    )?;
    let rows = stmt.query_map([&visit.id], |r| {
        Ok(Guest {
            id: r.get(0)?,
            name: r.get(1)?,
            has_link: r.get(2)?,
            link_revoked: r.get(3)?,
            // A result this version cannot read is as good as none.
            check: r
                .get::<_, Option<String>>(4)?
                .and_then(|json| serde_json::from_str(&json).ok()),
            email: r.get(5)?,
            lang: r
                .get::<_, Option<String>>(6)?
                .and_then(|l| crate::i18n::Lang::parse(&l)),
        })
    })?;
    visit.guests = rows.collect::<rusqlite::Result<_>>()?;
    Ok(())
}

pub(super) fn load_visit(c: &Connection, id: &str) -> Result<Visit> {
    let mut visit = c
        .query_row(
            &format!("SELECT {VISIT_COLUMNS} FROM visits v JOIN residents r ON r.id = v.resident_id WHERE v.id = ?1"),
            [id],
            visit_from_row,
        )
        .optional()?
        .ok_or(Error::NotFound)?;
    load_guests(c, &mut visit)?;
    Ok(visit)
}

/// Visits that still hold their time (not cancelled) and come within `buffer` of the
/// range. A visit ended early frees its time from the moment it ended.
fn booked_near(
    c: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buffer: Duration,
) -> Result<Vec<Booked>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, resident_id, ward_device_id, entrance_device_id, starts_at, MIN(ends_at, COALESCE(ended_at, ends_at))
         FROM visits
         WHERE cancelled_at IS NULL AND starts_at < ?2 AND ends_at > ?1",
    )?;
    let rows = stmt.query_map(params![ts(from - buffer), ts(to + buffer)], |r| {
        Ok(Booked {
            visit_id: r.get(0)?,
            resident_id: r.get(1)?,
            ward_device_id: r.get(2)?,
            entrance_device_id: r.get(3)?,
            starts_at: from_ts(r.get(4)?),
            ends_at: from_ts(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Fails with 409 if `candidate` collides with a visit already booked.
fn ensure_free(tx: &Transaction<'_>, candidate: &Booked, buffer: Duration) -> Result<()> {
    let near = booked_near(tx, candidate.starts_at, candidate.ends_at, buffer)?;
    match find_conflict(&near, candidate, buffer) {
        Some(conflict) => Err(Error::Conflict(conflict.code())),
        None => Ok(()),
    }
}

/// Checks that the resident and devices exist and fit the request.
fn check_references(tx: &Transaction<'_>, req: &BookingRequest) -> Result<()> {
    let mut errors = FieldErrors::default();
    let resident_ok: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM residents WHERE id = ?1 AND archived_at IS NULL)",
        [&req.resident_id],
        |r| r.get(0),
    )?;
    if !resident_ok {
        errors.add("resident_id", "unknown_resident");
    }
    let mut check_device = |field: &'static str, id: &str, kind: DeviceKind| -> Result<()> {
        let device = tx
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [id],
                device_from_row,
            )
            .optional()?;
        match device {
            Some(d) if !d.bookable() => errors.add(field, "device_revoked"),
            Some(d) if d.kind != kind => errors.add(field, "wrong_device_kind"),
            Some(_) => {}
            None => errors.add(field, "unknown_device"),
        }
        Ok(())
    };
    check_device("ward_device_id", &req.ward_device_id, DeviceKind::Ward)?;
    if let (Mode::Entrance, Some(kiosk)) = (req.mode, &req.entrance_device_id) {
        check_device("entrance_device_id", kiosk, DeviceKind::Entrance)?;
    }
    Ok(errors.into_result()?)
}

fn insert_invitation(tx: &Transaction<'_>, guest_id: &str, now: DateTime<Utc>) -> Result<String> {
    let token = tokens::generate();
    tx.execute(
        "INSERT INTO invitations (id, guest_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![tokens::new_id(), guest_id, token.hash, ts(now)],
    )?;
    Ok(token.plain)
}

/// Keeps `token` sealed for the guest's messages (reminders go out days later, and
/// the invitation itself is written when it is sent).
fn keep_link_for_messages(
    tx: &Transaction<'_>,
    seal: &LinkSeal,
    guest_id: &str,
    token: &str,
) -> Result<()> {
    let sealed = seal.seal(guest_id, token)?;
    tx.execute(
        "UPDATE guests SET link_sealed = ?2 WHERE id = ?1",
        params![guest_id, sealed],
    )?;
    Ok(())
}

fn buffer_of(facility: &Facility) -> Duration {
    Duration::minutes(i64::from(facility.buffer_minutes))
}

/// A short description for the audit list.
fn describe(visit: &Visit, facility: &Facility) -> String {
    let local = visit.starts_at.with_timezone(&facility.tz());
    format!("{} {}", visit.resident_name, local.format("%Y-%m-%d %H:%M"))
}

impl Db {
    /// Books a visit. The whole check-and-insert runs in one `BEGIN IMMEDIATE`
    /// transaction: SQLite lets one writer in at a time, so of two requests racing for
    /// one slot the second sees the first's visit and gets a conflict.
    pub async fn book_visit(
        &self,
        req: BookingRequest,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<NewVisit> {
        req.validate(&facility, now)?;
        let actor = actor.label.clone();
        let seal = self.seal.clone();
        let booked = self.audited(now, Lock::Immediate, move |tx| {
            check_references(tx, &req)?;
            let id = tokens::new_id();
            ensure_free(tx, &req.as_booked(&id), buffer_of(&facility))?;
            let booked = req.as_booked(&id);
            tx.execute(
                // Captions: as asked, else as the resident's standing choice.
                "INSERT INTO visits (id, resident_id, starts_at, ends_at, mode, ward_device_id, entrance_device_id, created_at, timed_at, captions)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, COALESCE(?9, (SELECT captions FROM residents WHERE id = ?2), 0))",
                params![id, req.resident_id, ts(req.starts_at), ts(req.ends_at()), req.mode.as_str(),
                        req.ward_device_id, booked.entrance_device_id, ts(now), req.captions],
            )?;
            let mut invitations = vec![];
            for (position, guest) in req.new_guests().into_iter().enumerate() {
                let guest_id = tokens::new_id();
                tx.execute(
                    "INSERT INTO guests (id, visit_id, position, name, email, lang) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![guest_id, id, position as i64, guest.name, guest.email, guest.lang.map(|l| l.code())],
                )?;
                // Entrance visitors sit at the kiosk: they need no link.
                if req.mode == Mode::Remote {
                    let token = insert_invitation(tx, &guest_id, now)?;
                    if guest.email.is_some() {
                        keep_link_for_messages(tx, &seal, &guest_id, &token)?;
                    }
                    invitations.push(InvitationLink {
                        guest_id: guest_id.clone(),
                        guest: guest.name,
                        token,
                    });
                }
                if guest.email.is_some() {
                    outbox::enqueue(tx, &id, &guest_id, Kind::Invitation, 1, None, now)?;
                }
            }
            let visit = load_visit(tx, &id)?;
            let audit = Audit::new(&actor, "visit_booked", describe(&visit, &facility));
            Ok((
                NewVisit { visit, invitations },
                Some(audit),
            ))
        })
        .await;
        if booked.is_ok() {
            self.announce_visit_change();
            self.announce_message();
        }
        booked
    }

    pub async fn visit(&self, id: String) -> Result<Visit> {
        self.call(move |c| load_visit(c, &id)).await
    }

    /// Runs one change to a visit that is not over yet, inside a write transaction, and
    /// records it in the audit list. `change` makes the update and returns its result
    /// and the audit line's detail.
    pub(super) async fn change_visit<T, F>(
        &self,
        id: String,
        actor: &Actor,
        kind: Change,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &Visit) -> Result<(T, String)> + Send + 'static,
    {
        let actor = actor.label.clone();
        let result = self
            .audited(now, Lock::Immediate, move |tx| {
                let visit = load_visit(tx, &id)?;
                visit.check_change(kind, now).map_err(Error::Conflict)?;
                let (result, detail) = change(tx, &visit)?;
                Ok((result, Some(Audit::new(actor, audit_action(kind), detail))))
            })
            .await;
        if result.is_ok() {
            self.announce_visit_change();
            self.announce_message();
        }
        result
    }

    /// Moves a visit that has not started yet. Its links stay the same.
    pub async fn reschedule_visit(
        &self,
        id: String,
        starts_at: DateTime<Utc>,
        duration_minutes: u32,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        self.change_visit(id, actor, Change::Reschedule, now, move |tx, visit| {
            let req = BookingRequest {
                starts_at,
                duration_minutes,
                guests: visit
                    .guests
                    .iter()
                    .map(|g| GuestRequest::named(g.name.clone()))
                    .collect(),
                ..BookingRequest::for_visit(visit)
            };
            req.validate(&facility, now)?;
            ensure_free(tx, &req.as_booked(&visit.id), buffer_of(&facility))?;
            tx.execute(
                "UPDATE visits SET starts_at = ?2, ends_at = ?3, sequence = sequence + 1, timed_at = ?4 WHERE id = ?1",
                params![visit.id, ts(req.starts_at), ts(req.ends_at()), ts(now)],
            )?;
            let moved = load_visit(tx, &visit.id)?;
            outbox::tell_those_invited(
                tx,
                &visit.id,
                Kind::Changed,
                moved.sequence,
                Some(visit.starts_at),
                now,
            )?;
            let detail = format!(
                "{} → {}",
                describe(visit, &facility),
                describe(&moved, &facility)
            );
            Ok((moved, detail))
        })
        .await
    }

    /// Cancels a visit and revokes all its links.
    pub async fn cancel_visit(
        &self,
        id: String,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        self.change_visit(id, actor, Change::Cancel, now, move |tx, visit| {
            tx.execute(
                "UPDATE visits SET cancelled_at = ?2, sequence = sequence + 1 WHERE id = ?1",
                params![visit.id, ts(now)],
            )?;
            tx.execute(
                "UPDATE invitations SET revoked_at = ?2
                 WHERE revoked_at IS NULL AND guest_id IN (SELECT id FROM guests WHERE visit_id = ?1)",
                params![visit.id, ts(now)],
            )?;
            // Nothing still queued goes out; those who heard of the visit hear it is off.
            outbox::drop_queued(tx, &visit.id, None)?;
            outbox::tell_those_invited(tx, &visit.id, Kind::Cancelled, visit.sequence + 1, None, now)?;
            tx.execute(
                "UPDATE guests SET link_sealed = NULL WHERE visit_id = ?1",
                [&visit.id],
            )?;
            Ok((load_visit(tx, &visit.id)?, describe(visit, &facility)))
        })
        .await
    }

    /// Makes a running or upcoming visit longer, if nothing else needs that time.
    pub async fn extend_visit(
        &self,
        id: String,
        minutes: u32,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        self.change_visit(id, actor, Change::Extend, now, move |tx, visit| {
            let ends_at = visit
                .extended_end(minutes)
                .map_err(|code| FieldErrors::single("minutes", code))?;
            let candidate = Booked {
                ends_at,
                ..BookingRequest::for_visit(visit).as_booked(&visit.id)
            };
            ensure_free(tx, &candidate, buffer_of(&facility))?;
            // Before the start, a longer visit is news for the family's calendar;
            // during it they are there and see it.
            let tell = now < visit.starts_at
                && ends_at - visit.ends_at > crate::messages::CHANGE_WORTH_TELLING;
            tx.execute(
                "UPDATE visits SET ends_at = ?2, sequence = sequence + ?3 WHERE id = ?1",
                params![visit.id, ts(ends_at), i64::from(tell)],
            )?;
            if tell {
                outbox::tell_those_invited(
                    tx,
                    &visit.id,
                    Kind::Changed,
                    visit.sequence + 1,
                    Some(visit.starts_at),
                    now,
                )?;
            }
            Ok((
                load_visit(tx, &visit.id)?,
                format!("{} +{minutes}", describe(visit, &facility)),
            ))
        })
        .await
    }

    /// Turns live captions on or off for a visit not over yet (also while it runs).
    pub async fn set_visit_captions(
        &self,
        id: String,
        on: bool,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        self.change_visit(id, actor, Change::Captions, now, move |tx, visit| {
            tx.execute(
                "UPDATE visits SET captions = ?2 WHERE id = ?1",
                params![visit.id, on],
            )?;
            Ok((load_visit(tx, &visit.id)?, describe(visit, &facility)))
        })
        .await
    }

    /// Ends a visit that has started, now.
    pub async fn end_visit(
        &self,
        id: String,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        self.change_visit(id, actor, Change::End, now, move |tx, visit| {
            tx.execute(
                "UPDATE visits SET ended_at = ?2 WHERE id = ?1",
                params![visit.id, ts(now)],
            )?;
            Ok((load_visit(tx, &visit.id)?, describe(visit, &facility)))
        })
        .await
    }

    /// Replaces a guest's link (lost, or sent to the wrong person): the old one stops
    /// working and says so; the new one is returned once. `email` is where the guest's
    /// messages go from now on (`None`: as before; `Some(None)`: nowhere); with an
    /// address, the new link is sent as a new invitation and nothing still queued for
    /// the old link goes out.
    pub async fn reissue_invitation(
        &self,
        visit_id: String,
        guest_id: String,
        email: Option<Option<String>>,
        facility: Facility,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<InvitationLink> {
        let seal = self.seal.clone();
        self.change_visit(
            visit_id,
            actor,
            Change::ReissueLink,
            now,
            move |tx, visit| {
                let guest = visit
                    .guests
                    .iter()
                    .find(|g| g.id == guest_id && g.has_link)
                    .ok_or(Error::NotFound)?;
                tx.execute(
                    "UPDATE invitations SET revoked_at = ?2 WHERE guest_id = ?1 AND revoked_at IS NULL",
                    params![guest.id, ts(now)],
                )?;
                let token = insert_invitation(tx, &guest.id, now)?;
                let email = email.unwrap_or_else(|| guest.email.clone());
                outbox::drop_queued(tx, &visit.id, Some(&guest.id))?;
                let link_no: i64 = tx.query_row(
                    "UPDATE guests SET link_no = link_no + 1, email = ?2, link_sealed = NULL
                     WHERE id = ?1 RETURNING link_no",
                    params![guest.id, email],
                    |r| r.get(0),
                )?;
                if email.is_some() {
                    keep_link_for_messages(tx, &seal, &guest.id, &token)?;
                    outbox::enqueue(tx, &visit.id, &guest.id, Kind::Invitation, link_no, None, now)?;
                }
                let detail = format!("{} ({})", describe(visit, &facility), guest.name);
                Ok((
                    InvitationLink {
                        guest_id: guest.id.clone(),
                        guest: guest.name.clone(),
                        token,
                    },
                    detail,
                ))
            },
        )
        .await
    }

    /// The visit behind a link, the guest's name, and whether this link was revoked.
    pub async fn visit_by_invitation(&self, token: String) -> Result<Option<Invited>> {
        if !tokens::looks_valid(&token) {
            return Ok(None);
        }
        self.call(move |c| {
            let found = c
                .query_row(
                    "SELECT g.visit_id, g.id, g.name, i.revoked_at IS NOT NULL FROM invitations i
                     JOIN guests g ON g.id = i.guest_id WHERE i.token_hash = ?1",
                    [tokens::hash(&token)],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, bool>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((visit_id, guest_id, guest, revoked)) = found else {
                return Ok(None);
            };
            Ok(Some(Invited {
                visit: load_visit(c, &visit_id)?,
                guest_id,
                guest,
                revoked,
            }))
        })
        .await
    }

    /// Keeps a pre-visit check as the latest of the link `token` (a live link only: a
    /// replaced one no longer speaks for the guest). Returns whether it was kept.
    pub async fn record_check(&self, token: String, check: CheckResult) -> Result<bool> {
        if !tokens::looks_valid(&token) {
            return Ok(false);
        }
        let json = serde_json::to_string(&check).map_err(anyhow::Error::from)?;
        self.call(move |c| {
            let changed = c.execute(
                "UPDATE invitations SET check_result = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL",
                params![json, tokens::hash(&token)],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// Every visit that starts on a local date of the facility, cancelled ones included.
    pub async fn visits_on(&self, facility: &Facility, date: NaiveDate) -> Result<Vec<Visit>> {
        let from = facility.instant(date, 0).unwrap_or_default();
        let to = date
            .succ_opt()
            .and_then(|d| facility.instant(d, 0))
            .unwrap_or(from);
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {VISIT_COLUMNS} FROM visits v JOIN residents r ON r.id = v.resident_id
                 WHERE v.starts_at >= ?1 AND v.starts_at < ?2 ORDER BY v.starts_at, r.room"
            ))?;
            let mut visits: Vec<Visit> = stmt
                .query_map(params![ts(from), ts(to)], visit_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            for visit in &mut visits {
                load_guests(c, visit)?;
            }
            Ok(visits)
        })
        .await
    }

    /// Visits that are live business now: not cancelled or ended early, their link
    /// window (15 minutes before the start) begun, their end not reached.
    pub async fn visits_in_window(&self, now: DateTime<Utc>) -> Result<Vec<Visit>> {
        let opens = now + crate::visits::LINK_OPENS_BEFORE;
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {VISIT_COLUMNS} FROM visits v JOIN residents r ON r.id = v.resident_id
                 WHERE v.cancelled_at IS NULL AND v.ended_at IS NULL AND v.starts_at <= ?1 AND v.ends_at > ?2
                 ORDER BY v.starts_at"
            ))?;
            let mut visits: Vec<Visit> =
                stmt.query_map(params![ts(opens), ts(now)], visit_from_row)?.collect::<rusqlite::Result<_>>()?;
            for visit in &mut visits {
                load_guests(c, visit)?;
            }
            Ok(visits)
        })
        .await
    }

    /// Each device's visits for the rest of its day, for its idle screen.
    pub async fn device_schedules(
        &self,
        facility: &Facility,
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, Vec<Visit>>> {
        let today = facility.local_date(now);
        let end_of_day = today
            .succ_opt()
            .and_then(|d| facility.instant(d, 0))
            .unwrap_or(now);
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {VISIT_COLUMNS} FROM visits v JOIN residents r ON r.id = v.resident_id
                 WHERE v.cancelled_at IS NULL AND v.ended_at IS NULL AND v.ends_at > ?1 AND v.starts_at < ?2
                 ORDER BY v.starts_at"
            ))?;
            let visits: Vec<Visit> =
                stmt.query_map(params![ts(now), ts(end_of_day)], visit_from_row)?.collect::<rusqlite::Result<_>>()?;
            let mut by_device: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
            for v in visits {
                for device in v.device_ids() {
                    by_device.entry(device.to_owned()).or_default().push(v.clone());
                }
            }
            Ok(by_device)
        })
        .await
    }

    /// What is booked around a local date, for offering free slots.
    /// The tablet of the resident's latest visit: the one the booking page offers first.
    pub async fn usual_tablet(&self, resident_id: String) -> Result<Option<String>> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT ward_device_id FROM visits WHERE resident_id = ?1
                 ORDER BY starts_at DESC LIMIT 1",
                [resident_id],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn booked_on(&self, facility: &Facility, date: NaiveDate) -> Result<Vec<Booked>> {
        let from = facility.instant(date, 0).unwrap_or_default();
        let to = date
            .succ_opt()
            .and_then(|d| facility.instant(d, 0))
            .unwrap_or(from);
        let buffer = buffer_of(facility);
        self.call(move |c| booked_near(c, from, to, buffer)).await
    }
}

/// What an invitation token leads to.
#[derive(Debug, Clone)]
pub struct Invited {
    pub visit: Visit,
    pub guest_id: String,
    /// The guest's name.
    pub guest: String,
    /// Replaced by a newer link.
    pub revoked: bool,
}

/// The audit list's name for a change.
fn audit_action(change: Change) -> &'static str {
    match change {
        Change::Reschedule => "visit_rescheduled",
        Change::Cancel => "visit_cancelled",
        Change::Extend => "visit_extended",
        Change::End => "visit_ended",
        Change::ReissueLink => "link_reissued",
        Change::ResendMessage => "message_resent",
        Change::Captions => "captions_changed",
    }
}
