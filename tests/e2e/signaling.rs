//! The signaling protocol over real WebSockets against the real server.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Seed, TestApp, Ws, monday_9am_tokyo, redirected_to, spawn_app_with_seed};

/// A visit that starts "now" (the test clock), with `guests` family links, on the
/// seeded ward tablet; returns the visit and the guests' tokens.
async fn visit_now(
    app: &TestApp,
    token: &str,
    seed: &Seed,
    guests: &[&str],
) -> (Value, Vec<String>) {
    let (status, visit) = app.book(token, seed, monday_9am_tokyo(), guests).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let tokens = visit["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["token"].as_str().expect("token").to_owned())
        .collect();
    (visit, tokens)
}

#[tokio::test]
async fn a_family_member_and_the_ward_tablet_meet_and_relay_signals() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, ward_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    // The tablet connects first thing in the morning: nothing booked yet.
    let (mut tablet, welcome) = Ws::hello(&app, &ward_token, None).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["visit"], Value::Null);
    assert_eq!(welcome["role"], "ward");
    // Paired device ≠ seeded device: book on the paired one.
    let (_, devices) = app
        .api(reqwest::Method::GET, "/devices", &token, None)
        .await;
    let ward_id = devices
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["name"] == "Tablet 2F")
        .expect("tablet")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let seed = Seed {
        ward: ward_id,
        ..seed
    };
    let (visit, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    // The visit is open: the scheduler seats the tablet, which hears which visit it is in.
    app.tick().await;
    let seated = tablet.recv_type("visit").await;
    assert_eq!(
        (seated["id"].clone(), seated["resident"].clone()),
        (visit["id"].clone(), json!("山田 花子"))
    );
    assert_eq!(seated["state"], "open");
    // The family member arrives and finds the tablet already there.
    let (mut family, welcome) = Ws::hello(&app, &guests[0], None).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "guest");
    assert_eq!(welcome["visit"]["id"], visit["id"]);
    assert_eq!(welcome["visit"]["state"], "live");
    assert!(welcome["resume"].as_str().is_some_and(|r| r.len() > 20));
    assert_eq!(welcome["peers"][0]["role"], "ward");
    let family_id = welcome["peer_id"].as_str().expect("peer id").to_owned();
    let tablet_id = welcome["peers"][0]["peer_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let joined = tablet.recv_type("peer-joined").await;
    assert_eq!(joined["peer"]["peer_id"], family_id.as_str());
    assert_eq!(joined["peer"]["name"], "Taro");
    app.tick().await;
    assert_eq!(
        tablet.recv_where("visit", "state", "live").await["state"],
        "live"
    );
    // Signals pass untouched, one way and the other.
    let data = json!({"description": {"type": "offer", "sdp": "v=0 …"}});
    family
        .send(json!({"type": "signal", "to": tablet_id, "data": data}))
        .await;
    let got = tablet.recv_type("signal").await;
    assert_eq!(
        (got["from"].clone(), got["data"].clone()),
        (json!(family_id), data)
    );
    tablet.send(json!({"type": "signal", "to": family_id, "data": {"candidate": {"candidate": "c", "sdpMid": "0", "sdpMLineIndex": 0}}})).await;
    assert_eq!(family.recv_type("signal").await["from"], tablet_id.as_str());
    // Ping.
    family.send(json!({"type": "ping"})).await;
    assert_eq!(family.recv_type("pong").await["type"], "pong");
}

#[tokio::test]
async fn each_refused_hello_gets_its_documented_code() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (mut ws, first) = Ws::hello(&app, "not-a-token", None).await;
    assert_eq!(first["code"], "invalid_token");
    assert!(ws.closed().await);

    let (visit, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    let id = visit["id"].as_str().expect("id");
    app.api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    let (mut ws, first) = Ws::hello(&app, &guests[0], None).await;
    assert_eq!(first["code"], "visit_cancelled");
    assert!(ws.closed().await);

    let (_, ended) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(1),
            &["Jiro"],
        )
        .await;
    let ended_token = ended["invitations"][0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    app.advance(Duration::hours(2));
    let (mut ws, first) = Ws::hello(&app, &ended_token, None).await;
    assert_eq!(first["code"], "link_expired");
    assert!(ws.closed().await);
}

#[tokio::test]
async fn a_guest_who_comes_too_early_waits_on_the_same_socket() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, visit) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(1),
            &["Taro"],
        )
        .await;
    let guest = visit["invitations"][0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (mut ws, first) = Ws::hello(&app, &guest, None).await;
    assert_eq!(first["code"], "too_early");
    assert!(!ws.closed().await, "the socket stays open");
    // 15 minutes before the start the link opens and the waiting guest is let in.
    app.advance(Duration::minutes(45));
    app.tick().await;
    let welcome = ws.recv_type("welcome").await;
    assert_eq!(welcome["visit"]["state"], "scheduled");
    // At the start the visit opens for everyone in it.
    app.advance(Duration::minutes(15));
    app.tick().await;
    assert_eq!(
        ws.recv_where("visit", "state", "open").await["state"],
        "open"
    );
}

#[tokio::test]
async fn nothing_but_hello_is_accepted_first_and_bad_frames_change_nothing() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    let mut ws = Ws::connect(&app).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["code"], "bad_message");
    ws.send(json!({"type": "hello", "token": guests[0]})).await;
    let w = ws.recv().await;
    assert_eq!(w["type"], "welcome", "{w}");
    for bad in [
        "{",
        "[]",
        r#"{"type":"shout"}"#,
        r#"{"type":"signal","to":"x"}"#,
        r#"{"type":"hello","token":"again"}"#,
    ] {
        ws.send_text(bad.to_owned()).await;
        assert_eq!(ws.recv_type("error").await["code"], "bad_message", "{bad}");
    }
    ws.send(json!({"type": "signal", "to": "nobody", "data": {}}))
        .await;
    assert_eq!(ws.recv_type("error").await["code"], "unknown_peer");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(
        ws.recv_type("pong").await["type"],
        "pong",
        "still connected and working"
    );
}

/// Over 64 KiB, whatever the size: the client is told `message_too_large` before the
/// close (the server stops reading a huge frame at its header).
#[tokio::test]
async fn an_oversized_frame_of_any_size_gets_message_too_large_before_the_close() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    for kib in [65, 100, 1024, 8 * 1024] {
        let (ws, _) = Ws::hello(&app, &guests[0], None).await;
        let big = json!({"type": "signal", "to": "x", "data": {"blob": "x".repeat(kib * 1024)}});
        let (frames, closed) = ws.send_while_reading(big.to_string()).await;
        assert!(
            frames
                .iter()
                .any(|f| f["type"] == "error" && f["code"] == "message_too_large"),
            "{kib} KiB: {frames:?}"
        );
        assert!(closed, "{kib} KiB: the socket is closed");
    }
}

#[tokio::test]
async fn a_flood_of_frames_is_rate_limited() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    let (mut ws, _) = Ws::hello(&app, &guests[0], None).await;
    for _ in 0..500 {
        ws.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    while let Some(frame) = ws.try_recv(std::time::Duration::from_millis(500)).await {
        match frame["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if frame["code"] == "rate_limited" => limited += 1,
            _ => {}
        }
    }
    assert!(limited >= 1, "told it was limited");
    assert!(
        pongs < 200,
        "most of the flood was dropped ({pongs} answered)"
    );
}

#[tokio::test]
async fn two_visits_at_the_same_time_never_hear_each_other() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, other_resident) = app
        .api_post("/residents", &token, json!({"name": "鈴木 一郎"}))
        .await;
    let (_, other_tablet) = app
        .api_post("/devices", &token, json!({"name": "3F", "kind": "ward"}))
        .await;
    let other = Seed {
        resident: other_resident["id"].as_str().expect("id").into(),
        ward: other_tablet["id"].as_str().expect("id").into(),
        kiosk: seed.kiosk.clone(),
    };
    let (_, a_guests) = visit_now(&app, &token, &seed, &["A1", "A2"]).await;
    let (_, b_guests) = visit_now(&app, &token, &other, &["B1"]).await;
    let (mut a1, a1_welcome) = Ws::hello(&app, &a_guests[0], None).await;
    let (_a2, _) = Ws::hello(&app, &a_guests[1], None).await;
    let (mut b1, b_welcome) = Ws::hello(&app, &b_guests[0], None).await;
    assert_eq!(b_welcome["peers"], json!([]), "B sees nobody from A");
    a1.recv_type("peer-joined").await;
    let a1_id = a1_welcome["peer_id"].as_str().expect("id").to_owned();
    let b1_id = b_welcome["peer_id"].as_str().expect("id").to_owned();
    a1.send(json!({"type": "signal", "to": b1_id, "data": {"x": 1}}))
        .await;
    assert_eq!(a1.recv_type("error").await["code"], "unknown_peer");
    b1.send(json!({"type": "signal", "to": a1_id, "data": {"x": 1}}))
        .await;
    assert_eq!(b1.recv_type("error").await["code"], "unknown_peer");
    // B may hear about its own visit's state, but nothing from A's visit.
    while let Some(frame) = b1.try_recv(std::time::Duration::from_millis(300)).await {
        assert!(
            frame["type"] == "visit" && frame.get("id").is_none(),
            "B got something of A's: {frame}"
        );
    }
}

/// One invitation, one seat: the same link opened on another phone (or a reloaded
/// page) takes the seat over, the older socket is told so, and the others see the old
/// peer leave and the new one join. However often it happens, the other family members
/// are never locked out.
#[tokio::test]
async fn a_second_socket_on_one_invitation_replaces_the_first() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["A", "B", "C"]).await;
    let (mut a, a_welcome) = Ws::hello(&app, &guests[0], None).await;
    let (mut b, _) = Ws::hello(&app, &guests[1], None).await;
    let mut seated = a_welcome["peer_id"].clone();
    for _ in 0..4 {
        let (again, welcome) = Ws::hello(&app, &guests[0], None).await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_ne!(welcome["peer_id"], seated, "a new device is a new peer");
        let told = a.recv_type("error").await;
        assert_eq!(told["code"], "joined_elsewhere");
        assert!(a.closed().await, "the older socket is closed");
        assert_eq!(b.recv_type("peer-left").await["peer_id"], seated);
        assert_eq!(
            b.recv_type("peer-joined").await["peer"]["peer_id"],
            welcome["peer_id"]
        );
        seated = welcome["peer_id"].clone();
        a = again;
    }
    // The third family member still gets in: the link's replays held no extra seats.
    let (_c, c_welcome) = Ws::hello(&app, &guests[2], None).await;
    assert_eq!(c_welcome["type"], "welcome", "{c_welcome}");
    assert_eq!(c_welcome["peers"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_dropped_socket_resumes_as_the_same_peer_and_nobody_sees_it_leave() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["A", "B"]).await;
    let (mut a, a_welcome) = Ws::hello(&app, &guests[0], None).await;
    let (b, b_welcome) = Ws::hello(&app, &guests[1], None).await;
    assert_eq!(
        a.recv_type("peer-joined").await["peer"]["peer_id"],
        b_welcome["peer_id"]
    );
    drop(b); // the network dropped: no leave frame
    let resume = b_welcome["resume"].as_str().expect("resume");
    let (_b, again) = Ws::hello(&app, &guests[1], Some(resume)).await;
    assert_eq!(again["type"], "welcome");
    assert_eq!(again["peer_id"], b_welcome["peer_id"], "same peer id");
    assert_eq!(again["peers"][0]["peer_id"], a_welcome["peer_id"]);
    app.tick().await;
    while let Some(frame) = a.try_recv(std::time::Duration::from_millis(500)).await {
        assert_ne!(frame["type"], "peer-left", "A never saw B leave: {frame}");
        assert_ne!(frame["type"], "peer-joined", "nor join again: {frame}");
    }
    // A resume token works only with its own link.
    let (_, other) = Ws::hello(&app, &guests[0], Some(resume)).await;
    assert_ne!(other["peer_id"], b_welcome["peer_id"]);
}

#[tokio::test]
async fn leaving_is_seen_at_once() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["A", "B"]).await;
    let (mut a, _) = Ws::hello(&app, &guests[0], None).await;
    let (mut b, b_welcome) = Ws::hello(&app, &guests[1], None).await;
    a.recv_type("peer-joined").await;
    b.send(json!({"type": "leave"})).await;
    assert_eq!(
        a.recv_type("peer-left").await["peer_id"],
        b_welcome["peer_id"]
    );
}

#[tokio::test]
async fn the_end_of_the_visit_and_an_extension_reach_every_peer() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit, guests) = visit_now(&app, &token, &seed, &["A", "B"]).await;
    let id = visit["id"].as_str().expect("id");
    let (mut a, _) = Ws::hello(&app, &guests[0], None).await;
    let (mut b, _) = Ws::hello(&app, &guests[1], None).await;
    a.recv_type("peer-joined").await;
    app.tick().await;
    let (status, extended) = app
        .api_post(
            &format!("/visits/{id}/extend"),
            &token,
            json!({"minutes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{extended}");
    app.tick().await;
    let new_end = extended["ends_at"].as_str().expect("ends_at");
    for ws in [&mut a, &mut b] {
        let frame = ws.recv_where("visit", "ends_at", new_end).await;
        assert_eq!(frame["ends_at"], extended["ends_at"], "{frame}");
    }
    app.advance(Duration::minutes(30));
    app.tick().await;
    for ws in [&mut a, &mut b] {
        assert_eq!(
            ws.recv_where("visit", "state", "ended").await["state"],
            "ended"
        );
        assert!(ws.closed().await, "a guest's socket closes after the end");
    }
}

#[tokio::test]
async fn staff_see_who_is_connected_and_can_end_the_visit() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (visit, guests) = visit_now(&app, &token, &seed, &["Taro", "Jiro"]).await;
    let (mut a, _) = Ws::hello(&app, &guests[0], None).await;
    let (_b, _) = Ws::hello(&app, &guests[1], None).await;
    app.login_as_admin().await;
    let (_, today) = app.get_text("/staff").await;
    assert!(today.contains("Taro") && today.contains("Jiro"));
    assert!(
        today.contains("badge state-live"),
        "two people connected: live"
    );
    let id = visit["id"].as_str().expect("id");
    let res = app
        .post_form("/staff", &format!("/staff/visits/{id}/end"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.tick().await;
    assert_eq!(
        a.recv_where("visit", "state", "ended").await["state"],
        "ended"
    );
}

/// Staff's decisions reach live sockets at once: a revoked device, a replaced link, a
/// cancelled visit each end the matching socket with its documented code.
#[tokio::test]
async fn revoking_replacing_and_cancelling_end_the_matching_sockets_at_once() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (device_id, device_token) = app.paired_device(&token, "ward", "Tablet 3F").await;
    let (mut tablet, welcome) = Ws::hello(&app, &device_token, None).await;
    assert_eq!(welcome["type"], "welcome");
    let (status, _) = app
        .api_post(&format!("/devices/{device_id}/revoke"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tablet.recv_type("error").await["code"], "device_revoked");
    assert!(tablet.closed().await);
    let (_, again) = Ws::hello(&app, &device_token, None).await;
    assert_eq!(again["code"], "invalid_token", "the old token is dead");

    // A replaced link: its guest leaves the call at once.
    let (visit, guests) = visit_now(&app, &token, &seed, &["Taro", "Jiro"]).await;
    let (mut taro, _) = Ws::hello(&app, &guests[0], None).await;
    let (mut jiro, jiro_welcome) = Ws::hello(&app, &guests[1], None).await;
    taro.recv_type("peer-joined").await;
    app.login_as_admin().await;
    let visit_id = visit["id"].as_str().expect("id");
    let jiro_id = visit["guests"][1]["id"].as_str().expect("guest id");
    let page = format!("/staff/visits/{visit_id}");
    let res = app
        .post_form(&page, &format!("{page}/guests/{jiro_id}/link"), &[])
        .await;
    let shown = redirected_to(&res);
    let html = app.get_text(&shown).await.1;
    assert!(
        html.contains("<title>新しいリンク") || html.contains("<title>A new link"),
        "the page says it is a new link, not a booking"
    );
    assert_eq!(jiro.recv_type("error").await["code"], "link_replaced");
    assert!(jiro.closed().await);
    assert_eq!(
        taro.recv_type("peer-left").await["peer_id"],
        jiro_welcome["peer_id"]
    );

    // A cancelled visit: the guests still in it are told so.
    let (status, _) = app
        .api_post(&format!("/visits/{visit_id}/cancel"), &token, json!({}))
        .await;
    assert!(status.is_success());
    app.tick().await;
    assert_eq!(
        taro.recv_where("visit", "state", "cancelled").await["state"],
        "cancelled"
    );
    assert_eq!(taro.recv_type("error").await["code"], "visit_cancelled");
    assert!(taro.closed().await);
}

#[tokio::test]
async fn a_device_hears_at_once_when_its_visits_of_today_change() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_id, ward_token) = app.paired_device(&token, "ward", "2F tablet").await;
    let mut on_ward = seed.clone();
    on_ward.ward = ward_id;
    let eleven = monday_9am_tokyo() + Duration::hours(2);
    let (_, first) = app.book(&token, &on_ward, eleven, &["Taro"]).await;
    let (_, second) = app
        .book(&token, &on_ward, eleven + Duration::hours(2), &["Jiro"])
        .await;
    let (mut ws, welcome) = Ws::hello(&app, &ward_token, None).await;
    assert_eq!(
        welcome["schedule"].as_array().map(Vec::len),
        Some(2),
        "{welcome}"
    );

    // Cancelled: it leaves the tablet's list without a reload.
    let first_id = first["id"].as_str().expect("id");
    app.api_post(&format!("/visits/{first_id}/cancel"), &token, json!({}))
        .await;
    app.tick().await;
    let schedule = ws.recv_type("schedule").await;
    let entries = schedule["schedule"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{schedule}");
    assert_eq!(entries[0]["id"], second["id"]);

    // Moved to 14:00 by staff: the list shows the new time.
    app.login_as_admin().await;
    let second_id = second["id"].as_str().expect("id");
    let page = format!("/staff/visits/{second_id}");
    let res = app
        .post_form(
            &page,
            &format!("{page}/reschedule"),
            &[
                ("date", "2030-01-07"),
                ("time", "14:00"),
                ("duration", "20"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.tick().await;
    let schedule = ws.recv_type("schedule").await;
    assert_eq!(
        schedule["schedule"][0]["starts_at"]
            .as_str()
            .map(|s| s.starts_with("2030-01-07T05:00:00")),
        Some(true),
        "{schedule}"
    );
}

#[tokio::test]
async fn metrics_count_hellos_sockets_and_live_rooms() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, guests) = visit_now(&app, &token, &seed, &["Taro", "Jiro"]).await;
    let (_taro, _) = Ws::hello(&app, &guests[0], None).await;
    let (_jiro, _) = Ws::hello(&app, &guests[1], None).await;
    let (mut nobody, refused) = Ws::hello(&app, "not-a-token", None).await;
    assert_eq!(refused["code"], "invalid_token");
    assert!(nobody.closed().await);
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "menkai_signaling_hellos_total{outcome=\"welcome\"} 2",
        "menkai_signaling_hellos_total{outcome=\"invalid_token\"} 1",
        "menkai_signaling_sockets 2",
        "menkai_rooms 1",
        "menkai_rooms_live 1",
        "menkai_visits_today{state=\"live\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

/// The waiting room is private: two households who come early for the same visit are
/// seated but learn nothing of each other (no peers, no `peer-joined`, no signal gets
/// through) until the visit starts; then each is introduced to the other at once.
#[tokio::test]
async fn families_waiting_before_the_start_meet_only_when_it_starts() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let start = monday_9am_tokyo() + chrono::Duration::minutes(10);
    let (status, visit) = app.book(&token, &seed, start, &["Taro", "Hanako"]).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let tokens: Vec<String> = visit["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["token"].as_str().expect("token").to_owned())
        .collect();
    let (mut taro, first) = Ws::hello(&app, &tokens[0], None).await;
    let (mut hanako, second) = Ws::hello(&app, &tokens[1], None).await;
    for welcome in [&first, &second] {
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["visit"]["state"], "scheduled");
        assert_eq!(welcome["peers"], json!([]), "nobody to see yet: {welcome}");
    }
    assert!(
        nothing_about_others(&mut taro).await,
        "Taro is not told that Hanako came"
    );
    let hanako_id = second["peer_id"].as_str().expect("peer id");
    taro.send(json!({"type": "signal", "to": hanako_id, "data": {"description": {"type": "offer", "sdp": "v=0"}}}))
        .await;
    assert_eq!(taro.recv_type("error").await["code"], "unknown_peer");
    assert!(
        nothing_about_others(&mut hanako).await,
        "no offer reaches Hanako before the start"
    );

    app.advance(chrono::Duration::minutes(10));
    app.tick().await;
    let met = taro.recv_type("peer-joined").await;
    assert_eq!(met["peer"]["peer_id"], second["peer_id"]);
    let met = hanako.recv_type("peer-joined").await;
    assert_eq!(met["peer"]["peer_id"], first["peer_id"]);
}

/// Whether, for half a second, the socket hears nothing of another peer (it may hear
/// of the visit itself).
async fn nothing_about_others(ws: &mut Ws) -> bool {
    while let Some(frame) = ws.try_recv(std::time::Duration::from_millis(500)).await {
        if matches!(
            frame["type"].as_str(),
            Some("peer-joined" | "peer-left" | "signal")
        ) {
            return false;
        }
    }
    true
}

/// The family is in the visit first; the ward tablet's page opens afterwards (switched
/// on late, or reloaded): the family is told at once.
#[tokio::test]
async fn a_tablet_that_comes_after_the_family_is_announced_to_it() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_id, ward_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    let seed = Seed {
        ward: ward_id,
        ..seed
    };
    let (_, guests) = visit_now(&app, &token, &seed, &["Taro"]).await;
    let (mut family, welcome) = Ws::hello(&app, &guests[0], None).await;
    assert_eq!(welcome["peers"], json!([]), "{welcome}");
    let (_tablet, tablet_welcome) = Ws::hello(&app, &ward_token, None).await;
    assert_eq!(
        tablet_welcome["peers"][0]["peer_id"], welcome["peer_id"],
        "{tablet_welcome}"
    );
    let joined = family.recv_type("peer-joined").await;
    assert_eq!(joined["peer"]["role"], "ward", "{joined}");
}
