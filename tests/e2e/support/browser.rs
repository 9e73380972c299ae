//! Headless Chromium and Firefox through WebDriver, fake camera and microphone, the
//! console read through WebDriver BiDi, screenshots under `target/screenshots/`, and
//! axe-core for accessibility.
//!
//! Needs Debian's chromium, chromium-driver and firefox-esr, and geckodriver under
//! `target/tools/`, which `scripts/test` installs; axe-core ships in
//! `tests/vendor/axe-core`. Missing any of them fails the test loudly.

use super::bidi::Bidi;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration as StdDuration;
use tokio::process::{Child, Command};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A browser engine the pages are tested in. Adding a third is one line in
/// [`Engine::ALL`] and one arm in [`Engine::driver`] and [`Engine::capabilities`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Debian's `chromium` through `chromedriver`.
    Chromium,
    /// Debian's `firefox-esr` through geckodriver (built from crates.io by scripts/test).
    Firefox,
}

impl Engine {
    /// Every engine the family's and the devices' pages must work in.
    pub const ALL: [Engine; 2] = [Engine::Chromium, Engine::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::Firefox => "Firefox",
        }
    }

    /// The engine's WebDriver program and its arguments for `port` (`bidi_port`: the
    /// WebDriver BiDi socket, which geckodriver needs told so parallel sessions do
    /// not collide on its default).
    fn driver(self, port: u16, bidi_port: u16) -> (String, Vec<String>) {
        match self {
            Engine::Chromium => (
                program("CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver"),
                vec![format!("--port={port}")],
            ),
            Engine::Firefox => (
                program(
                    "GECKODRIVER",
                    &workspace_root()
                        .join("target/tools/bin/geckodriver")
                        .to_string_lossy(),
                    "geckodriver (cargo install geckodriver)",
                ),
                vec![
                    format!("--port={port}"),
                    format!("--websocket-port={bidi_port}"),
                ],
            ),
        }
    }

    /// The new session's capabilities: headless, a fake camera and microphone that
    /// need no prompt, Japanese first, loopback ICE candidates, and BiDi.
    fn capabilities(
        self,
        launch: &Launch,
        profile: &std::path::Path,
    ) -> serde_json::Map<String, Value> {
        let mut caps = serde_json::Map::new();
        caps.insert("webSocketUrl".into(), json!(true));
        match self {
            Engine::Chromium => {
                let chromium = program("CHROMIUM", "/usr/bin/chromium", "chromium");
                let mut args = vec![
                    "--headless=new".to_owned(),
                    "--no-sandbox".into(),
                    "--disable-gpu".into(),
                    "--disable-background-networking".into(),
                    "--disable-component-update".into(),
                    "--no-first-run".into(),
                    "--disable-sync".into(),
                    "--disable-quic".into(),
                    "--hide-scrollbars".into(),
                    "--lang=ja".into(),
                    "--use-fake-device-for-media-stream".into(),
                    if launch.camera_denied {
                        "--use-fake-ui-for-media-stream=deny".into()
                    } else {
                        "--use-fake-ui-for-media-stream".into()
                    },
                    if launch.autoplay_blocked {
                        "--autoplay-policy=user-gesture-required".into()
                    } else {
                        "--autoplay-policy=no-user-gesture-required".into()
                    },
                    // mDNS-hidden host candidates need multicast to resolve, which this
                    // sandbox does not reliably deliver: use plain loopback candidates.
                    "--disable-features=WebRtcHideLocalIpsWithMdns".into(),
                    "--allow-loopback-in-peer-connection".into(),
                    "--force-device-scale-factor=1".into(),
                    "--window-size=1280,1400".into(),
                    format!("--user-data-dir={}", profile.display()),
                ];
                if let Some(host) = &launch.resolve {
                    args.push(format!("--host-resolver-rules=MAP {host} 127.0.0.1"));
                }
                args.extend(launch.chromium_args.iter().cloned());
                caps.insert(
                    "goog:chromeOptions".into(),
                    json!({ "binary": chromium, "args": args }),
                );
            }
            Engine::Firefox => {
                let firefox = program("FIREFOX", "/usr/bin/firefox-esr", "firefox-esr");
                let mut prefs = json!({
                    "media.navigator.streams.fake": true,
                    "media.navigator.permission.disabled": !launch.camera_denied,
                    // Loopback candidates, not mDNS names (as for Chromium above).
                    "media.peerconnection.ice.loopback": true,
                    "media.peerconnection.ice.obfuscate_host_addresses": false,
                    "intl.accept_languages": "ja,en",
                    "browser.shell.checkDefaultBrowser": false,
                    "datareporting.policy.dataSubmissionEnabled": false,
                    "toolkit.telemetry.enabled": false,
                    "app.update.disabledForTesting": true,
                    "network.captive-portal-service.enabled": false,
                    "network.connectivity-service.enabled": false,
                });
                if let Some(prefs) = prefs.as_object_mut() {
                    if launch.camera_denied {
                        prefs.insert("permissions.default.camera".into(), json!(2));
                        prefs.insert("permissions.default.microphone".into(), json!(2));
                    }
                    // Firefox's own default blocks audible autoplay, as iOS Safari does:
                    // the blocked case is the browser as it comes.
                    if !launch.autoplay_blocked {
                        prefs.insert("media.autoplay.default".into(), json!(0));
                    }
                    if let Some(host) = &launch.resolve {
                        prefs.insert("network.dns.localDomains".into(), json!(host));
                    }
                }
                caps.insert("browserName".into(), json!("firefox"));
                caps.insert(
                    "moz:firefoxOptions".into(),
                    json!({
                        "binary": firefox,
                        "args": ["-headless", "-profile", profile, "--width=1280", "--height=1400"],
                        "prefs": prefs,
                    }),
                );
            }
        }
        caps
    }
}

/// A program the tests need, from its environment variable or its Debian path; a
/// missing one fails the test saying how to get it.
fn program(variable: &str, default: &str, package: &str) -> String {
    let path = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{package} not found at {path}: run scripts/test, which installs it (or set {variable})"
    );
    path
}

/// What a test asks of its browser beyond the defaults (fake camera and microphone
/// allowed, sound allowed to play without a tap).
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// The browser's own rule that sound plays only after a tap (iOS Safari's, and
    /// Firefox's and Chromium's default for a site never visited).
    pub autoplay_blocked: bool,
    /// The person said no to the camera and microphone prompt.
    pub camera_denied: bool,
    /// A host name this browser resolves to 127.0.0.1.
    pub resolve: Option<String>,
    /// Switches only Chromium has (a trusted test key…).
    pub chromium_args: Vec<String>,
}

/// A WebDriver process and one headless browser session, its console read through
/// WebDriver BiDi: an error a page logs or throws fails the test (see `Drop`).
pub struct Browser {
    pub client: Client,
    pub engine: Engine,
    bidi: Bidi,
    /// Console errors a test expects (parts of their text).
    expected: std::sync::Mutex<Vec<String>>,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// The browser outlives its driver unless told otherwise: on drop, end the whole
/// process group the driver leads (it was started as a group of its own). Before
/// that, a console error no test expected fails the test.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .status();
        }
        if !std::thread::panicking() {
            let errors = self.console_errors();
            assert!(
                errors.is_empty(),
                "{}: errors in the console:\n{}",
                self.engine.name(),
                errors.join("\n")
            );
        }
    }
}

impl Browser {
    /// Chromium with the defaults.
    pub async fn start() -> Browser {
        Self::launch(Engine::Chromium, &Launch::default()).await
    }

    /// Chromium with extra command-line switches (a host mapping, a trusted test key…).
    pub async fn start_with(extra: &[String]) -> Browser {
        let launch = Launch {
            chromium_args: extra.to_vec(),
            ..Launch::default()
        };
        Self::launch(Engine::Chromium, &launch).await
    }

    /// `engine` with the defaults.
    pub async fn open(engine: Engine) -> Browser {
        Self::launch(engine, &Launch::default()).await
    }

    pub async fn launch(engine: Engine, launch: &Launch) -> Browser {
        let port = super::free_port();
        let (driver, args) = engine.driver(port, super::free_port());
        let driver = Command::new(&driver)
            .args(&args)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{driver} starts: {e}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = engine.capabilities(launch, profile.path());
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let bidi_url = client
                        .capabilities()
                        .and_then(|c| c.get("webSocketUrl"))
                        .and_then(Value::as_str)
                        .unwrap_or_else(|| panic!("{}: no WebDriver BiDi socket", engine.name()))
                        .to_owned();
                    let bidi = Bidi::connect(&bidi_url).await;
                    return Browser {
                        client,
                        engine,
                        bidi,
                        expected: Default::default(),
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
        panic!(
            "could not start a {} session: {last_error:?}",
            engine.name()
        );
    }

    /// Runs `function` (its source, e.g. `() => { delete window.RTCPeerConnection }`)
    /// in every page opened from now on, before the page's own scripts.
    pub async fn before_every_page(&self, function: &str) {
        self.bidi.add_preload_script(function).await;
    }

    /// Every error the pages have logged or thrown so far that no test expected.
    pub fn console_errors(&self) -> Vec<String> {
        let expected = self.expected.lock().expect("lock");
        self.bidi
            .console
            .lock()
            .expect("lock")
            .iter()
            .filter(|e| e.level == "error")
            .filter(|e| !expected.iter().any(|part| e.text.contains(part.as_str())))
            .map(|e| e.text.clone())
            .collect()
    }

    /// Lets console errors containing `part` pass: ones this test causes on purpose.
    pub fn expect_console_error(&self, part: &str) {
        self.expected.lock().expect("lock").push(part.to_owned());
    }

    /// Everything in the console so far, one line each (for a test that reads it).
    pub fn console(&self) -> Vec<String> {
        self.bidi
            .console
            .lock()
            .expect("lock")
            .iter()
            .map(|e| format!("{}: {}", e.level, e.text))
            .collect()
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Clicks the element `css` finds (the test fails if there is none).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"))
            .click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Types `text` into the first field `css` finds.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("typing into {css}: {err}"));
    }

    /// Waits for an element `css` finds to appear.
    pub async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("waiting for {css}: {err}"));
    }

    /// Waits until the page's `window.menkai.stats()` satisfies `ready` for every peer
    /// (and there are `peers` of them); returns the last stats.
    pub async fn wait_for_media(&self, peers: usize, within: StdDuration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let stats = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     if (!window.menkai) { done(null); return; }
                     window.menkai.stats().then(done, () => done(null));",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            let ready = stats.as_array().is_some_and(|all| {
                all.len() == peers
                    && all.iter().all(|s| {
                        s["state"] == "connected"
                            && s["framesDecoded"].as_u64().unwrap_or(0) > 0
                            && s["audioBytes"].as_u64().unwrap_or(0) > 0
                            // The selected pair is reported a moment after media starts.
                            && s["path"][0] != ""
                    })
            });
            if ready {
                return stats;
            }
            if std::time::Instant::now() >= deadline {
                let log = self
                    .eval("window.menkai && window.menkai.mesh.log.join('\\n')")
                    .await;
                panic!(
                    "media did not flow in time: {stats}\nnegotiation log:\n{}",
                    log.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
    }

    /// Evaluates a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return {expression};"), vec![])
            .await
            .unwrap_or(Value::Null)
    }

    /// Waits until a JavaScript expression is true in the page.
    pub async fn wait_until(&self, expression: &str, within: StdDuration) {
        super::until(
            within,
            &format!("true in the page: {expression}"),
            || async { (self.eval(expression).await == Value::Bool(true)).then_some(()) },
        )
        .await;
    }

    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
    }

    /// Saves a screenshot as `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        // The top of the page, as a person arriving sees it.
        self.client
            .execute(
                "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
                vec![],
            )
            .await
            .expect("scroll to top");
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Saves the whole page, however long, as `target/screenshots/{name}.png`: the
    /// window is made as tall as the page for the shot, then given its size back.
    pub async fn screenshot_full(&self, name: &str) {
        let size = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let number = |v: Value| v.as_u64().map(size).unwrap_or(0);
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let (width, height) = (size(width), size(height));
        // Fonts and layout settle before the shot.
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; document.fonts.ready.then(() => done(true));",
                vec![],
            )
            .await
            .expect("fonts");
        let page = number(self.eval("document.documentElement.scrollHeight").await);
        let frame = height.saturating_sub(number(self.eval("window.innerHeight").await));
        self.resize(width, (page + frame).clamp(height, 8000)).await;
        self.screenshot(name).await;
        self.resize(width, height).await;
    }

    /// Runs axe-core on the current page; returns its serious and critical violations.
    pub async fn axe(&self) -> Vec<String> {
        self.client
            .execute(&axe_source(), vec![])
            .await
            .expect("axe-core loads");
        let result = self
            .client
            .execute_async(
                &format!("const done = arguments[arguments.length - 1]; {AXE_RUN}.then(done);"),
                vec![],
            )
            .await
            .expect("axe-core runs");
        serious_violations(&result)
    }
}

/// axe-core's source, to evaluate in a page.
pub fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("tests/vendor/axe-core/axe.min.js"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core not found at {} ({e}): run scripts/test, which installs it",
            path.display()
        )
    })
}

/// A promise of axe-core's violations on the page, in short.
pub const AXE_RUN: &str = "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
  ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))";

/// The serious and critical ones of [`AXE_RUN`]'s result, one line each.
pub fn serious_violations(result: &Value) -> Vec<String> {
    result
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

/// On the set-up page now shown: creates the administrator, which logs this browser in.
pub async fn create_administrator(browser: &Browser) {
    for (field, value) in [
        ("display_name", "Sato"),
        ("login", "sato"),
        ("password", "a long enough password"),
        ("password_again", "a long enough password"),
    ] {
        let input = browser
            .client
            .find(Locator::Id(field))
            .await
            .expect("field");
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }
    browser.click("button[type=submit].primary").await;
    browser.wait_for(".page-head").await;
}

/// Logs `browser` in on the login page as a staff member who already has an account.
pub async fn log_in(browser: &Browser, app: &crate::support::TestApp, login: &str, password: &str) {
    browser.goto(&app.url("/staff/login")).await;
    browser.type_into("#login", login).await;
    browser.type_into("#password", password).await;
    browser.click("button[type=submit].primary").await;
    browser.wait_for(".page-head").await;
}

/// Screenshot plus accessibility check of the page now shown.
pub async fn check(browser: &Browser, name: &str, problems: &mut Vec<String>) {
    browser.screenshot(name).await;
    for violation in browser.axe().await {
        problems.push(format!("{name}: {violation}"));
    }
}
