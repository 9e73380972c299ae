//! The kiosk against a server that is not what it should be (issue 16, finding 6): the
//! real `menkai-kiosk` binary pairs with a small fake server written here (raw
//! HTTP/1.1 on loopback, canned answers, over TLS with a test CA when it must be
//! HTTPS). It follows no redirect (one from https to http would send the pairing code
//! or the device token again in clear text), reads no answer past 1 MiB and stays
//! small while a server streams gigabytes at it, refuses a token or a name no Menkai
//! server sends, and keeps escape sequences, line breaks and bidi overrides in a
//! device name off the terminal and out of pairing.json. A pairing file changed by
//! hand is refused with a message.
//!
//! Like kiosk.rs, this needs `menkai-kiosk` built (`scripts/test` does it first).

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::kiosk::{KioskHome, run_to_end};
use crate::support::peak_rss_kib;
use crate::support::{TestCa, ecdsa};

/// The code the operator "types": the fake servers accept anything.
const CODE: &str = "1234 5678";
/// A token as Menkai makes them: 32 URL-safe characters.
const TOKEN: &str = "Xq3vR8sT1uW4yZ7aB0cD2eF5gH6iJ9kL";
/// The most a kiosk may use while refusing a huge answer (its own size is ~10–20 MiB).
const MAX_PEAK_KIB: u64 = 100 * 1024;
/// How long a streaming fake waits before answering: the test watches the kiosk's
/// memory from the start, so it samples the kiosk while it waits, too.
const ANSWER_DELAY: Duration = Duration::from_millis(300);
const BLOCK: usize = 64 * 1024;

/// What the fake server answers to every request.
enum Answer {
    /// These bytes (status line, headers, body); then the connection is closed.
    Canned(Vec<u8>),
    /// A 200 whose body of `total` bytes is made as it is sent (never held whole):
    /// announced by its Content-Length, or chunked (no length said in advance).
    Stream { total: u64, chunked: bool },
}

impl Answer {
    fn json(status: &str, body: &Value) -> Answer {
        let body = body.to_string();
        Answer::Canned(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    fn redirect(status: &str, to: &str) -> Answer {
        Answer::Canned(
            format!(
                "HTTP/1.1 {status}\r\nLocation: {to}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .into_bytes(),
        )
    }
}

/// The answer Menkai gives to a good pairing code (POST /api/v1/devices/pair).
fn paired(token: &str, name: &str, kind: &str) -> Value {
    json!({ "device_token": token, "device": { "id": "dev1", "name": name, "kind": kind } })
}

/// What a fake server saw and did.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    finished: AtomicUsize,
    /// Each request as it arrived: head and body.
    requests: Mutex<Vec<String>>,
    /// Body bytes of a streamed answer the kernel took (the kiosk read them, or its
    /// socket buffers hold them).
    sent: AtomicU64,
}

/// A fake "Menkai server" on 127.0.0.1, plain or (with an acceptor) HTTPS.
struct FakeServer {
    base: String,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    async fn start(answer: Answer, tls: Option<TlsAcceptor>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let seen = Arc::new(Seen::default());
        let answer = Arc::new(answer);
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    seen.connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, answer, tls) = (seen.clone(), answer.clone(), tls.clone());
                    tokio::spawn(async move {
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(tcp).await {
                                    serve(stream, &answer, &seen).await;
                                }
                            }
                            None => serve(tcp, &answer, &seen).await,
                        }
                        seen.finished.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }
        });
        FakeServer {
            base: format!("{scheme}://{addr}"),
            seen,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.requests.lock().expect("requests").clone()
    }

    fn sent(&self) -> u64 {
        self.seen.sent.load(Ordering::SeqCst)
    }

    /// Waits until every connection has ended (a streamed answer stops at the first
    /// write the kiosk's closed socket refuses).
    async fn wait_until_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.seen.finished.load(Ordering::SeqCst) < self.connections() {
            assert!(
                Instant::now() < deadline,
                "the fake server is still sending ({} bytes so far)",
                self.sent()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request in, one answer out.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: &Answer, seen: &Seen) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    seen.requests.lock().expect("requests").push(request);
    match answer {
        Answer::Canned(bytes) => {
            let _ = stream.write_all(bytes).await;
        }
        Answer::Stream { total, chunked } => {
            tokio::time::sleep(ANSWER_DELAY).await;
            stream_body(&mut stream, *total, *chunked, seen).await;
        }
    }
    let _ = stream.shutdown().await;
}

/// A request's head and its body (by its Content-Length), as text.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let within = Duration::from_secs(10);
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if data.len() > 64 * 1024 {
            return None;
        }
        let n = tokio::time::timeout(within, stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    while data.len() < head_end + length {
        let n = tokio::time::timeout(within, stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&data).into_owned())
}

/// A 200 with `total` bytes of body, one 64 KiB block at a time; stops at the first
/// write that fails (the kiosk hung up).
async fn stream_body<S: AsyncWrite + Unpin>(
    stream: &mut S,
    total: u64,
    chunked: bool,
    seen: &Seen,
) {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {total}")
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b' '; BLOCK];
    let mut left = total;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        let written = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&block[..n]);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed).await
        } else {
            stream.write_all(&block[..n]).await
        };
        if written.is_err() {
            return;
        }
        seen.sent.fetch_add(n as u64, Ordering::SeqCst);
        left -= n as u64;
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
}

/// A TLS acceptor with a certificate for 127.0.0.1 from `ca`.
fn tls_acceptor(ca: &TestCa) -> TlsAcceptor {
    let (cert_pem, key_pem) = ca.leaf(&["127.0.0.1"], ecdsa());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("certificate and key");
    TlsAcceptor::from(Arc::new(config))
}

/// Runs `menkai-kiosk` to its end while reading its peak resident memory every few
/// milliseconds (VmHWM only grows, and is gone once it exits): (exit code, what it
/// printed and said, the highest peak read in KiB, 0 if never read).
async fn run_measured(home: &KioskHome, args: &[&str]) -> (i32, String, u64) {
    let child = home
        .command("C.UTF-8")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("menkai-kiosk starts");
    let pid = child.id().expect("running");
    let mut output = tokio::spawn(child.wait_with_output());
    let started = Instant::now();
    let mut peak_kib = 0;
    let out = loop {
        // 0 once it has exited: VmHWM only grows while it runs.
        peak_kib = peak_kib.max(peak_rss_kib(pid));
        tokio::select! {
            out = &mut output => break out.expect("joined").expect("output"),
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if started.elapsed() > Duration::from_secs(60) {
            // Dropping the kiosk's Child kills it (kill_on_drop).
            output.abort();
            panic!("menkai-kiosk {args:?} still running after 60 s (peak so far {peak_kib} KiB)");
        }
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), said, peak_kib)
}

/// Writes a pairing file as if `pair` had, with `pairing`'s fields.
fn write_pairing(home: &KioskHome, pairing: &Value) {
    let path = home.pairing_file();
    std::fs::create_dir_all(path.parent().expect("config dir")).expect("config dir");
    std::fs::write(&path, pairing.to_string()).expect("pairing file");
}

#[tokio::test]
async fn a_redirect_to_plain_http_is_never_followed() {
    // Plain HTTP on another port: it would take the code (and pair) if asked.
    let plain = FakeServer::start(
        Answer::json("200 OK", &paired(TOKEN, "Entrance", "entrance")),
        None,
    )
    .await;
    let target = format!("{}/api/v1/devices/pair", plain.base);
    let ca = TestCa::new("Kiosk trust test CA");
    let ca_dir = tempfile::tempdir().expect("dir");
    let ca_file = ca.write(ca_dir.path());
    let secure = FakeServer::start(
        Answer::redirect("308 Permanent Redirect", &target),
        Some(tls_acceptor(&ca)),
    )
    .await;
    let home = KioskHome::new();
    let trusting = |lang: &str| {
        let mut command = home.command(lang);
        command.env("SSL_CERT_FILE", &ca_file);
        command
    };

    let (exit, printed, said) =
        run_to_end(trusting("C.UTF-8"), &["pair", &secure.base, CODE]).await;
    assert_eq!(exit, 3, "{printed}{said}");
    let asked = secure.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("POST /api/v1/devices/pair ") && asked[0].contains(CODE),
        "the HTTPS server was asked, with the code: {asked:?}"
    );
    assert_eq!(
        plain.connections(),
        0,
        "nothing reached plain HTTP: {:?}",
        plain.requests()
    );
    assert!(
        said.contains(&format!("answered with a redirect to {target}"))
            && said.contains("The kiosk follows no redirect, so nothing was sent there"),
        "{said}"
    );
    assert!(!home.pairing_file().exists(), "nothing saved");

    let (exit, _, said) = run_to_end(trusting("ja_JP.UTF-8"), &["pair", &secure.base, CODE]).await;
    assert_eq!(exit, 3, "{said}");
    assert!(
        said.contains(&target) && said.contains("キオスクは転送に従わないため"),
        "{said}"
    );

    // A kiosk paired with the HTTPS address: `doctor` reports the redirect as the
    // server's problem instead of "trusted certificate", and the token goes nowhere.
    write_pairing(
        &home,
        &json!({ "server": secure.base, "device_token": TOKEN, "device_id": "dev1",
                 "device_name": "Entrance", "kind": "entrance" }),
    );
    let (_, report, said) =
        run_to_end(trusting("C.UTF-8"), &["doctor", "--browser", "/bin/false"]).await;
    println!("{report}");
    assert!(
        report.contains("[PROBLEM] Server: ") && report.contains("answered with a redirect to"),
        "{report}{said}"
    );
    assert!(!report.contains("trusted certificate"), "{report}");
    assert_eq!(plain.connections(), 0, "{:?}", plain.requests());
    assert!(
        !secure.requests().iter().any(|r| r.contains(TOKEN)),
        "the token is not sent while the server redirects: {:?}",
        secure.requests()
    );

    // Not even a redirect within the same origin is followed.
    let same = FakeServer::start(
        Answer::redirect("307 Temporary Redirect", "/api/v1/devices/pair/"),
        None,
    )
    .await;
    let (exit, _, said) = KioskHome::new().pair(&same.base, CODE).await;
    assert_eq!(exit, 3, "{said}");
    assert_eq!(same.requests().len(), 1, "{:?}", same.requests());
    assert!(
        said.contains(&format!("redirect to {}/api/v1/devices/pair/", same.base)),
        "{said}"
    );
}

#[tokio::test]
async fn a_huge_answer_is_refused_while_the_kiosk_stays_small() {
    for (what, answer) in [
        (
            "400 MB with its Content-Length",
            Answer::Stream {
                total: 400_000_000,
                chunked: false,
            },
        ),
        (
            "1.5 GB chunked",
            Answer::Stream {
                total: 1_500_000_000,
                chunked: true,
            },
        ),
    ] {
        let server = FakeServer::start(answer, None).await;
        let home = KioskHome::new();
        let started = Instant::now();
        let (exit, said, peak_kib) = run_measured(&home, &["pair", &server.base, CODE]).await;
        server.wait_until_idle().await;
        println!(
            "{what}: exit {exit} after {:?}, peak RSS {peak_kib} KiB, {} body bytes taken",
            started.elapsed(),
            server.sent()
        );
        assert_eq!(exit, 3, "{what}: {said}");
        assert!(
            said.contains("sent an answer larger than 1 MiB"),
            "{what}: {said}"
        );
        assert!(peak_kib > 0, "{what}: the kiosk's memory was never read");
        assert!(
            peak_kib < MAX_PEAK_KIB,
            "{what}: peak RSS {peak_kib} KiB (at most {MAX_PEAK_KIB})"
        );
        // The kiosk hung up: what went out is the cap plus the sockets' buffers.
        assert!(
            server.sent() < 64 * 1024 * 1024,
            "{what}: {} bytes were taken from the server",
            server.sent()
        );
        assert!(!home.pairing_file().exists(), "{what}: nothing saved");
    }
}

#[tokio::test]
async fn a_megabyte_token_or_an_overlong_name_is_refused_and_nothing_is_saved() {
    let home = KioskHome::new();
    let token = "A".repeat(1_000_000);
    let server = FakeServer::start(
        Answer::json("200 OK", &paired(&token, "Entrance", "entrance")),
        None,
    )
    .await;
    let (exit, printed, said) = home.pair(&server.base, CODE).await;
    assert_eq!(exit, 3, "{said}");
    assert!(
        said.contains("sent a device token the kiosk does not accept"),
        "{said}"
    );
    assert!(!home.pairing_file().exists(), "nothing saved");
    let long_run = "A".repeat(100);
    assert!(
        !printed.contains(&long_run) && !said.contains(&long_run),
        "the token is not printed"
    );
    let (exit, _, said) = home.run("ja_JP.UTF-8", &["pair", &server.base, CODE]).await;
    assert_eq!(exit, 3, "{said}");
    assert!(said.contains("端末トークンは"), "{said}");

    // A name longer than a name (the server allows 60 characters; the kiosk 200).
    let server = FakeServer::start(
        Answer::json("200 OK", &paired(TOKEN, &"入口".repeat(150), "entrance")),
        None,
    )
    .await;
    let (exit, _, said) = home.pair(&server.base, CODE).await;
    assert_eq!(exit, 3, "{said}");
    assert!(
        said.contains("sent a device name the kiosk does not accept"),
        "{said}"
    );
    assert!(!home.pairing_file().exists(), "nothing saved");

    // A 5 MB name does not even fit in an answer.
    let server = FakeServer::start(
        Answer::json("200 OK", &paired(TOKEN, &"N".repeat(5_000_000), "entrance")),
        None,
    )
    .await;
    let (exit, _, said) = home.pair(&server.base, CODE).await;
    assert_eq!(exit, 3, "{said}");
    assert!(said.contains("sent an answer larger than 1 MiB"), "{said}");

    // A kind the server does not have.
    let server = FakeServer::start(
        Answer::json("200 OK", &paired(TOKEN, "Entrance", "admin")),
        None,
    )
    .await;
    let (exit, _, said) = home.pair(&server.base, CODE).await;
    assert_eq!(exit, 3, "{said}");
    assert!(
        said.contains("sent a device kind the kiosk does not accept"),
        "{said}"
    );
    assert!(!home.pairing_file().exists(), "nothing saved");
}

/// What must never reach a terminal or the pairing file from a server.
fn hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

#[tokio::test]
async fn escape_sequences_line_breaks_and_bidi_overrides_in_a_device_name_reach_neither_the_screen_nor_the_file()
 {
    let name =
        "\u{1b}[31mEntrance\u{1b}[0m\r\nFAKE: all checks passed\u{202E}gpj.exe\u{1b}]0;owned\u{7}";
    let server = FakeServer::start(
        Answer::json("200 OK", &paired(TOKEN, name, "entrance")),
        None,
    )
    .await;
    let home = KioskHome::new();
    let (exit, printed, said) = home.pair(&server.base, CODE).await;
    assert_eq!(exit, 0, "{said}");
    let cleaned = "Entrance FAKE: all checks passedgpj.exe";
    assert_eq!(
        printed,
        format!("Paired as “{cleaned}”. Start the kiosk with: menkai-kiosk run\n"),
        "one line, nothing hidden in it"
    );
    for (what, text) in [("printed", &printed), ("said", &said)] {
        assert!(
            !text.chars().any(|c| c != '\n' && hostile(c)),
            "{what}: {text:?}"
        );
        assert!(
            !text.contains("[31m") && !text.contains("owned"),
            "{what}: {text:?}"
        );
    }

    let file = std::fs::read_to_string(home.pairing_file()).expect("saved");
    let saved: Value = serde_json::from_str(&file).expect("JSON");
    assert_eq!(saved["device_name"], cleaned, "{file}");
    assert_eq!(saved["device_token"], TOKEN);
    // Neither raw nor escaped by JSON (\u001b, \r, \n inside the string).
    assert!(
        !file.chars().any(|c| c != '\n' && hostile(c))
            && !file.contains("\\u001b")
            && !file.contains("\\u0007")
            && !file.contains("\\r")
            && !file.contains("\\n"),
        "{file:?}"
    );

    // Read back, it is accepted as written; what `doctor` is told is cleaned the same.
    let (_, report, said) = home
        .run("C.UTF-8", &["doctor", "--browser", "/bin/false"])
        .await;
    assert!(
        report.contains(&format!("[OK] Pairing: paired as “{cleaned}” (entrance)")),
        "{report}{said}"
    );
    assert!(
        !report.chars().any(|c| c != '\n' && hostile(c)),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_pairing_file_changed_by_hand_is_refused_with_a_clear_message() {
    let home = KioskHome::new();
    let pairing = |token: &str, name: &str| {
        json!({ "server": "http://127.0.0.1:9", "device_token": token, "device_id": "dev1",
                "device_name": name, "kind": "entrance" })
    };

    // A token no server sends: `run` stops before any browser starts.
    write_pairing(&home, &pairing(&"A".repeat(1_000), "Entrance"));
    let (exit, _, said) = home
        .run("C.UTF-8", &["run", "--headless", "--browser", "/bin/false"])
        .await;
    assert_eq!(exit, 2, "{said}");
    assert!(
        said.contains("holds a device token the kiosk does not accept")
            && said.contains("Pair again: menkai-kiosk pair URL CODE"),
        "{said}"
    );
    assert!(!said.contains("browser started"), "{said}");
    let (exit, _, said) = home
        .run(
            "ja_JP.UTF-8",
            &["run", "--headless", "--browser", "/bin/false"],
        )
        .await;
    assert_eq!(exit, 2, "{said}");
    assert!(
        said.contains("端末トークンが正しい形ではありません"),
        "{said}"
    );

    // A name with an escape sequence: `doctor` says which field, and prints none of it.
    write_pairing(&home, &pairing(TOKEN, "Entrance\u{1b}[2J\u{202E}"));
    let (_, report, said) = home
        .run("C.UTF-8", &["doctor", "--browser", "/bin/false"])
        .await;
    assert!(
        report.contains("[PROBLEM] Pairing: The saved pairing in")
            && report.contains("holds a device name the kiosk does not accept"),
        "{report}{said}"
    );
    assert!(
        !report.chars().any(|c| c != '\n' && hostile(c)),
        "{report:?}"
    );

    // Far larger than a pairing: not read to its end.
    write_pairing(&home, &pairing(&"A".repeat(10_000_000), "Entrance"));
    let (exit, _, said) = home
        .run("C.UTF-8", &["run", "--headless", "--browser", "/bin/false"])
        .await;
    assert_eq!(exit, 2, "{said}");
    assert!(
        said.contains("is far larger than a pairing can be"),
        "{said}"
    );
}
