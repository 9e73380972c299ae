//! Nothing anyone can send holds Menkai's doors shut: the relay's connections, its
//! credentials, the log and the data directory keep the rules the web server keeps.
//! Each test is an attack first tried from outside: connections that trickle a byte at
//! a time, one address filling the relay's port, credentials used after their visit,
//! files read by other users, floods meant to fill the disk with log lines, a link
//! opened and closed in a loop, one staff member's links pushing out another's.
//!
//! The connection, file and log tests run the real binary as operators deploy it (info
//! logs); the credential, link and churn tests run the app in-process, where its clock
//! and scheduler can be driven.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::try_login;
use crate::support::turn_client::TurnClient;
use crate::support::{CertFiles, TestCa, ecdsa, https_client, tcp_from, tls_from};
use crate::support::{Server, admin};
use crate::support::{
    TestApp, Ws, browser_client, metric_in, path_of, redirected_to, spawn_app_with_seed,
};

/// A loopback address standing in for client number `n` (Linux answers all of
/// 127.0.0.0/8), so a test can be many clients at once.
fn client_ip(n: u32) -> IpAddr {
    IpAddr::from([127, 0, (n >> 8) as u8 + 1, (n & 0xff) as u8 + 1])
}

/// The real binary over HTTPS (a certificate for `menkai.test` from a test CA) with
/// `flags`; the server, its CA and its address.
async fn https_server(
    data: &std::path::Path,
    flags: &[&str],
) -> (Server, TestCa, CertFiles, SocketAddr) {
    let ca = TestCa::new("Menkai test CA");
    let files = CertFiles::new(&ca.leaf(&["menkai.test"], ecdsa()));
    let server = Server::start_as_deployed(data, &files.flags(flags), None).await;
    let addr: SocketAddr = server
        .base
        .trim_start_matches("https://")
        .parse()
        .expect("the server prints its address");
    (server, ca, files, addr)
}

/// A STUN Binding request, as a client would send it.
const BINDING: [u8; 20] = [
    0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
];

/// How long until the server closes `stream`, while a byte of a STUN message is sent
/// every `every` (`None` if still open after `limit`).
async fn trickle_until_closed(
    stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    every: StdDuration,
    limit: StdDuration,
) -> Option<StdDuration> {
    let started = Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let closed = async {
        let mut buf = [0u8; 512];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let trickle = async {
        for byte in BINDING.iter().cycle() {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    };
    let ended = tokio::time::timeout(limit, async {
        tokio::select! {
            () = closed => {},
            () = trickle => {},
        }
    })
    .await;
    ended.ok().map(|()| started.elapsed())
}

#[tokio::test]
async fn turn_connections_that_trickle_on_the_https_port_are_closed_at_the_deadline_while_pages_answer()
 {
    let data = tempfile::tempdir().expect("dir");
    let (server, ca, _files, addr) = https_server(data.path(), &["--max-connections", "40"]).await;
    // Forty clients fill every connection the port allows, each TURN over TLS (ALPN
    // stun.turn), each sending one byte of a STUN message every two seconds.
    let mut trickles = Vec::new();
    for n in 0..40 {
        let tls = tls_from(client_ip(n), addr, &ca.pem, &[b"stun.turn"]).await;
        trickles.push(tokio::spawn(trickle_until_closed(
            tls,
            StdDuration::from_secs(2),
            StdDuration::from_secs(40),
        )));
    }
    // Meanwhile the pages answer: the relay took those connections off the web's count.
    let client = https_client(&ca.pem, Some(("menkai.test", addr)));
    for _ in 0..3 {
        let asked = Instant::now();
        let res = client
            .get(format!("https://menkai.test:{}/healthz", addr.port()))
            .send()
            .await
            .expect("healthz answers while TURN clients trickle");
        assert_eq!(res.status(), StatusCode::OK);
        println!("healthz answered in {:?}", asked.elapsed());
        tokio::time::sleep(StdDuration::from_secs(2)).await;
    }
    // And no byte-a-time client outlives the first-message deadline (15 s).
    let mut slowest = StdDuration::ZERO;
    for trickle in trickles {
        let closed = trickle
            .await
            .expect("task")
            .expect("the server closed a trickling TURN connection");
        assert!(
            closed < StdDuration::from_secs(17),
            "closed after {closed:?}"
        );
        slowest = slowest.max(closed);
    }
    println!("40 trickling turns: connections on the HTTPS port, all closed within {slowest:?}");
    server.stop().await;
}

#[tokio::test]
async fn one_address_cannot_fill_the_relay_s_tcp_port() {
    // The test holds thousands of sockets.
    menkai::net::fit_to_open_file_limit(16_384);
    let (_data, _token, server) = crate::support::fresh_server().await;
    let turn = server.turn_addr().await;
    let flooder = client_ip(1);
    let mut held = Vec::new();
    for _ in 0..2100 {
        held.push(tcp_from(flooder, turn).await);
    }
    // What the relay kept of them: those it did not close at once.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let mut open = 0;
    for stream in &mut held {
        let mut byte = [0u8; 1];
        if let Err(_still_open) =
            tokio::time::timeout(StdDuration::from_millis(2), stream.read(&mut byte)).await
        {
            open += 1;
        }
    }
    println!("one address opened 2,100 TCP connections to the relay; {open} were kept");
    assert!(
        open <= 2048 / 4,
        "one address holds at most a quarter: {open}"
    );
    // Another address is answered (a 401 with a nonce: the relay heard it).
    let other = tcp_from(client_ip(2), turn).await;
    let mut client = TurnClient::stream(other, "0:nobody", "wrong");
    let answered = Instant::now();
    assert_eq!(client.allocate().await, Err(401), "the relay answers");
    println!("another address answered in {:?}", answered.elapsed());
    drop(held);
    server.stop().await;
}

/// A visit starting now on a freshly paired tablet: (the visit, the tablet's id, its
/// device token).
async fn visit_now_on_a_tablet(
    app: &TestApp,
    token: &str,
    seed: crate::support::Seed,
    guests: &[&str],
) -> (Value, String, String) {
    let (ward_id, ward_token) = app.paired_device(token, "ward", "Tablet 3F").await;
    let seed = crate::support::Seed {
        ward: ward_id.clone(),
        ..seed
    };
    let (status, visit) = app.book(token, &seed, app.clock_now(), guests).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    (visit, ward_id, ward_token)
}

/// The embedded relay's credentials in a welcome (or a device's `visit` frame).
fn relay_credentials(frame: &Value) -> (String, String) {
    let server = &frame["ice_servers"][0];
    (
        server["username"].as_str().expect("username").to_owned(),
        server["credential"]
            .as_str()
            .expect("credential")
            .to_owned(),
    )
}

/// Waits up to two seconds for `client`'s allocation to be gone (its refresh
/// refused) and for fresh allocations with its credentials to be refused; how long it
/// took.
async fn refused_within_two_seconds(
    app: &TestApp,
    client: &mut TurnClient,
    user: &str,
    pass: &str,
) -> StdDuration {
    let started = Instant::now();
    loop {
        let refresh = client.refresh(600).await;
        let fresh = TurnClient::udp(app.turn_addr(), user, pass)
            .await
            .allocate()
            .await;
        if refresh.is_err() && fresh == Err(401) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(2),
            "still relaying: refresh {refresh:?}, new allocation {fresh:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// Waits up to two seconds for the relay to hold `count` allocations; how long it took.
async fn allocations_become(relay: &menkai::turn::relay::Relay, count: usize) -> StdDuration {
    let started = Instant::now();
    while relay.allocations() != count {
        assert!(
            started.elapsed() < StdDuration::from_secs(2),
            "{} allocations, not {count}",
            relay.allocations()
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_removed_tablet_s_and_a_cancelled_visit_s_relay_credentials_stop_within_two_seconds() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit, ward_id, ward_token) = visit_now_on_a_tablet(&app, &token, seed, &["Taro"]).await;
    let link = path_of(visit["invitations"][0]["url"].as_str().expect("url"));
    // The visit is open: the tablet is put into it at once, with its credentials.
    let (_tablet, seated) = Ws::hello(&app, &ward_token, None).await;
    assert_eq!(seated["visit"]["id"], visit["id"], "{seated}");
    let (tablet_user, tablet_pass) = relay_credentials(&seated);
    let (_guest, welcome) = Ws::hello(&app, link.trim_start_matches("/v/"), None).await;
    let (guest_user, guest_pass) = relay_credentials(&welcome);
    let mut tablet_relay = TurnClient::udp(app.turn_addr(), &tablet_user, &tablet_pass).await;
    let mut guest_relay = TurnClient::udp(app.turn_addr(), &guest_user, &guest_pass).await;
    tablet_relay.allocate().await.expect("the tablet relays");
    guest_relay.allocate().await.expect("the family relays");
    let relay = app.app_state.relay.clone().expect("the relay runs");
    assert_eq!(relay.allocations(), 2);

    // Staff remove the tablet (it was stolen): its credentials stop.
    let (status, _) = app
        .api_post(&format!("/devices/{ward_id}/revoke"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let took =
        refused_within_two_seconds(&app, &mut tablet_relay, &tablet_user, &tablet_pass).await;
    println!("a removed tablet's relay credentials refused {took:?} after removal");
    let took = allocations_become(&relay, 1).await;
    println!("its allocation closed {took:?} after removal");

    // Staff cancel the visit: the family's credentials stop with it.
    let id = visit["id"].as_str().expect("id");
    let (status, _) = app
        .api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let took = refused_within_two_seconds(&app, &mut guest_relay, &guest_user, &guest_pass).await;
    println!("a cancelled visit's relay credentials refused {took:?} after cancelling");
    let took = allocations_become(&relay, 0).await;
    println!("its allocation closed {took:?} after cancelling");
    let metrics = app.metrics().await;
    assert!(
        metric_in(&metrics, "menkai_turn_refusals_total{reason=\"revoked\"}").unwrap_or(0.0) >= 2.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn a_key_read_from_the_database_mints_no_long_credential_and_is_gone_in_two_days() {
    let (app, _token, _seed) = spawn_app_with_seed().await;
    let now = app.clock_now();
    let day = menkai::turn::credentials::day_of(now.timestamp());
    // What someone who copied the database holds: today's key.
    let (key, _) = app.app_state.db.turn_keys(day).await.expect("keys");
    let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
    let ten_years = menkai::turn::rest_credential(&secret, "thief", now + Duration::days(3650));
    let mut client = TurnClient::udp(app.turn_addr(), &ten_years.0, &ten_years.1).await;
    assert_eq!(
        client.allocate().await,
        Err(401),
        "ten years are not honoured"
    );
    let today = menkai::turn::rest_credential(&secret, "thief", now + Duration::hours(1));
    let mut client = TurnClient::udp(app.turn_addr(), &today.0, &today.1).await;
    client
        .allocate()
        .await
        .expect("a day's credential works today");

    // Two days on, the scheduler has rotated the key twice: the copy mints nothing.
    app.advance(Duration::days(2));
    app.tick().await;
    let later = app.clock_now();
    let stolen = menkai::turn::rest_credential(&secret, "thief", later + Duration::hours(1));
    let mut client = TurnClient::udp(app.turn_addr(), &stolen.0, &stolen.1).await;
    assert_eq!(client.allocate().await, Err(401), "the old key is gone");
    let (current, yesterday) = app.app_state.db.turn_keys(day + 2).await.expect("keys");
    assert_ne!(current, key);
    assert_ne!(yesterday, Some(key), "the key of two days ago was deleted");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_every_file_in_it_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().expect("dir");
    let data = root.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let server = Server::start_as_deployed(&data, &[], Some("000")).await;
    let token = admin(&["admin", "token", "create", "--name", "t"], &data).await;
    crate::support::book_one(&server, &token).await;
    assert_eq!(mode(&data), 0o700, "the data directory");
    for file in ["menkai.sqlite3", "menkai.sqlite3-wal", "menkai.sqlite3-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let backup = root.path().join("backup.sqlite3");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_menkai"))
        .args(["backup", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&backup)
        .output()
        .await
        .expect("backup runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&backup), 0o600, "the backup");
    let log = server.stop().await;
    assert!(
        log.contains("data directory was readable by other users"),
        "the operator is warned: {log}"
    );
}

#[tokio::test]
async fn junk_for_the_relay_and_refused_logins_are_counted_not_logged_line_by_line() {
    let data = tempfile::tempdir().expect("dir");
    let server = Server::start_as_deployed(data.path(), &[], None).await;
    let turn = server.turn_addr().await;
    // 20,000 datagrams of 28 bytes that are not STUN (no magic cookie), from one port.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let mut junk = [0xabu8; 28];
    junk[..4].copy_from_slice(&[0x00, 0x01, 0x00, 0x08]);
    for n in 0..20_000 {
        socket.send_to(&junk, turn).await.expect("send");
        if n % 500 == 0 {
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
    }
    // 1,000 logins refused (wrong password, then the throttle).
    let client = browser_client();
    let base = &server.base;
    for _ in 0..1000 {
        let status = try_login(&client, base, "admin", "guessed").await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
    }
    let metrics = server.metrics().await;
    let count = |kind: &str| {
        metric_in(
            &metrics,
            &format!("menkai_refused_total{{kind=\"{kind}\"}}"),
        )
        .unwrap_or(0.0)
    };
    let malformed = count("malformed_stun");
    let logins = count("login") + count("login_throttled");
    assert!(malformed >= 19_000.0, "junk counted: {malformed}");
    assert_eq!(logins, 1000.0, "every refused login counted");
    let log = server.stop().await;
    println!(
        "20,000 junk datagrams ({malformed} counted) and 1,000 refused logins: the whole log is {} bytes, {} lines",
        log.len(),
        log.lines().count()
    );
    assert!(log.len() < 64 * 1024, "{log}");
}

#[tokio::test]
async fn at_the_connection_cap_an_https_client_reads_the_503_inside_tls() {
    let data = tempfile::tempdir().expect("dir");
    let (server, ca, _files, addr) = https_server(data.path(), &["--max-connections", "16"]).await;
    // Sixteen clients hold every connection (a handshake, then nothing yet).
    let mut held = Vec::new();
    for n in 0..16 {
        held.push(tls_from(client_ip(n), addr, &ca.pem, &[]).await);
    }
    let mut next = tls_from(client_ip(16), addr, &ca.pem, &[]).await;
    let mut answer = String::new();
    tokio::time::timeout(StdDuration::from_secs(10), next.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .ok();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");
    drop(held);
    server.stop().await;
}

/// A staff member with a session of their own (a browser of their own).
async fn staff_member(app: &TestApp, login: &str) -> reqwest::Client {
    let link = app
        .app_state
        .db
        .create_staff_invite(
            login.into(),
            menkai::staff::Role::Staff,
            "test".into(),
            app.clock_now(),
        )
        .await
        .expect("invite");
    let client = browser_client();
    let path = format!("/setup/{link}");
    let password = "a long enough password";
    let res = app
        .post_form_as(
            &client,
            &path,
            &path,
            &[
                ("display_name", login),
                ("login", login),
                ("password", password),
                ("password_again", password),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{login} has an account"
    );
    client
}

/// `client` makes a new link for the visit's first guest; where the browser is sent.
async fn new_link(client: &reqwest::Client, app: &TestApp, visit: &Value) -> reqwest::Response {
    let id = visit["id"].as_str().expect("id");
    let guest = visit["guests"][0]["id"].as_str().expect("guest");
    app.post_form_as(
        client,
        &format!("/staff/visits/{id}"),
        &format!("/staff/visits/{id}/guests/{guest}/link"),
        &[],
    )
    .await
}

#[tokio::test]
async fn two_staff_members_links_survive_a_flood_of_new_links_by_a_third() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let start = app.clock_now() + Duration::hours(1);
    let mut visits = Vec::new();
    for (n, guest) in ["Taro", "Jiro", "Saburo"].iter().enumerate() {
        let at = start + Duration::minutes(40 * n as i64);
        let (status, visit) = app.book(&token, &seed, at, &[guest]).await;
        assert_eq!(status, StatusCode::CREATED, "{visit}");
        let id = visit["id"].as_str().expect("id");
        visits.push(
            app.api(reqwest::Method::GET, &format!("/visits/{id}"), &token, None)
                .await
                .1,
        );
    }
    let (ito, kato, flooder) = (
        staff_member(&app, "ito").await,
        staff_member(&app, "kato").await,
        staff_member(&app, "mori").await,
    );
    let ito_page = redirected_to(&new_link(&ito, &app, &visits[0]).await);
    let kato_page = redirected_to(&new_link(&kato, &app, &visits[1]).await);
    let mut made = 0;
    let mut held_back = 0;
    for _ in 0..300 {
        match new_link(&flooder, &app, &visits[2]).await.status() {
            StatusCode::SEE_OTHER => made += 1,
            StatusCode::TOO_MANY_REQUESTS => held_back += 1,
            other => panic!("{other}"),
        }
    }
    println!("one account asked for 300 new links in a row: {made} made, {held_back} held back");
    assert!(made <= menkai::invitations::recent::PER_MINUTE, "{made}");
    for (client, page) in [(&ito, &ito_page), (&kato, &kato_page)] {
        let html = app.text_as(client, page).await;
        assert!(
            html.contains("/v/"),
            "their new link is still shown: {page}"
        );
    }
}

#[tokio::test]
async fn a_link_opened_and_closed_in_a_loop_reaches_the_others_as_a_few_events() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit, _, ward_token) =
        visit_now_on_a_tablet(&app, &token, seed, &["Taro", "Hanako"]).await;
    let token_of = |n: usize| {
        path_of(visit["invitations"][n]["url"].as_str().expect("url"))
            .trim_start_matches("/v/")
            .to_owned()
    };
    let (mut tablet, _) = Ws::hello(&app, &ward_token, None).await;
    app.tick().await;
    tablet.recv_type("visit").await;
    let (mut hanako, _) = Ws::hello(&app, &token_of(1), None).await;
    let taro = token_of(0);
    let mut refused = 0;
    for _ in 0..1000 {
        let (ws, first) = Ws::hello(&app, &taro, None).await;
        if first["code"] == "rate_limited" {
            refused += 1;
        }
        drop(ws);
    }
    let mut events = 0;
    while let Some(frame) = hanako.try_recv(StdDuration::from_secs(2)).await {
        if frame["type"] == "peer-joined" || frame["type"] == "peer-left" {
            events += 1;
        }
    }
    let mut tablet_events = 0;
    while let Some(frame) = tablet.try_recv(StdDuration::from_millis(500)).await {
        if frame["type"] == "peer-joined" || frame["type"] == "peer-left" {
            tablet_events += 1;
        }
    }
    println!(
        "1,000 hellos on one link: {refused} told rate_limited; the other family saw {events} joins and leaves, the tablet {tablet_events}"
    );
    // A link may join afresh ten times at once (then three a minute): the first join
    // and nine more, each a leave and a join for the others.
    assert!(events <= 19, "{events}");
    assert!(tablet_events <= 20, "{tablet_events}");
}
