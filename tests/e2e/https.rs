//! HTTPS, three ways: certificate files made by the test (served, replaced on disk and
//! picked up without a restart; a bad pair stops the start), an ACME CA on loopback
//! (Debian's `pebble`, which really validates TLS-ALPN-01 against Menkai's port), and
//! the redirect from plain HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::process::Command;

use crate::support::Server;
use crate::support::until;
use crate::support::{
    CertFiles, Pebble, TestCa, ecdsa, free_port, https_client, install, tls_connector,
};
use crate::support::{ed25519, rsa};
use crate::support::{monday_9am_tokyo, spawn_app_with};

/// The leaf certificate a fresh handshake with `addr` (as `name`) is shown.
async fn served_certificate(addr: SocketAddr, name: &str, ca_pem: &str) -> Vec<u8> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let server_name = ServerName::try_from(name.to_owned()).expect("name");
    let tls = tls_connector(ca_pem, &[])
        .connect(server_name, tcp)
        .await
        .expect("handshake verified by the test CA");
    tls.get_ref().1.peer_certificates().expect("certificates")[0].to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("pem")
        .to_vec()
}

fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("https://")
        .trim_start_matches("http://")
        .parse()
        .expect("address")
}

async fn wait_for_certificate(addr: SocketAddr, name: &str, ca: &str, want: &[u8]) -> StdDuration {
    let started = Instant::now();
    until(
        StdDuration::from_secs(30),
        "the new certificate served",
        || async { (served_certificate(addr, name, ca).await == want).then_some(()) },
    )
    .await;
    started.elapsed()
}

#[tokio::test]
async fn own_certificate_files_are_served_and_replaced_without_a_restart() {
    let ca = TestCa::new("Menkai test CA");
    let first = ca.leaf(&["localhost", "127.0.0.1"], ecdsa());
    let files = CertFiles::new(&first);
    let data = tempfile::tempdir().expect("data");
    let server = Server::start_with(data.path(), "127.0.0.1:0", &files.flags(&[])).await;
    let (cert_path, key_path, dir) = (&files.cert, &files.key, files.dir.path());
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let addr = addr_of(&server.base);
    let client = https_client(&ca.pem, None);
    let res = client
        .get(format!("{}/staff/login", server.base))
        .send()
        .await
        .expect("a client trusting the test CA connects");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let cookies: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("Secure")),
        "every cookie is Secure under TLS: {cookies:?}"
    );
    assert_eq!(
        served_certificate(addr, "localhost", &ca.pem).await,
        der_of(&first.0)
    );
    // Renewed by an outside tool, with other key types: picked up without a restart,
    // on the same server process.
    for (label, key) in [("Ed25519", ed25519()), ("RSA", rsa(dir))] {
        let next = ca.leaf(&["localhost", "127.0.0.1"], key);
        install(cert_path, key_path, &next);
        let took = wait_for_certificate(addr, "localhost", &ca.pem, &der_of(&next.0)).await;
        println!("a replaced {label} certificate was served {took:.1?} after it was written");
    }
    // A broken replacement (a key of another certificate) is refused; the one in use stays.
    let in_use = std::fs::read_to_string(cert_path).expect("cert");
    std::fs::write(key_path, &first.1).expect("key");
    tokio::time::sleep(StdDuration::from_secs(4)).await;
    assert_eq!(
        served_certificate(addr, "localhost", &ca.pem).await,
        der_of(&in_use)
    );
    let res = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let log = server.stop().await;
    assert!(
        log.contains("cannot be used"),
        "the broken pair is explained in the log"
    );
}

async fn refused_start(args: &[&str]) -> String {
    let data = tempfile::tempdir().expect("data");
    let out = tokio::time::timeout(
        StdDuration::from_secs(30),
        Command::new(env!("CARGO_BIN_EXE_menkai"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--turn-listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(data.path())
            .args(args)
            .output(),
    )
    .await
    .expect("ends by itself")
    .expect("runs");
    assert!(!out.status.success(), "start refused: {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_missing_or_mismatched_key_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::new("Menkai test CA");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    install(&cert_path, &key_path, &ca.leaf(&["localhost"], ecdsa()));
    let cert = cert_path.to_str().expect("path");
    let missing = refused_start(&["--tls-cert", cert, "--tls-key", "/nonexistent/key.pem"]).await;
    assert!(
        missing.contains("private key file /nonexistent/key.pem"),
        "{missing}"
    );
    let other = dir.path().join("other.pem");
    std::fs::write(&other, ca.leaf(&["localhost"], ecdsa()).1).expect("key");
    let mismatched = refused_start(&[
        "--tls-cert",
        cert,
        "--tls-key",
        other.to_str().expect("path"),
    ])
    .await;
    assert!(
        mismatched.contains("does not belong to the certificate"),
        "{mismatched}"
    );
    let half = refused_start(&["--tls-cert", cert]).await;
    assert!(half.contains("tls_cert needs tls_key"), "{half}");
    println!("refusals: {}", missing.lines().last().unwrap_or_default());
}

#[tokio::test]
async fn plain_http_is_only_redirected_to_https() {
    let ca = TestCa::new("Menkai test CA");
    let files = CertFiles::new(&ca.leaf(&["127.0.0.1"], ecdsa()));
    let redirect = format!("127.0.0.1:{}", free_port());
    let data = tempfile::tempdir().expect("data");
    let server = Server::start_with(
        data.path(),
        "127.0.0.1:0",
        &files.flags(&["--redirect-http", &redirect]),
    )
    .await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in ["/v/abc?lang=en", "/healthz", "/api/v1/residents"] {
        let res = plain
            .get(format!("http://{redirect}{path}"))
            .send()
            .await
            .expect("plain request");
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(res.headers()["location"], format!("{}{path}", server.base));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_comes_from_an_acme_ca_and_is_renewed_under_an_open_socket() {
    let port = free_port();
    let pebble = Pebble::start(port).await;
    let mut acme = menkai::tls::acme::AcmeSettings::new("menkai.test".into());
    acme.directory = pebble.directory.clone();
    acme.root = Some(pebble.listener_ca.clone());
    acme.contact = Some("care-home@example.jp".into());
    acme.check_every = StdDuration::from_millis(500);
    let mut app = spawn_app_with(|config| {
        config.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        config.tls = Some(menkai::tls::TlsSource::Acme(acme));
    })
    .await;
    assert_eq!(app.base, format!("https://menkai.test:{port}"));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let root = pebble.issuing_root().await;
    let client = https_client(&root, Some(("menkai.test", addr)));
    let started = Instant::now();
    let res = until(
        StdDuration::from_secs(60),
        "a certificate pebble issued is served within a minute",
        || async {
            client
                .get(format!("{}/healthz", app.base))
                .send()
                .await
                .ok()
        },
    )
    .await;
    println!(
        "certificate obtained from pebble in {:.1?}",
        started.elapsed()
    );
    assert_eq!(res.status(), StatusCode::OK);
    // The cached account and certificate keys are the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("cached").permissions().mode() & 0o777;
        let data = app.app_state.db.path().parent().expect("data dir");
        let cache = data.join("acme");
        assert_eq!(mode(&cache), 0o700, "the ACME cache");
        for file in ["account.json", "cert.pem", "key.pem"] {
            assert_eq!(mode(&cache.join(file)), 0o600, "{file}");
        }
    }
    // A family's link works over it.
    app.client = client.clone();
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (status, visit) = app.book(&token, &seed, monday_9am_tokyo(), &["Taro"]).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let link = visit["invitations"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(link.starts_with("https://menkai.test:"), "{link}");
    let page = client.get(&link).send().await.expect("join page");
    assert_eq!(page.status(), StatusCode::OK);
    // A tablet's signaling socket over TLS (open all day) stays open through the renewal.
    let (_, device_token) = app.paired_device(&token, "ward", "Tablet 3F").await;
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let tls = tls_connector(&root, &[])
        .connect(ServerName::try_from("menkai.test").expect("name"), tcp)
        .await
        .expect("tls");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://menkai.test:{port}/ws"), tls)
        .await
        .expect("websocket over TLS");
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(
        json!({"type": "hello", "token": device_token})
            .to_string()
            .into(),
    ))
    .await
    .expect("hello");
    let first = served_certificate(addr, "menkai.test", &root).await;
    // Two thirds of the certificate's life later (on the server's clock), it renews.
    app.advance(chrono::Duration::days(5 * 366));
    let renewing = Instant::now();
    until(
        StdDuration::from_secs(60),
        "renewed within a minute",
        || async { (served_certificate(addr, "menkai.test", &root).await != first).then_some(()) },
    )
    .await;
    println!(
        "certificate renewed {:.1?} after it came due",
        renewing.elapsed()
    );
    ws.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("the socket is still open");
    let pong = tokio::time::timeout(StdDuration::from_secs(10), async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message
                && text.contains("\"pong\"")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        pong,
        Ok(true),
        "the signaling socket kept working through the renewal"
    );
    let res = client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
}

/// Chromium switches that make `menkai.test` resolve to loopback and trust the test
/// certificate's key, in this browser's own profile only.
fn browser_on_menkai_test(spki_der: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let pin = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki_der));
    vec![
        "--host-resolver-rules=MAP menkai.test 127.0.0.1".to_owned(),
        format!("--ignore-certificate-errors-spki-list={pin}"),
    ]
}

/// The point of HTTPS: on an address other than localhost, the family's phone and the
/// ward tablet get camera and microphone, and the call connects. Over plain HTTP on the
/// same kind of address the family page explains what to do instead.
#[tokio::test]
async fn a_call_connects_on_a_real_https_address_and_plain_http_explains_itself() {
    use rcgen::PublicKeyData as _;

    use crate::support::remote_visit_now;
    use crate::support::{Browser, Engine, Launch};
    use serde_json::Value;
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::new("Menkai test CA");
    let key = ecdsa();
    let spki = key.subject_public_key_info();
    let pair = ca.leaf(&["menkai.test"], key);
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    install(&cert_path, &key_path, &pair);
    let port = free_port();
    let mut app = spawn_app_with(|config| {
        config.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        config.public_url = Some(format!("https://menkai.test:{port}"));
        config.tls = Some(menkai::tls::TlsSource::Files {
            cert: cert_path.clone(),
            key: key_path.clone(),
        });
    })
    .await;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    app.client = https_client(&ca.pem, Some(("menkai.test", addr)));
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let switches = browser_on_menkai_test(&spki);
    let tablet = Browser::start_with(&switches).await;
    tablet
        .goto(&format!("{}/device#token={ward_token}", app.base))
        .await;
    let family = Browser::start_with(&switches).await;
    family.goto(&format!("{}{}", app.base, links[0])).await;
    for (who, page) in [("family", &family), ("tablet", &tablet)] {
        assert_eq!(
            page.eval("window.isSecureContext && location.hostname")
                .await,
            json!("menkai.test"),
            "{who}: a secure context on a non-localhost name"
        );
        let stats = page.wait_for_media(1, StdDuration::from_secs(30)).await;
        println!("{who} on https://menkai.test: {stats}");
    }
    drop(app);

    // The same kind of address over plain HTTP: no camera, and the page says why.
    let plain_port = free_port();
    let mut plain = spawn_app_with(|config| {
        config.listen = format!("127.0.0.1:{plain_port}").parse().expect("addr");
        config.public_url = Some(format!("http://menkai.test:{plain_port}"));
    })
    .await;
    plain.client = reqwest::Client::builder()
        .resolve(
            "menkai.test",
            format!("127.0.0.1:{plain_port}").parse().expect("addr"),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let token = plain.api_token().await;
    let seed = plain.seed(&token).await;
    let (_, links) = remote_visit_now(&plain, &token, &seed, &["Taro"]).await;
    for engine in Engine::ALL {
        let on_menkai_test = Launch {
            resolve: Some("menkai.test".into()),
            ..Launch::default()
        };
        let insecure = Browser::launch(engine, &on_menkai_test).await;
        insecure.goto(&format!("{}{}", plain.base, links[0])).await;
        assert_eq!(insecure.eval("window.isSecureContext").await, json!(false));
        insecure
            .wait_until(
                "document.getElementById('media-help')?.textContent.includes('https://')",
                StdDuration::from_secs(15),
            )
            .await;
        assert_eq!(
            insecure.eval("window.menkai.linked()").await,
            json!(false),
            "{}: no half call without camera and microphone",
            engine.name()
        );
        assert_eq!(
            insecure.eval("window.menkai.screen()").await,
            json!("prejoin")
        );
        assert_eq!(
            insecure.eval("document.body.dataset.trouble ?? null").await,
            Value::Null,
            "{}: the address is at fault, not the browser",
            engine.name()
        );
        insecure
            .screenshot(&format!(
                "join-insecure-address-{}",
                engine.name().to_lowercase()
            ))
            .await;
    }
}

/// A home that set `--public-url http://sakura.lan` (a name on its own network, plain
/// HTTP): every staff page says cameras will not work and why, Devices names that
/// cause instead of blaming the tablet's camera, and the family's page says to call the
/// home, with its number.
#[tokio::test]
async fn plain_http_on_a_lan_name_is_named_as_the_cause_everywhere() {
    use crate::support::{Browser, Engine, Launch, remote_visit_now};
    let port = free_port();
    let mut app = spawn_app_with(|config| {
        config.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        config.public_url = Some(format!("http://sakura.lan:{port}"));
    })
    .await;
    app.client = reqwest::Client::builder()
        .resolve(
            "sakura.lan",
            format!("127.0.0.1:{port}").parse().expect("addr"),
        )
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    let token = app.api_token().await;
    let (status, _) = app
        .api(
            reqwest::Method::PUT,
            "/facility",
            &token,
            Some(json!({"name": "さくらの里", "phone": "03-1234-5678", "time_zone": "Asia/Tokyo", "language": "ja", "slot_minutes": 20, "buffer_minutes": 10, "visiting_hours": [{"weekday": 1, "from": "09:00", "to": "17:00"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let seed = app.seed(&token).await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let on_sakura = Launch {
        resolve: Some("sakura.lan".into()),
        ..Launch::default()
    };
    let tablet = Browser::launch(Engine::Chromium, &on_sakura).await;
    tablet
        .goto(&format!("{}/device#token={ward_token}", app.base))
        .await;
    let family = Browser::launch(Engine::Chromium, &on_sakura).await;
    family.resize(390, 844).await;
    family.goto(&format!("{}{}", app.base, links[0])).await;
    family
        .wait_until(
            "!document.getElementById('media-help').hidden && !document.getElementById('media-help-phone').hidden",
            StdDuration::from_secs(15),
        )
        .await;
    let help = family
        .eval("document.getElementById('media-help').textContent + document.getElementById('media-help-phone').textContent")
        .await;
    assert!(
        help.as_str()
            .is_some_and(|h| h.contains("http://") && h.contains("03-")),
        "the family is told to call the home, with its number: {help}"
    );
    family.screenshot("join-lan-http-390").await;

    app.login_as_admin().await;
    for page in ["/staff", "/staff/devices", "/staff/book"] {
        let (_, html) = app.get_text(page).await;
        assert!(html.contains("address-warning"), "{page}: the banner");
        assert!(
            html.contains("http://") && html.contains("https://"),
            "{page}: says why"
        );
    }
    until(
        StdDuration::from_secs(20),
        "the tablet's report of its camera",
        || async {
            let (_, html) = app.get_text("/staff/devices").await;
            let insecure = ["https:// ではないため", "address is not https://"];
            insecure.iter().any(|w| html.contains(w)).then_some(html)
        },
    )
    .await;
    let (_, devices) = app.get_text("/staff/devices").await;
    assert!(
        !devices.contains("使えるカメラがありません") && !devices.contains("no camera it can use"),
        "the camera is not blamed"
    );
}
