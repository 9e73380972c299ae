//! `scripts/bench-http`: requests per second and latency percentiles of the real
//! `menkai` binary for `GET /v/{token}` (a family opening a link) and
//! `POST /api/v1/visits` (booking), against a data directory holding 10,000 visits.
//!
//! The same links are then opened over HTTPS (a second server process on the same data,
//! with a certificate made here), on kept-alive connections and with a new TLS
//! connection per request, beside plain HTTP in the same run.
//!
//! The load runs from this process over loopback, so client and server share the
//! machine's cores: the figures are a floor, not a ceiling.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Minutes, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::Semaphore;

const MENKAI: &str = env!("CARGO_BIN_EXE_menkai");
const VISITS: usize = 10_000;
const PAIRS: usize = 50; // residents, each with their own tablet
const GET_REQUESTS: usize = 20_000;
const POST_REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 32;

type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Sends `count` requests made by `make`, at most `CONCURRENCY` at a time; returns the
/// wall time and every latency. Any non-success status is an error.
async fn load<F, Fut>(count: usize, make: F) -> Fallible<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await?;
        let request = make(i);
        tasks.spawn(async move {
            let t = Instant::now();
            let response = request.await;
            drop(permit);
            match response {
                Ok(r) if r.status().is_success() => Ok(t.elapsed()),
                Ok(r) => Err(format!("status {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        });
    }
    let mut latencies = Vec::with_capacity(count);
    while let Some(result) = tasks.join_next().await {
        latencies.push(result?.map_err(|e| format!("request failed: {e}"))?);
    }
    Ok((started.elapsed(), latencies))
}

fn report(name: &str, (wall, mut latencies): (Duration, Vec<Duration>)) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{name:<28} {:>7} requests  {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// Starts `menkai serve` on a free port; returns it and its base URL.
async fn start(
    data: &std::path::Path,
    flags: &[&str],
) -> Fallible<(tokio::process::Child, String)> {
    let mut server = Command::new(MENKAI)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--turn-listen",
            "127.0.0.1:0",
        ])
        .args(flags)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(server.stdout.take().ok_or("no stdout")?).lines();
    let first = lines.next_line().await?.ok_or("server printed nothing")?;
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .and_then(|u| u.strip_suffix("/staff"))
        .ok_or("no address")?
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((server, base))
}

/// Opens the n-th link (round robin) with `client`.
fn opener(
    client: &reqwest::Client,
    base: &str,
    tokens: &Arc<Vec<String>>,
) -> impl Fn(
    usize,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send>,
> {
    let (client, base, tokens) = (client.clone(), base.to_owned(), tokens.clone());
    move |n: usize| {
        Box::pin(
            client
                .get(format!("{base}/v/{}", tokens[n % tokens.len()]))
                .send(),
        )
    }
}

#[tokio::main]
async fn main() -> Fallible<()> {
    let data = tempfile::tempdir()?;
    let out = Command::new(MENKAI)
        .args(["admin", "token", "create", "--name", "bench", "--data"])
        .arg(data.path())
        .output()
        .await?;
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    let (mut server, base) = start(data.path(), &[]).await?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    let api = |path: &str| format!("{base}/api/v1{path}");
    let all_day: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "from": "00:00", "to": "24:00"}))
        .collect();
    client
        .put(api("/facility"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench Home", "time_zone": "UTC", "language": "en", "slot_minutes": 20, "buffer_minutes": 10, "visiting_hours": all_day}))
        .send()
        .await?
        .error_for_status()?;
    let mut pairs = vec![];
    for i in 0..PAIRS {
        let r: Value = client
            .post(api("/residents"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("Resident {i}")}))
            .send()
            .await?
            .json()
            .await?;
        let d: Value = client
            .post(api("/devices"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("Tablet {i}"), "kind": "ward"}))
            .send()
            .await?
            .json()
            .await?;
        pairs.push((
            r["id"].as_str().ok_or("resident id")?.to_owned(),
            d["id"].as_str().ok_or("device id")?.to_owned(),
        ));
    }
    let pairs = Arc::new(pairs);
    let day_start = (Utc::now() + Minutes::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .ok_or("midnight")?
        .and_utc();
    // Visit n: pair n % 50, slot n / 50 on that pair's 30-minute grid.
    let booking = {
        let (client, token, pairs, url) =
            (client.clone(), token.clone(), pairs.clone(), api("/visits"));
        move |n: usize| {
            let (resident, device) = pairs[n % PAIRS].clone();
            let start = day_start + Minutes::minutes(30 * (n / PAIRS) as i64);
            client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"resident_id": resident, "starts_at": start.to_rfc3339(), "duration_minutes": 20, "mode": "remote", "ward_device_id": device, "guests": [{"name": "Family"}]}))
                .send()
        }
    };
    println!(
        "menkai HTTP benchmark: release build, loopback, {CONCURRENCY} concurrent requests, {} cores",
        std::thread::available_parallelism()?
    );
    let seeded = load(VISITS, &booking).await?;
    report("seed: POST /api/v1/visits", seeded);

    // Links to open: one per visit of the first day's pairs.
    let listing: Vec<Value> = client
        .get(api(&format!("/visits?date={}", day_start.date_naive())))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "data directory now holds {VISITS} visits ({} on the first day)",
        listing.len()
    );
    let mut tokens = vec![];
    for n in 0..200 {
        let (resident, device) = pairs[n % PAIRS].clone();
        let start = day_start + Minutes::days(30) + Minutes::minutes(30 * (n / PAIRS) as i64);
        let v: Value = client
            .post(api("/visits"))
            .bearer_auth(&token)
            .json(&json!({"resident_id": resident, "starts_at": start.to_rfc3339(), "mode": "remote", "ward_device_id": device, "guests": [{"name": "Family"}]}))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(
            v["invitations"][0]["token"]
                .as_str()
                .ok_or("token")?
                .to_owned(),
        );
    }
    let tokens = Arc::new(tokens);
    report(
        "GET /v/{token}",
        load(GET_REQUESTS, opener(&client, &base, &tokens)).await?,
    );
    let fresh_plain = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    report(
        "  new connection each",
        load(GET_REQUESTS / 4, opener(&fresh_plain, &base, &tokens)).await?,
    );

    // HTTPS: a certificate of our own, a second server on the same data.
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate()?;
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?
        .signed_by(&leaf_key, &issuer)?;
    let certs = tempfile::tempdir()?;
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert, leaf.pem())?;
    std::fs::write(&key, leaf_key.serialize_pem())?;
    let (mut tls_server, tls_base) = start(
        data.path(),
        &[
            "--tls-cert",
            cert.to_str().ok_or("path")?,
            "--tls-key",
            key.to_str().ok_or("path")?,
        ],
    )
    .await?;
    let trusting = |idle: usize| {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes())?)
            .pool_max_idle_per_host(idle)
            .build()
    };
    let kept = trusting(CONCURRENCY)?;
    report(
        "GET /v/{token} over HTTPS",
        load(GET_REQUESTS, opener(&kept, &tls_base, &tokens)).await?,
    );
    let fresh = trusting(0)?;
    report(
        "  new TLS connection each",
        load(GET_REQUESTS / 4, opener(&fresh, &tls_base, &tokens)).await?,
    );
    tls_server.kill().await?;
    let more_bookings = move |n: usize| booking(VISITS + 400 + n);
    report(
        "POST /api/v1/visits",
        load(POST_REQUESTS, &more_bookings).await?,
    );
    server.kill().await?;
    Ok(())
}
