//! menkai-peer, the Rust WebRTC endpoint, joined to a server as a test participant.

use menkai_peer::{Peer, PeerOptions, Snapshot};

/// A Rust peer on loopback joining the server at `server` (its base URL).
pub async fn join_at(server: &str, token: &str) -> Peer {
    join_with(server, token, false).await
}

/// [`join_at`], sending a test stream of its own instead of mirroring when `test_media`.
pub async fn join_with(server: &str, token: &str, test_media: bool) -> Peer {
    let options = PeerOptions {
        udp_addrs: vec!["127.0.0.1:0".into()],
        test_media,
    };
    Peer::join(&menkai_peer::ws_url(server), token, options)
        .await
        .expect("the Rust peer is welcomed")
}

pub fn connected_to_one(snapshot: &Snapshot) -> bool {
    snapshot.links.len() == 1 && snapshot.links[0].state == "connected"
}
