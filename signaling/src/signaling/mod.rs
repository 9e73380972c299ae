//! WebRTC signaling (docs/PROTOCOL.md): rooms are visits; peers exchange SDP and ICE
//! through the server, media flows peer to peer. Plain state, time passed in: it
//! knows nothing of HTTP, storage or the application around it (the WebSocket is
//! `web/ws.rs`, the clock's steps `scheduler.rs`).
//!
//! - `protocol` — the frames (defined in `menkai-protocol`) tied to the server's types
//! - `hub` — who is in which visit; relaying, joining, leaving, resuming
//! - `resume` — resume tokens that survive a restart

pub mod hub;
pub mod protocol;
pub mod resume;

pub use hub::{Hub, HubConfig, HubCounts};
