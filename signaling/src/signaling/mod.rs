//! WebRTC signaling at `GET /ws` (docs/PROTOCOL.md): rooms are visits; peers exchange
//! SDP and ICE through the server, media flows peer to peer.
//!
//! - `protocol` — the frames, as serde enums
//! - `hub` — who is in which visit; relaying, joining, leaving, resuming
//! - `socket` — one WebSocket: authentication, limits, heartbeat
//! - `scheduler` — opens, updates and ends visits as time passes
//! - `resume` — resume tokens that survive a restart

pub mod hub;
pub mod protocol;
pub mod resume;
pub mod scheduler;
pub mod socket;

pub use hub::{Hub, HubConfig, HubCounts};
