//! Every family's browser: calls with Chromium and Firefox on either side, a browser
//! that lacks WebRTC, a page that stops on an error of its own, a console error that
//! fails the test, and the ward tablet as an installable app.

use std::time::{Duration as StdDuration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Browser, Engine, Launch, Seed, TestApp, check, monday_9am_tokyo, path_of, remote_visit_now,
    spawn_app_with_seed,
};

const MEDIA: StdDuration = StdDuration::from_secs(30);

/// Every `<video>` on the page plays inline (iOS Safari otherwise plays it only full
/// screen) and draws no picture-in-picture button over the call.
const VIDEOS_INLINE: &str = "[...document.querySelectorAll('video')].length > 0 && \
    [...document.querySelectorAll('video')].every(v => v.hasAttribute('playsinline') && v.hasAttribute('disablepictureinpicture'))";

/// On a page whose current local description is an offer: the browser's video codecs
/// (not counting retransmission and error correction) and those missing from the offer;
/// null on the answering side.
const OFFERED_CODECS: &str = "(() => {
    const link = [...window.menkai.mesh.links.values()][0];
    const local = link && link.pc.localDescription;
    if (!local || local.type !== 'offer') return null;
    const sdp = local.sdp.toLowerCase();
    const codecs = [...new Set(RTCRtpSender.getCapabilities('video').codecs
        .map(c => c.mimeType.split('/')[1].toLowerCase())
        .filter(n => !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(n)))];
    return { offered: codecs, missing: codecs.filter(c => !sdp.includes(` ${c}/90000`)) };
})()";

/// A ward tablet in one engine and a family member in another: the waiting screen,
/// the call both ways, leaving and rejoining, and a reload of each side, with axe-core
/// on the family's screens and a clean console on both (checked when they drop).
async fn call_across(ward: Engine, family_engine: Engine) {
    println!(
        "ward tablet in {}, family in {}",
        ward.name(),
        family_engine.name()
    );
    let sides = format!("{}-ward-{}-family", ward.name(), family_engine.name()).to_lowercase();
    let mut problems = vec![];
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_id, ward_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    let seed = Seed {
        ward: ward_id,
        ..seed
    };
    let start = monday_9am_tokyo() + chrono::Duration::minutes(10);
    let (_, visit) = app.book(&token, &seed, start, &["Taro"]).await;
    let link = path_of(visit["invitations"][0]["url"].as_str().expect("url"));

    let tablet = Browser::open(ward).await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    tablet.wait_until("window.menkai.linked()", MEDIA).await;
    let family = Browser::open(family_engine).await;
    family.resize(412, 915).await;
    family.goto(&app.url(&link)).await;
    family
        .wait_until(
            "window.menkai.state() === 'scheduled' && !document.getElementById('preview').hidden",
            MEDIA,
        )
        .await;
    check(&family, &format!("join-waiting-{sides}"), &mut problems).await;

    app.advance(chrono::Duration::minutes(10));
    app.tick().await;
    let family_saw = family.wait_for_media(1, MEDIA).await;
    let ward_saw = tablet.wait_for_media(1, MEDIA).await;
    println!(
        "family ({}) receives {family_saw}\nward ({}) receives {ward_saw}",
        family_engine.name(),
        ward.name()
    );
    family
        .wait_until("window.menkai.screen() === 'call'", MEDIA)
        .await;
    let mut offers = 0;
    for page in [&family, &tablet] {
        page.wait_until(VIDEOS_INLINE, MEDIA).await;
        // The page that made the offer offered every video codec its browser has
        // (H.264 and VP8 both, where the browser has both): Safari's side can answer.
        let offered = page.eval(OFFERED_CODECS).await;
        if offered.is_null() {
            continue;
        }
        offers += 1;
        assert_eq!(
            offered["missing"],
            json!([]),
            "{}: {offered}",
            page.engine.name()
        );
        println!(
            "{} offered video codecs {}",
            page.engine.name(),
            offered["offered"]
        );
    }
    assert!(offers >= 1, "one side's last description is an offer");
    check(&family, &format!("call-family-{sides}"), &mut problems).await;

    // The family leaves: the tablet lets go at once; "Join again" brings them back.
    family.click("#leave").await;
    family
        .wait_until(
            "window.menkai.screen() === 'ended' && !document.getElementById('rejoin').hidden",
            MEDIA,
        )
        .await;
    tablet
        .wait_until("window.menkai.mesh.links.size === 0", MEDIA)
        .await;
    family.click("#rejoin a").await;
    family.wait_for_media(1, MEDIA).await;
    tablet.wait_for_media(1, MEDIA).await;

    // Each side reloaded mid-call comes back by itself.
    for (who, page, other) in [("family", &family, &tablet), ("ward", &tablet, &family)] {
        let reloaded = Instant::now();
        page.client.refresh().await.expect("reload");
        page.wait_for_media(1, MEDIA).await;
        other
            .wait_until("window.menkai.mesh.links.size === 1", MEDIA)
            .await;
        other.wait_for_media(1, MEDIA).await;
        println!(
            "{who} ({}) reloaded: media both ways again after {:.1?}",
            page.engine.name(),
            reloaded.elapsed()
        );
    }
    assert!(
        problems.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        problems.join("\n")
    );
}

#[tokio::test]
async fn a_family_on_firefox_calls_a_ward_tablet_on_chromium() {
    call_across(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test]
async fn a_family_on_chromium_calls_a_ward_tablet_on_firefox() {
    call_across(Engine::Firefox, Engine::Chromium).await;
}

/// Makes the page's own handling of every frame throw (the error the test expects in
/// the console is `deliberate test error`).
const BREAK_FRAME_HANDLING: &str =
    "(window.menkai.mesh.handle = () => { throw new Error('deliberate test error'); }, true)";

/// Takes WebRTC away before the page's own scripts, as a browser built without it
/// (Debian's WebKitGTK, some in-app browsers) lacks it.
const WITHOUT_WEBRTC: &str =
    "() => { delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection; }";

/// Whether the page shows the unsupported-browser screen, naming WebRTC as missing.
const SAYS_UNSUPPORTED: &str = "document.body.dataset.trouble === 'unsupported' \
    && !document.getElementById('unsupported').hidden \
    && document.getElementById('unsupported-missing').textContent.includes('webrtc')";

/// The Today page's "Connected: …" line for the visit in progress.
async fn connected_on_today(app: &TestApp) -> String {
    let (status, page) = app.get_text("/staff").await;
    assert_eq!(status, StatusCode::OK);
    ["接続中：", "Connected: ", "まだだれも", "Nobody connected"]
        .iter()
        .find_map(|start| {
            let at = page.find(start)?;
            Some(page[at..].split("</span>").next()?.to_owned())
        })
        .unwrap_or_else(|| panic!("no connected line on Today:\n{page}"))
}

/// A browser without WebRTC never hangs at "Connecting…": the join, check, device and
/// pair pages say it cannot make calls and which browsers can, in both languages; it never
/// joins, so the ward tablet has nobody to build a connection to and Today does not
/// show that family as connected.
#[tokio::test]
async fn a_browser_without_webrtc_is_told_which_browsers_work_and_never_joins() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let tablet = Browser::open(Engine::Chromium).await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    tablet
        .wait_until("window.menkai.screen() === 'call'", MEDIA)
        .await;
    app.login_as_admin().await;
    let mut problems = vec![];
    for engine in Engine::ALL {
        let old = Browser::open(engine).await;
        old.before_every_page(WITHOUT_WEBRTC).await;
        old.resize(390, 844).await;
        for lang in ["ja", "en"] {
            let engine_name = engine.name().to_lowercase();
            for (page, path) in [
                ("join", format!("{}?lang={lang}", links[0])),
                ("check", format!("{}/check?lang={lang}", links[0])),
                ("pair", format!("/pair?lang={lang}")),
                ("device", format!("/device?lang={lang}#token={ward_token}")),
            ] {
                old.goto(&app.url(&path)).await;
                old.wait_until(SAYS_UNSUPPORTED, MEDIA).await;
                assert_eq!(
                    old.eval("typeof RTCPeerConnection").await,
                    json!("undefined")
                );
                check(
                    &old,
                    &format!("unsupported-{page}-{engine_name}-{lang}"),
                    &mut problems,
                )
                .await;
            }
        }
        // The device page above was the ward's own token: the real tablet is still in.
        tokio::time::sleep(StdDuration::from_secs(3)).await;
        assert_eq!(
            tablet.eval("window.menkai.mesh.links.size").await,
            json!(0),
            "the ward builds no connection to a family that cannot answer"
        );
        let connected = connected_on_today(&app).await;
        assert!(
            !connected.contains("Taro"),
            "{}: the family is not shown as connected: {connected}",
            engine.name()
        );
    }
    assert!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
}

/// An error in the page's own frame handling (a bug, or a browser that behaves in a way
/// nobody expected) stops the page with "Something went wrong" and a reload button,
/// never a silent hang; the server is told, so the ward and Today stop counting that
/// family as there; the reload brings the call back.
#[tokio::test]
async fn an_error_in_the_family_page_stops_it_plainly_and_the_server_is_told() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let tablet = Browser::open(Engine::Chromium).await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    let family = Browser::open(Engine::Firefox).await;
    family.resize(390, 844).await;
    family.goto(&app.url(&links[0])).await;
    family.wait_for_media(1, MEDIA).await;
    tablet.wait_for_media(1, MEDIA).await;
    app.login_as_admin().await;
    assert!(connected_on_today(&app).await.contains("Taro"));

    family.eval(BREAK_FRAME_HANDLING).await;
    // The tablet reloads: its leave and its return are frames the family must handle.
    tablet.client.refresh().await.expect("reload");
    family
        .wait_until(
            "document.body.dataset.trouble === 'crashed' && !document.getElementById('crashed').hidden",
            MEDIA,
        )
        .await;
    family.screenshot("crashed-family-firefox").await;
    let console = family.console();
    assert!(
        console
            .iter()
            .any(|line| line.starts_with("error") && line.contains("deliberate test error")),
        "the error is in the console: {console:?}"
    );
    family.expect_console_error("deliberate test error");
    tablet
        .wait_until("window.menkai.screen() === 'call'", MEDIA)
        .await;
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    assert_eq!(tablet.eval("window.menkai.mesh.links.size").await, json!(0));
    assert!(!connected_on_today(&app).await.contains("Taro"));
    assert!(
        app.metrics().await.contains("menkai_client_errors_total 1"),
        "counted once"
    );

    family.click("#crashed-reload").await;
    family.wait_for_media(1, MEDIA).await;
    tablet.wait_for_media(1, MEDIA).await;
}

/// The proof that each engine's console is read: an error thrown in a page fails the
/// test (a `Browser` dropped with unexpected console errors panics).
#[tokio::test]
async fn an_error_thrown_in_a_page_fails_the_test_in_every_engine() {
    let app = crate::support::spawn_app().await;
    for engine in Engine::ALL {
        let browser = Browser::launch(engine, &Launch::default()).await;
        browser.goto(&app.url("/pair")).await;
        browser
            .eval("(setTimeout(() => { throw new Error('thrown on purpose'); }), true)")
            .await;
        crate::support::until(MEDIA, "the thrown error in the console", || async {
            (!browser.console_errors().is_empty()).then_some(())
        })
        .await;
        let errors = browser.console_errors();
        assert!(
            errors.iter().any(|e| e.contains("thrown on purpose")),
            "{}: {errors:?}",
            engine.name()
        );
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(browser)));
        assert!(
            failed.is_err(),
            "{}: a console error fails the test",
            engine.name()
        );
    }
}

/// Android and iPad can put the device page on the home screen and open it full
/// screen: the manifest is served, valid and names real icons of their sizes.
#[tokio::test]
async fn the_ward_tablet_page_installs_as_a_full_screen_app() {
    let app = crate::support::spawn_app().await;
    let (_, page) = app.get_text("/device").await;
    assert!(page.contains(r#"<link rel="manifest" href="/device.webmanifest">"#));
    assert!(page.contains(r#"<link rel="apple-touch-icon" href="/static/icons/icon-180.png">"#));
    let res = app.get("/device.webmanifest").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/manifest+json");
    let manifest: Value = res.json().await.expect("manifest is JSON");
    assert_eq!(manifest["display"], "fullscreen");
    assert_eq!(manifest["start_url"], "/device");
    assert!(manifest["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(
        manifest["short_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    let icons = manifest["icons"].as_array().expect("icons");
    let mut pngs = vec![];
    for icon in icons.iter().chain([
        &json!({"src": "/static/icons/icon-180.png", "sizes": "180x180", "type": "image/png"}),
    ]) {
        let src = icon["src"].as_str().expect("src");
        let res = app.get(src).await;
        assert_eq!(res.status(), StatusCode::OK, "{src}");
        assert_eq!(
            res.headers()["content-type"],
            icon["type"].as_str().expect("type")
        );
        let bytes = res.bytes().await.expect("icon");
        if icon["type"] == "image/png" {
            // PNG: signature, then IHDR's width and height.
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{src}");
            let side = |at: usize| {
                u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            assert_eq!(
                format!("{}x{}", side(16), side(20)),
                icon["sizes"].as_str().expect("sizes"),
                "{src}"
            );
            pngs.push(icon["sizes"].as_str().expect("sizes").to_owned());
        }
    }
    for size in ["192x192", "512x512"] {
        assert!(
            pngs.iter().any(|s| s == size),
            "a {size} icon (Android needs both)"
        );
    }
    assert!(
        icons.iter().any(|i| i["purpose"] == "maskable"),
        "a maskable icon for Android's shapes"
    );
}

/// What WebKit (Safari on iPhone and iPad, and so every browser on them) lacks in the
/// versions the pages support (iOS 15 and later), or refuses in a way the pages must
/// not rely on: none of it appears in the pages' scripts (docs/BROWSERS.md).
const NOT_IN_SAFARI: &[(&str, &str)] = &[
    ("requestIdleCallback", "no Safari has it"),
    ("setSinkId", "Safari cannot choose a speaker"),
    ("structuredClone", "Safari 15.4"),
    ("Object.hasOwn", "Safari 15.4"),
    (".findLast(", "Safari 15.4"),
    (".at(", "Safari 15.4"),
    ("toSorted", "Safari 16"),
    ("navigator.vibrate", "no Safari has it"),
    (
        "setCodecPreferences",
        "H.264 and VP8 must both stay negotiable",
    ),
    (
        "sdp.replace",
        "no SDP munging: H.264 and VP8 must both stay negotiable",
    ),
];

/// In a script that opens the camera: constraints Safari refuses when it cannot meet
/// them exactly (only `ideal` is safe).
const NOT_IN_SAFARI_CAMERA: &[&str] = &["exact:", "min:", "max:"];

/// APIs only some browsers have, each used only behind a check that it exists.
const ONLY_WHERE_PRESENT: &[(&str, &str)] = &[
    ("wakeLock", "wakeLock?.request"),
    ("requestFullscreen", "requestFullscreen?.("),
    ("permissions", "permissions?.query"),
];

#[test]
fn the_pages_scripts_use_nothing_safari_lacks() {
    let dir = crate::support::workspace_root().join("web/static/js");
    let mut found = vec![];
    for entry in std::fs::read_dir(&dir).expect("web/static/js").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(entry.path()).expect("script");
        // Comments may name what they avoid.
        let code: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('*'))
            .collect::<Vec<_>>()
            .join("\n");
        for (api, why) in NOT_IN_SAFARI {
            if code.contains(api) {
                found.push(format!("{name}: {api} ({why})"));
            }
        }
        if code.contains("getUserMedia") {
            for constraint in NOT_IN_SAFARI_CAMERA {
                if code.contains(constraint) {
                    found.push(format!(
                        "{name}: {constraint} (Safari refuses camera constraints it cannot meet exactly)"
                    ));
                }
            }
        }
        for (api, guarded) in ONLY_WHERE_PRESENT {
            let uses = code.matches(&format!(".{api}")).count();
            let safe = code.matches(guarded).count();
            if uses > safe {
                found.push(format!("{name}: {api} used without `{guarded}`"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Tablets sleep: the device page asks for a screen wake lock at start, and again
/// each time it is shown (a lock is released whenever the page is hidden).
#[tokio::test]
async fn the_ward_tablet_asks_to_keep_its_screen_on_and_asks_again_when_shown() {
    let (app, token, _seed) = spawn_app_with_seed().await;
    let (_, ward_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    let tablet = Browser::open(Engine::Chromium).await;
    tablet
        .before_every_page(
            "() => { window.wakeLockRequests = 0; const lock = navigator.wakeLock; \
             if (!lock) return; const request = lock.request.bind(lock); \
             lock.request = (type) => { window.wakeLockRequests += 1; return request(type); }; }",
        )
        .await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    tablet.wait_until("window.menkai.linked()", MEDIA).await;
    tablet
        .wait_until("window.wakeLockRequests === 1", MEDIA)
        .await;
    tablet
        .eval("(document.dispatchEvent(new Event('visibilitychange')), true)")
        .await;
    tablet
        .wait_until("window.wakeLockRequests === 2", MEDIA)
        .await;
}

/// The states a family's phone can be left in, at phone size in both languages: sound
/// held back until a tap, and the page stopped on its own error. (The unsupported
/// browser's screens: `a_browser_without_webrtc_…` above.)
#[tokio::test]
async fn the_blocked_and_stopped_screens_at_phone_size_in_both_languages() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let tablet = Browser::open(Engine::Chromium).await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    let blocked = Launch {
        autoplay_blocked: true,
        ..Launch::default()
    };
    let mut problems = vec![];
    for lang in ["ja", "en"] {
        let family = Browser::launch(Engine::Chromium, &blocked).await;
        family.resize(390, 844).await;
        family
            .goto(&app.url(&format!("{}?lang={lang}", links[0])))
            .await;
        family.wait_for_media(1, MEDIA).await;
        family
            .wait_until("!document.getElementById('tap-for-sound').hidden", MEDIA)
            .await;
        check(
            &family,
            &format!("sound-blocked-phone-{lang}"),
            &mut problems,
        )
        .await;

        family.eval(BREAK_FRAME_HANDLING).await;
        family.expect_console_error("deliberate test error");
        tablet.client.refresh().await.expect("reload");
        family
            .wait_until("document.body.dataset.trouble === 'crashed'", MEDIA)
            .await;
        check(&family, &format!("crashed-phone-{lang}"), &mut problems).await;
        tablet
            .wait_until("window.menkai.screen() === 'call'", MEDIA)
            .await;
    }
    assert!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
}

/// The entrance kiosk's laptop came with an English browser, the home is Japanese: the
/// device and pairing pages speak Japanese (the facility's language) all the same, and
/// their own `?lang=` switch still works.
#[tokio::test]
async fn device_pages_speak_the_facility_s_language_whatever_the_browser_s() {
    let app = crate::support::spawn_app().await;
    let english = Launch {
        chromium_args: vec!["--lang=en-US".into(), "--accept-lang=en-US,en".into()],
        ..Launch::default()
    };
    let browser = Browser::launch(Engine::Chromium, &english).await;
    for path in ["/device", "/pair"] {
        browser.goto(&app.url(path)).await;
        assert_eq!(
            browser.eval("document.documentElement.lang").await,
            json!("ja"),
            "{path} in the facility's language"
        );
        assert_eq!(
            browser.eval("navigator.language").await,
            json!("en-US"),
            "an English browser"
        );
    }
    browser.goto(&app.url("/pair?lang=en")).await;
    assert_eq!(
        browser.eval("document.documentElement.lang").await,
        json!("en")
    );
}
