//! The app in-process: `spawn_app()` starts the real server on port 0 with a temp
//! data directory and a clock that stands still until a test moves it; `TestApp`
//! has typed helpers (HTTP, the API, booking, pairing) so each test reads like a
//! user story.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use menkai::clock::ManualClock;
use menkai::config::Config;
use menkai::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

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
        smtp: None,
        captions: None,
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
        self.post_form_as(&self.client, page, action, fields).await
    }

    /// The page at `path` as another browser (another staff member's session) sees it.
    pub async fn text_as(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("body")
    }

    /// [`TestApp::post_form`] by another browser (another staff member's session).
    pub async fn post_form_as(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = self.text_as(client, page).await;
        let csrf = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        client
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
        let body = remote_visit(&seed.resident, &seed.ward, starts_at, 20, guests);
        self.api_post("/visits", token, body).await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use menkai::clock::Clock;
        self.clock.now()
    }

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

    /// As the logged-in administrator: invites a colleague on the Accounts page and
    /// returns the one-time account link the page shows.
    pub async fn invite_colleague(&self, name: &str, role: &str) -> String {
        let res = self
            .post_form(
                "/staff/accounts",
                "/staff/accounts",
                &[("name", name), ("role", role)],
            )
            .await;
        let html = res.text().await.expect("the accounts page");
        let marker = "id=\"invite-link\" value=\"";
        let start = html.find(marker).expect("invite link shown") + marker.len();
        html[start..].split('"').next().expect("link").to_owned()
    }

    /// Lets the signaling scheduler act on the (moved) clock now.
    pub async fn tick(&self) {
        menkai::scheduler::step(&self.app_state)
            .await
            .expect("scheduler step");
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

/// A calendar entry's start: its `TZID` and the instant its local time names there.
pub fn event_start(event: &icalendar::parser::Component<'_>) -> (String, DateTime<Utc>) {
    use chrono::TimeZone as _;
    let start = event.find_prop("DTSTART").expect("DTSTART");
    let tzid = start
        .params
        .iter()
        .find(|p| p.key == "TZID")
        .and_then(|p| p.val.as_ref())
        .expect("TZID")
        .to_string();
    let tz: chrono_tz::Tz = tzid.parse().expect("a real time zone");
    let local = chrono::NaiveDateTime::parse_from_str(start.val.as_str(), "%Y%m%dT%H%M%S")
        .expect("local time");
    let instant = tz
        .from_local_datetime(&local)
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc);
    (tzid, instant)
}

/// Every piece of `html` between `start` and the next `end`, in order.
pub fn all_between(html: &str, start: &str, end: &str) -> Vec<String> {
    html.split(start)
        .skip(1)
        .filter_map(|rest| rest.split_once(end).map(|(inside, _)| inside.to_owned()))
        .collect()
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

/// The body of `POST /api/v1/visits` for a visit from home: the one way every test
/// books one, in-process or against the real binary.
pub fn remote_visit(
    resident: &str,
    ward: &str,
    starts_at: DateTime<Utc>,
    minutes: u64,
    guests: &[&str],
) -> Value {
    let guests: Vec<Value> = guests.iter().map(|g| json!({"name": g})).collect();
    json!({
        "resident_id": resident,
        "starts_at": starts_at.to_rfc3339(),
        "duration_minutes": minutes,
        "mode": "remote",
        "ward_device_id": ward,
        "guests": guests,
    })
}

/// The CSRF value the login page hands this client.
pub async fn login_csrf(client: &reqwest::Client, base: &str) -> String {
    let page = client
        .get(format!("{base}/staff/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    csrf_of(&page)
}

/// One login attempt the way the login page makes it; the answer's status.
pub async fn try_login(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> StatusCode {
    let csrf = login_csrf(client, base).await;
    client
        .post(format!("{base}/staff/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ])
        .send()
        .await
        .expect("login post")
        .status()
}
