//! `scripts/bench-turn`: the embedded relay beside coturn under the same load. Not part
//! of the test suite (it is `#[ignore]`d and run by the script in release mode); it
//! prints, it does not judge.
//!
//! The load is coturn's own load generator, `turnutils_uclient`, in client-to-client
//! mode: many allocations, each bound by a channel to a partner's relayed address,
//! sending UDP through the relay to each other at a fixed interval. Both relays run on
//! loopback with the same shared secret (TURN REST API credentials) and no bandwidth
//! cap; for each: packets per second delivered, loss, and the relay's CPU time.

use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use tokio::process::Command;

use crate::support::Coturn;
use crate::support::Server;
use crate::support::cpu_seconds;

/// One load through one relay.
#[derive(Debug)]
struct Figures {
    sent: f64,
    received: f64,
    seconds: f64,
    cpu: f64,
}

impl Figures {
    fn pps(&self) -> f64 {
        self.received / self.seconds
    }

    fn loss(&self) -> f64 {
        if self.sent == 0.0 {
            return 100.0;
        }
        100.0 * (self.sent - self.received).max(0.0) / self.sent
    }
}

/// The load: `processes` copies of `turnutils_uclient` at once (one generator tops out
/// near 7,000 packets/s here), each with `clients` allocations in pairs sending
/// `messages` packets of `bytes`, one every `interval_ms`.
#[derive(Debug, Clone, Copy)]
struct Load {
    processes: u32,
    clients: u32,
    messages: u32,
    bytes: u32,
    interval_ms: u32,
}

/// What one generator printed last: its totals.
fn totals(text: &str) -> (f64, f64) {
    let line = text
        .lines()
        .rfind(|l| l.contains("start_mclient: tot_send_msgs="))
        .unwrap_or_else(|| panic!("uclient printed no totals:\n{text}"));
    let number = |key: &str| -> f64 {
        line.split(key)
            .nth(1)
            .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0.0)
    };
    (number("tot_send_msgs="), number("tot_recv_msgs="))
}

async fn run(load: Load, port: u16, pid: u32, secret: &str) -> Figures {
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let generators = (0..load.processes).map(|i| {
        Command::new("turnutils_uclient")
            .args(["-c", "-y", "-L", "127.0.0.1", "-W", secret])
            .args(["-u", &format!("bench{i}")])
            .args(["-m", &load.clients.to_string()])
            .args(["-n", &load.messages.to_string()])
            .args(["-l", &load.bytes.to_string()])
            .args(["-z", &load.interval_ms.to_string()])
            .args(["-p", &port.to_string(), "127.0.0.1"])
            .output()
    });
    let outputs = tokio::time::timeout(
        StdDuration::from_secs(300),
        futures_util::future::join_all(generators),
    )
    .await
    .expect("the generators finish");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let (mut sent, mut received) = (0.0, 0.0);
    for out in outputs {
        let out = out.expect("turnutils_uclient runs (Debian's coturn; scripts/test installs it)");
        assert!(
            out.status.success() || !out.stdout.is_empty(),
            "turnutils_uclient failed: {} (port {port})",
            out.status
        );
        let (s, r) = totals(
            &(String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)),
        );
        sent += s;
        received += r;
    }
    Figures {
        sent,
        received,
        seconds,
        cpu,
    }
}

#[tokio::test]
#[ignore = "a benchmark: run scripts/bench-turn"]
async fn bench_turn() {
    let secret = "a secret shared by both relays for the benchmark";
    let coturn = Coturn::start(secret).await;

    let data = tempfile::tempdir().expect("dir");
    let config = data.path().join("menkai.toml");
    // No bandwidth cap and room for every allocation, like coturn's defaults.
    std::fs::write(
        &config,
        "turn_bandwidth_kbps = 100000000\nturn_user_quota = 10000\n",
    )
    .expect("config");
    let menkai = Server::start_with(
        data.path(),
        "127.0.0.1:0",
        &["--config", config.to_str().expect("path")],
    )
    .await;
    let menkai_turn = menkai.turn_addr().await;
    // The relay's key of the day, as the server keeps it (credentials live a day at
    // most, and the load generators make theirs from it).
    let day = menkai::turn::credentials::day_of(chrono::Utc::now().timestamp());
    let (key, _) = menkai::storage::Db::open(data.path())
        .expect("database")
        .turn_keys(day)
        .await
        .expect("the relay's key");
    let menkai_secret = base64::engine::general_purpose::STANDARD.encode(key);

    let loads = [
        (1, 50, 2_000, 200, 2),
        (1, 200, 1_000, 1_000, 1),
        (4, 100, 1_000, 1_000, 1),
    ];
    for (processes, clients, messages, bytes, interval_ms) in loads {
        let load = Load {
            processes,
            clients,
            messages,
            bytes,
            interval_ms,
        };
        println!(
            "load: {processes} generator(s) × {clients} allocations in pairs, {messages} packets of {bytes} bytes each, one every {interval_ms} ms"
        );
        let embedded = run(load, menkai_turn.port(), menkai.pid(), &menkai_secret).await;
        let reference = run(load, coturn.port, coturn.pid(), secret).await;
        for (name, f) in [("menkai", &embedded), ("coturn", &reference)] {
            println!(
                "  relay {name:<7} {:>9.0} packets/s delivered, loss {:>5.2} %, relay CPU {:>5.1} % of one core ({} sent, {} received in {:.1} s)",
                f.pps(),
                f.loss(),
                100.0 * f.cpu / f.seconds,
                f.sent,
                f.received,
                f.seconds
            );
        }
        println!(
            "  ratio menkai/coturn: {:.2} × the packet rate, {:.2} × the CPU per packet",
            embedded.pps() / reference.pps(),
            (embedded.cpu / embedded.received.max(1.0))
                / (reference.cpu / reference.received.max(1.0))
        );
    }
    menkai.stop().await;
}
