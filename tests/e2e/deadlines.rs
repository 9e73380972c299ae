//! The signaling socket's deadlines, in simulated time: the real router served over an
//! in-memory stream, with tokio's clock paused, so 15 and 45 seconds pass in an
//! instant and are measured exactly. A socket must say `hello` within 15 s of opening,
//! and a signed-in socket that sends nothing for 45 s (not even the pong the server's
//! pings ask for) is dead.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::DuplexStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{TestApp, spawn_app_with_seed};

/// A WebSocket to the app's router over an in-memory stream (no socket, no real time).
async fn socket_in_memory(app: &TestApp) -> WebSocketStream<DuplexStream> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let router = menkai::web::router(app.app_state.clone(), Duration::from_secs(30));
    let service = menkai::server::service(router, SocketAddr::from(([127, 0, 0, 1], 40_000)));
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .with_upgrades()
            .await;
    });
    let (ws, _) = tokio_tungstenite::client_async("ws://menkai.test/ws", client)
        .await
        .expect("upgraded");
    ws
}

/// Reads (answering nothing) until the server closes the socket; how long after
/// `since` that was, in the paused clock.
async fn closed_after(ws: &mut WebSocketStream<DuplexStream>, since: Instant) -> Duration {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return since.elapsed(),
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_never_says_hello_is_closed_after_fifteen_seconds() {
    let (app, _token, _seed) = spawn_app_with_seed().await;
    let mut ws = socket_in_memory(&app).await;
    let opened = Instant::now();
    let closed = closed_after(&mut ws, opened).await;
    println!("a silent new socket was closed after {closed:?} (paused clock)");
    assert!(
        (Duration::from_secs(15)..Duration::from_secs(16)).contains(&closed),
        "{closed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_signed_in_socket_that_goes_silent_is_closed_after_forty_five_seconds() {
    let (app, token, _seed) = spawn_app_with_seed().await;
    let (_, device_token) = app.paired_device(&token, "ward", "Tablet 4F").await;
    let mut ws = socket_in_memory(&app).await;
    ws.send(Message::text(
        json!({"type": "hello", "token": device_token}).to_string(),
    ))
    .await
    .expect("hello");
    let welcome = ws.next().await.expect("a frame").expect("read");
    assert!(
        welcome
            .to_text()
            .unwrap_or_default()
            .contains("\"welcome\"")
    );
    // From here the client sends nothing: tungstenite answers pings only when its owner
    // reads or writes, and the server's pings (every 20 s) go unanswered. Whether the
    // server still holds the socket is read from the hub, not from the socket (reading
    // would answer the pings).
    let online = |app: &TestApp| app.app_state.hub.counts().devices_online;
    tokio::time::sleep(Duration::from_secs(44)).await;
    assert_eq!(online(&app), 1, "still there after 44 s of silence");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(online(&app), 0, "gone after 45 s of silence");
    let mut pings = 0;
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Ping(_) => pings += 1,
            Message::Close(_) => break,
            _ => {}
        }
    }
    println!("a signed-in socket silent for 45 s (pinged {pings} times) was closed");
    assert!(pings >= 1, "the server asked for a sign of life");
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_answers_the_pings_stays_open_past_the_silence_limit() {
    let (app, token, _seed) = spawn_app_with_seed().await;
    let (_, device_token) = app.paired_device(&token, "ward", "Tablet 5F").await;
    let mut ws = socket_in_memory(&app).await;
    ws.send(Message::text(
        json!({"type": "hello", "token": device_token}).to_string(),
    ))
    .await
    .expect("hello");
    // Reading lets tungstenite answer each ping with a pong, as a browser does.
    let until = Instant::now() + Duration::from_secs(120);
    let mut pings = 0;
    while Instant::now() < until {
        match tokio::time::timeout_at(until, ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                panic!("closed although it answered every ping")
            }
            Ok(Some(Ok(_))) => {}
            Err(_) => break,
        }
    }
    assert!(pings >= 5, "pinged every 20 s for two minutes: {pings}");
}
