//! One way to start the app for a test, and typed helpers so tests read like stories.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use menkai::clock::ManualClock;
use menkai::config::Config;
use menkai::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

/// 2030-01-07 is a Monday; 00:00 UTC is 09:00 in Tokyo, when visiting hours begin.
pub fn monday_9am_tokyo() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0)
        .single()
        .expect("valid date")
}

pub struct TestApp {
    pub base: String,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub app_state: menkai::state::AppState,
    setup_link: Option<String>,
    /// The embedded relay's UDP/TCP address, when it runs.
    pub turn: Option<std::net::SocketAddr>,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Starts the app on a free port with an empty data directory and a clock that stands
/// still at [`monday_9am_tokyo`] until a test moves it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with settings changed first (HTTPS, a fixed port…).
pub async fn spawn_app_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        menkai::telemetry::init();
    }
    let data = tempfile::tempdir().expect("temp dir");
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data.path().to_owned(),
        public_url: None,
        ice_servers: vec![],
        relays: vec![],
        relay_only: false,
        max_connections: 4096,
        metrics_public: false,
        tls: None,
        redirect_http: None,
        turn: Some(menkai::turn::TurnConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            ..menkai::turn::TurnConfig::default()
        }),
    };
    let mut config = config;
    edit(&mut config);
    let clock = ManualClock::new(monday_9am_tokyo());
    let app = Application::build_with_clock(config, Arc::new(clock.clone()))
        .await
        .expect("app builds");
    let base = app.public_url().to_owned();
    let turn = app.turn_addr();
    let setup_link = app.first_admin_link().await.expect("setup link");
    let app_state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        client: browser_client(),
        clock,
        app_state,
        setup_link,
        turn,
        _data: data,
        stop: Some(stop),
    }
}

/// An app with an API token, a resident, a ward tablet and an entrance kiosk.
pub async fn spawn_app_with_seed() -> (TestApp, String, Seed) {
    let app = spawn_app().await;
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    (app, token, seed)
}

/// The value of the first `name="csrf"` field in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a CSRF field");
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Pairs a ward tablet, books a remote visit on it starting now, and returns the
/// device token and the family links.
pub async fn remote_visit_now(
    app: &TestApp,
    token: &str,
    seed: &Seed,
    guests: &[&str],
) -> (String, Vec<String>) {
    let (ward_id, ward_token) = app.paired_device(token, "ward", "Tablet 2F").await;
    let seed = Seed {
        ward: ward_id,
        ..seed.clone()
    };
    let (status, visit) = app.book(token, &seed, monday_9am_tokyo(), guests).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let links = visit["invitations"]
        .as_array()
        .expect("links")
        .iter()
        .map(|i| path_of(i["url"].as_str().expect("url")))
        .collect();
    (ward_token, links)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `/metrics` text (the test client is on loopback, which may read it).
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// The embedded relay's UDP/TCP address.
    pub fn turn_addr(&self) -> std::net::SocketAddr {
        self.turn.expect("the embedded relay runs")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.expect("body"))
    }

    /// Posts a form the way a browser would: with the CSRF value from `page`.
    pub async fn post_form(
        &self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, html) = self.get_text(page).await;
        let csrf = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Creates the first administrator through the one-time set-up link and logs in.
    pub async fn login_as_admin(&self) {
        let link = self
            .setup_link
            .as_deref()
            .expect("fresh app has a setup link");
        let path = link.strip_prefix(&self.base).expect("link on this server");
        let res = self
            .post_form(
                path,
                path,
                &[
                    ("display_name", "Sato Admin"),
                    ("login", "admin"),
                    ("password", "a long enough password"),
                    ("password_again", "a long enough password"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "account created and logged in"
        );
    }

    /// An API token, made the way `menkai admin token create` makes one.
    pub async fn api_token(&self) -> String {
        self.app_state
            .db
            .create_api_token("tests".into(), Utc::now())
            .await
            .expect("token")
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The visits of [`monday_9am_tokyo`]'s day, as the API lists them.
    pub async fn visits_on_monday(&self, token: &str) -> Value {
        self.api(reqwest::Method::GET, "/visits?date=2030-01-07", token, None)
            .await
            .1
    }

    pub async fn api_post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.api(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// A resident, a ward tablet and an entrance kiosk, ready for booking.
    pub async fn seed(&self, token: &str) -> Seed {
        let (_, r) = self
            .api_post(
                "/residents",
                token,
                json!({"name": "山田 花子", "room": "201"}),
            )
            .await;
        let (_, w) = self
            .api_post(
                "/devices",
                token,
                json!({"name": "2F tablet", "kind": "ward"}),
            )
            .await;
        let (_, k) = self
            .api_post(
                "/devices",
                token,
                json!({"name": "Entrance", "kind": "entrance"}),
            )
            .await;
        Seed {
            resident: r["id"].as_str().expect("resident id").to_owned(),
            ward: w["id"].as_str().expect("ward id").to_owned(),
            kiosk: k["id"].as_str().expect("kiosk id").to_owned(),
        }
    }

    /// Books a remote visit through the API; returns the whole response.
    pub async fn book(
        &self,
        token: &str,
        seed: &Seed,
        starts_at: DateTime<Utc>,
        guests: &[&str],
    ) -> (StatusCode, Value) {
        let guests: Vec<Value> = guests.iter().map(|g| json!({"name": g})).collect();
        self.api_post(
            "/visits",
            token,
            json!({
                "resident_id": seed.resident,
                "starts_at": starts_at.to_rfc3339(),
                "duration_minutes": 20,
                "mode": "remote",
                "ward_device_id": seed.ward,
                "guests": guests,
            }),
        )
        .await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

#[derive(Debug, Clone)]
pub struct Seed {
    pub resident: String,
    pub ward: String,
    pub kiosk: String,
}

/// The path part of a visit URL.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or(String::from("/"), |i| after_scheme[i..].to_owned())
}

impl TestApp {
    pub fn clock_now(&self) -> DateTime<Utc> {
        use menkai::clock::Clock;
        self.clock.now()
    }
}

impl TestApp {
    /// The path of the first administrator's one-time set-up link.
    pub fn setup_path(&self) -> String {
        let link = self
            .setup_link
            .as_deref()
            .expect("fresh app has a setup link");
        link.strip_prefix(&self.base)
            .expect("link on this server")
            .to_owned()
    }
}

/// A signaling client over a real WebSocket.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    pub async fn connect(app: &TestApp) -> Ws {
        Ws::connect_to(&app.base).await
    }

    /// To the server at `base` (`http://…`), the in-process app's or a real binary's.
    pub async fn connect_to(base: &str) -> Ws {
        let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        Ws { stream }
    }

    /// Connects and says hello; returns the socket and the first frame it got back.
    pub async fn hello(app: &TestApp, token: &str, resume: Option<&str>) -> (Ws, Value) {
        Ws::hello_at(&app.base, token, resume).await
    }

    /// [`Ws::hello`] to the server at `base`.
    pub async fn hello_at(base: &str, token: &str, resume: Option<&str>) -> (Ws, Value) {
        let mut ws = Ws::connect_to(base).await;
        let mut hello = json!({"type": "hello", "token": token});
        if let Some(resume) = resume {
            hello["resume"] = json!(resume);
        }
        ws.send(hello).await;
        let first = ws.recv().await;
        (ws, first)
    }

    /// Sends a (large) frame while reading, as a browser does, until the server closes
    /// the socket; returns what it said meanwhile and whether it closed within 10 s.
    pub async fn send_while_reading(self, text: String) -> (Vec<Value>, bool) {
        use futures_util::{SinkExt, StreamExt};
        let (mut sink, mut stream) = self.stream.split();
        let sending = tokio::spawn(async move {
            // The server may close before the frame is all out: that is its answer.
            let _ = sink.send(Message::Text(text.into())).await;
        });
        let mut frames = vec![];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message
                    && let Ok(frame) = serde_json::from_str(&text)
                {
                    frames.push(frame);
                }
            }
        })
        .await
        .is_ok();
        sending.abort();
        (frames, closed)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt;
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// The next JSON frame within two seconds (server pings are skipped).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(std::time::Duration::from_secs(2))
            .await
            .expect("a frame within 2 s")
    }

    /// The next JSON frame, or `None` if the socket closed or nothing came in time.
    pub async fn try_recv(&mut self, within: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match next.ok()? {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until one of `kind` arrives; returns it.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        for _ in 0..20 {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
        panic!("no {kind} frame");
    }

    /// Whether the server closes the socket within two seconds (frames before the
    /// close are skipped; silence is not a close).
    pub async fn closed(&mut self) -> bool {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

impl TestApp {
    /// Adds and pairs a device; returns (device id, device token).
    pub async fn paired_device(&self, token: &str, kind: &str, name: &str) -> (String, String) {
        let (_, device) = self
            .api_post("/devices", token, json!({"name": name, "kind": kind}))
            .await;
        let code = device["pairing_code"].as_str().expect("code");
        let (_, paired) = self
            .api_post("/devices/pair", "", json!({"code": code}))
            .await;
        (
            device["id"].as_str().expect("id").to_owned(),
            paired["device_token"]
                .as_str()
                .expect("device token")
                .to_owned(),
        )
    }

    /// Books through the staff booking form (logged in): a visit for `seed`'s resident
    /// on its tablet (and kiosk, for `entrance`) with one guest; returns where the form
    /// sends the browser.
    pub async fn book_by_form(&self, seed: &Seed, mode: &str, start: DateTime<Utc>) -> String {
        let slot = start.to_rfc3339();
        let mut fields = vec![
            ("resident_id", seed.resident.as_str()),
            ("mode", mode),
            ("ward_device_id", seed.ward.as_str()),
            ("slot", slot.as_str()),
            ("guest", "山田 太郎"),
        ];
        if mode == "entrance" {
            fields.push(("entrance_device_id", seed.kiosk.as_str()));
        }
        redirected_to(&self.post_form("/staff/book", "/staff/book", &fields).await)
    }

    /// Lets the signaling scheduler act on the (moved) clock now.
    pub async fn tick(&self) {
        menkai::scheduler::step(&self.app_state)
            .await
            .expect("scheduler step");
    }
}

impl Ws {
    /// Frames until one of `kind` whose `field` equals `value`; earlier ones (such as
    /// an announcement of the state already known) are skipped.
    pub async fn recv_where(&mut self, kind: &str, field: &str, value: &str) -> Value {
        for _ in 0..20 {
            let frame = self.recv_type(kind).await;
            if frame[field] == value {
                return frame;
            }
        }
        panic!("no {kind} frame with {field} = {value}");
    }
}

/// Where a form's answer sends the browser: a 303 and its `Location` (anything else
/// fails the test).
pub fn redirected_to(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a redirect");
    res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Resident memory of a process, in KiB (Linux).
/// CPU time (user + system, all threads) a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat, i.e. 11 and 12 here.
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    (ticks(11) + ticks(12)) / 100.0
}

/// A sample's value in a `/metrics` text: the line that starts with `series` (name
/// and labels, e.g. `menkai_turn_allocations` or `x_total{reason="expired"}`).
pub fn metric_in(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample whose line starts with `prefix` (a family, all its labels).
pub fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The most memory a process has held resident at once since it started.
pub fn peak_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A browser-like client whose connections come from `ip` (any 127.x.y.z works on
/// loopback), so a test can be many clients at once.
pub fn client_from(ip: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip)
        .build()
        .expect("http client")
}
