//! The real `menkai` binary as a child process (`Server`), as operators run it, and
//! the set-up a test needs on it: a token, a home, visits booked with the real clock.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const MENKAI: &str = env!("CARGO_BIN_EXE_menkai");

/// A running `menkai serve`.
pub struct Server {
    pub child: Child,
    /// Everything the server logged, read as it comes (a full pipe would block it).
    log: tokio::task::JoinHandle<String>,
    pub base: String,
    pub stdout_head: String,
    /// Every line printed on standard output, as it comes.
    printed: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub async fn start(data: &Path) -> Server {
        Self::start_on(data, "127.0.0.1:0").await
    }

    /// On a given address (to come back on the same port after a restart).
    pub async fn start_on(data: &Path, listen: &str) -> Server {
        Self::start_with(data, listen, &[]).await
    }

    /// With extra flags for `menkai serve`.
    pub async fn start_with(data: &Path, listen: &str, flags: &[&str]) -> Server {
        Self::launch(data, listen, flags, Launch::default()).await
    }

    /// As an operator runs it: `info` logs (what fills a disk in production), and
    /// under `umask` when given (000: every file it creates is open to all unless it
    /// makes it private itself).
    pub async fn start_as_deployed(data: &Path, flags: &[&str], umask: Option<&str>) -> Server {
        let launch = Launch { log: "info", umask };
        Self::launch(data, "127.0.0.1:0", flags, launch).await
    }

    async fn launch(data: &Path, listen: &str, flags: &[&str], launch: Launch<'_>) -> Server {
        let mut command = match launch.umask {
            // The shell sets the umask, then becomes menkai.
            Some(umask) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
                    .arg(MENKAI);
                shell
            }
            None => Command::new(MENKAI),
        };
        let mut child = command
            .args(["serve", "--listen", listen, "--turn-listen", "127.0.0.1:0"])
            .args(flags)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", launch.log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("menkai starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(StdDuration::from_secs(30), lines.next_line())
            .await
            .expect("menkai prints its address")
            .expect("read");
        let Some(first) = first else {
            let mut log = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut log).await;
            }
            panic!("menkai stopped before printing its address:\n{log}");
        };
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .and_then(|u| u.strip_suffix("/staff"))
            .expect("address in the first line")
            .to_owned();
        let mut stderr = child.stderr.take().expect("stderr");
        let log = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        // Keep reading stdout so the child never blocks on a full pipe.
        let printed = std::sync::Arc::new(std::sync::Mutex::new(vec![first.clone()]));
        tokio::spawn({
            let printed = printed.clone();
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    printed.lock().expect("lines").push(line);
                }
            }
        });
        Server {
            child,
            log,
            base,
            stdout_head: first,
            printed,
        }
    }

    /// The first-start set-up link it printed, if it prints one within a second.
    pub async fn setup_link(&self) -> Option<String> {
        let printed = || {
            self.printed
                .lock()
                .expect("lines")
                .iter()
                .find_map(|l| l.trim().starts_with("http").then(|| l.trim().to_owned()))
                .filter(|l| l.contains("/setup/"))
        };
        tokio::time::timeout(
            StdDuration::from_secs(1),
            super::until(StdDuration::from_secs(2), "a set-up link", || async {
                printed()
            }),
        )
        .await
        .ok()
    }

    /// Its `/metrics` text (this test process is on loopback, which may read it).
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// The embedded relay's address, from the line it printed at start.
    pub async fn turn_addr(&self) -> std::net::SocketAddr {
        super::until(
            StdDuration::from_secs(2),
            "the relay's address printed at start",
            || async {
                self.printed.lock().expect("lines").iter().find_map(|l| {
                    l.strip_prefix("TURN relay: UDP and TCP on ")?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
            },
        )
        .await
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// SIGTERM, then wait for a graceful exit; returns everything it logged.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().expect("running").to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(StdDuration::from_secs(20), self.child.wait())
            .await
            .expect("stops in time")
            .expect("exit");
        assert!(exit.success(), "graceful shutdown exits 0: {exit}");
        self.log.await.unwrap_or_default()
    }
}

/// How a [`Server`] is started.
struct Launch<'a> {
    log: &'a str,
    umask: Option<&'a str>,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Self {
            log: "debug",
            umask: None,
        }
    }
}

/// A fresh data directory with an API token in it, and the real binary serving it.
pub async fn fresh_server() -> (tempfile::TempDir, String, Server) {
    fresh_server_with(None).await
}

/// [`fresh_server`] with a configuration file of this text.
pub async fn fresh_server_with(config: Option<&str>) -> (tempfile::TempDir, String, Server) {
    let data = tempfile::tempdir().expect("temp dir");
    let token = admin(
        &["admin", "token", "create", "--name", "tests"],
        data.path(),
    )
    .await;
    let file = data.path().join("menkai.toml");
    let flags: Vec<&str> = match config {
        Some(text) => {
            std::fs::write(&file, text).expect("config file");
            vec!["--config", file.to_str().expect("path")]
        }
        None => vec![],
    };
    let server = Server::start_with(data.path(), "127.0.0.1:0", &flags).await;
    (data, token, server)
}

pub async fn admin(args: &[&str], data: &Path) -> String {
    let out = Command::new(MENKAI)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .await
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

/// A home open all day (the real clock is in charge here) with one resident and one
/// ward tablet.
pub struct Home {
    pub resident: Value,
    pub tablet: Value,
}

pub async fn home(server: &Server, token: &str) -> Home {
    let client = reqwest::Client::new();
    let api = |p: &str| format!("{}/api/v1{p}", server.base);
    let all_day: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "from": "00:00", "to": "24:00"}))
        .collect();
    let (zone, _) = noon_zone(Utc::now());
    let facility = json!({"name": "Test Home", "time_zone": zone, "language": "en", "slot_minutes": 20, "buffer_minutes": 10, "visiting_hours": all_day});
    let put = call(
        &client,
        reqwest::Method::PUT,
        api("/facility"),
        token,
        Some(facility),
    )
    .await;
    assert_eq!(put.0, StatusCode::OK);
    let (_, resident) = call(
        &client,
        reqwest::Method::POST,
        api("/residents"),
        token,
        // Load scripts set up many homes on one server: the same name each time.
        Some(json!({"name": "Hanako", "confirm_duplicate": true})),
    )
    .await;
    let (_, tablet) = call(
        &client,
        reqwest::Method::POST,
        api("/devices"),
        token,
        Some(json!({"name": "Tablet", "kind": "ward"})),
    )
    .await;
    Home { resident, tablet }
}

/// Books a remote visit for Taro with the home's resident on its tablet.
pub async fn book(server: &Server, token: &str, home: &Home, start: DateTime<Utc>) -> Value {
    book_for(server, token, home, start, 20).await
}

/// [`book`] for `minutes`.
pub async fn book_for(
    server: &Server,
    token: &str,
    home: &Home,
    start: DateTime<Utc>,
    minutes: u64,
) -> Value {
    let start = start - Duration::seconds(i64::from(chrono::Timelike::second(&start)));
    let (status, visit) = call(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!("{}/api/v1/visits", server.base),
        token,
        Some(super::remote_visit(
            home.resident["id"].as_str().unwrap_or_default(),
            home.tablet["id"].as_str().unwrap_or_default(),
            start,
            minutes,
            &["Taro"],
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    visit
}

/// A visit booked five minutes from now.
pub async fn book_one(server: &Server, token: &str) -> Value {
    let home = home(server, token).await;
    book(server, token, &home, Utc::now() + Duration::minutes(5)).await
}

/// The time zone in which it is about noon at `now`, and its offset from UTC in hours.
/// The real binary's test home lives there, so a visit booked "now" (the real clock
/// is in charge) never crosses the home's midnight, where its visiting hours end,
/// whatever the hour the tests run at. `Etc/GMT-9` is UTC+9 (the sign is inverted).
pub fn noon_zone(now: DateTime<Utc>) -> (String, i64) {
    let offset = 12 - i64::from(chrono::Timelike::hour(&now));
    let zone = match offset {
        0 => "UTC".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    (zone, offset)
}

/// Today at the test home (see [`noon_zone`]).
pub fn home_today() -> chrono::NaiveDate {
    let now = Utc::now();
    (now + Duration::hours(noon_zone(now).1)).date_naive()
}

/// A home whose tablet is paired: the home and the tablet's device token.
pub async fn paired_home(server: &Server, token: &str) -> (Home, String) {
    let home = home(server, token).await;
    let (status, paired) = call(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!("{}/api/v1/devices/pair", server.base),
        token,
        Some(json!({"code": home.tablet["pairing_code"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paired}");
    let device_token = paired["device_token"].as_str().expect("token").to_owned();
    (home, device_token)
}

/// A visit that has begun, on a paired tablet: returns the tablet's device token and
/// the family's link (a path).
pub async fn call_now(server: &Server, token: &str) -> (String, String) {
    let (home, device_token) = paired_home(server, token).await;
    let visit = book(server, token, &home, Utc::now()).await;
    let link = crate::support::path_of(visit["invitations"][0]["url"].as_str().expect("url"));
    (device_token, link)
}
