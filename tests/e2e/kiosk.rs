//! The entrance kiosk as reception staff meet it: the real `menkai-kiosk` binary
//! (headless Chromium, fake camera and microphone) against the real `menkai` binary.
//! It pairs, joins an entrance visit with no click, comes back after its browser is
//! killed or its page hangs, and stops for good when staff remove it. Screenshots of
//! its screens land in `target/screenshots/kiosk-*.png`.
//!
//! `menkai-kiosk` is another package's binary: `scripts/test` builds it first
//! (`cargo build -p menkai-kiosk`); missing, these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use chrono::{Duration, Utc};
use menkai_kiosk::cdp::Cdp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{AXE_RUN, Browser, axe_source, serious_violations, workspace_root};
use crate::support::{CertFiles, TestCa, ecdsa};
use crate::support::{Server, call, fresh_server, home};

fn kiosk_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_menkai")).with_file_name("menkai-kiosk");
    assert!(
        path.is_file(),
        "menkai-kiosk is not built at {}: run scripts/test (it runs `cargo build -p menkai-kiosk` first)",
        path.display()
    );
    path
}

/// Runs a prepared `menkai-kiosk` command with `args` to its end: (exit code, stdout,
/// stderr).
pub(crate) async fn run_to_end(mut command: Command, args: &[&str]) -> (i32, String, String) {
    let out = command
        .args(args)
        .output()
        .await
        .expect("menkai-kiosk runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A kiosk's own directories (pairing, profiles), as a user account would have.
pub(crate) struct KioskHome {
    dir: tempfile::TempDir,
}

impl KioskHome {
    pub(crate) fn new() -> KioskHome {
        KioskHome {
            dir: tempfile::tempdir().expect("kiosk dir"),
        }
    }

    pub(crate) fn pairing_file(&self) -> PathBuf {
        self.dir.path().join("config/pairing.json")
    }

    pub(crate) fn command(&self, lang: &str) -> Command {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut command = Command::new(kiosk_binary());
        command
            .env("MENKAI_KIOSK_CONFIG_DIR", self.dir.path().join("config"))
            .env("MENKAI_KIOSK_CACHE_DIR", self.dir.path().join("cache"))
            .env("MENKAI_KIOSK_BROWSER", chromium)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", lang)
            .env("RUST_LOG", "info")
            .kill_on_drop(true);
        command
    }

    /// Runs a kiosk command to its end: (exit code, stdout, stderr).
    pub(crate) async fn run(&self, lang: &str, args: &[&str]) -> (i32, String, String) {
        run_to_end(self.command(lang), args).await
    }

    pub(crate) async fn pair(&self, base: &str, code: &str) -> (i32, String, String) {
        self.run("C.UTF-8", &["pair", base, code]).await
    }
}

/// An entrance device made on the server: (id, pairing code).
async fn entrance_device(server: &Server, token: &str) -> (String, String) {
    let (status, device) = call(
        &reqwest::Client::new(),
        Method::POST,
        format!("{}/api/v1/devices", server.base),
        token,
        Some(json!({"name": "Entrance", "kind": "entrance"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    (
        device["id"].as_str().expect("id").to_owned(),
        device["pairing_code"].as_str().expect("code").to_owned(),
    )
}

#[tokio::test]
async fn a_kiosk_pairs_with_a_good_code_and_says_plainly_what_is_wrong_otherwise() {
    let (_data, token, server) = fresh_server().await;
    let (_, code) = entrance_device(&server, &token).await;
    let kiosk = KioskHome::new();

    let (exit, _, said) = kiosk.pair(&server.base, "0000 0000").await;
    assert_eq!(exit, 2, "{said}");
    assert!(
        said.contains("The pairing code is wrong, already used or expired"),
        "{said}"
    );
    let (exit, _, said) = kiosk
        .run("ja_JP.UTF-8", &["pair", &server.base, "0000 0000"])
        .await;
    assert_eq!(exit, 2);
    assert!(said.contains("登録コードが違う"), "{said}");
    assert!(!kiosk.pairing_file().exists(), "a wrong code saves nothing");

    let (exit, printed, said) = kiosk.pair(&server.base, &code).await;
    assert_eq!(exit, 0, "{said}");
    assert!(printed.contains("Paired as “Entrance”"), "{printed}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(kiosk.pairing_file()).expect("saved"))
            .expect("JSON");
    let device_token = saved["device_token"].as_str().expect("token");
    assert!(!printed.contains(device_token) && !said.contains(device_token));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kiosk.pairing_file())
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "only its owner can read the token: {mode:o}"
        );
    }
    // The same code twice: used.
    let (exit, _, said) = KioskHome::new().pair(&server.base, &code).await;
    assert_eq!(exit, 2, "{said}");

    let (exit, report, _) = kiosk.run("C.UTF-8", &["doctor", "--fake-media"]).await;
    println!("{report}");
    assert_eq!(exit, 0, "{report}");
    for line in [
        "[OK] Browser",
        "[OK] Server",
        "[OK] Pairing: paired as “Entrance” (entrance)",
        "[OK] Camera",
        "[OK] Microphone",
        "Everything is ready.",
    ] {
        assert!(report.contains(line), "{line} in {report}");
    }

    // No server there.
    let nobody = format!("http://127.0.0.1:{}", crate::support::free_port());
    let (exit, _, said) = KioskHome::new().pair(&nobody, &code).await;
    assert_eq!(exit, 3, "{said}");
    assert!(said.contains("Cannot reach the server"), "{said}");
    server.stop().await;

    // A server whose certificate this computer does not trust.
    let ca = TestCa::new("Untrusted test CA");
    let files = CertFiles::new(&ca.leaf(&["127.0.0.1"], ecdsa()));
    let data = tempfile::tempdir().expect("data");
    let untrusted = Server::start_with(data.path(), "127.0.0.1:0", &files.flags(&[])).await;
    let (exit, _, said) = KioskHome::new().pair(&untrusted.base, &code).await;
    assert_eq!(exit, 3, "{said}");
    assert!(
        said.contains("does not show a certificate this computer trusts"),
        "{said}"
    );
    untrusted.stop().await;
}

#[tokio::test]
async fn a_browser_that_cannot_start_is_retried_ever_more_slowly_and_install_writes_the_autostart()
{
    let (_data, token, server) = fresh_server().await;
    let (_, code) = entrance_device(&server, &token).await;
    let kiosk_home = KioskHome::new();
    assert_eq!(kiosk_home.pair(&server.base, &code).await.0, 0);
    // A "browser" that exits at once: each failed start waits longer, and says why.
    let mut child = kiosk_home
        .command("C.UTF-8")
        .args(["run", "--headless", "--browser", "/bin/false"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiosk starts");
    tokio::time::sleep(StdDuration::from_secs(4)).await;
    let _ = child.start_kill();
    let out = child.wait_with_output().await.expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    println!("{log}");
    for wait in ["trying again in 1 s.", "trying again in 2 s."] {
        assert!(log.contains(wait), "{wait} in:\n{log}");
    }
    assert!(
        log.contains("exited at once"),
        "the reason is logged:\n{log}"
    );
    assert!(!log.contains("browser started"), "{log}");

    let config = kiosk_home.dir.path().join("xdg-config");
    let (exit, printed, said) = {
        let out = kiosk_home
            .command("C.UTF-8")
            .env("XDG_CONFIG_HOME", &config)
            .arg("install")
            .output()
            .await
            .expect("install runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(exit, Some(0), "{said}");
    assert!(
        printed.contains("systemctl --user start menkai-kiosk"),
        "{printed}"
    );
    let unit = std::fs::read_to_string(config.join("systemd/user/menkai-kiosk.service"))
        .expect("the unit");
    assert!(
        unit.contains(&format!("ExecStart={} run", kiosk_binary().display())),
        "{unit}"
    );
    assert!(config.join("autostart/menkai-kiosk.desktop").is_file());
    server.stop().await;
}

/// A running `menkai-kiosk run`, and what it logged so far.
struct RunningKiosk {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl RunningKiosk {
    async fn start(home: &KioskHome) -> RunningKiosk {
        let mut child = home
            .command("C.UTF-8")
            .args(["run", "--headless", "--fake-media", "--window", "1366x768"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("kiosk starts");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut reader = BufReader::new(child.stderr.take().expect("stderr")).lines();
        tokio::spawn({
            let lines = lines.clone();
            async move {
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().expect("lines").push(line);
                }
            }
        });
        RunningKiosk { child, lines }
    }

    fn log(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    /// Every browser it started: (pid, DevTools address).
    fn launches(&self) -> Vec<(i32, String)> {
        let field = |line: &str, name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_owned)
        };
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| l.contains("browser started"))
            .filter_map(|l| Some((field(l, "pid=")?.parse().ok()?, field(l, "devtools=")?)))
            .collect()
    }

    /// Waits for launch number `n` (1 is the first) and connects to its page.
    async fn page(&self, n: usize) -> KioskPage {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            if let Some((_, devtools)) = self.launches().get(n - 1) {
                return KioskPage::connect(devtools).await;
            }
            assert!(
                Instant::now() < deadline,
                "no browser launch {n}; the kiosk said:\n{}",
                self.log()
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }

    async fn wait_for_log(&self, text: &str, within: StdDuration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the kiosk never said {text:?}; it said:\n{}",
                self.log()
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}

/// The kiosk's page, seen through its browser's DevTools (as a second client).
struct KioskPage {
    cdp: Cdp,
    session: String,
}

impl KioskPage {
    async fn connect(devtools: &str) -> KioskPage {
        let (cdp, _events) = Cdp::connect(devtools).await.expect("DevTools");
        let session = cdp
            .attach_to_page(StdDuration::from_secs(10))
            .await
            .expect("the kiosk's page");
        KioskPage { cdp, session }
    }

    async fn eval(&self, expression: &str) -> Value {
        self.cdp
            .evaluate(&self.session, expression, StdDuration::from_secs(10))
            .await
            .unwrap_or(Value::Null)
    }

    /// Waits until `expression` is true; returns how long that took.
    async fn wait_until(&self, expression: &str, within: StdDuration) -> StdDuration {
        let started = Instant::now();
        while self.eval(expression).await != Value::Bool(true) {
            assert!(
                started.elapsed() < within,
                "not within {within:?}: {expression}"
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        started.elapsed()
    }

    async fn screenshot(&self, name: &str) {
        let shot = self
            .cdp
            .call(
                Some(&self.session),
                "Page.captureScreenshot",
                json!({ "format": "png" }),
                StdDuration::from_secs(10),
            )
            .await
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("PNG");
        let dir = workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("kiosk-{name}.png")), png).expect("write");
    }

    async fn axe(&self) -> Vec<String> {
        self.eval(&axe_source()).await;
        serious_violations(&self.eval(AXE_RUN).await)
    }
}

/// Media flows both ways on the kiosk's page: one peer, connected, decoding video.
const IN_CALL: &str = "window.menkai ? window.menkai.stats().then(s => s.length === 1 && \
    s.every(p => p.state === 'connected' && p.framesDecoded > 0 && p.audioBytes > 0)) : false";
const SCREEN: &str = "document.body.dataset.screen";

#[tokio::test]
async fn the_kiosk_keeps_itself_in_the_visit_and_stops_when_removed() {
    let (_data, token, server) = fresh_server().await;
    let api = |path: &str| format!("{}/api/v1{path}", server.base);
    let client = reqwest::Client::new();
    let home = home(&server, &token).await;
    let (entrance_id, code) = entrance_device(&server, &token).await;
    let kiosk_home = KioskHome::new();
    let (exit, _, said) = kiosk_home.pair(&server.base, &code).await;
    assert_eq!(exit, 0, "{said}");

    let mut kiosk = RunningKiosk::start(&kiosk_home).await;
    let page = kiosk.page(1).await;
    page.wait_until(&format!("{SCREEN} === 'idle'"), StdDuration::from_secs(20))
        .await;
    page.wait_until(
        "document.getElementById('device-status').textContent === ''",
        StdDuration::from_secs(20),
    )
    .await;
    page.screenshot("idle").await;

    // The ward tablet: a device page in its own browser.
    let (status, paired) = call(
        &client,
        Method::POST,
        api("/devices/pair"),
        &token,
        Some(json!({"code": home.tablet["pairing_code"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paired}");
    let ward = Browser::start().await;
    ward.goto(&format!(
        "{}/device#token={}",
        server.base,
        paired["device_token"].as_str().expect("token")
    ))
    .await;

    // Reception books the visit at the entrance, starting now: both join, no click.
    let now = Utc::now();
    let start = now - Duration::seconds(i64::from(chrono::Timelike::second(&now)));
    let (status, visit) = call(
        &client,
        Method::POST,
        api("/visits"),
        &token,
        Some(json!({"resident_id": home.resident["id"], "starts_at": start.to_rfc3339(), "duration_minutes": 30, "mode": "entrance", "ward_device_id": home.tablet["id"], "entrance_device_id": entrance_id, "guests": [{"name": "Taro"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let joined = page.wait_until(IN_CALL, StdDuration::from_secs(30)).await;
    ward.wait_for_media(1, StdDuration::from_secs(30)).await;
    println!("kiosk and ward in the call, media both ways, {joined:?} after booking");
    // People, not devices: the kiosk shows the resident, the tablet shows the family.
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#remotes figcaption')].map(c => c.textContent).join()"
        )
        .await,
        json!("Hanako")
    );
    assert_eq!(
        ward.eval(
            "[...document.querySelectorAll('#remotes figcaption')].map(c => c.textContent).join()"
        )
        .await,
        json!("Family at the entrance")
    );
    page.screenshot("call").await;
    let problems = page.axe().await;
    assert!(problems.is_empty(), "call screen: {problems:?}");

    // The browser is killed mid-call: the kiosk is back in the visit within 10 s.
    let (pid, _) = kiosk.launches()[0].clone();
    let killed = Instant::now();
    nix_kill(pid);
    let page = kiosk.page(2).await;
    page.wait_until(IN_CALL, StdDuration::from_secs(15)).await;
    let back = killed.elapsed();
    println!("browser killed: back in the call, media flowing, after {back:?}");
    assert!(back < StdDuration::from_secs(10), "back after {back:?}");

    // The page hangs (paused in a debugger): the watchdog notices and relaunches.
    let (_, devtools) = kiosk.launches()[1].clone();
    let debugger = KioskPage::connect(&devtools).await;
    let hung = Instant::now();
    for method in ["Debugger.enable", "Debugger.pause"] {
        debugger
            .cdp
            .call(
                Some(&debugger.session),
                method,
                json!({}),
                StdDuration::from_secs(10),
            )
            .await
            .expect(method);
    }
    let page = kiosk.page(3).await;
    page.wait_until(IN_CALL, StdDuration::from_secs(15)).await;
    let back = hung.elapsed();
    println!("page frozen: relaunched and back in the call after {back:?}");
    assert!(back < StdDuration::from_secs(10), "back after {back:?}");
    assert!(kiosk.log().contains("stopped answering"), "{}", kiosk.log());
    ward.wait_for_media(1, StdDuration::from_secs(20)).await;

    // Staff see the kiosk's health: camera, microphone, uptime and the two restarts.
    let deadline = Instant::now() + StdDuration::from_secs(20);
    loop {
        let (_, devices) = call(&client, Method::GET, api("/devices"), &token, None).await;
        let entrance = devices
            .as_array()
            .and_then(|all| all.iter().find(|d| d["id"] == entrance_id.as_str()))
            .cloned()
            .unwrap_or(Value::Null);
        let health = &entrance["health"];
        if entrance["online"] == true && health["restarts"] == 2 {
            assert_eq!(health["camera"], true);
            assert_eq!(health["microphone"], true);
            assert!(health["uptime_s"].as_u64().is_some(), "{health}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health never showed the restarts: {entrance}"
        );
        tokio::time::sleep(StdDuration::from_millis(250)).await;
    }

    // The visit ends: the kiosk asks for a wipe, then waits for the next.
    let (status, _) = call(
        &client,
        Method::POST,
        api(&format!(
            "/visits/{}/end",
            visit["id"].as_str().expect("id")
        )),
        &token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    page.wait_until(
        &format!("{SCREEN} === 'cleaning'"),
        StdDuration::from_secs(10),
    )
    .await;
    page.screenshot("cleaning").await;

    // Staff remove the device: the kiosk says so in both languages, forgets its
    // pairing and starts no browser again.
    let (status, _) = call(
        &client,
        Method::POST,
        api(&format!("/devices/{entrance_id}/revoke")),
        &token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    page.wait_until(
        &format!("{SCREEN} === 'removed'"),
        StdDuration::from_secs(10),
    )
    .await;
    kiosk
        .wait_for_log(
            "This device was removed — please ask staff.",
            StdDuration::from_secs(10),
        )
        .await;
    assert!(
        kiosk.log().contains("この端末は登録を解除されました"),
        "{}",
        kiosk.log()
    );
    let text = page
        .eval("document.getElementById('removed').innerText")
        .await;
    let text = text.as_str().unwrap_or_default();
    assert!(
        text.contains("This device was removed") && text.contains("この端末は登録を解除されました"),
        "{text}"
    );
    page.screenshot("removed").await;
    let problems = page.axe().await;
    assert!(problems.is_empty(), "removed screen: {problems:?}");
    assert!(
        !kiosk_home.pairing_file().exists(),
        "the dead token is forgotten"
    );
    // The kiosk exits (4) by itself once the screen says so, without a relaunch; the
    // browser stays, showing it, for whoever stands at the laptop.
    let launches = kiosk.launches();
    let exit = tokio::time::timeout(StdDuration::from_secs(10), kiosk.child.wait())
        .await
        .unwrap_or_else(|_| panic!("the kiosk exits by itself:\n{}", kiosk.log()))
        .expect("exit");
    let log = kiosk.log();
    assert_eq!(exit.code(), Some(4), "removed: exit 4\n{log}");
    assert_eq!(launches.len(), 3, "no relaunch after removal:\n{log}");
    let text = page
        .eval("document.getElementById('removed').innerText")
        .await;
    assert!(
        text.as_str()
            .unwrap_or_default()
            .contains("This device was removed"),
        "the screen stays after the kiosk exits: {text}"
    );
    // Paired again later, the next run closes that window first (here the run stops
    // at once: nothing is paired, exit 2).
    let browser = launches.last().expect("a launch").0;
    assert!(running(browser), "the browser runs");
    let (exit, _, said) = kiosk_home.run("C.UTF-8", &["run", "--headless"]).await;
    assert_eq!(exit, 2, "{said}");
    crate::support::until(
        StdDuration::from_secs(10),
        "the old window closed",
        || async { (!running(browser)).then_some(()) },
    )
    .await;
    server.stop().await;
}

/// Whether process `pid` is running (not gone, not a zombie waiting to be reaped).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Kills one process (the kiosk's browser), as a crash would end it.
fn nix_kill(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the browser");
}
