//! Devices say how they are: the device page reports its camera, microphone and
//! battery over its socket; staff see on the Devices page and, before a visit, on
//! Today whether every device is ready.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Browser, check, create_administrator};
use crate::support::{Seed, TestApp, monday_9am_tokyo, spawn_app_with_seed};

/// The device named `name` as `GET /api/v1/devices` lists it, once `ready` holds.
async fn device_listed(
    app: &TestApp,
    token: &str,
    name: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (status, devices) = app.api(reqwest::Method::GET, "/devices", token, None).await;
        assert_eq!(status, StatusCode::OK);
        if let Some(device) = devices
            .as_array()
            .and_then(|all| all.iter().find(|d| d["name"] == name))
            .filter(|d| ready(d))
        {
            return device.clone();
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(30),
            "{name} never got there: {devices}"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn devices_report_their_health_and_staff_see_a_tablet_without_camera_before_its_visit() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, good_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    let (bad_id, bad_token) = app.paired_device(&token, "ward", "Tablet 3F").await;
    // A visit on the tablet without camera, in half an hour.
    let seed = Seed {
        ward: bad_id,
        ..seed
    };
    let (status, _) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + chrono::Duration::minutes(30),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let good = Browser::start().await;
    good.goto(&app.url(&format!("/device#token={good_token}")))
        .await;
    // This browser refuses the camera and microphone to every page.
    let bad = Browser::start_with(&["--use-fake-ui-for-media-stream=deny".to_owned()]).await;
    bad.goto(&app.url(&format!("/device#token={bad_token}")))
        .await;

    let ready = device_listed(&app, &token, "Tablet 2F", |d| d["health"].is_object()).await;
    assert_eq!(ready["online"], true);
    assert_eq!(ready["health"]["camera"], true, "{ready}");
    assert_eq!(ready["health"]["microphone"], true);
    assert!(
        ready["health"]["browser"]
            .as_str()
            .is_some_and(|b| b.contains("Chrome"))
    );
    assert!(ready["last_seen_at"].is_string());
    // Its idle screen says so, large, for staff walking past.
    bad.wait_until(
        "!document.getElementById('media-warning').hidden",
        StdDuration::from_secs(10),
    )
    .await;
    check(&bad, "device-idle-no-camera", &mut Vec::new()).await;
    let blocked = device_listed(&app, &token, "Tablet 3F", |d| d["health"].is_object()).await;
    assert_eq!(blocked["health"]["camera"], false, "{blocked}");
    assert_eq!(blocked["health"]["microphone"], false);
    assert_eq!(blocked["health"]["camera_problem"], "denied");

    // Staff see it on the Devices page and, before the visit, on Today.
    let staff = Browser::start().await;
    staff.goto(&app.url(&app.setup_path())).await;
    create_administrator(&staff).await;
    let mut problems = vec![];
    for (lang, no_camera) in [
        ("ja", "使えるカメラがありません"),
        ("en", "no camera it can use"),
    ] {
        staff
            .goto(&app.url(&format!("/staff/devices?lang={lang}")))
            .await;
        assert!(
            staff.html().await.contains(no_camera),
            "{lang}: devices page"
        );
        check(&staff, &format!("devices-health-{lang}"), &mut problems).await;
        staff.goto(&app.url("/staff")).await;
        let today = staff.html().await;
        assert!(
            today.contains("device-alerts") && today.contains(no_camera),
            "{lang}: today"
        );
        check(
            &staff,
            &format!("today-device-warning-{lang}"),
            &mut problems,
        )
        .await;
    }
    assert!(problems.is_empty(), "accessibility problems: {problems:#?}");

    // A tablet that goes away is shown offline (its socket closed).
    drop(good);
    let gone = device_listed(&app, &token, "Tablet 2F", |d| d["online"] == false).await;
    assert_eq!(gone["health"]["camera"], true, "the last report is kept");

    // Staff remove the other tablet: its screen says so at once, in plain words.
    let bad_id = seed.ward.clone();
    let (status, _) = app
        .api_post(
            &format!("/devices/{bad_id}/revoke"),
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    bad.wait_until(
        "window.menkai.screen() === 'removed'",
        StdDuration::from_secs(10),
    )
    .await;
    assert_eq!(
        bad.eval("localStorage.getItem('menkai-device-token')")
            .await,
        Value::Null,
        "the dead token is forgotten"
    );
    check(&bad, "device-removed", &mut problems).await;
    assert!(problems.is_empty(), "accessibility problems: {problems:#?}");
}
