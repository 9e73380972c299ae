//! Menkai's own WebRTC endpoint in Rust (webrtc-rs) meets the browser clients: real
//! ICE, DTLS and SRTP between two different WebRTC stacks, over the real signaling.

use std::time::Duration;

use menkai_peer::{Peer, Snapshot};

use crate::support::Browser;
use crate::support::until;
use crate::support::{TestApp, remote_visit_now, spawn_app_with_seed};
use crate::support::{connected_to_one, join_at};

const WITHIN: Duration = Duration::from_secs(30);

async fn join(app: &TestApp, token: &str) -> Peer {
    join_at(&app.url(""), token).await
}

fn receives_both_ways(snapshot: &Snapshot) -> bool {
    snapshot.links.len() == 1
        && snapshot.links.iter().all(|l| {
            l.state == "connected"
                && l.audio_packets > 0
                && l.video_packets > 0
                && l.reflected_packets > 0
        })
}

#[tokio::test]
async fn a_rust_ward_device_and_the_family_page_in_chromium_exchange_media_both_ways() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let ward = join(&app, &ward_token).await;
    let family = Browser::start().await;
    family.goto(&app.url(&links[0])).await;

    // Chromium decodes video (and receives audio) that came from the Rust peer: its own
    // fake camera and microphone, mirrored by webrtc-rs.
    let seen = family.wait_for_media(1, WITHIN).await;
    assert_eq!(seen[0]["role"], "ward");
    assert_eq!(seen[0]["peerId"], ward.peer_id());
    // The Rust peer received Chromium's RTP, audio and video, and sent it back.
    let snapshot = ward
        .wait_until(WITHIN, |s| {
            receives_both_ways(s) && s.visit.as_deref() == Some("live")
        })
        .await
        .expect("the Rust peer receives the family's media, and the visit is live");
    assert_eq!(snapshot.links[0].role, "guest");

    // Later either side may offer again (an ICE restart after a socket came back); the
    // DTLS roles settled by the first exchange hold whoever offers.
    let negotiated = snapshot.links[0].negotiations;
    family.eval("window.menkai.mesh.restartIce()").await;
    ward.wait_until(WITHIN, |s| {
        receives_both_ways(s) && s.links[0].negotiations > negotiated
    })
    .await
    .expect("the browser's ICE restart was answered");
    let frames = |stats: &serde_json::Value| stats[0]["framesDecoded"].as_u64().unwrap_or(0);
    // Frames keep coming: a few seconds at most (after the new path, decoding may wait
    // for the next key frame, and the machine may be busy with other tests).
    let decoded = frames(&family.wait_for_media(1, WITHIN).await);
    until(
        Duration::from_secs(10),
        "video still flows after the restart",
        || async { (frames(&family.wait_for_media(1, WITHIN).await) > decoded + 10).then_some(()) },
    )
    .await;
    let log = family.eval("window.menkai.mesh.log.join('\\n')").await;
    let log = log.as_str().unwrap_or_default();
    assert!(!log.contains("failed"), "no negotiation failed:\n{log}");

    // The family leaves: the Rust peer drops its connection at once.
    family.goto(&app.url("/")).await;
    ward.wait_until(WITHIN, |s| s.links.is_empty())
        .await
        .expect("the link closes when the family leaves");
}

#[tokio::test]
async fn two_rust_peers_connect_to_each_other_whoever_offers_first() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let guest_token = links[0].trim_start_matches("/v/");
    // Both start offering at once when they meet: perfect negotiation settles it.
    let ward = join(&app, &ward_token).await;
    let guest = join(&app, guest_token).await;
    for peer in [&ward, &guest] {
        peer.wait_until(WITHIN, connected_to_one)
            .await
            .expect("connected");
    }
    let guest_id = guest.peer_id().to_owned();
    guest.leave().await;
    ward.wait_until(WITHIN, |s| s.links.iter().all(|l| l.peer_id != guest_id))
        .await
        .expect("the ward side lets go of a guest who left");
}

/// The real binary is stopped and started again on the same data: both Rust peers
/// come back with `resume` as the same peers, and keep the connection they had.
#[tokio::test]
async fn rust_peers_keep_their_seats_and_their_connection_through_a_server_restart() {
    use crate::support::{Server, call_now, fresh_server};
    let (data, token, server) = fresh_server().await;
    let (device_token, link) = call_now(&server, &token).await;
    let ward = join_at(&server.base, &device_token).await;
    let guest = join_at(&server.base, link.trim_start_matches("/v/")).await;
    for peer in [&ward, &guest] {
        peer.wait_until(WITHIN, connected_to_one)
            .await
            .expect("connected");
    }

    let before = ward.snapshot().links[0].negotiations;
    let listen = server.base.trim_start_matches("http://").to_owned();
    server.stop().await;
    for peer in [&ward, &guest] {
        peer.wait_until(WITHIN, |s| !s.online)
            .await
            .expect("the socket is down");
    }
    let server = Server::start_on(data.path(), &listen).await;
    for peer in [&ward, &guest] {
        let back = peer
            .wait_until(WITHIN, |s| s.online && connected_to_one(s))
            .await
            .expect("back on signaling, still connected");
        assert_eq!(
            back.peer_id,
            peer.peer_id(),
            "the same peer after the restart"
        );
        assert_eq!(back.links[0].rebuilds, 0, "the connection was kept");
    }
    // Both sides restarted ICE when they were back (glare settled by politeness).
    ward.wait_until(WITHIN, |s| {
        connected_to_one(s) && s.links[0].negotiations > before
    })
    .await
    .expect("ICE restarted, still connected");
    server.stop().await;
}
