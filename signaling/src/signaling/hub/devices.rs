//! Ward tablets and entrance kiosks: each keeps one socket all day, between visits
//! too, and is put into each visit booked for it when the visit opens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::room::{Holder, Member};
use super::{Attachment, Conn, Hub, State, new_peer_id, role_of};
use crate::devices::Device;
use crate::signaling::protocol::{ScheduleEntry, ServerMsg};
use crate::turn::IceProvider;
use crate::visits::Visit;

/// A device's one session (it keeps a socket all day, between visits too).
#[derive(Debug)]
pub(super) struct DeviceSession {
    pub device: Device,
    pub peer_id: String,
    pub conn: Option<Conn>,
    /// The visit it is in now, if any.
    pub room: Option<String>,
    pub schedule: Vec<ScheduleEntry>,
}

/// What `join_device` needs besides the socket.
pub(super) struct DeviceSeat {
    pub device: Device,
    pub open_visit: Option<Visit>,
    pub schedule: Vec<ScheduleEntry>,
    pub resumed: Option<String>,
}

impl Hub {
    /// A device's socket: it replaces the device's older one (a device has one
    /// session), takes its seat back in the visit it was in when it resumes, and is
    /// put into a visit open now that it belongs to.
    pub(super) fn join_device(
        &self,
        state: &mut State,
        conn: Conn,
        seat: DeviceSeat,
        credential: &str,
        now: DateTime<Utc>,
    ) {
        let DeviceSeat {
            device,
            open_visit,
            schedule,
            resumed,
        } = seat;
        let device_id = device.id.clone();
        let role = role_of(device.kind);
        let previous = state.devices.remove(&device_id);
        if let Some(old) = previous.as_ref().and_then(|p| p.conn.clone()) {
            state.drop_conn(&old);
        }
        let (peer_id, mut room_id) = match (previous, resumed) {
            (Some(prev), Some(resumed)) if prev.peer_id == resumed => (resumed, prev.room),
            (prev, resumed) => {
                // Not the same peer coming back: its old seat is given up.
                if let Some(prev) = prev
                    && let Some(room) = prev.room.and_then(|r| state.rooms.get_mut(&r))
                {
                    room.remove(&prev.peer_id);
                }
                (resumed.unwrap_or_else(new_peer_id), None)
            }
        };
        if let Some(room) = room_id.as_ref().and_then(|r| state.rooms.get_mut(r)) {
            match room.reconnect(&peer_id, conn.clone()) {
                Ok(Some(old)) => state.drop_conn(&old),
                Ok(None) => {}
                Err(_) => room_id = None,
            }
        }
        if room_id.is_none()
            && let Some(visit) = open_visit
        {
            state.room_for(&visit).admit(
                Member::new(
                    peer_id.clone(),
                    role,
                    device.name.clone(),
                    Holder::Device(device_id.clone()),
                    conn.clone(),
                ),
                now,
            );
            room_id = Some(visit.id);
        }
        let room = room_id.as_ref().and_then(|r| state.rooms.get(r));
        // Relay credentials for the visit it is in; between visits only the grace (it
        // gets fresh ones whenever it is put into a visit).
        let until = room.map_or(now, |r| r.visit.ends_at);
        conn.send_msg(&ServerMsg::Welcome {
            peer_id: peer_id.clone(),
            role,
            resume: self.key.issue(&peer_id, credential),
            visit: room.map(|r| r.info(now)),
            peers: room.map(|r| r.peers_except(&peer_id)).unwrap_or_default(),
            ice_servers: self.config.ice.for_peer(&peer_id, until, now),
            ice_transport_policy: self.relay_only(),
            schedule: Some(schedule.clone()),
            volume: Some(crate::devices::volume_gain(device.volume_percent)),
            now: now.to_rfc3339(),
        });
        state.conns.insert(
            conn.id,
            (
                conn.clone(),
                Attachment::Device {
                    device_id: device_id.clone(),
                },
            ),
        );
        state.devices.insert(
            device_id,
            DeviceSession {
                device,
                peer_id,
                conn: Some(conn),
                room: room_id,
                schedule,
            },
        );
    }
}

/// Puts a connected device into an open visit it belongs to, unless it is there.
pub(super) fn seat_device(
    state: &mut State,
    device_id: &str,
    visit: &Visit,
    now: DateTime<Utc>,
    ice: &IceProvider,
) {
    let Some(session) = state.devices.get(device_id) else {
        return;
    };
    if session.room.as_deref() == Some(visit.id.as_str()) {
        return;
    }
    let Some(conn) = session.conn.clone() else {
        return;
    };
    let member = Member::new(
        session.peer_id.clone(),
        role_of(session.device.kind),
        session.device.name.clone(),
        Holder::Device(device_id.to_owned()),
        conn.clone(),
    );
    let mut seated = state.room_for(visit).visit_msg(now, true);
    if let ServerMsg::Visit { ice_servers, .. } = &mut seated {
        *ice_servers = Some(ice.for_peer(&member.peer_id, visit.ends_at, now));
    }
    let room = state.room_for(visit);
    room.members.retain(|m| m.peer_id != member.peer_id);
    conn.send_msg(&seated);
    room.open_doors(now);
    for peer in room.peers_except(&member.peer_id) {
        conn.send_msg(&ServerMsg::PeerJoined { peer });
    }
    room.admit(member, now);
    state.tell_captions_down(&visit.id, &conn);
    if let Some(session) = state.devices.get_mut(device_id) {
        session.room = Some(visit.id.clone());
    }
}

/// Devices' idle screens get their schedule when it changed (also when its last visit
/// of the day went away).
pub(super) fn push_schedules(
    state: &mut State,
    mut schedules: HashMap<String, Vec<ScheduleEntry>>,
) {
    for (device_id, session) in &mut state.devices {
        let schedule = schedules.remove(device_id).unwrap_or_default();
        if session.schedule != schedule {
            if let Some(conn) = &session.conn {
                conn.send_msg(&ServerMsg::Schedule {
                    schedule: schedule.clone(),
                });
            }
            session.schedule = schedule;
        }
    }
}
