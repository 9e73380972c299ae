//! One visit's room: who is in it, and what all of them are told. Every way into and
//! out of a room (a new seat, a seat taken back after a drop, a seat given up, a seat
//! that waited too long) is one method here, used by guests and devices alike.
//!
//! The waiting room is private: families who come early wait seated but unseen. Nobody
//! in a room learns of anybody else (no `peers`, no `peer-joined`, no signal relayed)
//! until the visit starts; then everyone is introduced to everyone at once
//! ([`Room::open_doors`]). Two households waiting for the same resident never see or
//! hear each other before the resident is there, and nothing plays that the waiting
//! screen does not show.

use chrono::{DateTime, Utc};

use super::super::protocol::{PeerInfo, Role, ServerMsg, VisitInfo};
use super::conn::Conn;
use crate::visits::{Visit, VisitState};

/// What holds a seat, so one invitation (or one device) never holds two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A guest (one per invitation: a replaced link's guest keeps the same seat).
    Guest(String),
    Device(String),
}

#[derive(Debug)]
pub struct Member {
    pub peer_id: String,
    pub role: Role,
    pub name: String,
    pub holder: Holder,
    /// `None` while the peer's socket is gone and it may still come back.
    pub conn: Option<Conn>,
    pub away_since: Option<DateTime<Utc>>,
}

impl Member {
    pub fn new(peer_id: String, role: Role, name: String, holder: Holder, conn: Conn) -> Self {
        Self {
            peer_id,
            role,
            name,
            holder,
            conn: Some(conn),
            away_since: None,
        }
    }

    pub fn info(&self) -> PeerInfo {
        PeerInfo {
            peer_id: self.peer_id.clone(),
            role: self.role,
            name: self.name.clone(),
        }
    }
}

#[derive(Debug)]
pub struct Room {
    pub visit: Visit,
    /// The last (state, starts_at, ends_at, captions) told to the members.
    told: Option<(VisitState, DateTime<Utc>, DateTime<Utc>, bool)>,
    pub members: Vec<Member>,
    /// The visit has started and its members know of each other.
    introduced: bool,
    /// The server has a recogniser (captions can be on).
    recogniser: bool,
}

impl Room {
    pub fn new(visit: Visit, recogniser: bool) -> Self {
        Self {
            visit,
            told: None,
            members: vec![],
            introduced: false,
            recogniser,
        }
    }

    /// Whether live captions are on in this visit now.
    pub fn captions(&self) -> bool {
        self.recogniser && self.visit.captions
    }

    /// From the start of the visit on, everyone seated is introduced to everyone else
    /// (each gets `peer-joined` for each other), once. Before it, nothing.
    pub fn open_doors(&mut self, now: DateTime<Utc>) {
        if self.introduced || now < self.visit.starts_at {
            return;
        }
        self.introduced = true;
        for member in &self.members {
            let Some(conn) = &member.conn else {
                continue;
            };
            for other in self.members.iter().filter(|o| o.peer_id != member.peer_id) {
                conn.send_msg(&ServerMsg::PeerJoined { peer: other.info() });
            }
        }
    }

    /// Whether its members may know of (and signal to) each other.
    pub fn introduced(&self) -> bool {
        self.introduced
    }

    /// Live: at least two endpoints connected.
    pub fn live(&self) -> bool {
        self.members.iter().filter(|m| m.conn.is_some()).count() >= 2
    }

    pub fn state(&self, now: DateTime<Utc>) -> VisitState {
        self.visit.state(now, self.live())
    }

    pub fn over(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state(now), VisitState::Ended | VisitState::Cancelled)
    }

    pub fn info(&self, now: DateTime<Utc>) -> VisitInfo {
        VisitInfo {
            id: self.visit.id.clone(),
            resident: self.visit.resident_name.clone(),
            starts_at: self.visit.starts_at.to_rfc3339(),
            ends_at: self.visit.ends_at.to_rfc3339(),
            state: crate::signaling::protocol::wire_state(self.state(now)),
            captions: self.captions(),
        }
    }

    /// The `visit` frame; `with_identity` when it also puts a device into (or out of)
    /// the visit.
    pub fn visit_msg(&self, now: DateTime<Utc>, with_identity: bool) -> ServerMsg {
        ServerMsg::Visit {
            state: crate::signaling::protocol::wire_state(self.state(now)),
            starts_at: self.visit.starts_at.to_rfc3339(),
            ends_at: self.visit.ends_at.to_rfc3339(),
            id: with_identity.then(|| self.visit.id.clone()),
            resident: with_identity.then(|| self.visit.resident_name.clone()),
            ice_servers: None,
            now: now.to_rfc3339(),
            captions: self.recogniser.then(|| self.captions()),
        }
    }

    /// Sends to every connected member but `except`.
    pub fn broadcast(&self, msg: &ServerMsg, except: Option<&str>) {
        let frame = msg.to_json();
        for m in &self.members {
            if Some(m.peer_id.as_str()) != except
                && let Some(conn) = &m.conn
            {
                conn.send(frame.clone());
            }
        }
    }

    pub fn member(&self, peer_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.peer_id == peer_id)
    }

    pub fn held_by(&self, holder: &Holder) -> Option<&Member> {
        self.members.iter().find(|m| &m.holder == holder)
    }

    /// The others `peer_id` may know of: nobody before the visit starts.
    pub fn peers_except(&self, peer_id: &str) -> Vec<PeerInfo> {
        if !self.introduced {
            return vec![];
        }
        self.members
            .iter()
            .filter(|m| m.peer_id != peer_id)
            .map(Member::info)
            .collect()
    }

    /// Seats a new member and, once the visit has started, tells the others it joined.
    pub fn admit(&mut self, member: Member, now: DateTime<Utc>) {
        self.open_doors(now);
        let joined = ServerMsg::PeerJoined {
            peer: member.info(),
        };
        let peer_id = member.peer_id.clone();
        self.members.push(member);
        if self.introduced {
            self.broadcast(&joined, Some(&peer_id));
        }
    }

    /// A member leaves; the others are told (if they knew of it). Returns it, if it
    /// was there.
    pub fn remove(&mut self, peer_id: &str) -> Option<Member> {
        let at = self.members.iter().position(|m| m.peer_id == peer_id)?;
        let member = self.members.remove(at);
        if self.introduced {
            self.broadcast(
                &ServerMsg::PeerLeft {
                    peer_id: member.peer_id.clone(),
                },
                None,
            );
        }
        Some(member)
    }

    /// A member whose socket dropped is back on `conn`: the others notice nothing.
    /// Returns the socket it replaced, if any (a drop the server had not seen yet).
    pub fn reconnect(&mut self, peer_id: &str, conn: Conn) -> Result<Option<Conn>, Conn> {
        match self.members.iter_mut().find(|m| m.peer_id == peer_id) {
            Some(member) => {
                member.away_since = None;
                Ok(member.conn.replace(conn))
            }
            None => Err(conn),
        }
    }

    /// The socket `conn_id` of member `peer_id` is gone: the seat waits for it.
    pub fn went_away(&mut self, peer_id: &str, conn_id: u64, now: DateTime<Utc>) {
        if let Some(member) = self
            .members
            .iter_mut()
            .find(|m| m.peer_id == peer_id && m.conn.as_ref().is_some_and(|c| c.id == conn_id))
        {
            member.conn = None;
            member.away_since = Some(now);
        }
    }

    /// Members away since `grace` before `now` leave; returns their peer ids.
    pub fn expire(&mut self, now: DateTime<Utc>, grace: chrono::Duration) -> Vec<String> {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.away_since.is_some_and(|t| now - t >= grace))
            .map(|m| m.peer_id.clone())
            .collect();
        for peer_id in &gone {
            self.remove(peer_id);
        }
        gone
    }

    /// Sends `msg` to the resident's devices (ward tablet, entrance kiosk) in the room.
    pub fn to_devices(&self, msg: &ServerMsg) {
        let frame = msg.to_json();
        for m in &self.members {
            if m.role != Role::Guest
                && let Some(conn) = &m.conn
            {
                conn.send(frame.clone());
            }
        }
    }

    /// Tells everyone when the visit's state, times or captions changed since last told. A room
    /// seen for the first time is announced too: its members may have been welcomed
    /// before a change in the same step (a device seated).
    pub fn announce(&mut self, now: DateTime<Utc>) {
        let current = (
            self.state(now),
            self.visit.starts_at,
            self.visit.ends_at,
            self.captions(),
        );
        if self.told != Some(current) {
            self.broadcast(&self.visit_msg(now, false), None);
            self.told = Some(current);
        }
    }
}
