//! The real `menkai` binary as a child process: restarts, backups and its log.

use std::time::Duration as StdDuration;

use crate::support::{Server, admin, book_one, call, fresh_server};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn visits_today(base: &str, token: &str) -> Value {
    let date = crate::support::home_today();
    call(
        &reqwest::Client::new(),
        reqwest::Method::GET,
        format!("{base}/api/v1/visits?date={date}"),
        token,
        None,
    )
    .await
    .1
}

#[tokio::test]
async fn bookings_survive_a_restart_of_the_server() {
    let (data, token, server) = fresh_server().await;
    let visit = book_one(&server, &token).await;
    let before = visits_today(&server.base, &token).await;
    server.stop().await;
    let server = Server::start(data.path()).await;
    let after = visits_today(&server.base, &token).await;
    assert_eq!(before, after);
    assert_eq!(after[0]["id"], visit["id"]);
    // The family's link still works.
    let link = visit["invitations"][0]["url"].as_str().expect("url");
    let path = crate::support::path_of(link);
    let res = reqwest::get(format!("{}{path}", server.base))
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_restores_to_the_same_visits() {
    let (data, token, server) = fresh_server().await;
    book_one(&server, &token).await;
    let expected = visits_today(&server.base, &token).await;
    let backup_file = data.path().join("backup.sqlite3");
    admin(
        &["backup", "--out", backup_file.to_str().expect("path")],
        data.path(),
    )
    .await;
    server.stop().await;

    // Restore as the README says: a fresh data directory with the backup as its database.
    let restored = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&backup_file, restored.path().join(menkai::storage::DB_FILE)).expect("copy");
    let server = Server::start(restored.path()).await;
    assert_eq!(visits_today(&server.base, &token).await, expected);
    server.stop().await;
}

#[tokio::test]
async fn the_server_log_never_contains_a_token() {
    let (_data, api_token, server) = fresh_server().await;
    let visit = book_one(&server, &api_token).await;
    let link = visit["invitations"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let visit_token = visit["invitations"][0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let client = reqwest::Client::new();
    for suffix in ["", "/qr.svg", "/invite.ics", "/card"] {
        let res = client
            .get(format!("{link}{suffix}"))
            .send()
            .await
            .expect("request");
        assert!(res.status().is_success(), "{suffix}");
    }
    let res = client
        .get(format!(
            "{}/v/not-a-real-token-but-secret-looking",
            server.base
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let printed = server.stdout_head.clone();
    let log = server.stop().await;
    assert!(
        log.contains("request"),
        "the log does record requests (by route): {log}"
    );
    assert!(
        log.contains("/v/{token}"),
        "the route pattern is logged instead of the path"
    );
    for secret in [
        &visit_token,
        &api_token,
        &"not-a-real-token-but-secret-looking".to_owned(),
    ] {
        assert!(
            !log.contains(secret.as_str()),
            "a token leaked into the log"
        );
        assert!(!printed.contains(secret.as_str()));
    }
}

/// A client flooding its socket is rate limited, and the server's memory stays flat.
#[tokio::test]
async fn a_flood_of_frames_leaves_the_servers_memory_flat() {
    let (_data, token, server) = fresh_server().await;
    let visit = book_one(&server, &token).await;
    let guest = visit["invitations"][0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let url = format!("{}/ws", server.base.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(
        json!({"type": "hello", "token": guest}).to_string().into(),
    ))
    .await
    .expect("hello");
    let _ = ws.next().await;
    let pid = server.child.id().expect("running");
    let before = crate::support::rss_kib(pid);
    // 20,000 frames of 4 KiB (80 MB) as fast as the socket takes them, while reading
    // whatever comes back so the server is never blocked on us.
    let (mut sink, mut stream) = ws.split();
    let reader = tokio::spawn(async move {
        let mut limited = 0;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(StdDuration::from_secs(3), stream.next()).await
        {
            if let Message::Text(text) = message
                && text.contains("rate_limited")
            {
                limited += 1;
            }
        }
        limited
    });
    let frame =
        json!({"type": "signal", "to": "nobody", "data": {"pad": "x".repeat(4096)}}).to_string();
    for _ in 0..20_000 {
        if sink
            .send(Message::Text(frame.clone().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let limited = reader.await.expect("reader");
    let after = crate::support::rss_kib(pid);
    println!(
        "server RSS before the flood {before} KiB, after {after} KiB; {limited} rate_limited warnings"
    );
    assert!(limited >= 1, "the flood was told it is limited");
    assert!(
        after < before + 16 * 1024,
        "memory stayed flat: {before} KiB → {after} KiB"
    );
    server.stop().await;
}

#[test]
fn the_test_home_is_at_noon_whenever_the_tests_run() {
    use chrono::{TimeZone, Timelike, Utc};
    for hour in 0..24 {
        let now = Utc
            .with_ymd_and_hms(2030, 1, 7, hour, 40, 0)
            .single()
            .expect("time");
        let (zone, offset) = crate::support::noon_zone(now);
        let tz: chrono_tz::Tz = zone.parse().expect("a zone chrono-tz knows");
        assert_eq!(now.with_timezone(&tz).hour(), 12, "{zone}");
        assert!((-11..=12).contains(&offset));
    }
}
