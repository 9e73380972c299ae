//! The pre-visit check: a family tests their phone or computer from their own link
//! days before the visit, and staff see what it found next to the guest — in headless
//! Chromium with fake (or deliberately broken) camera and microphone.

use std::time::{Duration as StdDuration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Browser, Engine, Launch, Seed, TestApp, check, monday_9am_tokyo, path_of, spawn_app_with_seed,
};

const STEPS: StdDuration = StdDuration::from_secs(40);

/// A visit tomorrow (the test clock stands at Monday 9:00); its id and link.
async fn visit_tomorrow(app: &TestApp, token: &str, seed: &Seed) -> (String, String) {
    let (status, visit) = app
        .book(
            token,
            seed,
            monday_9am_tokyo() + chrono::Duration::days(1),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    (
        visit["id"].as_str().expect("id").to_owned(),
        path_of(visit["invitations"][0]["url"].as_str().expect("url")),
    )
}

/// Runs the whole check on the page now showing it: start, answer the chime, wait
/// for the end. Returns the server's answer and the page's figures.
async fn run_check(page: &Browser, heard: bool) -> (Value, Value) {
    page.wait_for("#check-start").await;
    page.click("#check-start").await;
    page.wait_until(
        "!document.getElementById('speaker-yes').hidden && document.getElementById('speaker-yes').offsetParent !== null",
        STEPS,
    )
    .await;
    page.click(if heard { "#speaker-yes" } else { "#speaker-no" })
        .await;
    page.wait_until("window.menkai.check.state() === 'done'", STEPS)
        .await;
    (
        page.eval("window.menkai.check.result()").await,
        page.eval("window.menkai.check.figures()").await,
    )
}

/// The guest's check as the API shows it.
async fn check_in_api(app: &TestApp, token: &str, visit_id: &str) -> Value {
    let (status, visit) = app
        .api(
            reqwest::Method::GET,
            &format!("/visits/{visit_id}"),
            token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{visit}");
    visit["invitations"][0]["check"].clone()
}

/// The day before the visit the family opens their link, taps "Check", answers one
/// question, and is told their phone is ready; staff see it on the visit's page, Today
/// no longer lists them as unchecked, and the API has the figures. The check never
/// joined the visit.
#[tokio::test]
async fn a_family_checks_the_day_before_and_staff_see_it_is_ready() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit_id, link) = visit_tomorrow(&app, &token, &seed).await;
    assert_eq!(check_in_api(&app, &token, &visit_id).await, Value::Null);

    let family = Browser::open(Engine::Chromium).await;
    family.resize(390, 844).await;
    family.goto(&app.url(&link)).await;
    family.click(&format!("a[href='{link}/check']")).await;
    let started = Instant::now();
    let (result, figures) = run_check(&family, true).await;
    println!(
        "the whole check took {:.1?} (network part {} ms): {figures}",
        started.elapsed(),
        figures["network_ms"]
    );
    assert_eq!(result["verdict"], "ready", "{result}\n{figures}");
    for step in ["camera", "microphone", "speaker"] {
        assert_eq!(result[step], "ok", "{result}");
    }
    assert!(
        result["up_kbps"].as_u64().is_some_and(|k| k >= 300),
        "{result}"
    );
    // What a phone on a poor line downloads for the check: the page, its stylesheet
    // and scripts as they travel (compressed), and the check's own small requests.
    let bytes = family
        .eval(
            "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
               .reduce((n, e) => n + e.transferSize, 0)",
        )
        .await
        .as_u64()
        .unwrap_or(u64::MAX);
    println!("the check page transferred {bytes} bytes in all");
    assert!(bytes <= 60 * 1024, "{bytes} bytes");

    let kept = check_in_api(&app, &token, &visit_id).await;
    assert_eq!(kept["verdict"], "ready", "{kept}");
    assert!(
        kept["browser"]
            .as_str()
            .is_some_and(|b| b.starts_with("Chrome")),
        "{kept}"
    );
    assert!(
        kept["rtt_ms"].is_u64() && kept["down_kbps"].is_u64(),
        "{kept}"
    );
    assert!(
        app.app_state.hub.presence(&visit_id).is_empty(),
        "the check never joins"
    );

    app.login_as_admin().await;
    let (_, page) = app.get_text(&format!("/staff/visits/{visit_id}")).await;
    assert!(
        page.contains("badge check-ready"),
        "the visit page shows it"
    );
    let (_, tomorrow) = app.get_text("/staff?date=2030-01-08").await;
    assert!(
        tomorrow.contains("badge check-ready"),
        "Today (on the visit's day) shows it next to the guest"
    );
    // The day before, Today lists only families who have not checked: not this one.
    let (_, today) = app.get_text("/staff").await;
    assert!(
        !today.contains("unchecked-tomorrow"),
        "nobody left to remind"
    );
}

/// The day before, staff see on Today which families have not checked yet.
#[tokio::test]
async fn today_lists_tomorrows_families_who_have_not_checked() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit_id, _) = visit_tomorrow(&app, &token, &seed).await;
    app.login_as_admin().await;
    let (_, today) = app.get_text("/staff").await;
    assert!(today.contains("unchecked-tomorrow"), "{today}");
    assert!(today.contains(&format!("/staff/visits/{visit_id}")));
    let (_, page) = app.get_text(&format!("/staff/visits/{visit_id}")).await;
    assert!(page.contains("badge check-unchecked"));
}

/// Writes a black Y4M video (64×48, ten frames) for Chromium's fake camera.
fn black_video(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("black.y4m");
    let mut bytes = b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg\n".to_vec();
    for _ in 0..10 {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend(std::iter::repeat_n(16u8, 64 * 48));
        bytes.extend(std::iter::repeat_n(128u8, 2 * 32 * 24));
    }
    std::fs::write(&path, bytes).expect("write y4m");
    path
}

/// Writes two seconds of silence as a 48 kHz mono WAV for Chromium's fake microphone.
fn silent_audio(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("silence.wav");
    let samples = 48_000 * 2;
    let data_len: u32 = samples * 2;
    let mut bytes = b"RIFF".to_vec();
    bytes.extend((36 + data_len).to_le_bytes());
    bytes.extend(b"WAVEfmt ");
    bytes.extend(16u32.to_le_bytes());
    bytes.extend(1u16.to_le_bytes()); // PCM
    bytes.extend(1u16.to_le_bytes()); // mono
    bytes.extend(48_000u32.to_le_bytes());
    bytes.extend((48_000u32 * 2).to_le_bytes());
    bytes.extend(2u16.to_le_bytes());
    bytes.extend(16u16.to_le_bytes());
    bytes.extend(b"data");
    bytes.extend(data_len.to_le_bytes());
    bytes.extend(std::iter::repeat_n(0u8, data_len as usize));
    std::fs::write(&path, bytes).expect("write wav");
    path
}

/// What goes wrong on a family's phone is named, kept and shown: a refused camera, a
/// camera that shows only black, a microphone that hears nothing.
#[tokio::test]
async fn a_refused_camera_a_black_picture_and_a_silent_microphone_are_each_named() {
    let dir = tempfile::tempdir().expect("dir");
    let black = black_video(dir.path());
    let silence = silent_audio(dir.path());
    // (name, how the browser is broken, whether the person heard the chime, what the
    // check must say)
    let cases = [
        (
            "denied",
            Launch {
                camera_denied: true,
                ..Launch::default()
            },
            true,
            json!({"camera": "denied"}),
        ),
        (
            "black",
            Launch {
                chromium_args: vec![format!(
                    "--use-file-for-fake-video-capture={}",
                    black.display()
                )],
                ..Launch::default()
            },
            true,
            json!({"camera": "black", "microphone": "ok"}),
        ),
        (
            "silent",
            Launch {
                chromium_args: vec![format!(
                    "--use-file-for-fake-audio-capture={}",
                    silence.display()
                )],
                ..Launch::default()
            },
            false,
            json!({"camera": "ok", "microphone": "silent", "speaker": "not_heard"}),
        ),
    ];
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit_id, link) = visit_tomorrow(&app, &token, &seed).await;
    app.login_as_admin().await;
    let mut problems = vec![];
    for (name, launch, heard, expected) in cases {
        let family = Browser::launch(Engine::Chromium, &launch).await;
        family.resize(390, 844).await;
        family.goto(&app.url(&format!("{link}/check"))).await;
        let (result, figures) = run_check(&family, heard).await;
        assert_eq!(result["verdict"], "problem", "{name}: {result}\n{figures}");
        for (step, word) in expected.as_object().expect("steps") {
            assert_eq!(&result[step], word, "{name}: {result}");
        }
        family
            .screenshot_full(&format!("check-result-problem-{name}-390"))
            .await;
        for violation in family.axe().await {
            problems.push(format!("{name}: {violation}"));
        }
        let kept = check_in_api(&app, &token, &visit_id).await;
        assert_eq!(kept["verdict"], "problem", "{name}: {kept}");
        let (_, page) = app.get_text(&format!("/staff/visits/{visit_id}")).await;
        assert!(page.contains("badge check-problem"), "{name}");
    }
    assert!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
}

/// A link that no longer leads to a visit offers no check; the check's endpoints
/// refuse it and bad reports change nothing.
#[tokio::test]
async fn a_dead_link_has_no_check_and_a_bad_report_changes_nothing() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit_id, link) = visit_tomorrow(&app, &token, &seed).await;
    let res = app
        .client
        .post(app.url(&format!("{link}/check")))
        .json(&json!({"camera": "fine"}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a word not in the list"
    );
    let res = app
        .client
        .post(app.url(&format!("{link}/check")))
        .json(&json!({"rtt_ms": 999_999_999}))
        .send()
        .await
        .expect("post");
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = app
        .client
        .post(app.url(&format!("{link}/check")))
        .header("content-type", "application/json")
        .body(format!("{{\"camera\":\"{}\"}}", "x".repeat(10_000)))
        .send()
        .await
        .expect("post");
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(check_in_api(&app, &token, &visit_id).await, Value::Null);

    let relay: Value = app
        .get(&format!("{link}/check/relay"))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        relay["udp"]["urls"][0]
            .as_str()
            .is_some_and(|u| u.starts_with("turn:")),
        "{relay}"
    );
    assert!(
        relay["tcp"]["urls"][0]
            .as_str()
            .is_some_and(|u| u.contains("transport=tcp")),
        "{relay}"
    );
    assert!(
        relay["stun"]["urls"][0]
            .as_str()
            .is_some_and(|u| u.starts_with("stun:")),
        "{relay}"
    );

    let (status, _) = app
        .api_post(&format!("/visits/{visit_id}/cancel"), &token, json!({}))
        .await;
    assert!(status.is_success());
    assert_eq!(
        app.get(&format!("{link}/check/relay")).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = app
        .client
        .post(app.url(&format!("{link}/check")))
        .json(&json!({"path": "direct"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, page) = app.get_text(&format!("{link}/check")).await;
    assert_eq!(status, StatusCode::GONE, "the visit page's 'cancelled'");
    assert!(!page.contains("check-start"));
}

/// The devices' own check as the API shows it, once it has one newer than `after`.
async fn device_check(app: &TestApp, token: &str, id: &str, after: Option<&str>) -> Value {
    crate::support::until(STEPS, "the device's self-check in its health", || async {
        let (_, devices) = app.api(reqwest::Method::GET, "/devices", token, None).await;
        let check = devices.as_array()?.iter().find(|d| d["id"] == id)?["health"]["check"].clone();
        let at = check["checked_at"].as_str()?;
        (Some(at) != after).then_some(check)
    })
    .await
}

/// Every morning, in the hour before visiting hours, each ward tablet checks its
/// camera, microphone and connection by itself; staff see the result on Devices, a
/// tablet whose camera shows nothing is in Today's "check before the next visits" box
/// before its visit, and "Check now" runs the check again at once.
#[tokio::test]
async fn tablets_check_themselves_before_visiting_hours_and_when_staff_ask() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let dir = tempfile::tempdir().expect("dir");
    let black = black_video(dir.path());
    let (good_id, good_token) = app.paired_device(&token, "ward", "Tablet 3F").await;
    let (bad_id, bad_token) = app.paired_device(&token, "ward", "Tablet 4F").await;
    // Tuesday 08:15: visiting hours open at 09:00.
    app.advance(chrono::Duration::minutes(23 * 60 + 15));
    let (status, visit) = app
        .book(
            &token,
            &Seed {
                ward: bad_id.clone(),
                ..seed
            },
            monday_9am_tokyo() + chrono::Duration::minutes(24 * 60 + 10),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let good = Browser::open(Engine::Chromium).await;
    good.goto(&app.url(&format!("/device#token={good_token}")))
        .await;
    let bad = Browser::launch(
        Engine::Chromium,
        &Launch {
            chromium_args: vec![format!(
                "--use-file-for-fake-video-capture={}",
                black.display()
            )],
            ..Launch::default()
        },
    )
    .await;
    bad.goto(&app.url(&format!("/device#token={bad_token}")))
        .await;
    for tablet in [&good, &bad] {
        tablet.wait_until("window.menkai.linked()", STEPS).await;
    }
    let asked = Instant::now();
    app.tick().await;
    let fine = device_check(&app, &token, &good_id, None).await;
    println!(
        "the morning self-check took {:.1?}: {fine}",
        asked.elapsed()
    );
    assert_eq!(fine["camera"], "ok", "{fine}");
    assert_eq!(fine["microphone"], "ok", "{fine}");
    assert!(fine["path"] != "none" && fine["up_kbps"].is_u64(), "{fine}");
    let broken = device_check(&app, &token, &bad_id, None).await;
    assert_eq!(broken["camera"], "black", "{broken}");
    assert_eq!(
        good.eval("window.menkai.liveTracks()").await,
        json!(0),
        "the camera is off again after the check"
    );

    app.login_as_admin().await;
    let (_, devices) = app.get_text("/staff/devices").await;
    assert!(
        devices.contains("Self-check at") || devices.contains("の自己確認"),
        "{devices}"
    );
    let (_, today) = app.get_text("/staff").await;
    let warning = [
        "前回の自己確認でカメラ",
        "camera failed its last self-check",
    ];
    assert!(
        warning.iter().any(|w| today.contains(w)),
        "Today warns about the tablet before its visit"
    );

    // Asked once a morning: another step of the scheduler asks nobody again.
    app.tick().await;
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    assert_eq!(good.eval("window.menkai.checking()").await, json!(false));

    let res = app
        .post_form(
            "/staff/devices",
            &format!("/staff/devices/{good_id}/check"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/staff/devices?notice=check-sent"
    );
    app.advance(chrono::Duration::minutes(1));
    let again = device_check(&app, &token, &good_id, fine["checked_at"].as_str()).await;
    assert_eq!(again["camera"], "ok", "{again}");
}

/// A server that runs no relay at all: nothing gets through, and the check says so
/// plainly (what a family behind a closed network sees; tests/e2e/netns.rs makes that
/// network for real), at phone and laptop size in both languages.
#[tokio::test]
async fn with_no_relay_to_reach_the_check_says_it_cannot_connect() {
    let app = crate::support::spawn_app_with(|c| c.turn = None).await;
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (visit_id, link) = visit_tomorrow(&app, &token, &seed).await;
    let mut problems = vec![];
    for lang in ["ja", "en"] {
        for (width, height) in [(390, 844), (1366, 768)] {
            let family = Browser::open(Engine::Chromium).await;
            family.resize(width, height).await;
            family
                .goto(&app.url(&format!("{link}/check?lang={lang}")))
                .await;
            let (result, figures) = run_check(&family, true).await;
            assert_eq!(result["verdict"], "cannot_connect", "{result} {figures}");
            family
                .screenshot_full(&format!("check-result-cannot-connect-{lang}-{width}"))
                .await;
            for violation in family.axe().await {
                problems.push(format!("{lang} {width}: {violation}"));
            }
        }
    }
    assert_eq!(
        check_in_api(&app, &token, &visit_id).await["verdict"],
        "cannot_connect"
    );
    assert!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
}

/// Every screen of the check at phone and laptop size in both languages: before the
/// tap, the steps while the chime question is asked, the steps and the verdict at the
/// end; axe-core on each.
#[tokio::test]
async fn the_check_screens_at_phone_and_laptop_size_in_both_languages() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, link) = visit_tomorrow(&app, &token, &seed).await;
    let mut problems = vec![];
    for lang in ["ja", "en"] {
        for (width, height) in [(390, 844), (1366, 768)] {
            let name = |stage: &str| format!("check-{stage}-{lang}-{width}");
            let family = Browser::open(Engine::Chromium).await;
            family.resize(width, height).await;
            family
                .goto(&app.url(&format!("{link}/check?lang={lang}")))
                .await;
            family.wait_for("#check-start").await;
            check(&family, &name("intro"), &mut problems).await;
            family.click("#check-start").await;
            family
                .wait_until(
                    "document.getElementById('speaker-yes').offsetParent !== null",
                    STEPS,
                )
                .await;
            family.screenshot_full(&name("steps")).await;
            for violation in family.axe().await {
                problems.push(format!("{}: {violation}", name("steps")));
            }
            family.click("#speaker-yes").await;
            family
                .wait_until("window.menkai.check.state() === 'done'", STEPS)
                .await;
            family.screenshot_full(&name("result-ready")).await;
            for violation in family.axe().await {
                problems.push(format!("{}: {violation}", name("result")));
            }
        }
    }
    assert!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
}

/// `scripts/bench-check`: the whole check (a person who answers at once) and its
/// network part on loopback, p50 of five runs. Prints; does not judge.
#[tokio::test]
#[ignore = "a benchmark: run scripts/bench-check"]
async fn bench_check() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, link) = visit_tomorrow(&app, &token, &seed).await;
    let (mut total, mut network) = (vec![], vec![]);
    for _ in 0..5 {
        let family = Browser::open(Engine::Chromium).await;
        family.goto(&app.url(&format!("{link}/check"))).await;
        let began = Instant::now();
        let (result, figures) = run_check(&family, true).await;
        assert_eq!(result["verdict"], "ready", "{result}");
        total.push(began.elapsed().as_millis());
        network.push(u128::from(figures["network_ms"].as_u64().unwrap_or(0)));
    }
    total.sort();
    network.sort();
    println!(
        "check on loopback, p50 of 5: whole {} ms (runs {total:?}), network part {} ms (runs {network:?})",
        total[2], network[2]
    );
}
