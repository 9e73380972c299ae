//! Booking rules through the API: no double booking, buffers, hours, the past, races.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{monday_9am_tokyo, redirected_to, spawn_app_with_seed};

#[tokio::test]
async fn a_visit_booked_through_the_api_returns_one_link_per_guest() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let start = monday_9am_tokyo() + Duration::hours(1);
    let (status, visit) = app.book(&token, &seed, start, &["Taro", "Jiro"]).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    assert_eq!(visit["starts_at"], start.to_rfc3339());
    assert_eq!(
        visit["ends_at"],
        (start + Duration::minutes(20)).to_rfc3339()
    );
    assert_eq!(visit["state"], "scheduled");
    let invitations = visit["invitations"].as_array().expect("invitations");
    assert_eq!(invitations.len(), 2);
    for inv in invitations {
        let url = inv["url"].as_str().expect("url");
        let token = inv["token"].as_str().expect("token");
        assert_eq!(
            url,
            format!("{}/v/{token}", app.base),
            "link starts with the public URL"
        );
        assert!(token.len() >= 22, "at least 128 bits of randomness");
    }
    assert_ne!(invitations[0]["token"], invitations[1]["token"]);
}

#[tokio::test]
async fn the_same_resident_cannot_be_booked_twice_at_once() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, other_tablet) = app
        .api_post(
            "/devices",
            &token,
            json!({"name": "3F tablet", "kind": "ward"}),
        )
        .await;
    let start = monday_9am_tokyo() + Duration::hours(1);
    assert_eq!(
        app.book(&token, &seed, start, &["Taro"]).await.0,
        StatusCode::CREATED
    );
    let mut elsewhere = seed.clone();
    elsewhere.ward = other_tablet["id"].as_str().expect("id").to_owned();
    let (status, body) = app
        .book(&token, &elsewhere, start + Duration::minutes(10), &["Jiro"])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "resident_busy");
}

#[tokio::test]
async fn a_shared_tablet_keeps_its_cleaning_buffer() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, other) = app
        .api_post(
            "/residents",
            &token,
            json!({"name": "鈴木 一郎", "room": "305"}),
        )
        .await;
    let start = monday_9am_tokyo() + Duration::hours(1);
    assert_eq!(
        app.book(&token, &seed, start, &["Taro"]).await.0,
        StatusCode::CREATED
    );
    let mut second = seed.clone();
    second.resident = other["id"].as_str().expect("id").to_owned();
    // The first visit ends at +20 min; the default buffer is 10 minutes.
    let (status, body) = app
        .book(&token, &second, start + Duration::minutes(25), &["Ken"])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "device_busy");
    let (status, _) = app
        .book(&token, &second, start + Duration::minutes(30), &["Ken"])
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "after the buffer the tablet is free"
    );
}

#[tokio::test]
async fn visits_outside_visiting_hours_or_in_the_past_are_refused_per_field() {
    let (app, token, seed) = spawn_app_with_seed().await;
    // 17:00 Tokyo: visiting hours end then.
    let (status, body) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(8),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_input");
    assert_eq!(
        body["error"]["fields"]["starts_at"]["code"],
        "outside_visiting_hours"
    );
    let (status, body) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() - Duration::minutes(6),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"]["starts_at"]["code"], "in_the_past");
    let visits = app.visits_on_monday(&token).await;
    assert_eq!(visits, json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_visit_that_starts_now_can_be_booked() {
    let (app, token, seed) = spawn_app_with_seed().await;
    app.advance(Duration::minutes(3));
    let (status, body) = app.book(&token, &seed, monday_9am_tokyo(), &["Taro"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "open");
}

#[tokio::test]
async fn bad_booking_input_gets_field_errors_and_changes_nothing() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (status, body) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": "nobody", "starts_at": "tomorrow", "mode": "carrier-pigeon", "ward_device_id": seed.ward, "guests": []}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"]["starts_at"]["code"], "invalid_time");
    assert_eq!(body["error"]["fields"]["mode"]["code"], "invalid_choice");
    let (status, body) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": "nobody", "starts_at": (monday_9am_tokyo() + Duration::hours(1)).to_rfc3339(),
                   "mode": "entrance", "ward_device_id": seed.kiosk, "entrance_device_id": seed.ward, "guests": []}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = &body["error"]["fields"];
    assert_eq!(fields["resident_id"]["code"], "unknown_resident");
    assert_eq!(fields["ward_device_id"]["code"], "wrong_device_kind");
    assert_eq!(fields["entrance_device_id"]["code"], "wrong_device_kind");
    let res = app
        .client
        .post(app.url("/api/v1/visits"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "bad_json");
}

#[tokio::test]
async fn fifty_requests_racing_for_one_slot_give_exactly_one_visit() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let start = monday_9am_tokyo() + Duration::hours(2);
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..50 {
        let client = app.client.clone();
        let url = app.url("/api/v1/visits");
        let token = token.clone();
        let body = json!({
            "resident_id": seed.resident, "starts_at": start.to_rfc3339(), "mode": "remote",
            "ward_device_id": seed.ward, "guests": [{"name": format!("Guest {n}")}],
        });
        racers.spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        });
    }
    let mut created = 0;
    let mut conflicts = 0;
    while let Some(result) = racers.join_next().await {
        match result.expect("task").expect("response") {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    let visits = app.visits_on_monday(&token).await;
    assert_eq!(visits.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn extending_into_the_next_visit_is_refused_and_ending_frees_the_tablet() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, other) = app
        .api_post("/residents", &token, json!({"name": "鈴木 一郎"}))
        .await;
    let start = monday_9am_tokyo() + Duration::hours(1);
    let (_, first) = app.book(&token, &seed, start, &["Taro"]).await;
    let mut second_seed = seed.clone();
    second_seed.resident = other["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .book(
            &token,
            &second_seed,
            start + Duration::minutes(30),
            &["Ken"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = first["id"].as_str().expect("id");
    let (status, body) = app
        .api_post(
            &format!("/visits/{id}/extend"),
            &token,
            json!({"minutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .api_post(&format!("/visits/{id}/end"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("visit_not_started"))
    );
    app.advance(Duration::hours(1) + Duration::minutes(5));
    let (status, body) = app
        .api_post(&format!("/visits/{id}/end"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["state"].clone()),
        (StatusCode::OK, json!("ended"))
    );
}

#[tokio::test]
async fn today_offers_extend_only_when_the_time_is_free_and_says_so_when_it_was_taken() {
    let (app, token, seed) = spawn_app_with_seed().await;
    app.login_as_admin().await;
    let (_, other) = app
        .api_post("/residents", &token, json!({"name": "鈴木 一郎"}))
        .await;
    let mut other_seed = seed.clone();
    other_seed.resident = other["id"].as_str().expect("id").to_owned();
    let start = monday_9am_tokyo() + Duration::hours(1);
    let (_, first) = app.book(&token, &seed, start, &["Taro"]).await;
    let id = first["id"].as_str().expect("id");
    // The same tablet at 11:00: with the 10-minute break, 30 minutes are free after 10:20.
    let (status, _) = app
        .book(&token, &other_seed, start + Duration::minutes(60), &["Ken"])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.advance(Duration::hours(1) + Duration::minutes(5));
    let (_, html) = app.get_text("/staff?lang=en").await;
    assert!(
        html.contains(&format!("/staff/visits/{id}/extend")),
        "{html}"
    );
    assert!(html.contains("free for 30 more min"), "{html}");

    // Someone books 10:30 meanwhile; the extend pressed on the old page is refused on
    // Today itself, in plain words, and Extend is no longer offered.
    let (status, _) = app
        .book(
            &token,
            &other_seed,
            start + Duration::minutes(30),
            &["Jiro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let res = app
        .post_form("/staff", &format!("/staff/visits/{id}/extend"), &[])
        .await;
    let location = redirected_to(&res);
    assert_eq!(location, "/staff?notice=extend-conflict");
    let (status, html) = app.get_text(&format!("{location}&lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The visit was not extended"), "{html}");
    assert!(
        !html.contains(&format!("/staff/visits/{id}/extend")),
        "{html}"
    );
    assert!(
        html.contains("Cannot extend: the next visit follows"),
        "{html}"
    );
    let (_, visit) = app
        .api(reqwest::Method::GET, &format!("/visits/{id}"), &token, None)
        .await;
    assert!(
        visit["ends_at"].as_str().expect("end").contains("01:20:00"),
        "{visit}"
    );
    // An unknown notice shows nothing.
    let (_, html) = app.get_text("/staff?notice=%3Cscript%3E&lang=en").await;
    assert!(!html.contains("alert danger\" role=\"alert\"><"), "{html}");
}
