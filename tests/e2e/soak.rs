//! `scripts/soak`: visits joined and left over and over against the real binary, to see
//! whether anything grows that should not (memory, open files: a socket, a room, a
//! timer left behind per call). Not part of the test suite (it is `#[ignore]`d and run
//! by the script in release mode); it prints a line a minute, it does not judge.
//!
//! MENKAI_SOAK_VISITS visits (default 5), each between two Rust peers (ward tablet and
//! family), joined, connected peer to peer, left; again for MENKAI_SOAK_MINUTES
//! minutes (default 2).

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::support::rss_kib;
use crate::support::{Server, book_for, fresh_server, paired_home};
use crate::support::{connected_to_one, join_at};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A visit that starts now and lasts `minutes`: its tablet's token and the family's.
async fn long_visit(server: &Server, token: &str, minutes: u64) -> (String, String) {
    let (home, device_token) = paired_home(server, token).await;
    let visit = book_for(server, token, &home, Utc::now(), minutes).await;
    let guest = visit["invitations"][0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    (device_token, guest)
}

/// Every visit joined at once by both ends, connected, then left by both.
async fn one_round(base: &str, visits: &[(String, String)]) {
    let calls = visits.iter().map(|(ward, guest)| async move {
        let (ward, guest) = tokio::join!(join_at(base, ward), join_at(base, guest));
        for peer in [&ward, &guest] {
            peer.wait_until(Duration::from_secs(60), connected_to_one)
                .await
                .expect("connected within a minute");
        }
        tokio::join!(ward.leave(), guest.leave());
    });
    futures_util::future::join_all(calls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak script: run scripts/soak"]
async fn soak() {
    let minutes = env_or("MENKAI_SOAK_MINUTES", 2);
    let count = env_or("MENKAI_SOAK_VISITS", 5);
    let (_data, token, server) = fresh_server().await;
    let pid = server.pid();
    let mut visits = vec![];
    for _ in 0..count {
        visits.push(long_visit(&server, &token, (minutes + 5).min(240)).await);
    }
    // One round first, so the figures start from a server that has done it once.
    one_round(&server.base, &visits).await;
    let started = Instant::now();
    let deadline = Duration::from_secs(minutes * 60);
    let mut rounds = 0u64;
    let mut next_report = Duration::ZERO;
    let mut curve = vec![];
    loop {
        let elapsed = started.elapsed();
        if elapsed >= next_report {
            let (rss, files) = (rss_kib(pid), open_files(pid));
            println!(
                "soak minute {:>3}: {rounds} rounds ({} calls) done; server RSS {rss} KiB, open files {files}",
                next_report.as_secs() / 60,
                rounds * count
            );
            curve.push((rss, files));
            next_report += Duration::from_secs(60);
        }
        if elapsed >= deadline {
            break;
        }
        one_round(&server.base, &visits).await;
        rounds += 1;
    }
    let (first, last) = (curve[0], curve[curve.len() - 1]);
    println!(
        "soak result: {count} visits joined and left {rounds} times in {minutes} min ({} calls); RSS {} → {} KiB, open files {} → {}",
        rounds * count,
        first.0,
        last.0,
        first.1,
        last.1
    );
    server.stop().await;
}
