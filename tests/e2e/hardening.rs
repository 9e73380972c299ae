//! Attacks anyone on the internet could make, against the real server: floods of
//! logins, junk login names, idle and slow connections, stale set-up links, forged
//! API calls, hostile names, malformed API requests.

use std::net::IpAddr;
use std::time::{Duration as StdDuration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::until;
use crate::support::{Server, admin, book_one, fresh_server};
use crate::support::{
    browser_client, client_from, csrf_of, monday_9am_tokyo, path_of, peak_rss_kib, rss_kib,
    spawn_app, spawn_app_with_seed,
};
use crate::support::{login_csrf, try_login};

const PASSWORD: &str = "a long enough password";

/// Creates an account through a set-up link (path or full URL on `base`).
async fn create_account(
    client: &reqwest::Client,
    base: &str,
    link: &str,
    login: &str,
) -> StatusCode {
    let url = if link.starts_with("http") {
        link.to_owned()
    } else {
        format!("{base}{link}")
    };
    let page = client.get(&url).send().await.expect("setup page");
    if page.status() != StatusCode::OK {
        return page.status();
    }
    let csrf = csrf_of(&page.text().await.expect("body"));
    client
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Sato Admin"),
            ("login", login),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("setup post")
        .status()
}

fn loopback(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::from([127, a, b, c])
}

#[tokio::test]
async fn a_flood_of_logins_keeps_memory_flat_and_is_answered_quickly() {
    let (_data, _token, server) = fresh_server().await;
    let pid = server.pid();
    let client = browser_client();
    let csrf = login_csrf(&client, &server.base).await;
    let at_start = rss_kib(pid);
    let started = Instant::now();
    let attempts = (0..128).map(|n| {
        let client = client.clone();
        let url = format!("{}/staff/login", server.base);
        let csrf = csrf.clone();
        async move {
            let form = [
                ("csrf", csrf),
                ("login", format!("nobody{n}")),
                ("password", format!("wrong password {n}")),
            ];
            let res = client.post(url).form(&form).send().await.expect("post");
            (res.status(), started.elapsed())
        }
    });
    let answers = join_all(attempts).await;
    let all_answered = started.elapsed();
    let count = |s: StatusCode| answers.iter().filter(|(status, _)| *status == s).count();
    let (checked, busy) = (
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::SERVICE_UNAVAILABLE),
    );
    let slowest_busy = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .map(|(_, t)| *t)
        .max()
        .unwrap_or_default();
    let after_parallel = peak_rss_kib(pid);
    // Then one check after another, each from its own address (so no throttle stops
    // them): memory must not creep up with each hash.
    for n in 0..24u8 {
        let status = try_login(
            &client_from(loopback(2, 0, n + 1)),
            &server.base,
            &format!("seq{n}"),
            "wrong password",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let peak = peak_rss_kib(pid);
    println!(
        "128 parallel login posts: {checked} checked (401), {busy} refused at once (503, slowest {:.0} ms), all answered in {:.2} s; \
         server RSS {} MiB at start, peak {} MiB after the flood, peak {} MiB after 24 more sequential checks, {} MiB now",
        slowest_busy.as_secs_f64() * 1000.0,
        all_answered.as_secs_f64(),
        at_start / 1024,
        after_parallel / 1024,
        peak / 1024,
        rss_kib(pid) / 1024
    );
    // A check that found the password wrong (401), busy (503), or an address or name
    // already held back by the throttle (429, when checks finish while others arrive):
    // each a clear answer with what to do.
    let held_back = count(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        checked + busy + held_back,
        128,
        "every attempt got a clear answer: {answers:?}"
    );
    assert!(checked >= 2, "some attempts were really checked");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB stays under 150 MB");
    server.stop().await;
}

#[tokio::test]
async fn junk_login_names_cannot_flush_the_throttle_of_a_real_account() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let attacker = client_from(loopback(0, 0, 1));
    // The clock stands still in this app: a wait, once imposed, lasts.
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(try_login(&attacker, &app.base, "admin", "guessing wrong").await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Hundreds of invented names from a hundred addresses, some with over-long
    // passwords, four at a time.
    let long = "x".repeat(4096);
    let mut junk = vec![];
    for n in 0..300u32 {
        let client = client_from(loopback(3, (n % 100) as u8, 1));
        let password = if n % 3 == 0 {
            long.clone()
        } else {
            "junk password".to_owned()
        };
        let base = app.base.clone();
        junk.push(async move { try_login(&client, &base, &format!("junk-{n}"), &password).await });
    }
    let junk_statuses: Vec<StatusCode> = futures_util::stream::iter(junk)
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(
        junk_statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::SERVICE_UNAVAILABLE)
    );
    // The real account is still throttled, from any address, right password or not.
    let fresh = client_from(loopback(4, 4, 4));
    assert_eq!(
        try_login(&fresh, &app.base, "admin", "guessing wrong").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        try_login(&fresh, &app.base, "admin", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // One address trying many names is slowed too: every kind of failure counts.
    let prober = client_from(loopback(5, 5, 5));
    let mut probe = vec![];
    for n in 0..12 {
        let password = if n % 2 == 0 { long.as_str() } else { "nope" };
        probe.push(try_login(&prober, &app.base, &format!("probe-{n}"), password).await);
    }
    assert_eq!(
        probe.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{probe:?}"
    );
    // Once the wait is over the owner gets in.
    app.advance(chrono::Duration::seconds(2));
    assert_eq!(
        try_login(&fresh, &app.base, "admin", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

/// Opens a connection and sends nothing.
async fn idle_connection(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// Whether the server closed the connection within `within` (reads until EOF).
async fn closed_by_server(mut stream: TcpStream, within: StdDuration) -> Option<StdDuration> {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let end = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    end.ok().map(|()| started.elapsed())
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed_while_the_server_keeps_answering() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (_data, token, server) = fresh_server().await;
    let link = path_of(
        book_one(&server, &token).await["invitations"][0]["url"]
            .as_str()
            .expect("url"),
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let idle = join_all((0..900).map(|_| idle_connection(&addr))).await;
    // Slow clients: a header line every two seconds, never finishing.
    let slow = (0..20).map(|_| {
        let addr = addr.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            let _ = stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await;
            for n in 0..60 {
                tokio::time::sleep(StdDuration::from_secs(2)).await;
                if stream
                    .write_all(format!("X-Slow-{n}: y\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                let mut probe = [0u8; 256];
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(StdDuration::from_millis(1), stream.read(&mut probe)).await
                {
                    break;
                }
            }
            started.elapsed()
        })
    });
    let slow: Vec<_> = slow.collect();
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let client = reqwest::Client::new();
    for path in ["/healthz", link.as_str(), "/staff/login"] {
        let started = Instant::now();
        let res = client
            .get(format!("{}{path}", server.base))
            .timeout(StdDuration::from_secs(5))
            .send()
            .await
            .expect("the server answers while 920 connections idle");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        println!(
            "with 900 idle and 20 slow connections open: {} answered in {:.1} ms",
            if path == link { "a visit page" } else { path },
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let closed = join_all(
        idle.into_iter()
            .map(|s| closed_by_server(s, StdDuration::from_secs(60))),
    )
    .await;
    let times: Vec<_> = closed.iter().flatten().collect();
    let slowest = times
        .iter()
        .max()
        .map(|d| d.as_secs_f64())
        .unwrap_or(f64::NAN);
    let slow_lived: Vec<f64> = join_all(slow)
        .await
        .into_iter()
        .map(|r| r.expect("task").as_secs_f64())
        .collect();
    let slow_max = slow_lived.iter().cloned().fold(0.0, f64::max);
    println!(
        "idle connections closed by the server: {} of 900, the last after {slowest:.1} s; slow-header connections closed after at most {slow_max:.1} s",
        times.len()
    );
    assert_eq!(
        times.len(),
        900,
        "every idle connection is closed within a minute"
    );
    assert!(
        slow_max < 60.0,
        "slow-header connections are closed within a minute: {slow_lived:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_told_to_come_back() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(data.path(), "127.0.0.1:0", &["--max-connections", "32"]).await;
    let addr: std::net::SocketAddr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    // Thirty-two clients (one address may hold only a quarter of the cap).
    let mut held =
        join_all((0..32).map(|n| crate::support::tcp_from(loopback(6, 0, n + 1), addr))).await;
    // Once the server has taken all 32, a newcomer is told to come back.
    let answer = until(
        StdDuration::from_secs(5),
        "a 503 for connection 33",
        || async {
            let mut extra = crate::support::tcp_from(loopback(6, 0, 40), addr).await;
            let mut answer = String::new();
            let _ =
                tokio::time::timeout(StdDuration::from_secs(1), extra.read_to_string(&mut answer))
                    .await;
            answer.starts_with("HTTP/1.1 503").then_some(answer)
        },
    )
    .await;
    println!(
        "connection 33 of 32 was answered: {:?}",
        answer.lines().next()
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 5"));
    held.truncate(16);
    until(
        StdDuration::from_secs(5),
        "room again once connections close",
        || async {
            reqwest::get(format!("{}/healthz", server.base))
                .await
                .is_ok_and(|res| res.status() == StatusCode::OK)
                .then_some(())
        },
    )
    .await;
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn only_the_newest_set_up_link_works_and_none_once_an_administrator_exists() {
    let data = tempfile::tempdir().expect("temp dir");
    let first = Server::start(data.path()).await;
    let old_link = first.setup_link().await.expect("first start prints a link");
    let first_base = first.base.clone();
    first.stop().await;
    let second = Server::start(data.path()).await;
    let new_link = second
        .setup_link()
        .await
        .expect("a second start prints a new link");
    assert_ne!(old_link, new_link);
    let old_link = old_link.replace(&first_base, &second.base);
    let client = browser_client();
    assert_eq!(
        client.get(&old_link).send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get(&new_link).send().await.expect("get").status(),
        StatusCode::OK
    );
    // An administrator comes into being some other way: the printed link is dead.
    let invite = admin(
        &[
            "admin", "staff", "add", "--name", "Suzuki", "--role", "admin",
        ],
        data.path(),
    )
    .await;
    let invite = invite.replace("http://127.0.0.1:8080", &second.base);
    assert_eq!(
        create_account(&browser_client(), &second.base, &invite, "suzuki").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        client.get(&new_link).send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        create_account(&browser_client(), &second.base, &new_link, "intruder").await,
        StatusCode::NOT_FOUND
    );
    second.stop().await;
    let third = Server::start(data.path()).await;
    assert_eq!(
        third.setup_link().await,
        None,
        "no link once an administrator exists"
    );
    let log = third.stop().await;
    assert!(
        !log.contains("ERROR"),
        "a plain start and stop logs no error: {log}"
    );
}

#[tokio::test]
async fn an_api_call_with_only_a_session_cookie_is_refused() {
    let (app, token, seed) = spawn_app_with_seed().await;
    app.login_as_admin().await;
    let (_, visit) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + chrono::Duration::hours(2),
            &["Taro"],
        )
        .await;
    let id = visit["id"].as_str().expect("id").to_owned();
    let cancel = app.url(&format!("/api/v1/visits/{id}/cancel"));
    let forged = app.client.post(&cancel).send().await.expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let body: Value = forged.json().await.expect("json");
    assert_eq!(body["error"]["code"], "csrf_failed");
    let wrong = app
        .client
        .post(&cancel)
        .header("X-CSRF-Token", "not-the-value")
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let visits = app.visits_on_monday(&token).await;
    assert_ne!(
        visits[0]["state"], "cancelled",
        "a refused call changed nothing: {visits}"
    );
    // The staff pages' own value, sent in the header, is accepted.
    let (_, page) = app.get_text("/staff").await;
    let csrf = csrf_of(&page);
    let real = app
        .client
        .post(&cancel)
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .expect("post");
    assert!(real.status().is_success(), "{}", real.status());
    // Reading needs no CSRF value.
    let read = app
        .client
        .get(app.url("/api/v1/residents"))
        .send()
        .await
        .expect("get");
    assert_eq!(read.status(), StatusCode::OK);
}

/// The code a refused field got, after checking the whole answer is a 422.
fn refused(field: &str, (status, body): (StatusCode, Value)) -> String {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    body["error"]["fields"][field]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn names_with_control_or_bidirectional_characters_are_refused_and_names_are_stored_nfc() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let resident = |name: &str, room: &str| {
        app.api_post("/residents", &token, json!({"name": name, "room": room}))
    };
    for bad in [
        "Yamada\u{202E}okaH",
        "山田\u{7}花子",
        "Sato\nJiro",
        "x\u{2066}y",
    ] {
        assert_eq!(
            refused("name", resident(bad, "1").await),
            "invalid_characters",
            "{bad:?}"
        );
    }
    assert_eq!(
        refused("room", resident("Sato", "2\u{202D}01").await),
        "invalid_characters"
    );
    assert_eq!(
        resident("か\u{3099}とう 花子", "3").await.0,
        StatusCode::CREATED
    );
    let (_, residents) = app
        .api(reqwest::Method::GET, "/residents", &token, None)
        .await;
    let names: Vec<&str> = residents
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"がとう 花子"), "stored NFC: {names:?}");
    assert!(
        names.contains(&"山田 花子"),
        "a normal name with a space passes: {names:?}"
    );
    let device = app
        .api_post(
            "/devices",
            &token,
            json!({"name": "Tablet\u{0}", "kind": "ward"}),
        )
        .await;
    assert_eq!(refused("name", device), "invalid_characters");
    let (_, mut facility) = app
        .api(reqwest::Method::GET, "/facility", &token, None)
        .await;
    facility["name"] = json!("Care\u{202E}Home");
    let put = app
        .api(reqwest::Method::PUT, "/facility", &token, Some(facility))
        .await;
    assert_eq!(refused("name", put), "invalid_characters");
    let booking = app
        .book(&token, &seed, monday_9am_tokyo(), &["Taro\u{2067}"])
        .await;
    assert_eq!(refused("guests", booking), "invalid_characters");
}

#[tokio::test]
async fn api_errors_are_json_even_before_a_handler_runs() {
    let (app, token, _) = spawn_app_with_seed().await;
    let res = app
        .client
        .patch(app.url("/api/v1/residents"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.headers().contains_key("allow"));
    let body: Value = res.json().await.expect("405 is JSON");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let huge = json!({"name": "x".repeat(100 * 1024), "room": "1"});
    let res = app
        .client
        .post(app.url("/api/v1/residents"))
        .bearer_auth(&token)
        .json(&huge)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.expect("413 is JSON");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let res = app
        .client
        .post(app.url("/api/v1/residents"))
        .bearer_auth(&token)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.expect("400 is JSON");
    assert_eq!(body["error"]["code"], "bad_json");
    let (_, residents) = app
        .api(reqwest::Method::GET, "/residents", &token, None)
        .await;
    assert_eq!(
        residents.as_array().map(Vec::len),
        Some(1),
        "nothing was stored"
    );
}

#[tokio::test]
async fn metrics_answer_loopback_clients() {
    let app = spawn_app().await;
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("menkai_visits_today"));
}
