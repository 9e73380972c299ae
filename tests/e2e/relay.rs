//! Calls through a relay. Debian's coturn, started here on loopback with a shared
//! secret (`use-auth-secret`), stands for an operator's relay fleet: Menkai hands each
//! peer its own TURN REST API credentials for it, and with `relay_only` the family's
//! page and the ward tablet's page must connect through it (the path in use is relayed
//! on both sides) and see each other. Needs `/usr/sbin/turnserver` (`coturn`), which
//! `scripts/test` installs; without it the test fails and says so.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};
use serde_json::Value;

use crate::support::Coturn;
use crate::support::{Browser, Engine};
use crate::support::{Ws, metric_in, remote_visit_now, spawn_app_with};
use menkai::turn::RelayConfig;

/// A Menkai that wants relay-only calls, with a visit starting now on a paired tablet:
/// through a coturn sharing a secret (the embedded relay off), or through its own.
struct Relayed {
    _coturn: Option<Coturn>,
    /// The relay's URL as Menkai hands it out.
    url: String,
    app: crate::support::TestApp,
    ward_token: String,
    links: Vec<String>,
}

async fn relay_only_visit(coturn_secret: Option<&str>) -> Relayed {
    let coturn = match coturn_secret {
        Some(secret) => Some(Coturn::start(secret).await),
        None => None,
    };
    let url = coturn
        .as_ref()
        .map(|c| format!("turn:127.0.0.1:{}?transport=udp", c.port))
        .unwrap_or_default();
    let app = spawn_app_with(|c| {
        if let Some(secret) = coturn_secret {
            c.relays = vec![RelayConfig {
                urls: vec![url.clone()],
                secret: secret.into(),
            }];
            c.turn = None;
        }
        c.relay_only = true;
    })
    .await;
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    Relayed {
        _coturn: coturn,
        url,
        app,
        ward_token,
        links,
    }
}

#[tokio::test]
async fn with_relay_only_a_call_connects_through_a_coturn_fleet_with_per_peer_credentials() {
    let secret = "a shared secret for the test";
    let Relayed {
        _coturn,
        url,
        app,
        ward_token,
        links,
    } = relay_only_visit(Some(secret)).await;

    // What a peer is handed: the relay, a username "expiry:peer" good until half an
    // hour after the visit's end, a password, and the relay-only policy.
    let guest_token = links[0].trim_start_matches("/v/").to_owned();
    let (mut ws, welcome) = Ws::hello(&app, &guest_token, None).await;
    assert_eq!(welcome["ice_transport_policy"], "relay", "{welcome}");
    let server = &welcome["ice_servers"][0];
    assert_eq!(server["urls"][0], url.as_str());
    let username = server["username"].as_str().expect("username");
    let (expiry, participant) = username.split_once(':').expect("expiry:participant");
    assert_eq!(participant, welcome["peer_id"].as_str().expect("peer id"));
    let visit_end: DateTime<chrono::Utc> =
        DateTime::parse_from_rfc3339(welcome["visit"]["ends_at"].as_str().expect("end"))
            .expect("time")
            .into();
    assert_eq!(
        expiry.parse::<i64>().expect("seconds"),
        (visit_end + Duration::minutes(30)).timestamp()
    );
    assert!(
        server["credential"].as_str().is_some_and(|c| c.len() == 28),
        "{server}"
    );
    assert!(
        !welcome.to_string().contains(secret),
        "the secret never leaves the server"
    );
    ws.send(serde_json::json!({"type": "leave"})).await;
    drop(ws);

    // Both pages, relay-only: they can only meet through coturn, and only if coturn
    // accepts the credentials Menkai made.
    let (family, _ward) = relayed_call(&app, &ward_token, &links[0], Engine::Chromium).await;
    // The family page says so in plain words (for staff helping on the phone).
    family
        .wait_until(
            "document.getElementById('quality').dataset.relayed === 'true'",
            StdDuration::from_secs(10),
        )
        .await;
    let quality = family
        .eval("document.getElementById('quality').textContent")
        .await;
    assert!(
        quality
            .as_str()
            .is_some_and(|q| q.contains("中継経由") || q.contains("relayed")),
        "{quality}"
    );
}

/// The family's page and the ward's page, both relay-only, see each other; both ends
/// of the path in use are relay candidates. Each side's own end is read from its own
/// page: Firefox names the other end "prflx" when the other's checks arrive before its
/// signaled relay candidate does (the same relayed address, learned first from a check).
async fn relayed_call(
    app: &crate::support::TestApp,
    ward_token: &str,
    link: &str,
    engine: Engine,
) -> (Browser, Browser) {
    let ward = Browser::open(engine).await;
    ward.goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    let family = Browser::open(engine).await;
    family.goto(&app.url(link)).await;
    let family_saw = family.wait_for_media(1, StdDuration::from_secs(45)).await;
    let ward_saw = ward.wait_for_media(1, StdDuration::from_secs(45)).await;
    for (side, stats) in [("family", &family_saw), ("ward", &ward_saw)] {
        assert_eq!(stats[0]["relayed"], Value::Bool(true), "{side}: {stats}");
        assert_eq!(stats[0]["path"][0], "relay", "{side}: {stats}");
        let far = &stats[0]["path"][1];
        assert!(
            far == "relay" || (engine == Engine::Firefox && far == "prflx"),
            "{side}: {stats}"
        );
    }
    println!(
        "relayed call in {}: family {family_saw}\nward {ward_saw}",
        engine.name()
    );
    (family, ward)
}

/// With no relay configured at all, `menkai serve` relays by itself: both pages,
/// relay-only, meet through the embedded relay with the credentials in their welcome,
/// and `/metrics` counts the allocations and the relayed packets.
#[tokio::test]
async fn with_relay_only_a_call_connects_through_the_embedded_relay() {
    let Relayed {
        app,
        ward_token,
        links,
        ..
    } = relay_only_visit(None).await;
    let guest_token = links[0].trim_start_matches("/v/").to_owned();
    let (mut ws, welcome) = Ws::hello(&app, &guest_token, None).await;
    let urls = &welcome["ice_servers"][0]["urls"];
    let turn = app.turn_addr();
    assert_eq!(
        urls,
        &serde_json::json!([
            format!("turn:127.0.0.1:{}?transport=udp", turn.port()),
            format!("turn:127.0.0.1:{}?transport=tcp", turn.port()),
        ]),
        "{welcome}"
    );
    ws.send(serde_json::json!({"type": "leave"})).await;
    drop(ws);
    let (family, ward) = relayed_call(&app, &ward_token, &links[0], Engine::Chromium).await;
    // Chromium allocates over UDP and TCP and may settle on either; the call has just
    // started, so media keeps adding packets until the count is well past a handful.
    let to_clients = |metrics: &str| -> f64 {
        ["udp", "tcp"]
            .iter()
            .filter_map(|t| {
                metric_in(
                    metrics,
                    &format!(
                        "menkai_turn_relayed_packets_total{{transport=\"{t}\",direction=\"to_client\"}}"
                    ),
                )
            })
            .sum()
    };
    let deadline = std::time::Instant::now() + StdDuration::from_secs(15);
    loop {
        let metrics = app.metrics().await;
        assert!(
            metric_in(&metrics, "menkai_turn_allocations").is_some_and(|n| n >= 2.0),
            "{metrics}"
        );
        if to_clients(&metrics) > 100.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(StdDuration::from_millis(250)).await;
    }

    // The relay restarts (every allocation gone): both pages notice the path is dead,
    // restart ICE, get new allocations and see each other again.
    let restarted = std::time::Instant::now();
    app.app_state.relay.as_ref().expect("relay").close_all();
    for (side, page) in [("family", &family), ("ward", &ward)] {
        page.wait_until(
            "window.menkai.mesh.links.size === 1 && [...window.menkai.mesh.links.values()][0].pc.connectionState !== 'connected'",
            StdDuration::from_secs(20),
        )
        .await;
        println!(
            "{side}: lost the path {:.1} s after the relay restarted",
            restarted.elapsed().as_secs_f64()
        );
    }
    for (side, page) in [("family", &family), ("ward", &ward)] {
        let frames = |s: &Value| s[0]["framesDecoded"].as_u64().unwrap_or(0);
        let before = frames(&page.wait_for_media(1, StdDuration::from_secs(30)).await);
        let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
        loop {
            let now = page.wait_for_media(1, StdDuration::from_secs(30)).await;
            if frames(&now) > before + 10 && now[0]["path"] == serde_json::json!(["relay", "relay"])
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{side}: media did not come back: {now}"
            );
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
        println!(
            "{side}: media again {:.1} s after the relay restarted",
            restarted.elapsed().as_secs_f64()
        );
    }
    let restarts = "window.menkai.mesh.log.some(l => l.includes('restarting ICE'))";
    assert!(
        family.eval(restarts).await == Value::Bool(true)
            || ward.eval(restarts).await == Value::Bool(true),
        "one side restarted ICE"
    );
}

/// Menkai's own peer (webrtc-rs) follows the same rules: relay-only, it meets the family
/// page in Chromium through coturn with its own credentials, and media flows both ways
/// (the browser decodes its camera mirrored by the Rust peer through the relay).
#[tokio::test]
async fn the_rust_peer_also_calls_through_the_relay_when_told_to() {
    let Relayed {
        _coturn,
        app,
        ward_token,
        links,
        ..
    } = relay_only_visit(Some("another shared secret")).await;
    let ward = crate::support::join_at(&app.url(""), &ward_token).await;
    let family = Browser::start().await;
    family.goto(&app.url(&links[0])).await;
    let seen = family.wait_for_media(1, StdDuration::from_secs(45)).await;
    // Both ends of the path are relay addresses: the Rust peer gathered relay
    // candidates only, as told.
    assert_eq!(
        seen[0]["path"],
        serde_json::json!(["relay", "relay"]),
        "{seen}"
    );
    ward.wait_until(StdDuration::from_secs(30), |s| {
        s.links.len() == 1
            && s.links[0].state == "connected"
            && s.links[0].video_packets > 0
            && s.links[0].reflected_packets > 0
    })
    .await
    .expect("the Rust peer receives and mirrors the family's media through the relay");
}

/// Firefox on both sides, relay-only through the embedded relay: its ICE agent meets the
/// relay's allocations, permissions and channels as Chromium's does.
#[tokio::test]
async fn with_relay_only_firefox_calls_through_the_embedded_relay() {
    let Relayed {
        app,
        ward_token,
        links,
        ..
    } = relay_only_visit(None).await;
    let _pages = relayed_call(&app, &ward_token, &links[0], Engine::Firefox).await;
    let metrics = app.metrics().await;
    assert!(
        metric_in(&metrics, "menkai_turn_allocations").is_some_and(|n| n >= 2.0),
        "{metrics}"
    );
}
