//! `scripts/bench-join`: figures for joining a call. Not part of the test suite (it is
//! `#[ignore]`d and run by the script in release mode); it prints, it does not judge.
//!
//! - time from opening the family's link to the first decoded frame from the tablet
//!   (median and worst of 10, headless Chromium on loopback);
//! - the bytes the join page downloads;
//! - signaling relay latency between two sockets (p50, p99 of 2,000 signals);
//! - memory per idle device socket (the real binary, 1,000 paired devices connected).

use std::time::{Duration as StdDuration, Instant};

use serde_json::{Value, json};

use crate::support::Browser;
use crate::support::{Seed, Ws, monday_9am_tokyo, path_of, rss_kib, spawn_app_with_seed};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::test]
#[ignore = "a benchmark: run scripts/bench-join"]
async fn bench_join() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_id, ward_token) = app.paired_device(&token, "ward", "Tablet").await;
    let seed = Seed {
        ward: ward_id,
        ..seed
    };
    let (_, visit) = app.book(&token, &seed, monday_9am_tokyo(), &["Taro"]).await;
    let link = path_of(visit["invitations"][0]["url"].as_str().expect("url"));

    // 1. Link to first decoded frame.
    let tablet = Browser::start().await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    tablet
        .wait_until("window.menkai.linked()", StdDuration::from_secs(30))
        .await;
    let family = Browser::start().await;
    let mut times = vec![];
    for _ in 0..10 {
        family.goto("about:blank").await;
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        let started = Instant::now();
        family.goto(&app.url(&link)).await;
        loop {
            let frames = family
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     if (!window.menkai) { done(0); return; }
                     window.menkai.stats().then(s => done(s.reduce((n, p) => n + p.framesDecoded, 0)), () => done(0));",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            if frames.as_u64().unwrap_or(0) > 0 {
                break;
            }
            assert!(
                started.elapsed() < StdDuration::from_secs(60),
                "no frame within a minute"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "link opened → first decoded remote frame: median {:.2} s, worst {:.2} s (10 runs, headless Chromium, loopback)",
        percentile(&times, 0.5),
        times[times.len() - 1]
    );

    // 2. Page weight.
    println!(
        "join page with stylesheet and scripts: {} bytes",
        crate::invitations::join_page_bytes(&app, &link).await
    );
    drop(family);
    drop(tablet);

    // 3. Relay latency between two sockets of one visit.
    let (_, visit) = app
        .book(
            &token,
            &Seed {
                ward: seed.kiosk.clone(),
                ..seed.clone()
            },
            monday_9am_tokyo() + chrono::Duration::hours(2),
            &["A", "B"],
        )
        .await;
    let _ = visit;
    let (_, two) = app
        .api_post("/residents", &token, json!({"name": "Bench"}))
        .await;
    let (_, tablet2) = app
        .api_post("/devices", &token, json!({"name": "T2", "kind": "ward"}))
        .await;
    let relay_seed = Seed {
        resident: two["id"].as_str().expect("id").into(),
        ward: tablet2["id"].as_str().expect("id").into(),
        kiosk: seed.kiosk.clone(),
    };
    let (_, pair) = app
        .book(&token, &relay_seed, monday_9am_tokyo(), &["A", "B"])
        .await;
    let guest = |n: usize| {
        pair["invitations"][n]["token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let (mut a, _) = Ws::hello(&app, &guest(0), None).await;
    let (mut b, b_welcome) = Ws::hello(&app, &guest(1), None).await;
    let b_id = b_welcome["peer_id"].as_str().expect("id").to_owned();
    a.recv_type("peer-joined").await;
    let mut latencies = vec![];
    for i in 0..2000 {
        let sent = Instant::now();
        a.send(json!({"type": "signal", "to": b_id, "data": {"n": i}}))
            .await;
        b.recv_type("signal").await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        if i % 15 == 14 {
            // Stay under the per-socket rate limit (20 a second after a burst of 60).
            tokio::time::sleep(StdDuration::from_millis(750)).await;
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "signaling relay latency between two sockets: p50 {:.3} ms, p99 {:.3} ms (2,000 signals)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

#[tokio::test]
#[ignore = "a benchmark: run scripts/bench-join"]
async fn bench_idle_device_sockets() {
    use crate::support::fresh_server;
    const SOCKETS: usize = 1000;
    let (_data, token, server) = fresh_server().await;
    let client = reqwest::Client::new();
    let mut device_tokens = vec![];
    for n in 0..SOCKETS {
        let device: Value = client
            .post(format!("{}/api/v1/devices", server.base))
            .bearer_auth(&token)
            .json(&json!({"name": format!("Tablet {n}"), "kind": "ward"}))
            .send()
            .await
            .expect("device")
            .json()
            .await
            .expect("json");
        let paired: Value = client
            .post(format!("{}/api/v1/devices/pair", server.base))
            .header("x-forwarded-for", "bench")
            .json(&json!({"code": device["pairing_code"]}))
            .send()
            .await
            .expect("pair")
            .json()
            .await
            .expect("json");
        device_tokens.push(
            paired["device_token"]
                .as_str()
                .expect("device token")
                .to_owned(),
        );
    }
    let pid = server.pid();
    tokio::time::sleep(StdDuration::from_secs(1)).await;
    let before = rss_kib(pid);
    let url = format!("{}/ws", server.base.replacen("http://", "ws://", 1));
    let mut sockets = vec![];
    for device_token in &device_tokens {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("connect");
        use futures_util::{SinkExt, StreamExt};
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type": "hello", "token": device_token})
                .to_string()
                .into(),
        ))
        .await
        .expect("hello");
        let _welcome = ws.next().await;
        sockets.push(ws);
    }
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!(
        "memory per idle device socket: {:.1} KiB ({SOCKETS} sockets; server RSS {} → {} KiB)",
        (after.saturating_sub(before)) as f64 / SOCKETS as f64,
        before,
        after
    );
    drop(sockets);
    server.stop().await;
}
