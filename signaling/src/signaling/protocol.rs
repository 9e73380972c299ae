//! The signaling wire protocol (docs/PROTOCOL.md), defined once in the
//! `menkai-protocol` crate (shared with menkai-peer, and the pages' TypeScript types
//! generated from it); here only what ties it to the server's own types: the error
//! frame for a [`SignalingError`], a device's schedule from its visits, a visit's state.

pub use menkai_protocol::{
    ClientMsg, ErrorCode, IceServer, PeerInfo, Role, ScheduleEntry, ServerMsg, VisitInfo, VisitMode,
};

use crate::error::SignalingError;
use crate::visits::{Mode, Visit, VisitState};

/// A client frame as the server reads it (see [`ClientMsg::parse`]).
pub fn parse(text: &str) -> Option<ClientMsg> {
    ClientMsg::parse(text)
}

/// The `error` frame telling a client `error`.
pub fn error_frame(error: SignalingError) -> ServerMsg {
    ServerMsg::Error {
        code: error,
        message: crate::error::signaling_message(error),
    }
}

/// A device's schedule: its visits today.
pub fn schedule_of(
    device_id: &str,
    visits: &[Visit],
    lobby: crate::facility::LobbyNames,
) -> Vec<ScheduleEntry> {
    visits
        .iter()
        .map(|v| ScheduleEntry {
            id: v.id.clone(),
            // The entrance kiosk's screen is in the lobby, seen by anyone passing.
            resident: if v.entrance_device_id.as_deref() == Some(device_id) {
                lobby.show(&v.resident_name)
            } else {
                v.resident_name.clone()
            },
            starts_at: v.starts_at.to_rfc3339(),
            ends_at: v.ends_at.to_rfc3339(),
            mode: wire_mode(v.mode),
        })
        .collect()
}

/// A visit's state as the wire names it.
pub fn wire_state(state: VisitState) -> menkai_protocol::VisitState {
    match state {
        VisitState::Scheduled => menkai_protocol::VisitState::Scheduled,
        VisitState::Open => menkai_protocol::VisitState::Open,
        VisitState::Live => menkai_protocol::VisitState::Live,
        VisitState::Ended => menkai_protocol::VisitState::Ended,
        VisitState::Cancelled => menkai_protocol::VisitState::Cancelled,
    }
}

fn wire_mode(mode: Mode) -> VisitMode {
    match mode {
        Mode::Remote => VisitMode::Remote,
        Mode::Entrance => VisitMode::Entrance,
    }
}
