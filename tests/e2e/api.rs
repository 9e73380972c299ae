//! The JSON API's authentication and its resources.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn api_calls_without_a_valid_token_get_401() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/visits",
        "/api/v1/residents",
        "/api/v1/facility",
        "/api/v1/devices",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _) = app
        .api(reqwest::Method::GET, "/visits", "mk_not-a-real-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .api(reqwest::Method::GET, "/visits", "../../etc/passwd", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn facility_settings_round_trip_and_bad_settings_change_nothing() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    let settings = json!({
        "name": "さくら苑", "phone": "03-1234-5678", "time_zone": "Asia/Tokyo", "language": "ja", "slot_minutes": 30, "buffer_minutes": 15,
        "visiting_hours": [{"weekday": 1, "from": "10:00", "to": "12:00"}, {"weekday": 1, "from": "13:00", "to": "24:00"}]
    });
    let (status, _) = app
        .api(
            reqwest::Method::PUT,
            "/facility",
            &token,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = app
        .api(reqwest::Method::GET, "/facility", &token, None)
        .await;
    assert_eq!(got, settings);
    let mut bad = settings.clone();
    bad["time_zone"] = json!("Mars/Olympus");
    bad["slot_minutes"] = json!(0);
    let (status, body) = app
        .api(reqwest::Method::PUT, "/facility", &token, Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["fields"]["time_zone"]["code"],
        "unknown_time_zone"
    );
    assert_eq!(
        body["error"]["fields"]["slot_minutes"]["code"],
        "out_of_range"
    );
    let (_, still) = app
        .api(reqwest::Method::GET, "/facility", &token, None)
        .await;
    assert_eq!(still, settings);
}

#[tokio::test]
async fn a_device_pairs_once_with_its_code() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    let (status, device) = app
        .api_post(
            "/devices",
            &token,
            json!({"name": "Tablet", "kind": "ward"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = device["pairing_code"].as_str().expect("code").to_owned();
    let pair = |code: String| {
        let client = app.client.clone();
        let url = app.url("/api/v1/devices/pair");
        async move {
            client
                .post(url)
                .json(&json!({"code": code}))
                .send()
                .await
                .expect("request")
        }
    };
    let res = pair(code.replace(' ', "-")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(body["device_token"].as_str().is_some_and(|t| t.len() >= 32));
    let res = pair(code).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a code works once");
    let (_, devices) = app
        .api(reqwest::Method::GET, "/devices", &token, None)
        .await;
    assert_eq!(devices[0]["status"], "paired");
}

#[tokio::test]
async fn wrong_pairing_codes_are_throttled() {
    let app = spawn_app().await;
    let mut statuses = vec![];
    for _ in 0..5 {
        let res = app
            .client
            .post(app.url("/api/v1/devices/pair"))
            .json(&json!({"code": "0000 0000"}))
            .send()
            .await
            .expect("request");
        statuses.push(res.status());
    }
    assert_eq!(statuses[..3], [StatusCode::BAD_REQUEST; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn unknown_paths_and_oversized_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    let (status, body) = app
        .api(reqwest::Method::GET, "/nothing-here", &token, None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let huge = json!({"name": "x".repeat(100_000)});
    let (status, _) = app.api_post("/residents", &token, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, residents) = app
        .api(reqwest::Method::GET, "/residents", &token, None)
        .await;
    assert_eq!(residents, json!([]));
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(
        app.get_text("/healthz").await,
        (StatusCode::OK, "ok".to_owned())
    );
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("menkai_visits_today{state=\"scheduled\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_page_has_a_favicon_served_from_the_binary() {
    let app = spawn_app().await;
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        assert!(res.text().await.expect("body").starts_with("<svg"));
    }
    let (_, login) = app.get_text("/staff/login").await;
    assert!(login.contains(r#"<link rel="icon" href="/static/favicon.svg""#));
}
