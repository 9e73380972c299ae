//! `scripts/captions-load`: visits speaking at once, from the test set's files, through
//! the real server and recogniser (Whisper base, one worker thread). Not part of the
//! test suite (`#[ignore]`d, run by the script in release mode); it prints, it does
//! not judge.
//!
//! Each visit has a ward tablet's socket and a family member who speaks Japanese
//! sentences (the Opus variants) in real time with 1.5 s pauses. Printed per number of
//! visits speaking at once: the latency from the end of each utterance in the file to
//! its final caption at the tablet (p50, p95, worst), from the start of speech to the
//! first partial, the recogniser's CPU per speaking visit, and partials dropped.
//! `MENKAI_CAPTIONS_MINUTES=30 MENKAI_CAPTIONS_VISITS=1`: one visit speaking for that
//! long (at `MENKAI_CAPTIONS_SPEED` × real time), the recogniser's and the server's
//! memory printed every minute of speech.

use std::time::{Duration, Instant};

use crate::support::captions::{
    Speaker, read_wav, recogniser_ready, sentences, spawn_app_with_captions, testset,
};
use crate::support::{TestApp, Ws, cpu_seconds, rss_kib};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The sentences spoken, in order: (samples, where speech starts and ends in them).
fn script() -> Vec<Vec<i16>> {
    sentences()
        .into_iter()
        .filter(|(_, lang, _)| lang == "ja")
        .map(|(id, _, _)| read_wav(&testset().join("opus").join(format!("{id}.wav"))))
        .collect()
}

/// The test set pads each sentence with 0.3 s of quiet (scripts/captions-testset).
const PAD: Duration = Duration::from_millis(300);
const PAUSE: usize = 24_000;

/// What one visit measured: per utterance (speech start, speech end) as sent, and
/// when its first partial and its final came.
struct Timeline {
    spoken: Vec<(Instant, Instant)>,
    first_partial: Vec<Option<Instant>>,
    finals: Vec<Option<Instant>>,
}

/// A visit booked now on its own tablet, with captions on.
async fn visit(app: &TestApp, token: &str, n: usize) -> (Ws, Speaker) {
    let (_, resident) = app
        .api_post(
            "/residents",
            token,
            serde_json::json!({"name": format!("入居者 {n}"), "room": format!("{n}"), "captions": true}),
        )
        .await;
    let (ward, ward_token) = app
        .paired_device(token, "ward", &format!("Tablet {n}"))
        .await;
    let body = crate::support::remote_visit(
        resident["id"].as_str().expect("id"),
        &ward,
        crate::support::monday_9am_tokyo(),
        120,
        &["Family"],
    );
    let (_, booked) = app.api_post("/visits", token, body).await;
    let link = crate::support::path_of(booked["invitations"][0]["url"].as_str().expect("url"));
    let (device, _) = Ws::hello(app, &ward_token, None).await;
    (device, Speaker::join(app, &link, "ja").await)
}

/// Speaks `rounds` times through the script and collects when captions came.
async fn speak(mut device: Ws, mut family: Speaker, rounds: usize, speed: f64) -> Timeline {
    let script = script();
    let collector = tokio::spawn(async move {
        let mut got: Vec<(u64, bool, Instant)> = vec![];
        while let Some(frame) = device.try_recv(Duration::from_secs(20)).await {
            if frame["type"] == "caption" {
                got.push((
                    frame["seq"].as_u64().unwrap_or(0),
                    frame["final"] == true,
                    Instant::now(),
                ));
            }
        }
        got
    });
    let mut spoken = vec![];
    let pause = vec![0i16; PAUSE];
    for _ in 0..rounds {
        for samples in &script {
            let start = Instant::now();
            family.say(samples, speed).await;
            let end = Instant::now();
            spoken.push((start + PAD.div_f64(speed), end - PAD.div_f64(speed)));
            family.say(&pause, speed).await;
        }
    }
    family.say(&vec![0i16; 32_000], speed).await;
    drop(family);
    let got = collector.await.expect("collector");
    // The n-th utterance heard is the n-th said (the script has no noise between).
    let first_partial = (1..=spoken.len() as u64)
        .map(|seq| {
            got.iter()
                .find(|(s, f, _)| *s == seq && !f)
                .map(|(_, _, t)| *t)
        })
        .collect();
    let finals = (1..=spoken.len() as u64)
        .map(|seq| {
            got.iter()
                .find(|(s, f, _)| *s == seq && *f)
                .map(|(_, _, t)| *t)
        })
        .collect();
    Timeline {
        spoken,
        first_partial,
        finals,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load script: run scripts/captions-load"]
async fn captions_load() {
    let app = spawn_app_with_captions().await;
    recogniser_ready(&app).await;
    let token = app.api_token().await;
    let pid = app
        .app_state
        .captions
        .as_ref()
        .and_then(|c| c.recogniser_pid())
        .expect("pid");
    let minutes: Option<f64> = env("MENKAI_CAPTIONS_MINUTES");
    let speed: f64 = env("MENKAI_CAPTIONS_SPEED").unwrap_or(1.0);
    let counts: Vec<usize> = match env::<usize>("MENKAI_CAPTIONS_VISITS") {
        Some(n) => vec![n],
        None => vec![1, 2, 3, 4],
    };
    let script_seconds: f64 =
        script().iter().map(|s| s.len() + PAUSE).sum::<usize>() as f64 / 16_000.0;
    println!(
        "captions load: {} Japanese sentences, {script_seconds:.0} s a round, one worker",
        script().len()
    );
    let mut made = 0;
    for visits in counts {
        let mut pairs = vec![];
        for _ in 0..visits {
            made += 1;
            pairs.push(visit(&app, &token, made).await);
        }
        let rounds = minutes.map_or(1, |m| ((m * 60.0 / script_seconds).ceil() as usize).max(1));
        let cpu_before = cpu_seconds(pid);
        let started = Instant::now();
        let memory = minutes.map(|_| {
            tokio::spawn(async move {
                let mut minute = 0;
                loop {
                    tokio::time::sleep(Duration::from_secs_f64(60.0 / speed)).await;
                    minute += 1;
                    println!(
                        "  after {minute:>2} min of speech: recogniser {} MiB, server {} MiB",
                        rss_kib(pid) / 1024,
                        rss_kib(std::process::id()) / 1024
                    );
                }
            })
        });
        let timelines = futures_util::future::join_all(
            pairs
                .into_iter()
                .map(|(device, family)| speak(device, family, rounds, speed)),
        )
        .await;
        if let Some(memory) = memory {
            memory.abort();
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(pid) - cpu_before;
        let (mut finals, mut partials, mut missing) = (vec![], vec![], 0);
        for t in &timelines {
            for (i, (start, end)) in t.spoken.iter().enumerate() {
                match t.finals[i] {
                    Some(at) => finals.push(at.saturating_duration_since(*end).as_secs_f64()),
                    None => missing += 1,
                }
                if let Some(at) = t.first_partial[i] {
                    partials.push(at.saturating_duration_since(*start).as_secs_f64());
                }
            }
        }
        finals.sort_by(f64::total_cmp);
        partials.sort_by(f64::total_cmp);
        let metrics = app.metrics().await;
        let dropped =
            crate::support::metric_sum(&metrics, "menkai_captions_partials_dropped_total");
        println!(
            "{visits} visit(s) speaking: final after the end of speech p50 {:.2} s, p95 {:.2} s, worst {:.2} s ({} utterances, {missing} without a final); first partial after the start p50 {:.2} s, p95 {:.2} s; recogniser CPU {:.0} % of a core ({:.0} % per speaking visit); partials dropped so far {dropped}",
            percentile(&finals, 0.5),
            percentile(&finals, 0.95),
            finals.last().copied().unwrap_or(f64::NAN),
            finals.len() + missing,
            percentile(&partials, 0.5),
            percentile(&partials, 0.95),
            100.0 * cpu / wall,
            100.0 * cpu / wall / visits as f64,
        );
    }
}
