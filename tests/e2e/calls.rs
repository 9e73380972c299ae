//! Whole visits in headless Chromium with fake camera and microphone: the device page
//! joins by itself, the family's link joins by itself, and both see and hear each other.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::Browser;
use crate::helpers::{Seed, TestApp, monday_9am_tokyo, path_of, spawn_app_with_seed};

/// Pairs a ward tablet, books a remote visit on it starting now, and returns the
/// device token and the family links.
async fn remote_visit_now(
    app: &TestApp,
    token: &str,
    seed: &Seed,
    guests: &[&str],
) -> (String, Vec<String>) {
    let (ward_id, ward_token) = app.paired_device(token, "ward", "Tablet 2F").await;
    let seed = Seed {
        ward: ward_id,
        ..seed.clone()
    };
    let (status, visit) = app.book(token, &seed, monday_9am_tokyo(), guests).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let links = visit["invitations"]
        .as_array()
        .expect("links")
        .iter()
        .map(|i| path_of(i["url"].as_str().expect("url")))
        .collect();
    (ward_token, links)
}

fn frames(stats: &Value) -> u64 {
    stats
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["framesDecoded"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn the_family_and_the_ward_tablet_see_and_hear_each_other_with_no_touch() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (ward_token, links) = remote_visit_now(&app, &token, &seed, &["Taro"]).await;
    let tablet = Browser::start().await;
    tablet
        .goto(&app.url(&format!("/device#token={ward_token}")))
        .await;
    let family = Browser::start().await;
    family.goto(&app.url(&links[0])).await;
    let family_stats = family.wait_for_media(1, StdDuration::from_secs(30)).await;
    let tablet_stats = tablet.wait_for_media(1, StdDuration::from_secs(30)).await;
    assert_eq!(family_stats[0]["role"], "ward");
    assert_eq!(tablet_stats[0]["role"], "guest");
    assert!(frames(&family_stats) > 0 && frames(&tablet_stats) > 0);
    // The token left the address bar at once.
    let url = tablet.client.current_url().await.expect("url");
    assert!(
        url.fragment().is_none(),
        "the device token was cleared from the address: {url}"
    );
}
