//! Calls across real network boundaries. Each test puts the family's browser in a
//! Linux network namespace of its own (`ip netns`, a veth pair to the host, a firewall
//! made with `nft`), and the server and the ward's tablet stay on the host:
//! - the family cannot reach the ward directly: the call goes through the relay;
//! - all UDP from the family is dropped: TURN over TCP or over TLS carries it;
//! - only TCP to port 443 of the server is let out: `turns:` on the HTTPS port does.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables), which `scripts/test` installs; CI
//! runs as root. Without them these tests fail and say why: they never skip.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration as StdDuration;

use rcgen::PublicKeyData as _;
use serde_json::Value;

use crate::support::Browser;
use crate::support::{TestApp, remote_visit_now, spawn_app_with};
use crate::support::{TestCa, ecdsa, https_client, install};

/// A network namespace with a veth pair to the host: host side `10.201.N.1/24`, the
/// namespace's side `10.201.N.2/24`, its default route through the host.
struct Netns {
    name: String,
    host_if: String,
    n: u8,
}

fn run(program: &str, args: &[&str], stdin: Option<&str>) {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): scripts/test installs iproute2 and nftables")
    });
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{program} {args:?} failed (these tests need root: CI runs as root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT: AtomicU8 = AtomicU8::new(0);

impl Netns {
    fn create() -> Netns {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the network-namespace tests need root (CI runs as root)"
        );
        let n = 100 + (std::process::id() as u8 % 50) + NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("menkai-family-{n}");
        let host_if = format!("mkh{n}");
        let ns_if = format!("mkn{n}");
        // Left over from a run that was killed: start clean.
        for args in [
            ["netns", "del", name.as_str()],
            ["link", "del", host_if.as_str()],
        ] {
            let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
        }
        let host_ip = format!("10.201.{n}.1/24");
        let ns_ip = format!("10.201.{n}.2/24");
        let gateway = format!("10.201.{n}.1");
        run("ip", &["netns", "add", &name], None);
        let netns = Netns { name, host_if, n };
        let name = netns.name.as_str();
        run(
            "ip",
            &[
                "link",
                "add",
                &netns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &ns_if,
            ],
            None,
        );
        run("ip", &["link", "set", &ns_if, "netns", name], None);
        run(
            "ip",
            &["addr", "add", &host_ip, "dev", &netns.host_if],
            None,
        );
        run("ip", &["link", "set", &netns.host_if, "up"], None);
        run(
            "ip",
            &["-n", name, "addr", "add", &ns_ip, "dev", &ns_if],
            None,
        );
        run("ip", &["-n", name, "link", "set", &ns_if, "up"], None);
        run("ip", &["-n", name, "link", "set", "lo", "up"], None);
        run(
            "ip",
            &["-n", name, "route", "add", "default", "via", &gateway],
            None,
        );
        netns
    }

    /// The host's address on the link: where the server listens.
    fn host_ip(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 201, self.n, 1))
    }

    /// A firewall inside the namespace: nothing in or out but loopback, replies, and
    /// what `allow` lets out (nft rules, one a line).
    fn firewall(&self, allow: &str) {
        let rules = format!(
            "table inet menkai_test {{
               chain input {{
                 type filter hook input priority 0; policy drop;
                 iif \"lo\" accept
                 ct state established,related accept
               }}
               chain output {{
                 type filter hook output priority 0; policy drop;
                 oif \"lo\" accept
                 ct state established,related accept
                 {allow}
               }}
             }}\n"
        );
        run(
            "ip",
            &["netns", "exec", &self.name, "nft", "-f", "-"],
            Some(&rules),
        );
    }

    /// Takes every rule of [`Netns::firewall`] away (the next call starts afresh).
    fn open_firewall(&self) {
        run(
            "ip",
            &["netns", "exec", &self.name, "nft", "flush", "ruleset"],
            None,
        );
    }

    /// Both directions of the link limited to `kbit` kbit/s (a poor mobile or rural
    /// line), with `tc`'s token bucket filter on each end of the veth pair.
    fn throttle(&self, kbit: u32) {
        let rate = format!("{kbit}kbit");
        let tbf = [
            "root", "tbf", "rate", &rate, "burst", "16kb", "latency", "400ms",
        ];
        let ns_if = format!("mkn{}", self.n);
        let mut inside = vec![
            "netns", "exec", &self.name, "tc", "qdisc", "add", "dev", &ns_if,
        ];
        inside.extend(tbf);
        run("ip", &inside, None);
        let mut host = vec!["qdisc", "add", "dev", self.host_if.as_str()];
        host.extend(tbf);
        run("tc", &host, None);
    }

    /// A TCP connection made inside the namespace (to its own loopback, where the
    /// browser's DevTools listen): the socket keeps the namespace it was made in.
    async fn connect(&self, port: u16) -> tokio::net::TcpStream {
        let path = format!("/var/run/netns/{}", self.name);
        let stream = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("namespace file");
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            std::net::TcpStream::connect(("127.0.0.1", port))
        })
        .join()
        .expect("thread")
        .expect("connect inside the namespace");
        stream.set_nonblocking(true).expect("nonblocking");
        tokio::net::TcpStream::from_std(stream).expect("tokio stream")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .stderr(Stdio::null())
            .status();
    }
}

/// Headless Chromium inside the namespace, driven over DevTools.
struct FamilyBrowser {
    _running: menkai_kiosk::browser::Running,
    cdp: menkai_kiosk::cdp::Cdp,
    session: String,
    _dir: tempfile::TempDir,
}

impl FamilyBrowser {
    async fn start(netns: &Netns, switches: &[String]) -> FamilyBrowser {
        let dir = tempfile::tempdir().expect("dir");
        let chromium =
            menkai_kiosk::browser::find(None).expect("chromium (scripts/test installs it)");
        // The browser is started through `ip netns exec`: a wrapper in its place.
        let wrapper = dir.path().join("chromium-in-netns");
        // Camera and microphone are granted over DevTools as well (`open`); the fake
        // prompt answers too, so a grant that lands late never leaves getUserMedia
        // waiting on a prompt nobody sees.
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec ip netns exec {} {} {} --use-fake-ui-for-media-stream \"$@\"\n",
                netns.name,
                chromium.display(),
                switches.join(" ")
            ),
        )
        .expect("wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let running = menkai_kiosk::browser::launch(
            &menkai_kiosk::browser::Options {
                path: wrapper,
                headless: true,
                fake_media: true,
                window: (1280, 720),
                lang: "en".into(),
            },
            &dir.path().join("profiles"),
        )
        .await
        .expect("chromium starts in the namespace");
        let port: u16 = running
            .devtools
            .trim_start_matches("ws://127.0.0.1:")
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("DevTools port");
        let stream = netns.connect(port).await;
        let (cdp, _events) = menkai_kiosk::cdp::Cdp::connect_over(&running.devtools, stream)
            .await
            .expect("DevTools");
        let session = cdp
            .attach_to_page(StdDuration::from_secs(10))
            .await
            .expect("page");
        FamilyBrowser {
            _running: running,
            cdp,
            session,
            _dir: dir,
        }
    }

    async fn open(&self, origin: &str, url: &str) {
        let within = StdDuration::from_secs(10);
        self.cdp
            .grant(origin, &["camera", "microphone"], within)
            .await
            .expect("grant");
        self.cdp
            .call(
                Some(&self.session),
                "Page.navigate",
                serde_json::json!({ "url": url }),
                within,
            )
            .await
            .expect("navigate");
    }

    /// The page laid out as on a screen `width` × `height` (a phone below 500).
    async fn resize(&self, width: u32, height: u32) {
        self.cdp
            .call(
                Some(&self.session),
                "Emulation.setDeviceMetricsOverride",
                serde_json::json!({
                    "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500
                }),
                StdDuration::from_secs(10),
            )
            .await
            .expect("device metrics");
    }

    async fn eval(&self, script: &str) -> Value {
        self.cdp
            .evaluate(&self.session, script, StdDuration::from_secs(10))
            .await
            .unwrap_or(Value::Null)
    }

    async fn wait_until(&self, script: &str, within: StdDuration) {
        let deadline = std::time::Instant::now() + within;
        while self.eval(script).await != Value::Bool(true) {
            assert!(
                std::time::Instant::now() < deadline,
                "never true in the namespace's page: {script}"
            );
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
    }

    /// What the page shows around the element `id`, as `target/screenshots/{name}.png`.
    async fn screenshot(&self, id: &str, name: &str) {
        use base64::Engine as _;
        self.eval(&format!(
            "document.getElementById('{id}').scrollIntoView({{block: 'start'}}), true"
        ))
        .await;
        let shot = self
            .cdp
            .call(
                Some(&self.session),
                "Page.captureScreenshot",
                serde_json::json!({ "format": "png" }),
                StdDuration::from_secs(10),
            )
            .await
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("png");
        let dir = crate::support::workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write");
    }

    /// `relayProtocol` of the local candidate of the path in use.
    async fn relay_protocol(&self) -> String {
        let script = "(async () => {
            const link = [...window.menkai.mesh.links.values()][0];
            const stats = await link.pc.getStats();
            let pair = null;
            stats.forEach((r) => {
              if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
            });
            const local = pair && stats.get(pair.localCandidateId);
            return local ? String(local.relayProtocol) : 'none';
        })()";
        self.cdp
            .evaluate(&self.session, script, StdDuration::from_secs(5))
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The page's call statistics once media flows from one peer.
    async fn wait_for_media(&self, within: StdDuration) -> Value {
        let deadline = std::time::Instant::now() + within;
        let mut last = Value::Null;
        while std::time::Instant::now() < deadline {
            last = self
                .cdp
                .evaluate(
                    &self.session,
                    "window.menkai ? window.menkai.stats() : null",
                    StdDuration::from_secs(5),
                )
                .await
                .unwrap_or(Value::Null);
            let ready = last.as_array().is_some_and(|all| {
                all.len() == 1
                    && all[0]["state"] == "connected"
                    && all[0]["framesDecoded"].as_u64().unwrap_or(0) > 0
                    && all[0]["path"][0] != ""
            });
            if ready {
                return last;
            }
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
        let page = self
            .eval(
                "window.menkai ? JSON.stringify({linked: window.menkai.linked(), state: window.menkai.state(), \
                 screen: window.menkai.screen(), log: window.menkai.mesh.log.slice(-20)}) : 'no menkai'",
            )
            .await;
        panic!("media did not flow through the namespace's firewall in time: {last}\npage: {page}");
    }
}

/// The server on the host's side of the link, over HTTPS on port 443 with a
/// certificate for that address, relaying on 3478; a visit starting now.
struct Scene {
    netns: Netns,
    app: TestApp,
    ward_token: String,
    link: String,
    switches: Vec<String>,
}

async fn scene() -> Scene {
    let netns = Netns::create();
    let ip = netns.host_ip();
    let ca = TestCa::new("Menkai test CA");
    let key = ecdsa();
    let spki = key.subject_public_key_info();
    let pair = ca.leaf(&[&ip.to_string()], key);
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    install(&cert, &key_path, &pair);
    let mut app = spawn_app_with(|c| {
        c.listen = SocketAddr::new(ip, 443);
        c.public_url = Some(format!("https://{ip}"));
        c.tls = Some(menkai::tls::TlsSource::Files {
            cert: cert.clone(),
            key: key_path.clone(),
        });
        if let Some(turn) = c.turn.as_mut() {
            turn.listen = SocketAddr::new(ip, 3478);
        }
    })
    .await;
    // The files are read at start; the directory may go.
    drop(dir);
    app.client = https_client(&ca.pem, None);
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let switches = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let pin = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&spki));
        vec![format!("--ignore-certificate-errors-spki-list={pin}")]
    };
    Scene {
        netns,
        link: app.url(&links[0]),
        app,
        ward_token,
        switches,
    }
}

impl Scene {
    /// The ward's tablet on the host and the family in the namespace behind `allow`,
    /// until they see each other; how the family reached the relay (`relayProtocol`
    /// of its end of the path in use: `udp`, `tcp` or `tls`).
    async fn call(&self, allow: &str) -> String {
        self.netns.firewall(allow);
        let ward = Browser::start_with(&self.switches).await;
        ward.goto(&self.app.url(&format!("/device#token={}", self.ward_token)))
            .await;
        // The tablet is in the visit before the family comes (as on the day).
        let in_call = "window.menkai && window.menkai.screen() === 'call'";
        let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
        while ward.eval(in_call).await != Value::Bool(true) && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
        if ward.eval(in_call).await != Value::Bool(true) {
            let state = ward
                .eval("JSON.stringify({url: location.href, screen: window.menkai && window.menkai.screen(), linked: window.menkai && window.menkai.linked(), trouble: document.body.dataset.trouble, status: document.getElementById('device-status')?.textContent, log: window.menkai && window.menkai.mesh.log.slice(-20)})")
                .await;
            panic!(
                "the ward tablet is not in the visit: {state}\nconsole: {:?}",
                ward.console()
            );
        }
        let family = FamilyBrowser::start(&self.netns, &self.switches).await;
        family.open(&self.app.base, &self.link).await;
        let family_saw = family.wait_for_media(StdDuration::from_secs(60)).await;
        let ward_saw = ward.wait_for_media(1, StdDuration::from_secs(30)).await;
        println!("family (in the namespace): {family_saw}\nward: {ward_saw}");
        assert_eq!(
            family_saw[0]["path"][0], "relay",
            "the family's end of the path is the relay: {family_saw}"
        );
        let protocol = family.relay_protocol().await;
        println!("the family reached the relay over {protocol}");
        protocol
    }
}

/// The pre-visit check as a family behind this network runs it (tests/e2e/check.rs
/// runs it on loopback): the page is loaded first (through `page_allow`), then the
/// network is made what `allow` lets out, then the check runs. Returns the page's
/// verdict word and figures once the server has the result.
impl Scene {
    async fn check(&self, page_allow: &str, allow: &str, lang: &str) -> (Value, Value) {
        self.netns.firewall(page_allow);
        let family = FamilyBrowser::start(&self.netns, &self.switches).await;
        family
            .open(&self.app.base, &format!("{}/check?lang={lang}", self.link))
            .await;
        let within = StdDuration::from_secs(60);
        family
            .wait_until(
                "!!document.getElementById('check-start') && !!window.menkai",
                within,
            )
            .await;
        self.netns.open_firewall();
        self.netns.firewall(allow);
        let began = std::time::Instant::now();
        family
            .eval("document.getElementById('check-start').click(), true")
            .await;
        family
            .wait_until(
                "document.getElementById('speaker-yes').offsetParent !== null",
                within,
            )
            .await;
        family
            .eval("document.getElementById('speaker-yes').click(), true")
            .await;
        family
            .wait_until("window.menkai.check.state() === 'done'", within)
            .await;
        let figures = family.eval("window.menkai.check.figures()").await;
        println!(
            "the check in the namespace took {:.1?}: {figures}",
            began.elapsed()
        );
        // Then the network comes back as it was for the page: a result the page could
        // not send at once reaches the server now.
        self.netns.open_firewall();
        self.netns.firewall(page_allow);
        family
            .wait_until("window.menkai.check.result() !== null", within)
            .await;
        let result = family.eval("window.menkai.check.result()").await;
        let verdict = result["verdict"].as_str().unwrap_or("none").to_owned();
        for (width, height) in [(390, 844), (1366, 768)] {
            family.resize(width, height).await;
            family
                .screenshot(
                    "check-result",
                    &format!("check-result-{verdict}-netns-{lang}-{width}"),
                )
                .await;
        }
        (result, figures)
    }

    /// What staff see next to the family's name on the visit's page.
    async fn badge(&self) -> String {
        let token = self.app.api_token().await;
        let (_, visits) = self
            .app
            .api(reqwest::Method::GET, "/visits", &token, None)
            .await;
        visits[0]["invitations"][0]["check"]["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

#[tokio::test]
async fn the_check_behind_a_network_without_udp_says_ready_through_the_relay_over_tcp() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let tcp = format!("ip daddr {server} tcp dport {{ 443, 3478 }} accept");
    let (result, figures) = scene
        .check(&tcp, &format!("meta l4proto udp drop\n {tcp}"), "en")
        .await;
    assert_eq!(result["verdict"], "ready_relayed", "{result} {figures}");
    assert_eq!(result["path"], "relay_tcp", "{result}");
    assert_eq!(scene.badge().await, "ready_relayed");
}

#[tokio::test]
async fn the_check_with_only_tcp_443_open_says_ready_through_the_relay_over_tls() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let https = format!("ip daddr {server} tcp dport 443 accept");
    let (result, figures) = scene.check(&https, &https, "ja").await;
    assert_eq!(result["verdict"], "ready_relayed", "{result} {figures}");
    assert_eq!(result["path"], "relay_tls", "{result}");
    assert_eq!(scene.badge().await, "ready_relayed");
}

#[tokio::test]
async fn the_check_with_everything_to_the_server_dropped_says_it_cannot_connect() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let https = format!("ip daddr {server} tcp dport 443 accept");
    let (result, figures) = scene.check(&https, "", "en").await;
    assert_eq!(figures["path"], "none", "{figures}");
    assert_eq!(result["verdict"], "cannot_connect", "{result} {figures}");
    assert_eq!(scene.badge().await, "cannot_connect");
}

#[tokio::test]
async fn the_check_on_a_200_kbit_line_says_too_slow_for_video() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let open = format!(
        "ip daddr {server} udp dport 3478 accept\n ip daddr {server} tcp dport {{ 443, 3478 }} accept"
    );
    scene.netns.throttle(200);
    let (result, figures) = scene.check(&open, &open, "ja").await;
    assert_eq!(result["verdict"], "audio_only", "{result} {figures}");
    assert!(
        result["down_kbps"].as_u64().is_some_and(|k| k < 300),
        "{result}"
    );
    assert_eq!(scene.badge().await, "audio_only");
}

#[tokio::test]
async fn a_family_that_cannot_reach_the_ward_directly_connects_through_the_relay() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    // Only the server's own ports; the ward's addresses (the same host) are closed.
    let protocol = scene
        .call(&format!(
            "ip daddr {server} udp dport 3478 accept\n ip daddr {server} tcp dport {{ 443, 3478 }} accept"
        ))
        .await;
    assert!(
        ["udp", "tcp", "tls"].contains(&protocol.as_str()),
        "through the relay: {protocol}"
    );
}

#[tokio::test]
async fn with_all_udp_dropped_the_family_connects_over_turn_tcp_or_tls() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let protocol = scene
        .call(&format!(
            "meta l4proto udp drop\n ip daddr {server} tcp dport {{ 443, 3478 }} accept"
        ))
        .await;
    assert!(
        protocol == "tcp" || protocol == "tls",
        "the family reached the relay over TCP or TLS, not {protocol}"
    );
}

#[tokio::test]
async fn with_only_tcp_443_open_the_family_connects_over_turns_on_the_https_port() {
    let scene = scene().await;
    let server = scene.netns.host_ip();
    let protocol = scene
        .call(&format!("ip daddr {server} tcp dport 443 accept"))
        .await;
    assert_eq!(protocol, "tls", "over TLS on the HTTPS port");
}
