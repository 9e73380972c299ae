//! Headless Chromium through chromedriver (WebDriver), fake camera and microphone,
//! screenshots under `target/screenshots/`, and axe-core for accessibility.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`, which `scripts/test`
//! installs; axe-core ships in `tests/vendor/axe-core`. Missing any of them fails the
//! test loudly.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration as StdDuration;
use tokio::process::{Child, Command};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A chromedriver process and one headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Chromium outlives chromedriver unless told otherwise: on drop, end the whole
/// process group chromedriver leads (it was started as a group of its own).
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

impl Browser {
    pub async fn start() -> Browser {
        Self::start_with(&[]).await
    }

    /// With extra command-line switches (a host mapping, a trusted test key…).
    pub async fn start_with(extra: &[String]) -> Browser {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        for (what, path) in [("Chromium", &chromium), ("chromedriver", &chromedriver)] {
            assert!(
                std::path::Path::new(path).exists(),
                "{what} not found at {path}: run scripts/test, which installs Debian's chromium and chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args = json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
            "--lang=ja",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            // mDNS-hidden host candidates need multicast to resolve, which this
            // sandbox does not reliably deliver: use plain loopback candidates.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--allow-loopback-in-peer-connection",
            "--force-device-scale-factor=1",
            "--window-size=1280,1400",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        if let Some(list) = args.as_array_mut() {
            list.extend(extra.iter().map(|a| json!(a)));
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
        panic!("could not start a Chromium session: {last_error:?}");
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

/// Screenshot plus accessibility check of the page now shown.
pub async fn check(browser: &Browser, name: &str, problems: &mut Vec<String>) {
    browser.screenshot(name).await;
    for violation in browser.axe().await {
        problems.push(format!("{name}: {violation}"));
    }
}
