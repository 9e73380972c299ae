//! A Menkai endpoint in Rust, on webrtc-rs: it speaks the signaling protocol of
//! docs/PROTOCOL.md and makes real WebRTC connections to the other endpoints of a
//! visit, as the browser clients do. The end-to-end tests use it as a ward device
//! against the family's page in Chromium; `menkai-peer` runs it from the command
//! line for load scripts.
//!
//! Its media is a mirror: every link sends back what it receives, so no codec is
//! needed here and a browser sees its own camera come back through the whole stack.

mod link;
mod peer;
pub mod protocol;
mod signaling;

pub use link::LinkStats;
pub use peer::{Peer, PeerOptions, Snapshot};
pub use signaling::JoinError;

/// The signaling socket's address for a server's base address: `http://host:port` →
/// `ws://host:port/ws` (and https → wss).
pub fn ws_url(server: &str) -> String {
    let base = server.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some(("http", rest)) => format!("ws://{rest}"),
        _ => base.to_owned(),
    };
    format!("{base}/ws")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_socket_address_follows_the_scheme() {
        assert_eq!(
            super::ws_url("http://127.0.0.1:8080/"),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            super::ws_url("https://care.example"),
            "wss://care.example/ws"
        );
    }
}
