//! Who is connected, and to which visit. Rooms are visits; a room's members are its
//! endpoints (the family's browsers, the ward tablet, the entrance kiosk).
//!
//! The hub is plain synchronous state behind one mutex: every operation is short and
//! never waits on I/O (database lookups happen before, sends are non-blocking
//! `try_send`s into each socket's bounded queue). A socket whose queue is full is cut
//! off rather than allowed to grow the server's memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tokio::sync::{Notify, mpsc};

use super::protocol::{IceServer, PeerInfo, Role, ScheduleEntry, ServerMsg, VisitInfo};
use super::resume::ResumeKey;
use crate::devices::{Device, DeviceKind};
use crate::tokens;
use crate::visits::{LinkStatus, Visit, VisitState};

/// Frames waiting to be written to one socket. Small: signaling is a trickle, and a
/// client that cannot keep up is dropped, not buffered for.
pub const OUTBOX_FRAMES: usize = 64;

pub type ConnId = u64;

/// The sending half of one socket.
#[derive(Debug, Clone)]
pub struct Conn {
    pub id: ConnId,
    tx: mpsc::Sender<Arc<str>>,
    /// Tells the socket's tasks to close it.
    kill: Arc<Notify>,
}

impl Conn {
    pub fn new(id: ConnId) -> (Conn, mpsc::Receiver<Arc<str>>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOX_FRAMES);
        let kill = Arc::new(Notify::new());
        (
            Conn {
                id,
                tx,
                kill: kill.clone(),
            },
            rx,
            kill,
        )
    }

    /// Queues a frame; a full or closed queue closes the socket.
    pub fn send(&self, frame: Arc<str>) {
        if self.tx.try_send(frame).is_err() {
            self.close();
        }
    }

    pub fn send_msg(&self, msg: &ServerMsg) {
        self.send(msg.to_json());
    }

    pub fn close(&self) {
        self.kill.notify_one();
    }
}

#[derive(Debug)]
struct Member {
    peer_id: String,
    role: Role,
    name: String,
    /// `None` while the peer's socket is gone and it may still come back.
    conn: Option<Conn>,
    away_since: Option<Instant>,
}

impl Member {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            peer_id: self.peer_id.clone(),
            role: self.role,
            name: self.name.clone(),
        }
    }
}

#[derive(Debug)]
struct Room {
    visit: Visit,
    /// The last (state, starts_at, ends_at) told to the members.
    told: Option<(VisitState, DateTime<Utc>, DateTime<Utc>)>,
    members: Vec<Member>,
}

impl Room {
    fn live(&self) -> bool {
        self.members.iter().filter(|m| m.conn.is_some()).count() >= 2
    }

    fn state(&self, now: DateTime<Utc>) -> VisitState {
        self.visit.state(now, self.live())
    }

    fn info(&self, now: DateTime<Utc>) -> VisitInfo {
        VisitInfo {
            id: self.visit.id.clone(),
            resident: self.visit.resident_name.clone(),
            starts_at: self.visit.starts_at.to_rfc3339(),
            ends_at: self.visit.ends_at.to_rfc3339(),
            state: self.state(now).as_str(),
        }
    }

    fn visit_msg(&self, now: DateTime<Utc>, with_identity: bool) -> ServerMsg {
        ServerMsg::Visit {
            state: self.state(now).as_str(),
            starts_at: self.visit.starts_at.to_rfc3339(),
            ends_at: self.visit.ends_at.to_rfc3339(),
            id: with_identity.then(|| self.visit.id.clone()),
            resident: with_identity.then(|| self.visit.resident_name.clone()),
            now: now.to_rfc3339(),
        }
    }

    /// Sends to every connected member but `except`.
    fn broadcast(&self, msg: &ServerMsg, except: Option<&str>) {
        let frame = msg.to_json();
        for m in &self.members {
            if Some(m.peer_id.as_str()) != except
                && let Some(conn) = &m.conn
            {
                conn.send(frame.clone());
            }
        }
    }

    /// Seats a new member and tells the others it joined.
    fn admit(&mut self, peer_id: &str, role: Role, name: String, conn: Conn) {
        let member = Member {
            peer_id: peer_id.to_owned(),
            role,
            name,
            conn: Some(conn),
            away_since: None,
        };
        let joined = ServerMsg::PeerJoined {
            peer: member.info(),
        };
        self.members.push(member);
        self.broadcast(&joined, Some(peer_id));
    }

    fn peers_except(&self, peer_id: &str) -> Vec<PeerInfo> {
        self.members
            .iter()
            .filter(|m| m.peer_id != peer_id)
            .map(Member::info)
            .collect()
    }

    fn member_mut(&mut self, peer_id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.peer_id == peer_id)
    }
}

#[derive(Debug)]
struct DeviceSession {
    device: Device,
    peer_id: String,
    conn: Option<Conn>,
    room: Option<String>,
    schedule: Vec<ScheduleEntry>,
}

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
        peer_id: String,
        name: String,
        credential: String,
        opens_at: DateTime<Utc>,
    },
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, Room>,
    devices: HashMap<String, DeviceSession>,
    conns: HashMap<ConnId, (Conn, Attachment)>,
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub ice_servers: Vec<IceServer>,
    /// Endpoints per visit: the resident side plus up to three family homes.
    pub max_endpoints: usize,
    /// How long a peer whose socket dropped stays in its visit, waiting to resume.
    pub grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ice_servers: vec![],
            max_endpoints: 4,
            grace: Duration::from_secs(20),
        }
    }
}

/// Why a hello was refused. `keep_open` for `too_early`: the client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
}

/// What a hello turned out to be, as looked up in storage before the hub is locked.
#[derive(Debug, Clone)]
pub enum Credential {
    Guest {
        visit: Visit,
        name: String,
        revoked: bool,
    },
    Device {
        device: Device,
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
            state: Mutex::default(),
            key,
            config,
            next_conn: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
    ) -> Result<(), Refusal> {
        let resumed = resume.and_then(|r| self.key.verify(r, token));
        match credential {
            Credential::Unknown => Err(Refusal {
                code: "invalid_token",
            }),
            Credential::Guest {
                visit,
                name,
                revoked,
            } => match visit.link_status(revoked, now) {
                LinkStatus::Cancelled => Err(Refusal {
                    code: "visit_cancelled",
                }),
                LinkStatus::Ended => Err(Refusal {
                    code: "link_expired",
                }),
                LinkStatus::Replaced => Err(Refusal {
                    code: "link_replaced",
                }),
                LinkStatus::TooEarly { opens_at } => {
                    let peer_id = resumed.unwrap_or_else(new_peer_id);
                    conn.send_msg(&ServerMsg::error("too_early"));
                    let early = Attachment::Early {
                        visit_id: visit.id.clone(),
                        peer_id,
                        name,
                        credential: token.to_owned(),
                        opens_at,
                    };
                    self.lock().conns.insert(conn.id, (conn, early));
                    Ok(())
                }
                LinkStatus::Waiting | LinkStatus::Open => {
                    let mut state = self.lock();
                    let peer_id = resumed.unwrap_or_else(new_peer_id);
                    self.join_guest(&mut state, conn, visit, peer_id, name, token, now)
                }
            },
            Credential::Device {
                device,
                open_visit,
                schedule,
            } => {
                let mut state = self.lock();
                self.join_device(
                    &mut state, conn, device, open_visit, schedule, resumed, token, now,
                );
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join_guest(
        &self,
        state: &mut State,
        conn: Conn,
        visit: Visit,
        peer_id: String,
        name: String,
        credential: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let visit_id = visit.id.clone();
        let room = state.rooms.entry(visit_id.clone()).or_insert_with(|| Room {
            visit,
            told: None,
            members: vec![],
        });
        let resumed = room.member_mut(&peer_id).is_some();
        if !resumed && room.members.len() >= self.config.max_endpoints {
            return Err(Refusal { code: "visit_full" });
        }
        let welcome = |room: &Room| ServerMsg::Welcome {
            peer_id: peer_id.clone(),
            role: Role::Guest,
            resume: self.key.issue(&peer_id, credential),
            visit: Some(room.info(now)),
            peers: room.peers_except(&peer_id),
            ice_servers: self.config.ice_servers.clone(),
            schedule: None,
            volume: None,
            now: now.to_rfc3339(),
        };
        if let Some(member) = room.member_mut(&peer_id) {
            if let Some(old) = member.conn.replace(conn.clone()) {
                old.close();
            }
            member.away_since = None;
        } else {
            room.admit(&peer_id, Role::Guest, name, conn.clone());
        }
        conn.send_msg(&welcome(room));
        state
            .conns
            .insert(conn.id, (conn, Attachment::Guest { visit_id, peer_id }));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn join_device(
        &self,
        state: &mut State,
        conn: Conn,
        device: Device,
        open_visit: Option<Visit>,
        schedule: Vec<ScheduleEntry>,
        resumed: Option<String>,
        credential: &str,
        now: DateTime<Utc>,
    ) {
        let device_id = device.id.clone();
        let role = role_of(device.kind);
        // A device has one session: a new socket replaces the old one.
        let previous = state.devices.remove(&device_id);
        let mut room_id = None;
        let peer_id = match (previous, resumed) {
            (Some(prev), Some(resumed)) if prev.peer_id == resumed => {
                if let Some(old) = prev.conn {
                    state.conns.remove(&old.id);
                    old.close();
                }
                room_id = prev.room;
                resumed
            }
            (prev, resumed) => {
                if let Some(prev) = prev {
                    if let Some(old) = prev.conn {
                        state.conns.remove(&old.id);
                        old.close();
                    }
                    if let Some(room) = prev.room.and_then(|r| state.rooms.get_mut(&r)) {
                        room.members.retain(|m| m.peer_id != prev.peer_id);
                        room.broadcast(
                            &ServerMsg::PeerLeft {
                                peer_id: prev.peer_id.clone(),
                            },
                            None,
                        );
                    }
                }
                resumed.unwrap_or_else(new_peer_id)
            }
        };
        // Still (or again) in a room: take the seat back.
        if let Some(room) = room_id.as_ref().and_then(|r| state.rooms.get_mut(r)) {
            match room.member_mut(&peer_id) {
                Some(member) => {
                    if let Some(old) = member.conn.replace(conn.clone()) {
                        old.close();
                    }
                    member.away_since = None;
                }
                None => room_id = None,
            }
        }
        let name = device.name.clone();
        let volume_percent = device.volume_percent;
        state.devices.insert(
            device_id.clone(),
            DeviceSession {
                device,
                peer_id: peer_id.clone(),
                conn: Some(conn.clone()),
                room: room_id.clone(),
                schedule: schedule.clone(),
            },
        );
        state.conns.insert(
            conn.id,
            (
                conn.clone(),
                Attachment::Device {
                    device_id: device_id.clone(),
                },
            ),
        );
        // A visit open now that this device belongs to: put it in.
        if room_id.is_none()
            && let Some(visit) = open_visit
        {
            let visit_id = visit.id.clone();
            state.rooms.entry(visit_id.clone()).or_insert_with(|| Room {
                visit,
                told: None,
                members: vec![],
            });
            if let Some(room) = state.rooms.get_mut(&visit_id) {
                room.admit(&peer_id, role, name.clone(), conn.clone());
            }
            if let Some(session) = state.devices.get_mut(&device_id) {
                session.room = Some(visit_id.clone());
            }
            room_id = Some(visit_id);
        }
        let room = room_id.as_ref().and_then(|r| state.rooms.get(r));
        conn.send_msg(&ServerMsg::Welcome {
            peer_id: peer_id.clone(),
            role,
            resume: self.key.issue(&peer_id, credential),
            visit: room.map(|r| r.info(now)),
            peers: room.map(|r| r.peers_except(&peer_id)).unwrap_or_default(),
            ice_servers: self.config.ice_servers.clone(),
            schedule: Some(schedule),
            volume: Some(crate::devices::volume_gain(volume_percent)),
            now: now.to_rfc3339(),
        });
    }

    /// Relays `data` to peer `to` of the sender's visit.
    pub fn relay(&self, from: ConnId, to: &str, data: Box<RawValue>) {
        let state = self.lock();
        let Some((conn, attachment)) = state.conns.get(&from) else {
            return;
        };
        let located = match attachment {
            Attachment::Guest { visit_id, peer_id } => Some((visit_id.clone(), peer_id.clone())),
            Attachment::Device { device_id } => state
                .devices
                .get(device_id)
                .and_then(|d| Some((d.room.clone()?, d.peer_id.clone()))),
            Attachment::Early { .. } => None,
        };
        let target = located.and_then(|(visit_id, from_peer)| {
            let room = state.rooms.get(&visit_id)?;
            let member = room
                .members
                .iter()
                .find(|m| m.peer_id == to && m.peer_id != from_peer)?;
            Some((member.conn.clone(), from_peer))
        });
        match target {
            Some((Some(target), from_peer)) => target.send_msg(&ServerMsg::Signal {
                from: from_peer,
                data,
            }),
            // The peer is away and will restart ICE when it is back: nothing to do.
            Some((None, _)) => {}
            None => conn.send_msg(&ServerMsg::error("unknown_peer")),
        }
    }

    /// The socket is gone. Its peer stays in the visit for the grace period, so a
    /// quick reconnect (with `resume`) is invisible to the others.
    pub fn dropped(&self, conn_id: ConnId) {
        let mut state = self.lock();
        let Some((_, attachment)) = state.conns.remove(&conn_id) else {
            return;
        };
        let (room_id, peer_id) = match attachment {
            Attachment::Guest { visit_id, peer_id } => (Some(visit_id), peer_id),
            Attachment::Device { device_id } => {
                let Some(session) = state.devices.get_mut(&device_id) else {
                    return;
                };
                if session.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                    session.conn = None;
                }
                (session.room.clone(), session.peer_id.clone())
            }
            Attachment::Early { .. } => return,
        };
        if let Some(member) = room_id
            .and_then(|r| state.rooms.get_mut(&r))
            .and_then(|room| room.member_mut(&peer_id))
            && member.conn.as_ref().is_some_and(|c| c.id == conn_id)
        {
            member.conn = None;
            member.away_since = Some(Instant::now());
        }
    }

    /// The peer said goodbye: it leaves its visit at once.
    pub fn leave(&self, conn_id: ConnId) {
        let mut state = self.lock();
        let Some((_, attachment)) = state.conns.remove(&conn_id) else {
            return;
        };
        let (room_id, peer_id) = match attachment {
            Attachment::Guest { visit_id, peer_id } => (visit_id, peer_id),
            Attachment::Device { device_id } => match state.devices.remove(&device_id) {
                Some(DeviceSession {
                    room: Some(room),
                    peer_id,
                    ..
                }) => (room, peer_id),
                _ => return,
            },
            Attachment::Early { .. } => return,
        };
        if let Some(room) = state.rooms.get_mut(&room_id) {
            room.members.retain(|m| m.peer_id != peer_id);
            room.broadcast(&ServerMsg::PeerLeft { peer_id }, None);
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

    pub fn is_live(&self, visit_id: &str) -> bool {
        self.lock().rooms.get(visit_id).is_some_and(Room::live)
    }

    /// Whether a device has a socket open now.
    pub fn device_online(&self, device_id: &str) -> bool {
        self.lock()
            .devices
            .get(device_id)
            .is_some_and(|d| d.conn.is_some())
    }

    /// Ids of visits with a room, and devices connected: what the scheduler must
    /// look up.
    pub fn watched(&self) -> (Vec<String>, Vec<String>) {
        let state = self.lock();
        let mut visits: Vec<String> = state.rooms.keys().cloned().collect();
        for (_, attachment) in state.conns.values() {
            if let Attachment::Early { visit_id, .. } = attachment {
                visits.push(visit_id.clone());
            }
        }
        (visits, state.devices.keys().cloned().collect())
    }

    /// The scheduler's step: brings every room in line with the visits as stored now.
    /// `visits` holds every visit that is in its link window or has a room; `schedules`
    /// the current schedule of each connected device.
    pub fn tick(
        &self,
        now: DateTime<Utc>,
        visits: &[Visit],
        schedules: HashMap<String, Vec<ScheduleEntry>>,
    ) {
        let mut state = self.lock();
        let state = &mut *state;
        // Refresh snapshots; close rooms whose visit is over.
        let by_id: HashMap<&str, &Visit> = visits.iter().map(|v| (v.id.as_str(), v)).collect();
        let room_ids: Vec<String> = state.rooms.keys().cloned().collect();
        for id in room_ids {
            let Some(room) = state.rooms.get_mut(&id) else {
                continue;
            };
            if let Some(fresh) = by_id.get(id.as_str()) {
                room.visit = (*fresh).clone();
            }
            if matches!(room.state(now), VisitState::Ended | VisitState::Cancelled)
                || !by_id.contains_key(id.as_str())
            {
                self.close_room(state, &id, now);
            }
        }
        // Promote early guests whose link has opened.
        let early: Vec<(ConnId, Conn, String, String, String, String)> = state
            .conns
            .iter()
            .filter_map(|(id, (conn, a))| match a {
                Attachment::Early {
                    visit_id,
                    peer_id,
                    name,
                    credential,
                    opens_at,
                } if *opens_at <= now => Some((
                    *id,
                    conn.clone(),
                    visit_id.clone(),
                    peer_id.clone(),
                    name.clone(),
                    credential.clone(),
                )),
                _ => None,
            })
            .collect();
        for (conn_id, conn, visit_id, peer_id, name, credential) in early {
            state.conns.remove(&conn_id);
            match by_id.get(visit_id.as_str()) {
                Some(visit)
                    if !matches!(
                        visit.state(now, false),
                        VisitState::Ended | VisitState::Cancelled
                    ) =>
                {
                    if let Err(refusal) = self.join_guest(
                        state,
                        conn.clone(),
                        (*visit).clone(),
                        peer_id,
                        name,
                        &credential,
                        now,
                    ) {
                        conn.send_msg(&ServerMsg::error(refusal.code));
                        conn.close();
                    }
                }
                _ => {
                    conn.send_msg(&ServerMsg::error("link_expired"));
                    conn.close();
                }
            }
        }
        // Put devices into the visits that are open now.
        for visit in visits
            .iter()
            .filter(|v| matches!(v.state(now, false), VisitState::Open))
        {
            let device_ids =
                std::iter::once(&visit.ward_device_id).chain(visit.entrance_device_id.as_ref());
            for device_id in device_ids {
                self.seat_device(state, device_id, visit, now);
            }
        }
        // Peers gone longer than the grace period leave.
        for room in state.rooms.values_mut() {
            let gone: Vec<String> = room
                .members
                .iter()
                .filter(|m| {
                    m.away_since
                        .is_some_and(|t| t.elapsed() >= self.config.grace)
                })
                .map(|m| m.peer_id.clone())
                .collect();
            for peer_id in gone {
                room.members.retain(|m| m.peer_id != peer_id);
                room.broadcast(
                    &ServerMsg::PeerLeft {
                        peer_id: peer_id.clone(),
                    },
                    None,
                );
                for session in state.devices.values_mut() {
                    if session.peer_id == peer_id {
                        session.room = None;
                    }
                }
            }
        }
        // Tell everyone about changed states and times.
        for room in state.rooms.values_mut() {
            let now_told = (room.state(now), room.visit.starts_at, room.visit.ends_at);
            // A room seen for the first time is announced too: its members may have
            // been welcomed before a change this same step made (a device seated).
            if room.told != Some(now_told) {
                room.broadcast(&room.visit_msg(now, false), None);
                room.told = Some(now_told);
            }
        }
        // Devices' idle screens.
        for (device_id, schedule) in schedules {
            if let Some(session) = state.devices.get_mut(&device_id)
                && session.schedule != schedule
            {
                session.schedule = schedule.clone();
                if let Some(conn) = &session.conn {
                    conn.send_msg(&ServerMsg::Schedule { schedule });
                }
            }
        }
    }

    fn seat_device(&self, state: &mut State, device_id: &str, visit: &Visit, now: DateTime<Utc>) {
        let Some(session) = state.devices.get(device_id) else {
            return;
        };
        if session.room.as_deref() == Some(visit.id.as_str()) {
            return;
        }
        let (Some(conn), peer_id, name) = (
            session.conn.clone(),
            session.peer_id.clone(),
            session.device.name.clone(),
        ) else {
            return;
        };
        let role = role_of(session.device.kind);
        let room = state.rooms.entry(visit.id.clone()).or_insert_with(|| Room {
            visit: visit.clone(),
            told: None,
            members: vec![],
        });
        room.members.retain(|m| m.peer_id != peer_id);
        conn.send_msg(&room.visit_msg(now, true));
        for member in &room.members {
            conn.send_msg(&ServerMsg::PeerJoined {
                peer: member.info(),
            });
        }
        room.admit(&peer_id, role, name, conn);
        if let Some(session) = state.devices.get_mut(device_id) {
            session.room = Some(visit.id.clone());
        }
    }

    /// The visit is over: everyone hears its final state; guests' sockets close,
    /// devices go back to idle.
    fn close_room(&self, state: &mut State, visit_id: &str, now: DateTime<Utc>) {
        let Some(room) = state.rooms.remove(visit_id) else {
            return;
        };
        let last = room.visit_msg(now, true);
        for member in &room.members {
            let Some(conn) = &member.conn else { continue };
            conn.send_msg(&last);
            if member.role == Role::Guest {
                state.conns.remove(&conn.id);
                conn.close();
            }
        }
        for session in state.devices.values_mut() {
            if session.room.as_deref() == Some(visit_id) {
                session.room = None;
            }
        }
    }
}
