//! Staff pages a busy care worker can trust: a new home is told its first steps and
//! that a local address cannot reach families; saving says "Saved"; adding the same
//! resident twice asks first.

use reqwest::StatusCode;

use crate::support::{redirected_to, spawn_app};

#[tokio::test]
async fn a_new_home_sees_its_first_steps_and_that_a_local_address_reaches_nobody() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let (_, today) = app.get_text("/staff?lang=en").await;
    for step in [
        "First steps",
        "Settings: the home",
        "Devices: add the ward tablets",
        "Residents: add each resident",
        "Book the first visit",
    ] {
        assert!(today.contains(step), "{step}");
    }
    assert!(!today.contains("✓ done"), "nothing done yet");
    // The server calls itself 127.0.0.1: every staff page says what that means.
    for page in [
        "/staff?lang=en",
        "/staff/residents?lang=en",
        "/staff/book?lang=en",
    ] {
        let (_, html) = app.get_text(page).await;
        assert!(html.contains("work only on this computer"), "{page}");
        assert!(html.contains("href=\"/staff/deploy-guide\""), "{page}");
    }
    let (status, guide) = app.get_text("/staff/deploy-guide?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(guide.contains("--domain"), "the guide itself is there");

    // Settings saved: the page says so.
    let res = app
        .post_form(
            "/staff/facility",
            "/staff/facility",
            &[
                ("name", "さくら苑"),
                ("phone", ""),
                ("time_zone", "Asia/Tokyo"),
                ("language", "ja"),
                ("slot_minutes", "20"),
                ("buffer_minutes", "10"),
                ("open_1", "on"),
                ("from_1", "09:00"),
                ("to_1", "17:00"),
            ],
        )
        .await;
    let saved = redirected_to(&res);
    assert_eq!(saved, "/staff/facility?saved=1");
    let (_, html) = app.get_text(&format!("{saved}&lang=en")).await;
    assert!(html.contains("role=\"status\">Saved.</p>"), "{html}");
    assert!(
        html.contains(r#"<a class="button primary" href="/staff/devices">"#),
        "the next of the first steps is offered: {html}"
    );
    let (_, html) = app.get_text("/staff/facility?lang=en").await;
    assert!(!html.contains("Saved."), "only right after saving");
    let (_, today) = app.get_text("/staff?lang=en").await;
    assert_eq!(today.matches("✓ done").count(), 1, "settings done");

    // The rest done (a device paired, not only added): the checklist goes away.
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    app.paired_device(&token, "ward", "Tablet 3F").await;
    let start = crate::support::monday_9am_tokyo() + chrono::Duration::hours(1);
    let (status, _) = app.book(&token, &seed, start, &["Taro"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, today) = app.get_text("/staff?lang=en").await;
    assert!(!today.contains("First steps"), "all four done");
}

#[tokio::test]
async fn adding_the_same_resident_twice_asks_first() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let resident = [("name", "山田 花子"), ("room", "201")];
    let res = app
        .post_form("/staff/residents", "/staff/residents", &resident)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_text("/staff/residents?saved=1&lang=en").await;
    assert!(html.contains("Saved."));

    // The same again (a double click, or a colleague): asked, nothing added yet.
    let res = app
        .post_form("/staff/residents?lang=en", "/staff/residents", &resident)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.expect("page");
    assert!(html.contains("is already on the list"), "{html}");
    assert!(html.contains("name=\"add_anyway\""), "{html}");
    let count = |html: &str| html.matches("/staff/residents/").count();
    let (_, list) = app.get_text("/staff/residents").await;
    let before = count(&list);

    // Confirmed: two of them.
    let mut anyway = resident.to_vec();
    anyway.push(("add_anyway", "1"));
    let res = app
        .post_form("/staff/residents", "/staff/residents", &anyway)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_text("/staff/residents").await;
    assert!(count(&list) > before, "added after the question");
    // Another room is another person: no question.
    let res = app
        .post_form(
            "/staff/residents",
            "/staff/residents",
            &[("name", "山田 花子"), ("room", "305")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_visit_can_start_now_on_the_residents_usual_tablet() {
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    app.login_as_admin().await;
    let (_, second) = app
        .api_post(
            "/devices",
            &token,
            serde_json::json!({"name": "3階 タブレット", "kind": "ward"}),
        )
        .await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    // Last time the resident used the second tablet.
    let mut on_second = seed.clone();
    on_second.ward = second_id.clone();
    let (status, _) = app
        .book(
            &token,
            &on_second,
            crate::support::monday_9am_tokyo() + chrono::Duration::hours(4),
            &["Taro"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.advance(chrono::Duration::minutes(7) + chrono::Duration::seconds(30));
    let (_, html) = app
        .get_text(&format!(
            "/staff/book?lang=en&resident_id={}",
            seed.resident
        ))
        .await;
    assert!(
        html.contains(&format!("<option value=\"{second_id}\" selected")),
        "the usual tablet is chosen: {html}"
    );
    assert!(html.contains("Now (9:07–9:27)"), "{html}");
    let now_value = html
        .split("value=\"")
        .find(|v| v.starts_with("2030-") && v.contains("T00:07:00"))
        .and_then(|v| v.split('"').next())
        .expect("the now slot's value")
        .to_owned();
    let now_start = chrono::DateTime::parse_from_rfc3339(&now_value)
        .expect("the now slot is a time")
        .with_timezone(&chrono::Utc);
    app.book_by_form(&on_second, "remote", now_start).await;
    let (_, visits) = app
        .api(
            reqwest::Method::GET,
            "/visits?date=2030-01-07",
            &token,
            None,
        )
        .await;
    let started_now = visits.as_array().into_iter().flatten().any(|v| {
        v["starts_at"]
            .as_str()
            .is_some_and(|s| s.contains("T00:07:00"))
            && v["state"] != "scheduled"
    });
    assert!(started_now, "{visits}");
}

#[tokio::test]
async fn an_entrance_visit_gets_a_card_and_a_calendar_file_for_the_family() {
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    app.login_as_admin().await;
    let start = crate::support::monday_9am_tokyo() + chrono::Duration::hours(3);
    let shown = app.book_by_form(&seed, "entrance", start).await;
    let id = shown
        .trim_start_matches("/staff/visits/")
        .split('/')
        .next()
        .expect("visit id")
        .to_owned();
    let (_, page) = app.get_text(&shown).await;
    assert!(
        page.contains(&format!("/staff/visits/{id}/card?in=")),
        "{page}"
    );

    let (status, card) = app
        .get_text(&format!("/staff/visits/{id}/card?in=en"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        card.contains("Come to reception a few minutes before"),
        "{card}"
    );
    assert!(card.contains("12:00"), "the time: {card}");
    assert!(
        !card.contains("qr.svg") && !card.contains("/v/"),
        "no link for the entrance"
    );
    let (_, card_ja) = app
        .get_text(&format!("/staff/visits/{id}/card?in=ja"))
        .await;
    assert!(card_ja.contains("受付"), "{card_ja}");

    let res = app
        .get(&format!("/staff/visits/{id}/invite.ics?in=en"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ics = res.text().await.expect("calendar");
    assert!(
        ics.contains("BEGIN:VEVENT") && ics.contains("reception"),
        "{ics}"
    );
    assert!(!ics.contains("\nURL:"), "{ics}");

    // A visit from home has per-guest cards instead; this one is not offered for it.
    let (_, remote) = app
        .book(&token, &seed, start + chrono::Duration::hours(2), &["Ken"])
        .await;
    let remote_id = remote["id"].as_str().expect("id");
    let (status, _) = app
        .get_text(&format!("/staff/visits/{remote_id}/card"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The printed card, as the printer gets it (print media, A6, PDF): the link is inside
/// the card in full, in both languages, for a home with a long name and a phone number.
#[tokio::test]
async fn the_printed_card_keeps_the_whole_link_inside_in_both_languages() {
    use base64::Engine;
    use menkai_kiosk::browser;
    use menkai_kiosk::cdp::Cdp;
    use serde_json::json;
    use std::time::Duration as StdDuration;

    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    let (status, _) = app
        .api(
            reqwest::Method::PUT,
            "/facility",
            &token,
            Some(json!({"name": "特別養護老人ホーム さくらの里 みなみ館", "phone": "03-1234-5678", "time_zone": "Asia/Tokyo", "language": "ja", "slot_minutes": 20, "buffer_minutes": 10, "visiting_hours": [{"weekday": 1, "from": "09:00", "to": "17:00"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let start = crate::support::monday_9am_tokyo() + chrono::Duration::hours(2);
    let (_, visit) = app.book(&token, &seed, start, &["山田 太郎"]).await;
    let link = crate::support::path_of(visit["invitations"][0]["url"].as_str().expect("url"));

    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let profiles = tempfile::tempdir().expect("profiles");
    let running = browser::launch(
        &browser::Options {
            path: chromium.into(),
            headless: true,
            fake_media: false,
            window: (800, 1000),
            lang: "ja".into(),
        },
        profiles.path(),
    )
    .await
    .expect("Chromium starts");
    let within = StdDuration::from_secs(15);
    let (cdp, _events) = Cdp::connect(&running.devtools).await.expect("DevTools");
    let page = cdp.attach_to_page(within).await.expect("page");
    cdp.call(Some(&page), "Page.enable", json!({}), within)
        .await
        .expect("enable");
    cdp.call(
        Some(&page),
        "Emulation.setEmulatedMedia",
        json!({"media": "print"}),
        within,
    )
    .await
    .expect("print media");
    for lang in ["ja", "en"] {
        let url = app.url(&format!("{link}/card?in={lang}"));
        cdp.call(Some(&page), "Page.navigate", json!({"url": url}), within)
            .await
            .expect("navigate");
        let deadline = std::time::Instant::now() + within;
        while cdp
            .evaluate(
                &page,
                "document.readyState === 'complete' && !!document.querySelector('.card-url')",
                within,
            )
            .await
            .ok()
            != Some(json!(true))
        {
            assert!(std::time::Instant::now() < deadline, "the card loads");
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        let measured = cdp
            .evaluate(
                &page,
                "(() => { const card = document.querySelector('.card'); const c = card.getBoundingClientRect();
                   const u = document.querySelector('.card-url').getBoundingClientRect();
                   const qr = document.querySelector('.card-qr').getBoundingClientRect();
                   return { inside: u.left >= c.left - 0.5 && u.right <= c.right + 0.5 && u.top >= c.top - 0.5 && u.bottom <= c.bottom + 0.5,
                            overflow: card.scrollHeight > card.clientHeight + 1, qr_mm: qr.height / 96 * 25.4,
                            text: document.querySelector('.card-url').textContent }; })()",
                within,
            )
            .await
            .expect("measured");
        println!("card {lang}: {measured}");
        assert_eq!(measured["inside"], true, "{lang}: {measured}");
        assert_eq!(measured["overflow"], false, "{lang}: {measured}");
        assert!(
            measured["text"]
                .as_str()
                .is_some_and(|t| t.ends_with(link.trim_start_matches('/'))),
            "{measured}"
        );
        assert!(
            measured["qr_mm"].as_f64().unwrap_or(0.0) >= 29.5,
            "the QR code stays scannable: {measured}"
        );
        let pdf = cdp
            .call(
                Some(&page),
                "Page.printToPDF",
                json!({"preferCSSPageSize": true, "printBackground": true}),
                within,
            )
            .await
            .expect("PDF");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(pdf["data"].as_str().unwrap_or_default())
            .expect("base64");
        assert!(bytes.starts_with(b"%PDF"), "a PDF");
        // The page itself is A6: 105 × 148 mm (297.6 × 419.5 pt) in the PDF's MediaBox.
        let text = String::from_utf8_lossy(&bytes);
        let media_box: Vec<f64> = text
            .split("/MediaBox")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .map(|b| {
                b.trim_start_matches([' ', '['])
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mm = |pt: f64| pt / 72.0 * 25.4;
        assert!(
            media_box.len() == 4
                && (mm(media_box[2] - media_box[0]) - 105.0).abs() < 0.5
                && (mm(media_box[3] - media_box[1]) - 148.0).abs() < 0.5,
            "{lang}: the PDF page is A6 (105 × 148 mm): {media_box:?}"
        );
        let dir = crate::support::workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("card-{lang}.pdf")), &bytes).expect("write PDF");
        let shot = cdp
            .call(
                Some(&page),
                "Page.captureScreenshot",
                json!({"format": "png"}),
                within,
            )
            .await
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("PNG");
        std::fs::write(dir.join(format!("card-print-{lang}.png")), png).expect("write PNG");
        // Exactly one page: asking for a second one is refused.
        let second = cdp
            .call(
                Some(&page),
                "Page.printToPDF",
                json!({"preferCSSPageSize": true, "pageRanges": "2"}),
                within,
            )
            .await;
        assert!(second.is_err(), "{lang}: the card prints on one A6 page");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_button_pressed_on_a_stale_page_is_answered_on_the_same_page() {
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    app.login_as_admin().await;
    let (_, visit) = app
        .book(&token, &seed, crate::support::monday_9am_tokyo(), &["Taro"])
        .await;
    let id = visit["id"].as_str().expect("id").to_owned();
    let end = format!("/staff/visits/{id}/end");
    assert_eq!(
        app.post_form("/staff", &end, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    // A second "End now" from a page that was not reloaded.
    let res = app.post_form("/staff", &end, &[]).await;
    let location = redirected_to(&res);
    assert_eq!(location, "/staff?notice=end-conflict");
    let (status, html) = app.get_text(&format!("{location}&lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Nothing was changed: the visit had already ended"),
        "{html}"
    );
    assert!(
        html.contains("Book a visit"),
        "the page and its menu are all there"
    );
    // Extend after the end: the same plain answer.
    let res = app
        .post_form("/staff", &format!("/staff/visits/{id}/extend"), &[])
        .await;
    assert_eq!(res.headers()["location"], "/staff?notice=end-conflict");
    // Cancel after the end: answered on the visit's own page.
    let page = format!("/staff/visits/{id}");
    let res = app.post_form(&page, &format!("{page}/cancel"), &[]).await;
    let location = redirected_to(&res);
    let (status, html) = app.get_text(&format!("{location}&lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("could not be cancelled"), "{html}");
}

/// The entrance kiosk's idle screen stands in the lobby: by default it shows the
/// times and the residents' initials, never a full name, while the ward tablet keeps
/// full names; an administrator may choose times only (or full names).
#[tokio::test]
async fn the_lobby_screen_shows_no_full_name_by_default() {
    use crate::support::{Browser, monday_9am_tokyo};
    use serde_json::json;
    use std::time::Duration as StdDuration;
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    let (ward_id, ward_token) = app.paired_device(&token, "ward", "Tablet 2F").await;
    let (kiosk_id, kiosk_token) = app.paired_device(&token, "entrance", "Entrance").await;
    let (status, visit) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": seed.resident, "starts_at": (monday_9am_tokyo() + chrono::Duration::hours(2)).to_rfc3339(),
                   "mode": "entrance", "ward_device_id": ward_id, "entrance_device_id": kiosk_id, "guests": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let full = visit["resident"].as_str().expect("resident").to_owned();
    let schedule =
        "[...document.querySelectorAll('#schedule li')].map(li => li.textContent).join('|')";
    let (kiosk, tablet) = (Browser::start().await, Browser::start().await);
    for (page, device_token) in [(&kiosk, &kiosk_token), (&tablet, &ward_token)] {
        page.goto(&app.url(&format!("/device#token={device_token}")))
            .await;
        page.wait_until(
            "document.querySelectorAll('#schedule strong').length === 1",
            StdDuration::from_secs(20),
        )
        .await;
    }
    let lobby = kiosk.eval(schedule).await;
    let initials: String = full
        .split_whitespace()
        .filter_map(|p| p.chars().next())
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        lobby
            .as_str()
            .is_some_and(|s| !s.contains(&full) && s.contains(&initials)),
        "the lobby shows {initials}, not {full}: {lobby}"
    );
    kiosk.screenshot("kiosk-idle-initials").await;
    let ward = tablet.eval(schedule).await;
    assert!(
        ward.as_str().is_some_and(|s| s.contains(&full)),
        "the ward keeps the full name: {ward}"
    );

    app.login_as_admin().await;
    let (_, settings) = app.get_text("/staff/facility").await;
    assert!(
        settings.contains(r#"value="initials" selected"#),
        "the default, shown"
    );
    let mut facility = app
        .api(reqwest::Method::GET, "/facility", &token, None)
        .await
        .1;
    facility["lobby_names"] = json!("times_only");
    let (status, saved) = app
        .api(reqwest::Method::PUT, "/facility", &token, Some(facility))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    kiosk.client.refresh().await.expect("reload");
    kiosk
        .wait_until(
            "document.querySelectorAll('#schedule strong').length === 1",
            StdDuration::from_secs(20),
        )
        .await;
    let times_only = kiosk.eval(schedule).await;
    assert!(
        times_only
            .as_str()
            .is_some_and(|s| !s.contains(&initials) && !s.contains(&full)),
        "{times_only}"
    );
}

/// "Add the ward tablets" is ticked only once a device is really paired: a device
/// added on the Devices page but never paired does not count.
#[tokio::test]
async fn the_first_steps_count_a_device_only_once_it_is_paired() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let token = app.api_token().await;
    let devices_step = |html: &str| html.contains(r#"<li class="done"><a href="/staff/devices">"#);
    let (status, added) = app
        .api_post(
            "/devices",
            &token,
            serde_json::json!({"name": "3階 タブレット", "kind": "ward"}),
        )
        .await;
    assert!(status.is_success(), "{added}");
    let (_, today) = app.get_text("/staff").await;
    assert!(!devices_step(&today), "added but not paired: not done");
    let code = added["pairing_code"].as_str().expect("code");
    let (status, _) = app
        .api_post("/devices/pair", &token, serde_json::json!({"code": code}))
        .await;
    assert!(status.is_success());
    let (_, today) = app.get_text("/staff").await;
    assert!(devices_step(&today), "paired: done");
}

/// A visit ended early frees the rest of its time: the booking page offers the tablet
/// again as soon as its cleaning break is over, not from the next slot of the grid.
#[tokio::test]
async fn ending_a_visit_early_offers_its_time_again() {
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    let (status, visit) = app
        .book(&token, &seed, crate::support::monday_9am_tokyo(), &["Taro"])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    app.advance(chrono::Duration::minutes(3));
    let id = visit["id"].as_str().expect("id");
    let (status, _) = app
        .api_post(&format!("/visits/{id}/end"), &token, serde_json::json!({}))
        .await;
    assert!(status.is_success());
    app.login_as_admin().await;
    let page = format!(
        "/staff/book?lang=en&resident_id={}&ward_device_id={}",
        seed.resident, seed.ward
    );
    let (_, html) = app.get_text(&page).await;
    // Ended at 9:03, a 10-minute cleaning break: free from 9:13 (the grid's next
    // slot would be 9:30).
    assert!(html.contains("As soon as possible (9:13–9:33)"), "{html}");
}

/// Every unused pairing code stays on the Devices page until it is used: adding the
/// tablet after the kiosk does not hide the kiosk's code. The kiosk's shows the one
/// line to run on its laptop (with this server's address), the tablet's says to open
/// /pair; a code used to pair goes away.
#[tokio::test]
async fn every_unused_pairing_code_stays_visible_until_used() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let add = |name: &'static str, kind: &'static str| {
        let app = &app;
        async move {
            let res = app
                .post_form(
                    "/staff/devices",
                    "/staff/devices",
                    &[("name", name), ("kind", kind)],
                )
                .await;
            crate::support::redirected_to(&res)
        }
    };
    let to = add("玄関", "entrance").await;
    assert!(to.starts_with("/staff/devices#code-"), "{to}");
    add("2階", "ward").await;
    let (_, html) = app.get_text("/staff/devices?lang=en").await;
    let codes = crate::support::all_between(&html, r#"<p class="pairing-code">"#, "</p>");
    assert_eq!(codes.len(), 2, "both codes shown: {html}");
    let line = format!("menkai-kiosk pair {} ", app.base);
    assert_eq!(html.matches(&line).count(), 1, "the kiosk's line: {html}");
    assert!(
        html.contains(&format!("open {}/pair", app.base)),
        "the tablet's: {html}"
    );
    // The tablet pairs with its code (the second on the page): only the kiosk's stays.
    let token = app.api_token().await;
    let (status, paired) = app
        .api_post(
            "/devices/pair",
            &token,
            serde_json::json!({"code": codes[1]}),
        )
        .await;
    assert!(status.is_success(), "{paired}");
    let (_, html) = app.get_text("/staff/devices?lang=en").await;
    let left = crate::support::all_between(&html, r#"<p class="pairing-code">"#, "</p>");
    assert_eq!(left, vec![codes[0].clone()], "{html}");
}

/// An account link sent to a colleague is listed until it is used, and "Revoke" makes
/// it stop working at once.
#[tokio::test]
async fn a_pending_account_link_is_listed_and_can_be_revoked() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let link = app.invite_colleague("鈴木 花", "staff").await;
    let setup = crate::support::path_of(&link);
    let (_, accounts) = app.get_text("/staff/accounts").await;
    assert!(accounts.contains("鈴木 花"), "listed while unused");
    let action = accounts
        .split("action=\"/staff/accounts/invites/")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .map(|rest| format!("/staff/accounts/invites/{rest}"))
        .expect("a revoke form");
    let res = app.post_form("/staff/accounts", &action, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, accounts) = app.get_text("/staff/accounts").await;
    assert!(!accounts.contains("invites/"), "no longer listed");
    let (status, page) = app.get_text(&setup).await;
    assert!(
        status.is_client_error() || !page.contains("name=\"password\""),
        "the revoked link no longer sets up an account ({status})"
    );
}

/// Every screen this care pass changed, at a phone's, a tablet's and a laptop's size
/// in both languages: screenshots to look at (`target/screenshots/care-*`) and axe-core
/// on each. The day: one visit ended early (the booking page offers its time again),
/// one at the entrance later (the lobby's initials), one from home later still (the
/// family's too-early page and card), two unused pairing codes and a pending account.
#[tokio::test]
async fn the_changed_screens_at_three_sizes_in_both_languages() {
    use crate::support::{Browser, log_in, monday_9am_tokyo, path_of};
    use chrono::Duration;
    use serde_json::json;
    use std::time::Duration as StdDuration;
    let (app, token, seed) = crate::support::spawn_app_with_seed().await;
    app.login_as_admin().await;
    app.invite_colleague("鈴木 花", "staff").await;
    let (kiosk_id, kiosk_token) = app.paired_device(&token, "entrance", "玄関").await;
    let (_, now) = app.book(&token, &seed, monday_9am_tokyo(), &["Taro"]).await;
    let ended = now["id"].as_str().expect("id").to_owned();
    app.advance(Duration::minutes(3));
    let (status, _) = app
        .api_post(&format!("/visits/{ended}/end"), &token, json!({}))
        .await;
    assert!(status.is_success());
    let (status, entrance) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": seed.resident, "starts_at": (monday_9am_tokyo() + Duration::hours(2)).to_rfc3339(),
                   "mode": "entrance", "ward_device_id": seed.ward, "entrance_device_id": kiosk_id, "guests": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entrance}");
    let (status, later) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(4),
            &["佐藤 エミリー"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    let link = path_of(later["invitations"][0]["url"].as_str().expect("url"));

    let browser = Browser::start().await;
    log_in(&browser, &app, "admin", "a long enough password").await;
    let screens: Vec<(&str, String)> = vec![
        ("today", "/staff".into()),
        ("devices", "/staff/devices".into()),
        ("accounts", "/staff/accounts".into()),
        ("settings", "/staff/facility".into()),
        ("guide", "/staff/deploy-guide".into()),
        ("visit", format!("/staff/visits/{ended}")),
        (
            "book",
            format!(
                "/staff/book?resident_id={}&ward_device_id={}",
                seed.resident, seed.ward
            ),
        ),
        ("too-early", link.clone()),
        ("card", format!("{link}/card")),
        ("lobby", format!("/device#token={kiosk_token}")),
    ];
    let mut problems = vec![];
    for (width, height) in [(390, 844), (820, 1180), (1366, 768)] {
        browser.resize(width, height).await;
        for lang in ["ja", "en"] {
            for (name, path) in &screens {
                let (page, fragment) = path.split_once('#').unwrap_or((path, ""));
                let joiner = if page.contains('?') { '&' } else { '?' };
                let hash = if fragment.is_empty() {
                    String::new()
                } else {
                    format!("#{fragment}")
                };
                browser
                    .goto(&app.url(&format!("{page}{joiner}lang={lang}{hash}")))
                    .await;
                if *name == "lobby" {
                    browser
                        .wait_until(
                            "document.querySelectorAll('#schedule strong').length >= 1",
                            StdDuration::from_secs(20),
                        )
                        .await;
                }
                let shot = format!("care-{name}-{lang}-{width}");
                browser.screenshot_full(&shot).await;
                for violation in browser.axe().await {
                    problems.push(format!("{shot}: {violation}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
