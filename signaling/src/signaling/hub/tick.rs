//! Time moves visits along: the scheduler's step brings every room in line with the
//! visits as stored now (see `scheduler`), in small named steps.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::devices::{push_schedules, seat_device};
use super::{Attachment, Conn, Hub, State};
use crate::error::SignalingError;
use crate::signaling::protocol::{Role, ScheduleEntry};
use crate::visits::{Visit, VisitState};

impl Hub {
    /// The scheduler's step: brings every room in line with the visits as stored now.
    /// `visits` holds every visit that is in its link window or has a room; `watched`
    /// the ids the scheduler asked for (`Hub::watched`) before reading them, and
    /// `schedules` the current schedule of each device.
    ///
    /// A room or early guest whose visit was not looked up arrived while the
    /// scheduler was reading the database: it is left for the next step, never taken
    /// for a visit that is gone.
    pub fn tick(
        &self,
        now: DateTime<Utc>,
        visits: &[Visit],
        watched: &[String],
        schedules: HashMap<String, Vec<ScheduleEntry>>,
    ) {
        let mut state = self.lock();
        let lookup = Lookup {
            found: visits.iter().map(|v| (v.id.as_str(), v)).collect(),
            asked: watched.iter().map(String::as_str).collect(),
        };
        for peer_id in refresh_rooms(&mut state, &lookup, now) {
            self.config.ice.revoke(&peer_id);
        }
        self.let_early_guests_in(&mut state, &lookup, now);
        // Visits that start now: the families waiting meet (and the devices seated
        // below meet them).
        for room in state.rooms.values_mut() {
            room.open_doors(now);
        }
        for visit in visits
            .iter()
            .filter(|v| v.state(now, false) == VisitState::Open)
        {
            for device_id in visit.device_ids() {
                seat_device(&mut state, device_id, visit, now, &self.config.ice);
            }
        }
        expire_away(&mut state, now, self.config.grace);
        for room in state.rooms.values_mut() {
            room.announce(now);
        }
        push_schedules(&mut state, schedules);
    }

    /// Guests who came early are welcomed once their link opens, or told at once when
    /// the visit was cancelled (or is over) meanwhile.
    fn let_early_guests_in(&self, state: &mut State, lookup: &Lookup, now: DateTime<Utc>) {
        let due: Vec<(Conn, Attachment)> = state
            .conns
            .values()
            .filter(|(_, a)| match a {
                Attachment::Early {
                    opens_at, visit_id, ..
                } => match lookup.visit(visit_id) {
                    Found::Visit(v) => *opens_at <= now || v.cancelled_at.is_some(),
                    Found::Gone => true,
                    Found::NotAskedFor => false,
                },
                _ => false,
            })
            .cloned()
            .collect();
        for (conn, attachment) in due {
            let Attachment::Early {
                visit_id,
                guest,
                credential,
                ..
            } = attachment
            else {
                continue;
            };
            state.conns.remove(&conn.id);
            match lookup.visit(&visit_id) {
                Found::Visit(visit)
                    if !matches!(
                        visit.state(now, false),
                        VisitState::Ended | VisitState::Cancelled
                    ) =>
                {
                    if let Err(refusal) =
                        self.join_guest(state, conn.clone(), visit, guest, &credential, now)
                    {
                        conn.refuse(refusal);
                    }
                }
                Found::Visit(visit) if visit.cancelled_at.is_some() => {
                    conn.refuse(SignalingError::VisitCancelled)
                }
                _ => conn.refuse(SignalingError::LinkExpired),
            }
        }
    }
}

/// What the scheduler read from the database for one step.
struct Lookup<'a> {
    found: HashMap<&'a str, &'a Visit>,
    asked: HashSet<&'a str>,
}

enum Found<'a> {
    Visit(&'a Visit),
    /// Asked for and not there: deleted, or out of its window.
    Gone,
    /// Came into the hub after the scheduler asked: nothing is known yet.
    NotAskedFor,
}

impl<'a> Lookup<'a> {
    fn visit(&self, id: &str) -> Found<'a> {
        match self.found.get(id) {
            Some(visit) => Found::Visit(visit),
            None if self.asked.contains(id) => Found::Gone,
            None => Found::NotAskedFor,
        }
    }
}

/// Rooms get the visit as stored now; rooms of visits that are over (or gone) close.
/// Returns the peers of the rooms closed: their relay credentials end with the visit.
fn refresh_rooms(state: &mut State, lookup: &Lookup, now: DateTime<Utc>) -> Vec<String> {
    let mut over = vec![];
    for (id, room) in &mut state.rooms {
        match lookup.visit(id) {
            Found::Visit(fresh) => room.visit = fresh.clone(),
            Found::Gone => over.push(id.clone()),
            Found::NotAskedFor => {}
        }
        if room.over(now) {
            over.push(id.clone());
        }
    }
    over.iter()
        .flat_map(|id| close_room(state, id, now))
        .collect()
}

/// Peers away longer than the grace period leave their visits.
fn expire_away(state: &mut State, now: DateTime<Utc>, grace: chrono::Duration) {
    let gone: Vec<String> = state
        .rooms
        .values_mut()
        .flat_map(|room| room.expire(now, grace))
        .collect();
    for peer_id in gone {
        state.unseat_devices(&peer_id);
    }
}

/// The visit is over: everyone hears its final state; guests' sockets close, devices
/// go back to idle. Returns the peers that were in it.
fn close_room(state: &mut State, visit_id: &str, now: DateTime<Utc>) -> Vec<String> {
    let Some(room) = state.rooms.remove(visit_id) else {
        return Vec::new();
    };
    let last = room.visit_msg(now, true);
    let cancelled = room.visit.cancelled_at.is_some();
    for member in &room.members {
        let Some(conn) = &member.conn else { continue };
        conn.send_msg(&last);
        match member.role {
            Role::Guest if cancelled => state.refuse(conn, SignalingError::VisitCancelled),
            Role::Guest => state.drop_conn(conn),
            Role::Ward | Role::Entrance => {}
        }
    }
    for session in state.devices.values_mut() {
        if session.room.as_deref() == Some(visit_id) {
            session.room = None;
        }
    }
    room.members.into_iter().map(|m| m.peer_id).collect()
}
