//! `scripts/load-calls`: many visits at once, each between two Rust peers (webrtc-rs)
//! against the real binary. Not part of the test suite (it is `#[ignore]`d and run by
//! the script in release mode); it prints, it does not judge.
//!
//! Per visit a ward tablet and a family member join at the same moment, offer to each
//! other at once (glare, settled by perfect negotiation) and connect peer to peer.
//! Printed: time from joining to both sides connected (p50, p99, worst), and the
//! server's memory before and with every call up.
//!
//! With `MENKAI_LOAD_RELAY=1` every call is relay-only through the embedded relay: the
//! family's peer sends a call's worth of RTP (audio and video-sized packets), the
//! ward's mirrors it back, all through TURN; also printed: the relay's packet rate and
//! the server's CPU over ten seconds with every call up.

use std::time::{Duration, Instant};

use menkai_peer::Peer;

use crate::support::{call_now, fresh_server_with};
use crate::support::{connected_to_one, join_with};
use crate::support::{cpu_seconds, metric_sum, rss_kib};

fn calls() -> usize {
    std::env::var("MENKAI_LOAD_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

/// Both ends of one visit joined at once; returns them once both are connected, and
/// how long that took.
async fn one_call(
    server: String,
    device_token: String,
    guest_token: String,
    test_media: bool,
) -> (Duration, Peer, Peer) {
    let started = Instant::now();
    let (ward, guest) = tokio::join!(
        join_with(&server, &device_token, false),
        join_with(&server, &guest_token, test_media)
    );
    for peer in [&ward, &guest] {
        peer.wait_until(Duration::from_secs(60), connected_to_one)
            .await
            .expect("connected within a minute");
    }
    (started.elapsed(), ward, guest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load script: run scripts/load-calls"]
async fn load_calls() {
    let calls = calls();
    let relay = std::env::var_os("MENKAI_LOAD_RELAY").is_some_and(|v| v != "0");
    let (_data, token, server) = fresh_server_with(relay.then_some("relay_only = true\n")).await;
    let mut visits = vec![];
    for _ in 0..calls {
        visits.push(call_now(&server, &token).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(server.pid());
    let started = Instant::now();
    let running: Vec<_> = visits
        .into_iter()
        .map(|(device_token, link)| {
            let guest_token = link.trim_start_matches("/v/").to_owned();
            tokio::spawn(one_call(
                server.base.clone(),
                device_token,
                guest_token,
                relay,
            ))
        })
        .collect();
    let mut times = vec![];
    let mut peers = vec![];
    for call in running {
        let (took, ward, guest) = call.await.expect("call");
        times.push(took.as_secs_f64());
        peers.extend([ward, guest]);
    }
    let all_up = started.elapsed();
    let during = rss_kib(server.pid());
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{calls} visits joined at once, {} Rust peers: connected p50 {:.2} s, p99 {:.2} s, worst {:.2} s; all up in {:.2} s",
        calls * 2,
        at(0.5),
        at(0.99),
        times[times.len() - 1],
        all_up.as_secs_f64()
    );
    println!(
        "server memory: {before} KiB before, {during} KiB with {} sockets in {calls} live visits ({:.1} KiB per visit)",
        calls * 2,
        (during.saturating_sub(before)) as f64 / calls as f64
    );
    if relay {
        let relayed = || async {
            metric_sum(
                &server.metrics().await,
                "menkai_turn_relayed_packets_total{",
            )
        };
        let (packets, cpu, at) = (relayed().await, cpu_seconds(server.pid()), Instant::now());
        tokio::time::sleep(Duration::from_secs(10)).await;
        let seconds = at.elapsed().as_secs_f64();
        let rate = (relayed().await - packets) / seconds;
        println!(
            "relay: {calls} relay-only calls through the embedded relay: {rate:.0} packets/s relayed ({:.0} per call), server CPU {:.1} % of one core, server memory {} KiB",
            rate / calls as f64,
            100.0 * (cpu_seconds(server.pid()) - cpu) / seconds,
            rss_kib(server.pid())
        );
        assert!(rate > 0.0, "media flows through the relay");
    }
    for peer in peers {
        peer.leave().await;
    }
    server.stop().await;
}
