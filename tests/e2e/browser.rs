//! Pages as people see them: headless Chromium (through chromedriver) books a visit the
//! way staff do, opens the family's link in every state, takes screenshots in Japanese
//! and English, and runs axe-core on each page. Screenshots land in
//! `target/screenshots/` for a person to look at.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`, which `scripts/test`
//! installs; axe-core ships in `tests/vendor/axe-core`. Missing any of them fails the
//! test loudly.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::support::until;
use crate::support::{Browser, check, create_administrator};
use crate::support::{TestApp, monday_9am_tokyo, path_of, spawn_app_with_seed};

/// Books a visit as staff do; returns the family's link and the visit's start.
async fn book_through_the_pages(
    app: &TestApp,
    browser: &Browser,
    lang: &str,
    resident: &str,
    problems: &mut Vec<String>,
) -> (String, DateTime<Utc>) {
    browser
        .goto(&app.url(&format!("/staff/book?lang={lang}")))
        .await;
    let select = browser
        .client
        .find(Locator::Id("resident_id"))
        .await
        .expect("resident field");
    select
        .select_by_value(resident)
        .await
        .expect("choose resident");
    // The page reloads by itself with the free slots (staff.js).
    browser.wait_for("input[name=slot]").await;
    browser.type_into("input[name=guest]", "山田 太郎").await;
    check(browser, &format!("booking-{lang}"), problems).await;
    let slots = browser
        .client
        .find_all(Locator::Css(".slot span"))
        .await
        .expect("slots");
    slots[2].click().await.expect("choose a slot");
    let inputs = browser
        .client
        .find_all(Locator::Css("input[name=slot]"))
        .await
        .expect("slot inputs");
    let value = inputs[2]
        .prop("value")
        .await
        .expect("value")
        .expect("a slot value");
    let start = DateTime::parse_from_rfc3339(&value)
        .expect("RFC 3339 slot")
        .with_timezone(&Utc);
    browser.click("form.book button[type=submit]").await;
    browser.wait_for(".invitation").await;
    // Booked, then redirected: a reload shows the same links and books nothing more.
    let first_link = browser.eval("document.getElementById('url-1').value").await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for(".invitation").await;
    assert_eq!(
        browser.eval("document.getElementById('url-1').value").await,
        first_link,
        "the reloaded page shows the same link"
    );
    browser
        .client
        .execute("document.querySelector('details').open = true", vec![])
        .await
        .expect("open details");
    check(browser, &format!("invitation-{lang}"), problems).await;
    let url = browser
        .client
        .find(Locator::Id("url-1"))
        .await
        .expect("link field")
        .prop("value")
        .await
        .expect("value")
        .expect("a link");
    (path_of(&url), start)
}

#[tokio::test]
async fn every_page_is_clear_and_accessible_in_both_languages() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (_, second) = app
        .api_post(
            "/residents",
            &token,
            json!({"name": "Ichiro Suzuki", "room": "305"}),
        )
        .await;
    let second = second["id"].as_str().expect("id").to_owned();
    let browser = Browser::start().await;
    let mut problems = vec![];

    browser.goto(&app.url("/staff/login?lang=ja")).await;
    check(&browser, "login-ja", &mut problems).await;
    browser.goto(&app.url("/staff/login?lang=en")).await;
    check(&browser, "login-en", &mut problems).await;

    // Staff: create the administrator account through the one-time link, then book.
    browser
        .goto(&app.url(&format!("{}?lang=ja", app.setup_path())))
        .await;
    check(&browser, "setup-ja", &mut problems).await;
    browser
        .goto(&app.url(&format!("{}?lang=en", app.setup_path())))
        .await;
    check(&browser, "setup-en", &mut problems).await;
    create_administrator(&browser).await;

    let links: Vec<(String, (String, DateTime<Utc>))> = vec![
        (
            "ja".into(),
            book_through_the_pages(&app, &browser, "ja", &seed.resident, &mut problems).await,
        ),
        (
            "en".into(),
            book_through_the_pages(&app, &browser, "en", &second, &mut problems).await,
        ),
    ];
    // A paired ward tablet, so the devices page offers its volume.
    app.paired_device(&token, "ward", "Tablet 3F").await;
    for lang in ["ja", "en"] {
        browser.goto(&app.url(&format!("/staff?lang={lang}"))).await;
        check(&browser, &format!("today-{lang}"), &mut problems).await;
        for page in [
            "residents",
            "devices",
            "accounts",
            "facility",
            "audit",
            "deploy-guide",
        ] {
            browser.goto(&app.url(&format!("/staff/{page}"))).await;
            check(&browser, &format!("{page}-{lang}"), &mut problems).await;
        }
        // The deployment guide is a page of its own words, not Markdown shown raw.
        let guide = browser
            .eval("document.querySelector('main').innerText")
            .await;
        let guide = guide.as_str().expect("the guide's text");
        for markdown in ["## ", "**", "```", "`"] {
            assert!(
                !guide.contains(markdown),
                "{markdown} in the guide: {guide}"
            );
        }
        if lang == "ja" {
            assert!(guide.contains("証明書"), "the guide in Japanese: {guide}");
        }
        // Turning the tablet up: the page says whether it took effect now.
        browser.goto(&app.url("/staff/devices")).await;
        let volume = browser
            .client
            .find(Locator::Css("form.volume select"))
            .await
            .expect("a volume list for the paired tablet");
        volume.select_by_value("200").await.expect("choose 200%");
        browser.click("form.volume button").await;
        browser.wait_for("p.alert.info").await;
        check(&browser, &format!("devices-volume-{lang}"), &mut problems).await;
    }

    // The printed card, at its real size.
    for (lang, (link, _)) in &links {
        browser.resize(600, 800).await;
        browser
            .goto(&app.url(&format!("{link}/card?in={lang}")))
            .await;
        check(&browser, &format!("card-{lang}"), &mut problems).await;
    }

    // The family's link in each state, on a phone-sized screen.
    browser.resize(412, 915).await;
    let (_, cancelled) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(6),
            &["Taro"],
        )
        .await;
    let cancelled_link = path_of(cancelled["invitations"][0]["url"].as_str().expect("url"));
    app.api_post(
        &format!("/visits/{}/cancel", cancelled["id"].as_str().expect("id")),
        &token,
        json!({}),
    )
    .await;
    let (_, replaced) = app
        .book(
            &token,
            &seed,
            monday_9am_tokyo() + Duration::hours(7),
            &["Taro"],
        )
        .await;
    let replaced_link = path_of(replaced["invitations"][0]["url"].as_str().expect("url"));
    let facility = app.app_state.facility();
    let actor = menkai::staff::Actor {
        label: "test".into(),
        role: menkai::staff::Role::Admin,
        staff_id: None,
    };
    app.app_state
        .db
        .reissue_invitation(
            replaced["id"].as_str().expect("id").into(),
            replaced["guests"][0]["id"].as_str().expect("guest").into(),
            None,
            facility,
            &actor,
            app.clock_now(),
        )
        .await
        .expect("reissue");
    for (lang, (link, start)) in &links {
        let start = *start;
        let before = app.clock_now();
        for (state, at) in [
            ("too_early", monday_9am_tokyo()),
            ("waiting", start - Duration::minutes(10)),
            ("open", start + Duration::minutes(5)),
            ("ended", start + Duration::minutes(25)),
        ] {
            app.clock.set(at);
            browser.goto(&app.url(&format!("{link}?lang={lang}"))).await;
            let html = browser.html().await;
            assert!(
                html.contains(&format!("state-{state}")),
                "{state} page in {lang}"
            );
            check(&browser, &format!("join-{state}-{lang}"), &mut problems).await;
        }
        app.clock.set(before);
        for (state, link) in [
            ("cancelled", cancelled_link.as_str()),
            ("replaced", replaced_link.as_str()),
            ("unknown", "/v/AbsolutelyNotAToken"),
        ] {
            browser.goto(&app.url(&format!("{link}?lang={lang}"))).await;
            assert!(
                browser.html().await.contains(&format!("state-{state}")),
                "{state} page in {lang}"
            );
            check(&browser, &format!("join-{state}-{lang}"), &mut problems).await;
        }
    }
    assert!(
        problems.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        problems.join("\n")
    );
}

/// Guards the guard: axe-core, as run here, does report a page with a real problem.
#[tokio::test]
async fn the_accessibility_check_catches_an_unlabelled_form() {
    let browser = Browser::start().await;
    browser.goto("data:text/html,<html lang=en><title>t</title><main><input id=x><img src=x.png></main></html>").await;
    let violations = browser.axe().await;
    assert!(
        violations.iter().any(|v| v.contains("image-alt")),
        "{violations:?}"
    );
    assert!(
        violations.iter().any(|v| v.contains("label")),
        "{violations:?}"
    );
}

/// End now, Cancel visit, Revoke device and Archive resident ask first, in a dialog a
/// keyboard and a screen reader can use; going back changes nothing.
#[tokio::test]
async fn destructive_actions_ask_first_and_going_back_changes_nothing() {
    let (app, token, seed) = spawn_app_with_seed().await;
    let (status, visit) = app.book(&token, &seed, monday_9am_tokyo(), &["Taro"]).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{visit}");
    let browser = Browser::start().await;
    browser.goto(&app.url(&app.setup_path())).await;
    create_administrator(&browser).await;
    let state = || async {
        app.visits_on_monday(&token).await[0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mut problems = vec![];
    for lang in ["ja", "en"] {
        browser.goto(&app.url(&format!("/staff?lang={lang}"))).await;
        browser.click("form[action$='/end'] button").await;
        browser.wait_for("dialog.confirm[open]").await;
        let focused = browser.eval("document.activeElement.textContent").await;
        assert_eq!(
            focused,
            if lang == "ja" { "戻る" } else { "Go back" },
            "the safe choice has the focus"
        );
        check(&browser, &format!("confirm-end-{lang}"), &mut problems).await;
        browser.click("dialog.confirm button:not(.danger)").await;
        browser
            .wait_until(
                "document.querySelector('dialog.confirm') === null",
                StdDuration::from_secs(5),
            )
            .await;
        assert_eq!(state().await, "open", "going back ended nothing");
    }
    // The same question, answered yes.
    browser.click("form[action$='/end'] button").await;
    browser.wait_for("dialog.confirm[open]").await;
    browser.click("dialog.confirm button.danger").await;
    browser.wait_for(".page-head").await;
    until(StdDuration::from_secs(10), "the visit ended", || async {
        (state().await == "ended").then_some(())
    })
    .await;
    // The other destructive buttons carry their question too.
    for (page, form) in [
        (
            format!("/staff/visits/{}", visit["id"].as_str().unwrap_or_default()),
            "cancel",
        ),
        ("/staff/devices".to_owned(), "revoke"),
        (format!("/staff/residents/{}", seed.resident), "archive"),
    ] {
        browser.goto(&app.url(&page)).await;
        let asks = browser
            .eval(&format!(
                "Array.from(document.querySelectorAll(\"form[action$='/{form}']\")).every(f => f.dataset.confirm && f.dataset.confirm.length > 10)"
            ))
            .await;
        assert_eq!(asks, Value::Bool(true), "{page}: {form} asks first");
    }
    assert!(problems.is_empty(), "accessibility problems: {problems:#?}");
}

/// The screens this care pass changed, as a phone (390×844), a tablet (820×1180) and
/// a laptop (1366×768) show them, in both languages, each checked by axe-core.
/// Screenshots: `target/screenshots/sizes-{screen}-{lang}-{size}.png`.
#[tokio::test]
async fn changed_screens_at_phone_tablet_and_laptop_sizes() {
    let (app, token, seed) = spawn_app_with_seed().await;
    // One visit under way (a family link waiting too) and one later on the same tablet,
    // so Today shows the room left to extend.
    let (_, now_visit) = app
        .book(&token, &seed, monday_9am_tokyo(), &["山田 太郎"])
        .await;
    let (_, other) = app
        .api_post(
            "/residents",
            &token,
            json!({"name": "鈴木 一郎", "room": "305"}),
        )
        .await;
    let mut later = seed.clone();
    later.resident = other["id"].as_str().expect("id").to_owned();
    app.book(
        &token,
        &later,
        monday_9am_tokyo() + Duration::minutes(50),
        &["Ken"],
    )
    .await;
    app.advance(Duration::minutes(5));
    let family_link = path_of(now_visit["invitations"][0]["url"].as_str().expect("url"));
    let visit_page = format!("/staff/visits/{}", now_visit["id"].as_str().expect("id"));

    let browser = Browser::start().await;
    browser.goto(&app.url(&app.setup_path())).await;
    create_administrator(&browser).await;
    let (_, entrance) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": seed.resident, "starts_at": (monday_9am_tokyo() + Duration::hours(3)).to_rfc3339(), "mode": "entrance", "ward_device_id": seed.ward, "entrance_device_id": seed.kiosk, "guests": [{"name": "山田 太郎"}]}),
        )
        .await;
    let (_, tablet_token) = app.paired_device(&token, "ward", "3F tablet").await;
    // "Visit booked", as the booking form leaves it: its address shows the same links
    // on every reload (for this staff member, for half an hour), so every size gets it.
    browser
        .goto(&app.url(&format!("/staff/book?resident_id={}", later.resident)))
        .await;
    browser.wait_for("input[name=slot]").await;
    browser.click(".slot span").await;
    browser.type_into("input[name=guest]", "鈴木 花").await;
    browser.click("form.book button[type=submit]").await;
    browser.wait_for(".invitation").await;
    let booked = path_of(browser.client.current_url().await.expect("url").as_str());
    let screens = [
        ("booked", booked),
        ("today", "/staff".to_owned()),
        ("today-notice", "/staff?notice=extend-conflict".to_owned()),
        ("book", format!("/staff/book?resident_id={}", seed.resident)),
        ("visit", visit_page.clone()),
        ("visit-links-gone", format!("{visit_page}/links/expired")),
        ("residents", "/staff/residents".to_owned()),
        (
            "entrance-card",
            format!(
                "/staff/visits/{}/card",
                entrance["id"].as_str().expect("id")
            ),
        ),
        ("join", family_link),
        ("device", format!("/device#token={tablet_token}")),
    ];
    let mut problems = vec![];
    for (size, width, height) in [
        ("phone", 390, 844),
        ("tablet", 820, 1180),
        ("laptop", 1366, 768),
    ] {
        browser
            .client
            .set_window_size(width, height)
            .await
            .expect("window size");
        for lang in ["ja", "en"] {
            for (screen, path) in &screens {
                // `?lang=` goes before a fragment (the device page's token).
                let (path, fragment) = path.split_once('#').unwrap_or((path, ""));
                let sep = if path.contains('?') { '&' } else { '?' };
                let fragment = if fragment.is_empty() {
                    String::new()
                } else {
                    format!("#{fragment}")
                };
                browser
                    .goto(&app.url(&format!("{path}{sep}lang={lang}{fragment}")))
                    .await;
                browser.wait_for("main").await;
                if *screen == "join" {
                    // The call screen itself: its buttons and the time left are what
                    // must not break inside words on a phone.
                    browser
                        .wait_until(
                            "document.body.dataset.screen === 'call'",
                            StdDuration::from_secs(15),
                        )
                        .await;
                }
                // Nothing may stick out sideways on a phone (a page that scrolls
                // sideways hides half of every line from an old eye).
                let wide = browser
                    .eval("document.documentElement.scrollWidth > window.innerWidth + 1")
                    .await;
                if wide == Value::Bool(true) {
                    problems.push(format!("{screen} {lang} {size}: wider than the screen"));
                }
                check(
                    &browser,
                    &format!("sizes-{screen}-{lang}-{size}"),
                    &mut problems,
                )
                .await;
                // And the whole page, for a person to read through.
                let full = browser.eval("document.documentElement.scrollHeight").await;
                let full = full
                    .as_u64()
                    .unwrap_or(u64::from(height))
                    .clamp(u64::from(height), 5000);
                browser
                    .client
                    .set_window_size(width, u32::try_from(full).unwrap_or(height))
                    .await
                    .expect("window size");
                browser
                    .screenshot(&format!("sizes-{screen}-{lang}-{size}-full"))
                    .await;
                browser
                    .client
                    .set_window_size(width, height)
                    .await
                    .expect("window size");
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
