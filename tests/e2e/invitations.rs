//! What families receive: the visit link in each state, its QR code and calendar file.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, monday_9am_tokyo, path_of, redirected_to, spawn_app};

/// A visit an hour from "now", and the path of its first guest's link.
async fn booked_visit(app: &TestApp) -> (String, Value, String) {
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    let (status, visit) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(1),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let link = path_of(visit["invitations"][0]["url"].as_str().expect("url"));
    (token, visit, link)
}

fn state_of(html: &str) -> &str {
    let marker = "class=\"family-card state-";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a family page");
    html[start..].split('"').next().unwrap_or_default()
}

#[tokio::test]
async fn the_link_opens_fifteen_minutes_before_the_start_and_closes_at_the_end() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    // "Now" is 60 minutes before the start.
    let (status, html) = app.get_text(&link).await;
    assert_eq!((status, state_of(&html)), (StatusCode::OK, "too_early"));
    assert!(
        html.contains("9:45"),
        "says when the link opens, in Tokyo time"
    );
    assert!(html.contains("10:00"), "and when the visit starts");
    assert!(
        html.contains("data-seconds=\"3600\""),
        "with a live countdown from the server's clock"
    );
    app.advance(Duration::minutes(44));
    assert_eq!(state_of(&app.get_text(&link).await.1), "too_early");
    app.advance(Duration::minutes(1));
    assert_eq!(state_of(&app.get_text(&link).await.1), "waiting");
    app.advance(Duration::minutes(15));
    assert_eq!(state_of(&app.get_text(&link).await.1), "open");
    app.advance(Duration::minutes(20) - Duration::seconds(1));
    assert_eq!(state_of(&app.get_text(&link).await.1), "open");
    app.advance(Duration::seconds(1));
    let (status, html) = app.get_text(&link).await;
    assert_eq!((status, state_of(&html)), (StatusCode::GONE, "ended"));
}

#[tokio::test]
async fn a_cancelled_visit_link_shows_the_cancelled_page() {
    let app = spawn_app().await;
    let (token, visit, link) = booked_visit(&app).await;
    let id = visit["id"].as_str().expect("id");
    let (status, body) = app
        .api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let (status, html) = app.get_text(&link).await;
    assert_eq!((status, state_of(&html)), (StatusCode::GONE, "cancelled"));
    assert_eq!(
        app.get(&format!("{link}/qr.svg")).await.status(),
        StatusCode::NOT_FOUND,
        "no QR for a dead link"
    );
    let (status, body) = app
        .api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("visit_cancelled"))
    );
}

#[tokio::test]
async fn an_unknown_link_says_so_in_the_visitors_language() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/v/NoSuchTokenAtAll"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.expect("body");
    assert_eq!(state_of(&html), "unknown");
    assert!(html.contains("lang=\"en\"") && html.contains("This link does not work"));
    let res = app
        .client
        .get(app.url("/v/NoSuchTokenAtAll"))
        .header("accept-language", "ja")
        .send()
        .await
        .expect("request");
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("このリンクは使えません")
    );
}

#[tokio::test]
async fn the_language_switch_sticks() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    let (_, html) = app.get_text(&format!("{link}?lang=en")).await;
    assert!(html.contains("lang=\"en\""));
    let res = app
        .client
        .get(app.url(&link))
        .header("accept-language", "ja")
        .send()
        .await
        .expect("request");
    assert!(
        res.text().await.expect("body").contains("lang=\"en\""),
        "the explicit choice wins over the browser"
    );
}

#[tokio::test]
async fn a_replaced_link_says_a_newer_one_was_sent() {
    let app = spawn_app().await;
    let (_, visit, old_link) = booked_visit(&app).await;
    let before = link_state(&app, &old_link).await;
    assert!(before.starts_with("too_early/"), "{before}");
    app.login_as_admin().await;
    let id = visit["id"].as_str().expect("id");
    let guest = visit["guests"][0]["id"].as_str().expect("guest id");
    let res = app
        .post_form(
            &format!("/staff/visits/{id}"),
            &format!("/staff/visits/{id}/guests/{guest}/link"),
            &[],
        )
        .await;
    // Post, then redirect: the page of the new link can be reloaded.
    let shown = redirected_to(&res);
    let (status, html) = app.get_text(&shown).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get_text(&shown).await.1,
        html,
        "a reload shows the same link"
    );
    let new_link = html
        .split("/v/")
        .nth(1)
        .and_then(|s| s.split(['/', '"']).next())
        .expect("a new link on the page");
    assert_eq!(
        state_of(&app.get_text(&format!("/v/{new_link}")).await.1),
        "too_early"
    );
    let (status, html) = app.get_text(&old_link).await;
    assert_eq!((status, state_of(&html)), (StatusCode::GONE, "replaced"));
    // What a waiting page opened earlier asks: it now differs, so that page reloads.
    let after = link_state(&app, &old_link).await;
    assert!(after.starts_with("replaced/"), "{after}");
}

/// `GET {link}/state`: what a family's waiting page compares with the one it shows.
async fn link_state(app: &TestApp, link: &str) -> String {
    let (status, body) = app.get_text(&format!("{link}/state")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value: Value = serde_json::from_str(&body).expect("JSON");
    value["state"].as_str().expect("a state").to_owned()
}

/// A family's page opened long before the visit (it has no socket yet) learns by
/// itself that staff cancelled the visit: it shows "cancelled" without anyone
/// touching it, well before the time it would have reloaded at.
#[tokio::test]
async fn a_page_opened_long_before_learns_of_a_cancellation_by_itself() {
    use std::time::{Duration as StdDuration, Instant};
    let app = spawn_app().await;
    let (token, visit, link) = booked_visit(&app).await;
    let browser = crate::support::Browser::start().await;
    browser.goto(&app.url(&link)).await;
    browser.wait_for(".family-card.state-too_early").await;
    let id = visit["id"].as_str().expect("id");
    let (status, _) = app
        .api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    assert!(status.is_success());
    let since = Instant::now();
    browser
        .wait_until(
            "document.querySelector('.family-card.state-cancelled') !== null",
            StdDuration::from_secs(25),
        )
        .await;
    println!(
        "the open page showed the cancellation after {:?}",
        since.elapsed()
    );
}

#[tokio::test]
async fn the_qr_code_decodes_to_exactly_the_visit_url() {
    let app = spawn_app().await;
    let (_, visit, link) = booked_visit(&app).await;
    let res = app.get(&format!("{link}/qr.svg")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.expect("svg");
    let tree =
        resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).expect("valid SVG");
    let size = tree.size().to_int_size();
    let (w, h) = (size.width() * 2, size.height() * 2);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).expect("pixmap");
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    let pixels = pixmap.data();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        pixels[(y * w as usize + x) * 4]
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, content) = grids[0].decode().expect("decodes");
    assert_eq!(
        content,
        visit["invitations"][0]["url"].as_str().expect("url")
    );
}

#[tokio::test]
async fn the_calendar_file_parses_and_starts_at_the_booked_instant() {
    let app = spawn_app().await;
    let (_, visit, link) = booked_visit(&app).await;
    let res = app.get(&format!("{link}/invite.ics")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/calendar")
    );
    let text = res.text().await.expect("ics");
    assert!(
        text.contains("\r\n") && text.lines().all(|l| l.len() <= 76),
        "CRLF lines of at most 75 octets"
    );
    let unfolded = icalendar::parser::unfold(&text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let names: Vec<String> = calendar
        .components
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(names, ["VTIMEZONE", "VEVENT"]);
    let event = &calendar.components[1];
    let (_, utc) = crate::support::event_start(event);
    assert_eq!(
        utc.to_rfc3339(),
        visit["starts_at"].as_str().expect("start")
    );
    let url = event.find_prop("URL").expect("URL");
    assert_eq!(
        url.val.as_str(),
        visit["invitations"][0]["url"].as_str().expect("url")
    );
}

#[tokio::test]
async fn the_print_card_shows_the_resident_the_time_and_the_qr_code() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    let (status, html) = app.get_text(&format!("{link}/card?in=ja")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("山田 花子"));
    assert!(html.contains("10:00–10:20"));
    assert!(html.contains(&format!("{link}/qr.svg")));
    assert_eq!(html.matches("<li>").count(), 3, "three steps");
}

/// A staff member working in English prints a Japanese card and saves a Japanese
/// calendar file for the family: their own pages stay in English.
#[tokio::test]
async fn the_family_card_and_calendar_file_take_their_own_language_without_switching_the_staffs() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    let (_, staff_page) = app.get_text("/staff/login?lang=en").await;
    assert!(staff_page.contains("lang=\"en\""));
    let (_, card) = app.get_text(&format!("{link}/card?in=ja")).await;
    assert!(card.contains("lang=\"ja\""), "the card is Japanese");
    let (_, ics) = app.get_text(&format!("{link}/invite.ics?in=ja")).await;
    assert!(ics.contains("面会"), "the calendar file is Japanese: {ics}");
    let (_, ics_en) = app.get_text(&format!("{link}/invite.ics?in=en")).await;
    assert!(ics_en.contains("Video visit"), "{ics_en}");
    let (_, after) = app.get_text("/staff/login").await;
    assert!(
        after.contains("lang=\"en\""),
        "the staff member's pages are still English"
    );
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_no_referrer() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    let res = app.get(&link).await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let html = res.text().await.expect("body");
    assert!(
        !html.contains("<script>") && !html.contains("style=\""),
        "no inline script or style"
    );
    for external in ["https://", "//cdn", "fonts.googleapis"] {
        assert!(
            !html.contains(external),
            "no third-party reference: {external}"
        );
    }
}

/// Everything the family's phone downloads for the call page: the page, the stylesheet
/// and every script module it pulls in. Old phones on slow mobile data: under 100 KB.
pub async fn join_page_bytes(app: &TestApp, link: &str) -> usize {
    let (_, html) = app.get_text(link).await;
    let mut total = html.len();
    let mut pending: Vec<String> = html
        .split("/static/")
        .skip(1)
        .filter_map(|p| p.split('"').next())
        .map(str::to_owned)
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let (status, body) = app.get_text(&format!("/static/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        total += body.len();
        for import in body
            .split("from \"./")
            .skip(1)
            .filter_map(|p| p.split('"').next())
        {
            pending.push(format!("js/{import}"));
        }
    }
    total
}

#[tokio::test]
async fn the_call_page_stays_under_100_kb() {
    let app = spawn_app().await;
    let (_, _, link) = booked_visit(&app).await;
    app.advance(Duration::hours(1));
    let bytes = join_page_bytes(&app, &link).await;
    println!("join page, with its stylesheet and scripts: {bytes} bytes");
    assert!(bytes < 100_000, "{bytes} bytes");
}

#[tokio::test]
async fn the_booked_page_survives_a_reload_for_its_maker_only() {
    let (app, _token, seed) = crate::support::spawn_app_with_seed().await;
    app.login_as_admin().await;
    let start = crate::support::monday_9am_tokyo() + chrono::Duration::hours(2);
    let shown = app.book_by_form(&seed, "remote", start).await;
    let (status, html) = app.get_text(&shown).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/v/"), "the link is on the page");
    assert_eq!(
        app.get_text(&shown).await.1,
        html,
        "and again after a reload"
    );
    // Somebody else (here: no session at all, then a different key) gets no links.
    let stranger = reqwest::Client::new();
    let res = stranger.get(app.url(&shown)).send().await.expect("request");
    assert!(!res.text().await.expect("body").contains("/v/"));
    let (_, forged) = app
        .get_text(&format!(
            "{}Forged",
            shown.trim_end_matches(|c: char| c != '/')
        ))
        .await;
    assert!(!forged.contains("/v/"), "{forged}");
    assert!(
        forged.contains("make a new one below") || forged.contains("新しいリンクを作って"),
        "the visit page says why: {forged}"
    );
    // After half an hour the page is the visit's page, which says why.
    app.advance(chrono::Duration::minutes(31));
    let (_, later) = app.get_text(&shown).await;
    assert!(!later.contains("/v/"));
    assert!(later.contains("make a new one below") || later.contains("新しいリンクを作って"));
}
