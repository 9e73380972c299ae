//! Who is connected, and to which visit. Rooms are visits (`room`); a room's members
//! are its endpoints: the family's browsers, the ward tablet, the entrance kiosk.
//!
//! - this file: the hub's state and what a socket can do (hello, relay, drop, leave)
//! - `conn` — one socket's sending half
//! - `room` — one visit's members and what they are all told
//! - `devices` — tablets and kiosks, which stay connected between visits
//! - `tick` — what time does: open, update and close rooms, let early guests in
//! - `tests` — the hub in simulated time, no sockets
//!
//! The hub is plain synchronous state behind one mutex: every operation is short and
//! never waits on I/O (database lookups happen before, sends are non-blocking
//! `try_send`s into each socket's bounded queue, `conn`). Time comes in as an argument
//! (`now`), never from the system clock, so the hub is tested without sockets in
//! simulated time (`tests`).

mod churn;
mod conn;
mod devices;
mod room;
#[cfg(test)]
mod tests;
mod tick;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub use self::conn::{Conn, ConnId, OUTBOX_FRAMES};
use self::devices::{DeviceSeat, DeviceSession};
use self::room::{Holder, Member, Room};
use super::protocol::{self, Role, ScheduleEntry, ServerMsg};
use super::resume::ResumeKey;
use crate::devices::{Device, DeviceKind};
use crate::error::SignalingError;
use crate::tokens;
use crate::turn::IceProvider;
use crate::visits::{LinkStatus, Visit};

/// What a socket is attached to.
#[derive(Debug, Clone)]
enum Attachment {
    Guest {
        visit_id: String,
        peer_id: String,
    },
    Device {
        device_id: String,
    },
    /// Came more than 15 minutes early; welcomed when the link opens.
    Early {
        visit_id: String,
        guest: Seating,
        credential: String,
        opens_at: DateTime<Utc>,
    },
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, Room>,
    devices: HashMap<String, DeviceSession>,
    conns: HashMap<ConnId, (Conn, Attachment)>,
    joins: churn::JoinRate,
    /// The morning each device was last asked for its self-check (facility's date).
    morning_asked: HashMap<String, chrono::NaiveDate>,
    /// A recogniser is installed (HubConfig::recogniser).
    recogniser: bool,
    /// The recogniser is away now (stopped, restarting): who joins a visit with
    /// captions is told at once.
    captions_down: bool,
}

impl State {
    /// The visit's room, opened if it is not yet.
    fn room_for(&mut self, visit: &Visit) -> &mut Room {
        let recogniser = self.recogniser;
        self.rooms
            .entry(visit.id.clone())
            .or_insert_with(|| Room::new(visit.clone(), recogniser))
    }

    /// Closes a socket the hub no longer wants, saying why.
    fn refuse(&mut self, conn: &Conn, error: SignalingError) {
        self.conns.remove(&conn.id);
        conn.refuse(error);
    }

    /// Closes a socket quietly (replaced by a newer one of the same peer).
    fn drop_conn(&mut self, conn: &Conn) {
        self.conns.remove(&conn.id);
        conn.close();
    }

    /// Tells a socket just seated in `visit_id` that captions are away, if they are.
    fn tell_captions_down(&self, visit_id: &str, conn: &Conn) {
        if self.captions_down && self.rooms.get(visit_id).is_some_and(Room::captions) {
            conn.send_msg(&ServerMsg::Captions { available: false });
        }
    }

    /// Devices seated as `peer_id` are no longer in a room.
    fn unseat_devices(&mut self, peer_id: &str) {
        for session in self.devices.values_mut() {
            if session.peer_id == peer_id {
                session.room = None;
            }
        }
    }
}

/// What the hub holds now, in numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubCounts {
    pub sockets: usize,
    pub rooms: usize,
    pub live_rooms: usize,
    pub devices_online: usize,
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Asked for each peer's STUN/TURN servers (relay credentials are per peer).
    pub ice: Arc<IceProvider>,
    /// Tell clients to use relayed paths only (checking a relay set-up).
    pub relay_only: bool,
    /// Endpoints per visit: the resident side plus up to three family homes.
    pub max_endpoints: usize,
    /// How long a peer whose socket dropped stays in its visit, waiting to resume.
    pub grace: chrono::Duration,
    /// A recogniser is installed: visits with captions on get them.
    pub recogniser: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ice: Arc::default(),
            relay_only: false,
            max_endpoints: 4,
            grace: chrono::Duration::seconds(20),
            recogniser: false,
        }
    }
}

/// What a hello turned out to be, as looked up in storage before the hub is locked.
#[derive(Debug, Clone)]
pub enum Credential {
    Guest {
        visit: Visit,
        guest_id: String,
        name: String,
        revoked: bool,
    },
    Device {
        /// Boxed: a device (with its health report) is much larger than a guest.
        device: Box<Device>,
        open_visit: Option<Visit>,
        schedule: Vec<ScheduleEntry>,
    },
    Unknown,
}

pub struct Hub {
    state: Mutex<State>,
    key: ResumeKey,
    config: HubConfig,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How a device appears to the others in a visit.
fn role_of(kind: DeviceKind) -> Role {
    match kind {
        DeviceKind::Ward => Role::Ward,
        DeviceKind::Entrance => Role::Entrance,
    }
}

fn new_peer_id() -> String {
    format!("p{}", &tokens::new_id()[..12])
}

impl Hub {
    pub fn new(key: ResumeKey, config: HubConfig) -> Self {
        Self {
            state: Mutex::new(State {
                recogniser: config.recogniser,
                ..State::default()
            }),
            key,
            config,
            next_conn: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `welcome`'s `ice_transport_policy` when every call must go through a relay.
    fn relay_only(&self) -> Option<std::borrow::Cow<'static, str>> {
        self.config.relay_only.then_some("relay".into())
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Handles the authenticating first frame. On success the socket is attached and
    /// has been sent its `welcome` (or, too early, its `too_early` error).
    pub fn hello(
        &self,
        conn: Conn,
        token: &str,
        resume: Option<&str>,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Result<(), SignalingError> {
        let resumed = resume.and_then(|r| self.key.verify(r, token));
        match credential {
            Credential::Unknown => Err(SignalingError::InvalidToken),
            Credential::Guest {
                visit,
                guest_id,
                name,
                revoked,
            } => {
                let guest = Seating {
                    peer_id: resumed.unwrap_or_else(new_peer_id),
                    name,
                    holder: Holder::Guest(guest_id),
                };
                match visit.link_status(revoked, now) {
                    LinkStatus::Cancelled => Err(SignalingError::VisitCancelled),
                    LinkStatus::Ended => Err(SignalingError::LinkExpired),
                    LinkStatus::Replaced => Err(SignalingError::LinkReplaced),
                    LinkStatus::TooEarly { opens_at } => {
                        let mut state = self.lock();
                        close_early_sockets(
                            &mut state,
                            &guest.holder,
                            SignalingError::JoinedElsewhere,
                        );
                        conn.send_msg(&protocol::error_frame(SignalingError::TooEarly));
                        let early = Attachment::Early {
                            visit_id: visit.id.clone(),
                            guest,
                            credential: token.to_owned(),
                            opens_at,
                        };
                        state.conns.insert(conn.id, (conn, early));
                        Ok(())
                    }
                    LinkStatus::Waiting | LinkStatus::Open => {
                        self.join_guest(&mut self.lock(), conn, &visit, guest, token, now)
                    }
                }
            }
            Credential::Device {
                device,
                open_visit,
                schedule,
            } => {
                let seat = DeviceSeat {
                    device: *device,
                    open_visit,
                    schedule,
                    resumed,
                };
                self.join_device(&mut self.lock(), conn, seat, token, now);
                Ok(())
            }
        }
    }

    /// Seats a guest. One invitation holds one seat: the same peer coming back takes
    /// its seat again unnoticed; another device (or a reloaded page) with the same
    /// link takes the seat over, and the older socket is told `joined_elsewhere`.
    fn join_guest(
        &self,
        state: &mut State,
        conn: Conn,
        visit: &Visit,
        guest: Seating,
        credential: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SignalingError> {
        let Seating {
            peer_id,
            name,
            holder,
        } = guest;
        close_early_sockets(state, &holder, SignalingError::JoinedElsewhere);
        let seated = state
            .room_for(visit)
            .held_by(&holder)
            .map(|m| m.peer_id.clone());
        match seated {
            Some(seated) if seated == peer_id => {
                let room = state.room_for(visit);
                if let Ok(Some(old)) = room.reconnect(&peer_id, conn.clone()) {
                    state.drop_conn(&old);
                }
            }
            seated => {
                if let Holder::Guest(guest_id) = &holder
                    && !state.joins.allow(guest_id, now)
                {
                    return Err(SignalingError::RateLimited);
                }
                if let Some(seated) = seated
                    && let Some(old) = state.room_for(visit).remove(&seated)
                    && let Some(old_conn) = old.conn
                {
                    state.refuse(&old_conn, SignalingError::JoinedElsewhere);
                }
                let room = state.room_for(visit);
                if room.members.len() >= self.config.max_endpoints {
                    return Err(SignalingError::VisitFull);
                }
                room.admit(
                    Member::new(peer_id.clone(), Role::Guest, name, holder, conn.clone()),
                    now,
                );
            }
        }
        let room = state.room_for(visit);
        conn.send_msg(&ServerMsg::Welcome {
            peer_id: peer_id.clone(),
            role: Role::Guest,
            resume: self.key.issue(&peer_id, credential),
            visit: Some(room.info(now)),
            peers: room.peers_except(&peer_id),
            ice_servers: self.config.ice.for_peer(&peer_id, visit.ends_at, now),
            ice_transport_policy: self.relay_only(),
            schedule: None,
            volume: None,
            now: now.to_rfc3339(),
        });
        let visit_id = visit.id.clone();
        state.tell_captions_down(&visit_id, &conn);
        state
            .conns
            .insert(conn.id, (conn, Attachment::Guest { visit_id, peer_id }));
        Ok(())
    }

    /// Where a socket's peer sits: (visit id, peer id).
    fn seat_of(state: &State, conn_id: ConnId) -> Option<(String, String)> {
        match &state.conns.get(&conn_id)?.1 {
            Attachment::Guest { visit_id, peer_id } => Some((visit_id.clone(), peer_id.clone())),
            Attachment::Device { device_id } => state
                .devices
                .get(device_id)
                .and_then(|d| Some((d.room.clone()?, d.peer_id.clone()))),
            Attachment::Early { .. } => None,
        }
    }

    /// Relays `data` to peer `to` of the sender's visit.
    pub fn relay(&self, from: ConnId, to: &str, data: menkai_protocol::Relayed) {
        let state = self.lock();
        let Some((conn, _)) = state.conns.get(&from) else {
            return;
        };
        let target = Self::seat_of(&state, from).and_then(|(visit_id, from_peer)| {
            // Before the visit starts nobody knows of anybody (room.rs): no signals.
            let room = state.rooms.get(&visit_id).filter(|r| r.introduced())?;
            let member = room.member(to)?;
            (member.peer_id != from_peer).then(|| (member.conn.clone(), from_peer))
        });
        match target {
            Some((Some(target), from_peer)) => target.send_msg(&ServerMsg::Signal {
                from: from_peer,
                data,
            }),
            // The peer is away and will restart ICE when it is back: nothing to do.
            Some((None, _)) => {}
            None => conn.send_msg(&protocol::error_frame(SignalingError::UnknownPeer)),
        }
    }

    /// The socket is gone. Its peer keeps its seat for the grace period, so a quick
    /// reconnect (with `resume`) is invisible to the others.
    pub fn dropped(&self, conn_id: ConnId, now: DateTime<Utc>) {
        let mut state = self.lock();
        let seat = Self::seat_of(&state, conn_id);
        let Some((_, attachment)) = state.conns.remove(&conn_id) else {
            return;
        };
        if let Attachment::Device { device_id } = attachment
            && let Some(session) = state.devices.get_mut(&device_id)
            && session.conn.as_ref().is_some_and(|c| c.id == conn_id)
        {
            session.conn = None;
        }
        if let Some((visit_id, peer_id)) = seat
            && let Some(room) = state.rooms.get_mut(&visit_id)
        {
            room.went_away(&peer_id, conn_id, now);
        }
    }

    /// The peer said goodbye: it leaves its visit at once.
    pub fn leave(&self, conn_id: ConnId) {
        let mut state = self.lock();
        let seat = Self::seat_of(&state, conn_id);
        let Some((_, attachment)) = state.conns.remove(&conn_id) else {
            return;
        };
        if let Attachment::Device { device_id } = attachment {
            state.devices.remove(&device_id);
        }
        if let Some((visit_id, peer_id)) = seat
            && let Some(room) = state.rooms.get_mut(&visit_id)
        {
            room.remove(&peer_id);
        }
    }

    /// Staff revoked a device: its socket is told so and closed at once, and it leaves
    /// its visit (its token no longer works, so it cannot come back).
    pub fn revoke_device(&self, device_id: &str) {
        let mut state = self.lock();
        let Some(session) = state.devices.remove(device_id) else {
            return;
        };
        self.config.ice.revoke(&session.peer_id);
        if let Some(room) = session.room.as_ref().and_then(|r| state.rooms.get_mut(r)) {
            room.remove(&session.peer_id);
        }
        if let Some(conn) = session.conn {
            state.refuse(&conn, SignalingError::DeviceRevoked);
        }
    }

    /// A guest's link stopped working (staff replaced it): a socket on it is told why
    /// and closed at once, and the guest leaves the visit.
    pub fn end_guest(&self, guest_id: &str, why: SignalingError) {
        let mut state = self.lock();
        let holder = Holder::Guest(guest_id.to_owned());
        close_early_sockets(&mut state, &holder, why);
        let mut ended = vec![];
        for room in state.rooms.values_mut() {
            let seated = room.held_by(&holder).map(|m| m.peer_id.clone());
            if let Some(member) = seated.and_then(|peer| room.remove(&peer)) {
                self.config.ice.revoke(&member.peer_id);
                if let Some(conn) = member.conn {
                    ended.push(conn);
                }
            }
        }
        for conn in ended {
            state.refuse(&conn, why);
        }
    }

    /// The family's side on socket `conn_id` (a guest, or the entrance kiosk where the
    /// family sits), if captions are on in its visit and the visit has started: (visit
    /// id, peer id). Only then is its audio recognised; never the ward's.
    pub fn speaker(&self, conn_id: ConnId) -> Option<(String, String)> {
        let state = self.lock();
        let (visit_id, peer_id) = Self::seat_of(&state, conn_id)?;
        let room = state.rooms.get(&visit_id)?;
        let family_side = room.member(&peer_id).is_some_and(|m| m.role != Role::Ward);
        (family_side && room.captions() && room.introduced()).then_some((visit_id, peer_id))
    }

    /// What the family said, to the devices in its visit (if captions are still on
    /// there).
    pub fn caption(&self, visit_id: &str, msg: &ServerMsg) {
        let state = self.lock();
        if let Some(room) = state.rooms.get(visit_id).filter(|r| r.captions()) {
            room.to_devices(msg);
        }
    }

    /// The recogniser stopped or is back: everyone in a visit with captions is told.
    pub fn captions_available(&self, available: bool) {
        let mut state = self.lock();
        state.captions_down = !available;
        let msg = ServerMsg::Captions { available };
        for room in state.rooms.values().filter(|r| r.captions()) {
            room.broadcast(&msg, None);
        }
    }

    /// Closes every socket (the server is shutting down).
    pub fn close_all(&self) {
        for (conn, _) in self.lock().conns.values() {
            conn.close();
        }
    }

    /// Sends a frame to a device, if it is connected (staff controls).
    pub fn send_to_device(&self, device_id: &str, msg: &ServerMsg) -> bool {
        let state = self.lock();
        match state.devices.get(device_id).and_then(|d| d.conn.as_ref()) {
            Some(conn) => {
                conn.send_msg(msg);
                true
            }
            None => false,
        }
    }

    /// The morning self-check (scheduler.rs): each device online and not in a visit is
    /// asked once on `date`; one that comes online later in the window is asked then.
    /// Returns how many were asked now.
    pub fn ask_morning_checks(
        &self,
        date: chrono::NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> usize {
        let mut state = self.lock();
        let State {
            devices,
            morning_asked,
            ..
        } = &mut *state;
        let mut asked = 0;
        for (id, session) in devices.iter() {
            let Some(conn) = &session.conn else {
                continue;
            };
            if session.room.is_some() || morning_asked.get(id) == Some(&date) {
                continue;
            }
            conn.send_msg(&self.check_msg(&session.peer_id, now));
            morning_asked.insert(id.clone(), date);
            asked += 1;
        }
        asked
    }

    /// "Check now" from staff: the device runs its self-check if it is connected (a
    /// device in a visit ignores it). Returns whether it was connected.
    pub fn ask_check(&self, device_id: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
        let state = self.lock();
        match state.devices.get(device_id) {
            Some(session) if session.conn.is_some() => {
                if let Some(conn) = &session.conn {
                    conn.send_msg(&self.check_msg(&session.peer_id, now));
                }
                true
            }
            _ => false,
        }
    }

    /// A `check` frame with relay credentials of its own, good for a few minutes.
    fn check_msg(&self, peer_id: &str, now: chrono::DateTime<chrono::Utc>) -> ServerMsg {
        ServerMsg::Check {
            ice_servers: self.config.ice.for_peer(
                &format!("check-{peer_id}"),
                now + chrono::Duration::minutes(3),
                now,
            ),
        }
    }

    /// Who is connected to a visit: (role, name) of each member present.
    pub fn presence(&self, visit_id: &str) -> Vec<(Role, String)> {
        let state = self.lock();
        state
            .rooms
            .get(visit_id)
            .map(|r| {
                r.members
                    .iter()
                    .filter(|m| m.conn.is_some())
                    .map(|m| (m.role, m.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a device has a socket open now.
    pub fn device_online(&self, device_id: &str) -> bool {
        self.lock()
            .devices
            .get(device_id)
            .is_some_and(|d| d.conn.is_some())
    }

    /// Where peers get their ICE servers (the embedded relay's credentials among them).
    pub fn ice(&self) -> &crate::turn::IceProvider {
        &self.config.ice
    }

    /// Sockets, rooms, live rooms and devices online, for `/metrics`.
    pub fn counts(&self) -> HubCounts {
        let state = self.lock();
        HubCounts {
            sockets: state.conns.len(),
            rooms: state.rooms.len(),
            live_rooms: state.rooms.values().filter(|r| r.live()).count(),
            devices_online: state.devices.values().filter(|d| d.conn.is_some()).count(),
        }
    }

    /// Whether at least two endpoints of a visit are connected.
    pub fn is_live(&self, visit_id: &str) -> bool {
        self.lock().rooms.get(visit_id).is_some_and(Room::live)
    }

    /// Ids of visits with a room or a guest waiting: what the scheduler must look up.
    pub fn watched(&self) -> Vec<String> {
        let state = self.lock();
        let mut visits: Vec<String> = state.rooms.keys().cloned().collect();
        for (_, attachment) in state.conns.values() {
            if let Attachment::Early { visit_id, .. } = attachment {
                visits.push(visit_id.clone());
            }
        }
        visits
    }
}

/// Who a guest's socket seats.
#[derive(Debug, Clone)]
struct Seating {
    peer_id: String,
    name: String,
    holder: Holder,
}

/// Closes the sockets of a guest who came early, saying `why`.
fn close_early_sockets(state: &mut State, holder: &Holder, why: SignalingError) {
    let earlier: Vec<Conn> = state
        .conns
        .values()
        .filter(|(_, a)| matches!(a, Attachment::Early { guest, .. } if &guest.holder == holder))
        .map(|(c, _)| c.clone())
        .collect();
    for conn in &earlier {
        state.refuse(conn, why);
    }
}
