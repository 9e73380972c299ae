//! The embedded relay seen by a TURN client over real sockets: it relays between
//! participants over UDP, TCP and TLS on the HTTPS port, and refuses everything else
//! with the STUN error a client understands.

use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use base64::Engine;
use chrono::Duration;

use crate::helpers::{TestApp, Ws, remote_visit_now, spawn_app, spawn_app_with};
use crate::turn_client::{Relayed, TurnClient};

/// The relay's shared secret, as the server keeps it (to craft credentials a client
/// could not get from the server: expired ones).
async fn secret(app: &TestApp) -> String {
    let key = app
        .app_state
        .db
        .server_key("turn")
        .await
        .expect("server key");
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// Credentials for `participant` that expire `valid_for` from the app's now.
async fn credentials(app: &TestApp, participant: &str, valid_for: Duration) -> (String, String) {
    let expiry = menkai::clock::Clock::now(&app.clock) + valid_for;
    menkai::turn::rest_credential(&secret(app).await, participant, expiry)
}

/// What the family's page is handed in `welcome` for the embedded relay.
async fn handed_out(app: &TestApp) -> (String, String) {
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (_, links) = remote_visit_now(app, &token, &seed, &["Taro"]).await;
    let guest = links[0].trim_start_matches("/v/").to_owned();
    let (_ws, welcome) = Ws::hello(app, &guest, None).await;
    let server = &welcome["ice_servers"][0];
    (
        server["username"].as_str().expect("username").to_owned(),
        server["credential"].as_str().expect("credential").to_owned(),
    )
}

async fn metric(app: &TestApp, line: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn two_participants_relay_to_each_other_over_udp_and_tcp() {
    let app = spawn_app().await;
    let (user, pass) = handed_out(&app).await;
    let turn = app.turn_addr();
    let mut family = TurnClient::udp(turn, &user, &pass).await;
    let mut ward = TurnClient::tcp(turn, &user, &pass).await;
    let family_relay = family.allocate().await.expect("family allocates over UDP");
    let ward_relay = ward.allocate().await.expect("ward allocates over TCP");
    assert_ne!(family_relay, ward_relay);
    assert_eq!(
        family.allocate().await,
        Err(437),
        "one allocation per 5-tuple"
    );

    // The relay's own addresses are loopback here, yet each may reach the other: they
    // are this relay's allocations.
    family.permit(ward_relay).await.expect("permission");
    ward.permit(family_relay).await.expect("permission");
    family.send_to(ward_relay, b"hello ward").await;
    assert_eq!(
        ward.relayed().await,
        Some(Relayed::Indication(family_relay, b"hello ward".to_vec()))
    );
    ward.bind_channel(0x4001, family_relay).await.expect("channel");
    family.bind_channel(0x4002, ward_relay).await.expect("channel");
    family.send_on(0x4002, b"over a channel").await;
    assert_eq!(
        ward.relayed().await,
        Some(Relayed::Channel(0x4001, b"over a channel".to_vec()))
    );
    ward.send_on(0x4001, b"and back").await;
    assert_eq!(
        family.relayed().await,
        Some(Relayed::Channel(0x4002, b"and back".to_vec()))
    );
    assert_eq!(
        ward.bind_channel(0x4001, "8.8.8.8:53".parse().expect("addr"))
            .await,
        Err(400),
        "a channel names one peer"
    );

    assert_eq!(metric(&app, "menkai_turn_allocations ").await, 2.0);
    assert!(
        metric(
            &app,
            "menkai_turn_relayed_packets_total{transport=\"tcp\",direction=\"to_client\"}"
        )
        .await
            >= 2.0
    );
    // A zero-lifetime refresh ends the allocation; so does closing a TCP connection.
    family.refresh(0).await.expect("deallocate");
    drop(ward);
    for _ in 0..50 {
        if metric(&app, "menkai_turn_allocations ").await == 0.0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(metric(&app, "menkai_turn_allocations ").await, 0.0);
}

#[tokio::test]
async fn wrong_expired_or_missing_credentials_are_refused() {
    let app = spawn_app().await;
    let turn = app.turn_addr();
    let (user, pass) = credentials(&app, "p1", Duration::hours(1)).await;

    let mut wrong = TurnClient::udp(turn, &user, "not the password").await;
    assert_eq!(wrong.allocate().await, Err(401), "wrong password");
    let (expired_user, expired_pass) = credentials(&app, "p1", Duration::seconds(-1)).await;
    let mut expired = TurnClient::udp(turn, &expired_user, &expired_pass).await;
    assert_eq!(expired.allocate().await, Err(401), "expired username");
    let mut malformed = TurnClient::udp(turn, "alice", &pass).await;
    assert_eq!(malformed.allocate().await, Err(401), "not expiry:participant");
    let mut other = TurnClient::udp(turn, &user.replace(":p1", ":p2"), &pass).await;
    assert_eq!(
        other.allocate().await,
        Err(401),
        "a password is good for its own username only"
    );

    let mut good = TurnClient::udp(turn, &user, &pass).await;
    assert_eq!(good.refresh(600).await, Err(437), "no allocation to refresh");
    assert_eq!(
        good.call(turn_types::message::ALLOCATE, &|m, _| {
            use turn_types::stun::message::MessageWriteExt;
            m.add_attribute(&turn_types::attribute::RequestedTransport::new(6))
                .expect("add");
        })
        .await
        .map(drop),
        Err(442),
        "TCP relaying (RFC 6062) is not offered"
    );
    good.allocate().await.expect("the right credentials work");
    // Once expired, the same credentials stop working (refreshes fail, so the
    // allocation dies at the end of its lifetime).
    app.clock.advance(Duration::hours(2));
    assert_eq!(good.refresh(600).await, Err(401));
    assert!(metric(&app, "menkai_turn_refusals_total{reason=\"expired\"}").await >= 2.0);
    assert!(metric(&app, "menkai_turn_refusals_total{reason=\"wrong_password\"}").await >= 2.0);
}

#[tokio::test]
async fn no_open_relay_every_special_peer_range_is_forbidden() {
    let app = spawn_app().await;
    let turn = app.turn_addr();
    let (user, pass) = credentials(&app, "p1", Duration::hours(1)).await;
    let mut client = TurnClient::udp(turn, &user, &pass).await;
    let relayed = client.allocate().await.expect("allocate");
    let http: SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("http address");
    for peer in [
        "0.0.0.0:80",
        "127.0.0.1:22",
        "10.1.2.3:5000",
        "172.16.5.4:5000",
        "192.168.1.1:80",
        "100.64.0.1:5000",
        "169.254.169.254:80",
        "224.0.0.251:5353",
        "255.255.255.255:67",
        "192.0.2.1:5000",
        "198.51.100.1:5000",
        "203.0.113.1:5000",
        "198.18.0.1:5000",
        "192.0.0.9:5000",
        "240.0.0.1:5000",
    ]
    .into_iter()
    .map(|p| p.parse::<SocketAddr>().expect("addr"))
    // The server's own web port and an unallocated port on the relay's address.
    .chain([http, SocketAddr::new(relayed.ip(), turn.port())])
    {
        assert_eq!(client.permit(peer).await, Err(403), "CreatePermission {peer}");
        assert_eq!(
            client.bind_channel(0x4000, peer).await,
            Err(403),
            "ChannelBind {peer}"
        );
    }
    // IPv6 peers (v4-mapped, 6to4, Teredo forms included) cannot be named on an IPv4
    // allocation at all; their ranges are checked in turn::policy's unit tests.
    assert_eq!(
        client
            .permit("[::ffff:127.0.0.1]:22".parse().expect("addr"))
            .await,
        Err(443)
    );
    // A public address is fine.
    client
        .permit("8.8.8.8:53".parse().expect("addr"))
        .await
        .expect("public peer");
    assert!(metric(&app, "menkai_turn_refusals_total{reason=\"link_local\"}").await >= 2.0);

    // A closed LAN deployment may open its own range.
    let lan = spawn_app_with(|c| {
        if let Some(turn) = c.turn.as_mut() {
            turn.allow_peers = vec!["10.0.0.0/8".parse().expect("net")];
        }
    })
    .await;
    let (user, pass) = credentials(&lan, "p1", Duration::hours(1)).await;
    let mut client = TurnClient::udp(lan.turn_addr(), &user, &pass).await;
    client.allocate().await.expect("allocate");
    client
        .permit("10.1.2.3:5000".parse().expect("addr"))
        .await
        .expect("allowed range");
    assert_eq!(
        client.permit("192.168.1.1:80".parse().expect("addr")).await,
        Err(403)
    );
}

#[tokio::test]
async fn allocations_beyond_the_quotas_are_refused() {
    let app = spawn_app_with(|c| {
        if let Some(turn) = c.turn.as_mut() {
            turn.max_per_user = 2;
            turn.max_allocations = 3;
        }
    })
    .await;
    let turn = app.turn_addr();
    let (alice, alice_pass) = credentials(&app, "alice", Duration::hours(1)).await;
    let (bob, bob_pass) = credentials(&app, "bob", Duration::hours(1)).await;
    let (carol, carol_pass) = credentials(&app, "carol", Duration::hours(1)).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut c = TurnClient::udp(turn, &alice, &alice_pass).await;
        c.allocate().await.expect("within alice's quota");
        clients.push(c);
    }
    let mut third = TurnClient::udp(turn, &alice, &alice_pass).await;
    assert_eq!(third.allocate().await, Err(486), "Allocation Quota Reached");
    let mut b = TurnClient::udp(turn, &bob, &bob_pass).await;
    b.allocate().await.expect("bob has his own quota");
    let mut c = TurnClient::udp(turn, &carol, &carol_pass).await;
    assert_eq!(c.allocate().await, Err(508), "Insufficient Capacity in total");
    // Freeing one makes room.
    clients[0].refresh(0).await.expect("deallocate");
    third.allocate().await.expect("room again");
}
