//! Time moves visits along: the scheduler's step brings every room in line with the
//! visits as stored now (see `scheduler`), in small named steps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::devices::{push_schedules, seat_device};
use super::{Attachment, Conn, Hub, State};
use crate::error::SignalingError;
use crate::signaling::protocol::{Role, ScheduleEntry};
use crate::visits::{Visit, VisitState};

impl Hub {
    /// The scheduler's step: brings every room in line with the visits as stored now.
    /// `visits` holds every visit that is in its link window or has a room; `schedules`
    /// the current schedule of each device.
    pub fn tick(
        &self,
        now: DateTime<Utc>,
        visits: &[Visit],
        schedules: HashMap<String, Vec<ScheduleEntry>>,
    ) {
        let mut state = self.lock();
        let by_id: HashMap<&str, &Visit> = visits.iter().map(|v| (v.id.as_str(), v)).collect();
        refresh_rooms(&mut state, &by_id, now);
        self.let_early_guests_in(&mut state, &by_id, now);
        for visit in visits
            .iter()
            .filter(|v| v.state(now, false) == VisitState::Open)
        {
            for device_id in visit.device_ids() {
                seat_device(&mut state, device_id, visit, now);
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
    fn let_early_guests_in(
        &self,
        state: &mut State,
        by_id: &HashMap<&str, &Visit>,
        now: DateTime<Utc>,
    ) {
        let due: Vec<(Conn, Attachment)> = state
            .conns
            .values()
            .filter(|(_, a)| match a {
                Attachment::Early {
                    opens_at, visit_id, ..
                } => {
                    *opens_at <= now
                        || by_id
                            .get(visit_id.as_str())
                            .is_none_or(|v| v.cancelled_at.is_some())
                }
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
            match by_id.get(visit_id.as_str()) {
                Some(visit)
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
                Some(visit) if visit.cancelled_at.is_some() => {
                    conn.refuse(SignalingError::VisitCancelled)
                }
                _ => conn.refuse(SignalingError::LinkExpired),
            }
        }
    }
}

/// Rooms get the visit as stored now; rooms of visits that are over (or gone) close.
fn refresh_rooms(state: &mut State, by_id: &HashMap<&str, &Visit>, now: DateTime<Utc>) {
    let mut over = vec![];
    for (id, room) in &mut state.rooms {
        match by_id.get(id.as_str()) {
            Some(fresh) => room.visit = (*fresh).clone(),
            None => over.push(id.clone()),
        }
        if room.over(now) {
            over.push(id.clone());
        }
    }
    for id in over {
        close_room(state, &id, now);
    }
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
/// go back to idle.
fn close_room(state: &mut State, visit_id: &str, now: DateTime<Utc>) {
    let Some(room) = state.rooms.remove(visit_id) else {
        return;
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
}
