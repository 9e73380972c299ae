//! Families hear from the home by e-mail: the invitation with its link, QR code and
//! calendar entry, reminders at the home's times, a changed time, a cancellation —
//! through a real SMTP server (aiosmtpd) that the tests read back.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::smtp::{Received, SinkOptions, SmtpSink};
use crate::support::{Seed, TestApp, monday_9am_tokyo, path_of, redirected_to, spawn_app_with};

/// Mail goes out within this (the worker is woken when a message is queued).
const ARRIVES: StdDuration = StdDuration::from_secs(15);

/// A home whose messages go through `sink`, with a resident and a tablet.
async fn home_with_mail(sink: &SmtpSink) -> (TestApp, String, Seed) {
    let smtp = sink.config();
    let app = spawn_app_with(move |c| c.smtp = Some(smtp)).await;
    let token = app.api_token().await;
    let seed = app.seed(&token).await;
    (app, token, seed)
}

/// Books a remote visit at `start` for guests given as (name, address, language).
async fn book_with(
    app: &TestApp,
    token: &str,
    seed: &Seed,
    start: DateTime<Utc>,
    guests: &[(&str, &str, &str)],
) -> Value {
    let mut body = crate::support::remote_visit(&seed.resident, &seed.ward, start, 20, &[]);
    body["guests"] = guests
        .iter()
        .map(|(name, email, lang)| json!({"name": name, "email": email, "lang": lang}))
        .collect();
    let (status, visit) = app.api_post("/visits", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    visit
}

/// What a calendar program reads from the entry.
#[derive(Debug)]
struct Entry {
    method: String,
    uid: String,
    sequence: u32,
    start: DateTime<Utc>,
    tzid: String,
    status: String,
}

fn entry(mail: &Received) -> Entry {
    let (content_method, text) = mail.calendar.clone().expect("a calendar entry");
    let unfolded = icalendar::parser::unfold(&text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let method = calendar
        .properties
        .iter()
        .find(|p| p.name == "METHOD")
        .map(|p| p.val.to_string())
        .expect("METHOD");
    assert_eq!(method, content_method, "the part's method= says the same");
    let event = calendar
        .components
        .iter()
        .find(|c| c.name == "VEVENT")
        .expect("VEVENT");
    let prop = |name: &str| {
        event
            .find_prop(name)
            .map(|p| p.val.to_string())
            .unwrap_or_default()
    };
    let (tzid, start) = crate::support::event_start(event);
    Entry {
        method,
        uid: prop("UID"),
        sequence: prop("SEQUENCE").parse().expect("SEQUENCE"),
        start,
        tzid,
        status: prop("STATUS"),
    }
}

/// No message beyond `n` arrives within a few seconds (the worker looks every 2 s).
async fn nothing_more(sink: &SmtpSink, n: usize) {
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    let got = sink.received();
    assert_eq!(
        got.len(),
        n,
        "{:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn booking_with_an_address_delivers_one_invitation_with_link_qr_and_calendar() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let start = monday_9am_tokyo() + Duration::hours(2);
    let visit = book_with(
        &app,
        &token,
        &seed,
        start,
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    let mail = sink.wait_for(1, ARRIVES).await.remove(0);
    println!("subject: {}\n{}", mail.subject, mail.text);

    assert_eq!(mail.to, "taro@example.jp");
    assert_eq!(mail.to_name, "山田 太郎");
    assert_eq!(mail.from, crate::support::smtp::FROM);
    // In the home's language (Japanese), the resident and the date written the
    // Japanese way, in the home's time zone (Monday 11:00 in Tokyo).
    assert!(mail.subject.contains("山田 花子"), "{}", mail.subject);
    assert!(mail.subject.contains("11:00"), "{}", mail.subject);
    assert!(
        mail.text.contains("月曜日") || mail.text.contains("（月）"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("11:00") && mail.text.contains("11:20"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("20"), "how long: {}", mail.text);

    // The link is the guest's real one: it opens the join page.
    let link = mail.link().expect("a link in the text");
    assert_eq!(link, visit["invitations"][0]["url"].as_str().expect("url"));
    let (status, page) = app.get_text(&path_of(&link)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("state-too_early"), "the family's page");
    assert!(mail.html.contains(&link), "the HTML part has the link too");
    assert!(
        mail.text.contains(&format!("{link}/check")),
        "the pre-visit check"
    );

    // The QR code travels inside the message and decodes to the same link.
    let (png, cid) = mail.inline_png.clone().expect("an inline QR image");
    assert!(
        mail.html.contains(&format!("cid:{cid}")),
        "the HTML shows it"
    );
    assert_eq!(decode_qr(&png), link);
    assert!(
        !mail.html.contains("http://") || !mail.html.contains("<img src=\"http"),
        "no remote images"
    );

    // The calendar entry: a request, one UID per guest's visit, in Tokyo time.
    let e = entry(&mail);
    let guest = visit["guests"][0]["id"].as_str().expect("guest id");
    assert_eq!(e.method, "REQUEST");
    assert_eq!(
        e.uid,
        format!("{}-{guest}@menkai", visit["id"].as_str().expect("id"))
    );
    assert_eq!(e.sequence, 0);
    assert_eq!(e.tzid, "Asia/Tokyo");
    assert_eq!(e.start, start);
    assert_eq!(e.status, "CONFIRMED");
    // The calendar file the family page offers is the same entry (one in the calendar).
    let page_ics = app
        .get(&format!("{}/invite.ics", path_of(&link)))
        .await
        .text()
        .await
        .expect("ics");
    assert!(
        icalendar::parser::unfold(&page_ics).contains(&format!("UID:{}", e.uid)),
        "{page_ics}"
    );

    // The API and the visit's page say it was sent; the address shows in full there,
    // masked in lists.
    let id = visit["id"].as_str().expect("id");
    let shown = sent(&app, &token, id).await;
    assert_eq!(shown["messages"][0]["kind"], "invitation");
    assert_eq!(shown["guests"][0]["email"], "taro@example.jp");
    let (_, list) = app.api(reqwest::Method::GET, "/visits", &token, None).await;
    assert!(list.to_string().contains("t…@example.jp"), "{list}");
    assert!(!list.to_string().contains("taro@example.jp"), "{list}");
    nothing_more(&sink, 1).await;
}

/// An entrance visit's family gets the card's words (come to reception a little
/// early) and a calendar entry, but no link and no QR code.
#[tokio::test]
async fn an_entrance_visit_s_invitation_has_no_link() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let (kiosk, _) = app.paired_device(&token, "entrance", "玄関").await;
    let (status, _) = app
        .api_post(
            "/visits",
            &token,
            json!({"resident_id": seed.resident, "starts_at": (monday_9am_tokyo() + Duration::hours(3)).to_rfc3339(),
                   "mode": "entrance", "ward_device_id": seed.ward, "entrance_device_id": kiosk,
                   "guests": [{"name": "Emily Sato", "email": "emily@example.com", "lang": "en"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mail = sink.wait_for(1, ARRIVES).await.remove(0);
    println!("{}\n{}", mail.subject, mail.text);
    assert!(mail.link().is_none(), "no link: {}", mail.text);
    assert!(mail.inline_png.is_none());
    assert!(
        mail.text.to_lowercase().contains("reception"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("12:00"),
        "in English, the home's time: {}",
        mail.text
    );
    assert_eq!(entry(&mail).method, "REQUEST");
}

fn decode_qr(png: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut data = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut data).expect("its pixels");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| data[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

/// With the home's reminder times (the day before at 09:00, an hour before), each
/// reminder arrives once, at its time on the home's clock, not before.
#[tokio::test]
async fn reminders_arrive_at_the_home_s_local_times_and_not_twice() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    // Now: Monday 09:00 in Tokyo. The visit: Wednesday 10:00.
    let start = monday_9am_tokyo() + Duration::days(2) + Duration::hours(1);
    book_with(
        &app,
        &token,
        &seed,
        start,
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    sink.wait_for(1, ARRIVES).await;

    // Tuesday 08:59: not yet. 09:00: the day-before reminder.
    app.advance(Duration::days(1) - Duration::minutes(1));
    nothing_more(&sink, 1).await;
    app.advance(Duration::minutes(1));
    let day_before = sink.wait_for(2, ARRIVES).await.remove(1);
    println!("{}\n{}", day_before.subject, day_before.text);
    assert!(
        day_before.subject.contains("10:00"),
        "{}",
        day_before.subject
    );
    assert!(
        day_before.text.contains("/check"),
        "a nudge to run the check"
    );
    assert!(day_before.calendar.is_none(), "the entry is already there");
    app.advance(Duration::hours(3));
    nothing_more(&sink, 2).await;

    // Wednesday 08:59: nothing; 09:00 (an hour before): the last reminder, once.
    app.advance(Duration::hours(21) - Duration::minutes(1));
    nothing_more(&sink, 2).await;
    app.advance(Duration::minutes(1));
    let soon = sink.wait_for(3, ARRIVES).await.remove(2);
    assert!(soon.subject.contains("10:00"), "{}", soon.subject);
    assert!(soon.link().is_some(), "with the link: {}", soon.text);
    app.advance(Duration::minutes(30));
    nothing_more(&sink, 3).await;
}

/// A reminder whose time has passed is not sent for a visit booked after it: booked
/// at 09:00 for 09:40 (less than an hour ahead), the family gets the invitation only.
#[tokio::test]
async fn a_visit_booked_after_a_reminder_s_time_gets_no_reminder() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::minutes(40),
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    sink.wait_for(1, ARRIVES).await;
    app.advance(Duration::minutes(10));
    nothing_more(&sink, 1).await;
}

/// Moving the visit sends one "changed" message whose calendar entry updates the
/// family's (same UID, SEQUENCE + 1, the new time); cancelling sends one with
/// METHOD:CANCEL. Nothing else.
#[tokio::test]
async fn moving_then_cancelling_updates_the_family_s_calendar_entry() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let start = monday_9am_tokyo() + Duration::days(1) + Duration::hours(2);
    let visit = book_with(
        &app,
        &token,
        &seed,
        start,
        &[("Emily Sato", "emily@example.com", "en")],
    )
    .await;
    let invitation = sink.wait_for(1, ARRIVES).await.remove(0);
    let first = entry(&invitation);
    assert!(
        invitation.subject.contains("11:00"),
        "{}",
        invitation.subject
    );
    assert!(
        invitation.text.contains("Tuesday"),
        "in English: {}",
        invitation.text
    );

    app.login_as_admin().await;
    let id = visit["id"].as_str().expect("id");
    let res = app
        .post_form(
            &format!("/staff/visits/{id}"),
            &format!("/staff/visits/{id}/reschedule"),
            &[
                ("date", "2030-01-08"),
                ("time", "14:30"),
                ("duration", "20"),
            ],
        )
        .await;
    assert_eq!(redirected_to(&res), format!("/staff/visits/{id}"));
    let changed = sink.wait_for(2, ARRIVES).await.remove(1);
    println!("{}\n{}", changed.subject, changed.text);
    let moved = entry(&changed);
    assert_eq!(moved.method, "REQUEST");
    assert_eq!(moved.uid, first.uid, "the same entry");
    assert_eq!(moved.sequence, first.sequence + 1);
    assert_eq!(
        moved.start,
        start + Duration::hours(3) + Duration::minutes(30)
    );
    assert!(changed.text.contains("14:30"), "{}", changed.text);
    assert!(
        changed.text.contains("11:00"),
        "the old time too: {}",
        changed.text
    );
    assert!(
        changed.inline_png.is_none(),
        "the QR code only in the invitation"
    );
    assert!(changed.link().is_some(), "the same link still works");

    let (status, _) = app
        .api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    assert!(status.is_success());
    let cancelled = sink.wait_for(3, ARRIVES).await.remove(2);
    println!("{}\n{}", cancelled.subject, cancelled.text);
    let gone = entry(&cancelled);
    assert_eq!(gone.method, "CANCEL");
    assert_eq!(gone.uid, first.uid);
    assert_eq!(gone.sequence, moved.sequence + 1);
    assert_eq!(gone.status, "CANCELLED");
    assert!(cancelled.link().is_none(), "no link to a cancelled visit");
    // The next day's reminder was never sent: the visit is off.
    app.advance(Duration::days(1));
    nothing_more(&sink, 3).await;
}

/// A new link made by staff goes out as a new invitation; the old link appears in no
/// later message.
#[tokio::test]
async fn a_new_link_is_sent_as_a_new_invitation() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let visit = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::days(2),
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    let old = sink
        .wait_for(1, ARRIVES)
        .await
        .remove(0)
        .link()
        .expect("link");
    app.login_as_admin().await;
    let id = visit["id"].as_str().expect("id");
    let guest = visit["guests"][0]["id"].as_str().expect("guest");
    app.post_form(
        &format!("/staff/visits/{id}"),
        &format!("/staff/visits/{id}/guests/{guest}/link"),
        &[("email", "taro.yamada@example.jp")],
    )
    .await;
    let again = sink.wait_for(2, ARRIVES).await.remove(1);
    assert_eq!(
        again.to, "taro.yamada@example.jp",
        "to the address given with it"
    );
    let new = again.link().expect("the new link");
    assert_ne!(new, old);
    assert_eq!(
        entry(&again).uid.split('@').next(),
        Some(format!("{id}-{guest}").as_str())
    );
    // The reminder the day before carries the new link only.
    app.advance(Duration::days(1));
    let reminder = sink.wait_for(3, ARRIVES).await.remove(2);
    assert!(reminder.text.contains(&new) && !reminder.text.contains(&old));
}

/// The HTML parts of every kind of message in both languages, as a mail program
/// shows them (the QR code put in place of its cid: reference): the invitation at a
/// phone's and a laptop's width, the others at a phone's; axe-core on each.
#[tokio::test]
async fn japanese_and_english_messages_look_right() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let start = monday_9am_tokyo() + Duration::days(2) + Duration::hours(1);
    let visit = book_with(
        &app,
        &token,
        &seed,
        start,
        &[
            ("山田 太郎", "taro@example.jp", "ja"),
            ("Emily Sato", "emily@example.com", "en"),
        ],
    )
    .await;
    sink.wait_for(2, ARRIVES).await;
    app.login_as_admin().await;
    // The day before at 09:00, then moved, then cancelled (a day later: log in again).
    app.advance(Duration::days(1));
    sink.wait_for(4, ARRIVES).await;
    app.post_form(
        "/staff/login",
        "/staff/login",
        &[("login", "admin"), ("password", "a long enough password")],
    )
    .await;
    let id = visit["id"].as_str().expect("id");
    app.post_form(
        &format!("/staff/visits/{id}"),
        &format!("/staff/visits/{id}/reschedule"),
        &[
            ("date", "2030-01-09"),
            ("time", "14:30"),
            ("duration", "30"),
        ],
    )
    .await;
    sink.wait_for(6, ARRIVES).await;
    app.api_post(&format!("/visits/{id}/cancel"), &token, json!({}))
        .await;
    let mails = sink.wait_for(8, ARRIVES).await;
    let kinds = ["invitation", "reminder_day", "changed", "cancelled"];
    let browser = crate::support::Browser::start().await;
    let dir = crate::support::workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut problems = vec![];
    for (n, mail) in mails.iter().enumerate() {
        let kind = kinds[n / 2];
        let lang = if mail.to.starts_with("taro") {
            "ja"
        } else {
            "en"
        };
        let mut html = mail.html.clone();
        if let Some((png, cid)) = &mail.inline_png {
            use base64::Engine as _;
            let data = base64::engine::general_purpose::STANDARD.encode(png);
            html = html.replace(
                &format!("cid:{cid}"),
                &format!("data:image/png;base64,{data}"),
            );
        }
        let file = dir.join(format!("mail-{kind}-{lang}.html"));
        std::fs::write(&file, &html).expect("write");
        let widths: &[u32] = if kind == "invitation" {
            &[390, 820]
        } else {
            &[390]
        };
        for &width in widths {
            browser.resize(width, 900).await;
            browser.goto(&format!("file://{}", file.display())).await;
            browser
                .screenshot_full(&format!("mail-{kind}-{lang}-{width}"))
                .await;
        }
        for violation in browser.axe().await {
            problems.push(format!("{kind} {lang}: {violation}"));
        }
        assert_eq!(
            browser.eval("document.documentElement.lang").await,
            Value::String(lang.into())
        );
        assert!(!mail.text.is_empty(), "a plain-text part too");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The SMTP server down for a while: the message waits (the visit's page says it will
/// be tried again) and goes out when the server is back. Nothing is lost.
#[tokio::test]
async fn messages_wait_while_the_mail_server_is_down_and_go_when_it_returns() {
    let mut sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    sink.stop().await;
    let visit = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::days(1),
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    let id = visit["id"].as_str().expect("id");
    let waiting = when_first_message(&app, &token, id, "a first failed try", |m| {
        m["attempts"] != json!(0)
    })
    .await["messages"][0]
        .clone();
    assert_eq!(waiting["state"], "queued", "{waiting}");
    assert!(
        waiting["error"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable")),
        "{waiting}"
    );
    sink.restart().await;
    // The next try is a minute later on the home's clock.
    app.advance(Duration::minutes(2));
    let got = sink.wait_for(1, ARRIVES).await;
    assert_eq!(got.len(), 1);
    sent(&app, &token, id).await;
}

/// A mailbox the server refuses (550) is shown on the visit's page in words, with
/// "Send again"; a 451 is tried again rather than given up.
#[tokio::test]
async fn a_refused_mailbox_is_shown_on_the_visit_page() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let visit = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::days(1),
        &[("山田 太郎", "unknown.taro@example.jp", "")],
    )
    .await;
    let id = visit["id"].as_str().expect("id");
    when_first_message(&app, &token, id, "the invitation failed", |m| {
        m["state"] == "failed"
    })
    .await;
    app.login_as_admin().await;
    let (_, page) = app.get_text(&format!("/staff/visits/{id}?lang=en")).await;
    assert!(
        page.contains("Invitation to u…@example.jp could not be delivered: 5.1.1 mailbox unknown"),
        "{page}"
    );
    assert!(
        page.contains("unknown.taro@example.jp"),
        "the address in full here"
    );
    assert!(page.contains("Send again"));
    // A temporary refusal is not a failure.
    sink.fail_for_now(true);
    let other = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::days(2),
        &[("Emily Sato", "emily@example.com", "")],
    )
    .await;
    let other_id = other["id"].as_str().expect("id");
    let v = when_first_message(&app, &token, other_id, "a first refused try", |m| {
        m["attempts"] != json!(0)
    })
    .await;
    assert_eq!(v["messages"][0]["state"], "queued", "{v}");
    sink.fail_for_now(false);
    app.advance(Duration::minutes(2));
    sink.wait_for(1, ARRIVES).await;
}

/// Bad addresses are refused with a field error and book nothing; a name or address
/// with a line break cannot add a header.
#[tokio::test]
async fn a_bad_address_books_nothing_and_nothing_can_add_a_header() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    for email in [
        "taro",
        "taro@example",
        "taro@example.jp\r\nBcc: all@example.jp",
        "Taro <taro@example.jp>",
    ] {
        let mut body = crate::support::remote_visit(
            &seed.resident,
            &seed.ward,
            monday_9am_tokyo() + Duration::hours(1),
            20,
            &[],
        );
        body["guests"] = json!([{"name": "山田 太郎", "email": email}]);
        let (status, error) = app.api_post("/visits", &token, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email:?}: {error}"
        );
        assert_eq!(
            error["error"]["fields"]["guests"]["code"], "invalid_email",
            "{error}"
        );
    }
    let mut body = crate::support::remote_visit(
        &seed.resident,
        &seed.ward,
        monday_9am_tokyo() + Duration::hours(1),
        20,
        &[],
    );
    body["guests"] = json!([{"name": "Taro\r\nBcc: all@example.jp", "email": "taro@example.jp"}]);
    let (status, _) = app.api_post("/visits", &token, body).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a line break in a name"
    );
    let (_, visits) = app.api(reqwest::Method::GET, "/visits", &token, None).await;
    assert_eq!(visits.as_array().map(Vec::len), Some(0), "nothing booked");
    // A name with header-like text is just a name.
    book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::hours(1),
        &[("Taro: Bcc all@example.jp", "taro@example.jp", "")],
    )
    .await;
    let mail = sink.wait_for(1, ARRIVES).await.remove(0);
    assert!(
        !mail
            .header_names
            .iter()
            .any(|h| h.eq_ignore_ascii_case("bcc")),
        "{:?}",
        mail.header_names
    );
    nothing_more(&sink, 1).await;
}

/// The booking form takes an address and a language per family member; the booked
/// page then says the invitation goes by e-mail instead of asking staff to send it.
#[tokio::test]
async fn the_booking_form_takes_addresses_and_the_booked_page_says_they_get_mail() {
    let sink = SmtpSink::start().await;
    let (app, _token, seed) = home_with_mail(&sink).await;
    app.login_as_admin().await;
    let page = format!(
        "/staff/book?lang=en&resident_id={}&mode=remote&ward_device_id={}",
        seed.resident, seed.ward
    );
    let (_, html) = app.get_text(&page).await;
    let slot = html
        .split("name=\"slot\" value=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .expect("a free slot")
        .to_owned();
    let form = [
        ("resident_id", seed.resident.as_str()),
        ("mode", "remote"),
        ("ward_device_id", seed.ward.as_str()),
        ("slot", slot.as_str()),
        ("guest", "山田 太郎"),
        ("guest_email", "taro@example.jp"),
        ("guest_lang", "ja"),
        ("guest", ""),
        ("guest_email", "not-an-address"),
        ("guest_lang", ""),
    ];
    let res = app.post_form(&page, "/staff/book", &form).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an address without a name"
    );
    let mut form = form;
    form[8] = ("guest_email", "");
    let res = app.post_form(&page, "/staff/book", &form).await;
    let shown = redirected_to(&res);
    let joiner = if shown.contains('?') { '&' } else { '?' };
    let (_, booked) = app.get_text(&format!("{shown}{joiner}lang=en")).await;
    assert!(
        booked.contains("Menkai e-mails the invitation to t…@example.jp"),
        "{booked}"
    );
    sink.wait_for(1, ARRIVES).await;
}

/// Names and addresses go `retention_days` after the visit (30 by default); before
/// that they stay.
#[tokio::test]
async fn guests_names_and_addresses_are_deleted_after_the_retention_days() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let visit = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo(),
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    sink.wait_for(1, ARRIVES).await;
    let id = visit["id"].as_str().expect("id");
    let guest = || async {
        let v = visit_json(&app, &token, id).await;
        v["guests"][0].clone()
    };
    app.advance(Duration::days(29));
    app.tick().await;
    assert_eq!(guest().await["email"], "taro@example.jp");
    app.advance(Duration::days(2));
    app.tick().await;
    let gone = guest().await;
    assert_eq!(gone["name"], "", "{gone}");
    assert!(gone.get("email").is_none(), "{gone}");
}

/// The real binary killed with SIGKILL while it sends a batch of 51 invitations
/// (17 visits × 3 families, queued while e-mail was not set up, sent once it is):
/// after a restart every message has arrived. A message can arrive twice only if the
/// server had accepted it in the instant before the kill (README, "E-mail"): at most
/// the one in flight.
#[tokio::test]
async fn a_kill_9_in_the_middle_of_a_batch_loses_no_message() {
    use crate::support::binary::{Server, admin, call, home};
    let sink = SmtpSink::start_with(SinkOptions {
        delay_ms: 60,
        ..SinkOptions::default()
    })
    .await;
    let data = tempfile::tempdir().expect("temp dir");
    let token = admin(
        &["admin", "token", "create", "--name", "tests"],
        data.path(),
    )
    .await;
    let server = Server::start(data.path()).await;
    let home = home(&server, &token).await;
    let client = reqwest::Client::new();
    let first_day = Utc::now() + Duration::days(2);
    for day in 0..17 {
        let start = first_day + Duration::days(day);
        let start = start - Duration::seconds(i64::from(chrono::Timelike::second(&start)));
        let mut body = crate::support::remote_visit(
            home.resident["id"].as_str().expect("resident"),
            home.tablet["id"].as_str().expect("tablet"),
            start,
            20,
            &[],
        );
        body["guests"] = (0..3)
            .map(|n| json!({"name": format!("Family {day}-{n}"), "email": format!("family{day}.{n}@example.jp")}))
            .collect();
        let (status, visit) = call(
            &client,
            reqwest::Method::POST,
            format!("{}/api/v1/visits", server.base),
            &token,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{visit}");
    }
    server.stop().await;
    assert!(
        sink.received().is_empty(),
        "no e-mail set up yet: nothing sent"
    );

    let config = data.path().join("menkai.toml");
    std::fs::write(&config, sink.toml()).expect("config");
    let flags = ["--config", config.to_str().expect("path")];
    let mut server = Server::start_with(data.path(), "127.0.0.1:0", &flags).await;
    sink.wait_for(10, StdDuration::from_secs(60)).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    let _ = server.child.wait().await;
    let at_kill = sink.received().len();

    let server = Server::start_with(data.path(), "127.0.0.1:0", &flags).await;
    let all = crate::support::until(StdDuration::from_secs(90), "every message", || async {
        let got = sink.received();
        let unique: std::collections::HashSet<String> =
            got.iter().map(|m| m.message_id.clone()).collect();
        (unique.len() >= 51).then_some(got)
    })
    .await;
    let unique: std::collections::HashSet<&str> =
        all.iter().map(|m| m.message_id.as_str()).collect();
    let duplicates = all.len() - unique.len();
    println!(
        "kill -9 after {at_kill} of 51 messages; after the restart: {} received, {} distinct, {duplicates} duplicate(s)",
        all.len(),
        unique.len()
    );
    assert_eq!(unique.len(), 51);
    assert!(duplicates <= 1, "only the message in flight may come twice");
    nothing_more(&sink, all.len()).await;

    // The log says how messages went, never to whom or what.
    let log = server.stop().await;
    assert!(log.contains("outbox"), "delivery states are logged");
    for secret in ["@example.jp", "/v/", "Family "] {
        assert!(!log.contains(secret), "{secret:?} in the log");
    }
}

/// `menkai admin mail test` sends one message through the configured server, and says
/// plainly what is wrong: a refused login, no server at that address.
#[tokio::test]
async fn mail_test_sends_one_message_or_says_what_is_wrong() {
    let sink = SmtpSink::start_with(SinkOptions {
        login: Some(("menkai".into(), "right password".into())),
        ..SinkOptions::default()
    })
    .await;
    let (ok, said) = mail_test(&sink.toml()).await;
    assert!(ok, "{said}");
    assert!(
        said.contains("Sent a test message to taro@example.jp"),
        "{said}"
    );
    let got = sink.wait_for(1, ARRIVES).await;
    assert_eq!(got[0].to, "taro@example.jp");

    let wrong = sink.toml().replace("right password", "wrong password");
    let (ok, said) = mail_test(&wrong).await;
    println!("{said}");
    assert!(!ok);
    assert!(said.contains("refused the login"), "{said}");
    assert!(said.contains("username and password"), "{said}");

    let nobody = sink
        .toml()
        .replace(&format!("port = {}", sink.port), "port = 1");
    let (ok, said) = mail_test(&nobody).await;
    println!("{said}");
    assert!(!ok);
    assert!(said.contains("Could not connect to 127.0.0.1:1"), "{said}");
    assert_eq!(sink.received().len(), 1, "nothing else was sent");
}

/// Mail over STARTTLS (587 style) and over TLS from the first byte (465 style) to a
/// server whose certificate a private CA signed: with the CA as `root` it goes;
/// without it, `mail test` says the certificate is not trusted.
#[tokio::test]
async fn mail_over_tls_checks_the_server_s_certificate() {
    use crate::support::{CertFiles, TestCa, ecdsa};
    let ca = TestCa::new("Mail provider test CA");
    let files = CertFiles::new(&ca.leaf(&["localhost"], ecdsa()));
    let root = ca.write(files.dir.path());
    for (tls, implicit) in [("starttls", false), ("tls", true)] {
        let sink = SmtpSink::start_with(SinkOptions {
            tls: Some((files.cert.clone(), files.key.clone())),
            implicit_tls: implicit,
            ..SinkOptions::default()
        })
        .await;
        let config = |with_root: bool| {
            let mut text = format!(
                "[smtp]\nhost = \"localhost\"\nport = {}\ntls = \"{tls}\"\nfrom = \"{}\"\n",
                sink.port,
                crate::support::smtp::FROM
            );
            if with_root {
                text.push_str(&format!("root = \"{}\"\n", root.display()));
            }
            text
        };
        let (ok, said) = mail_test(&config(false)).await;
        println!("{tls}, no root: {said}");
        assert!(!ok);
        assert!(said.contains("certificate is not trusted"), "{said}");
        let (ok, said) = mail_test(&config(true)).await;
        assert!(ok, "{tls}: {said}");
        assert_eq!(sink.wait_for(1, ARRIVES).await.len(), 1);
    }
}

/// `menkai admin mail test taro@example.jp` with a configuration file of `config`
/// (and a fresh data directory): whether it succeeded, and all it printed.
async fn mail_test(config: &str) -> (bool, String) {
    let data = tempfile::tempdir().expect("temp dir");
    let file = data.path().join("menkai.toml");
    std::fs::write(&file, config).expect("config");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_menkai"))
        .args(["admin", "mail", "test", "taro@example.jp", "--config"])
        .arg(&file)
        .arg("--data")
        .arg(data.path())
        .output()
        .await
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The visit once its first message is as `wanted` says (`what` names it in a
/// failure): the worker writes down how a try went a moment after the mail server
/// answered.
async fn when_first_message(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    crate::support::until(ARRIVES, what, || async {
        let visit = visit_json(app, token, id).await;
        wanted(&visit["messages"][0]).then_some(visit)
    })
    .await
}

/// The visit once its first message is marked sent (the Maildir has the message a
/// moment before the server's "250" reaches the worker).
async fn sent(app: &TestApp, token: &str, id: &str) -> Value {
    when_first_message(app, token, id, "the message marked sent", |m| {
        m["state"] == "sent"
    })
    .await
}

/// `GET /api/v1/visits/{id}`.
async fn visit_json(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, visit) = app
        .api(reqwest::Method::GET, &format!("/visits/{id}"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{visit}");
    visit
}

/// "Send again" on the visit's page sends the message once more (a family who says it
/// never arrived): a second copy with its own Message-ID, and the page says sent.
#[tokio::test]
async fn send_again_sends_one_more_copy() {
    let sink = SmtpSink::start().await;
    let (app, token, seed) = home_with_mail(&sink).await;
    let visit = book_with(
        &app,
        &token,
        &seed,
        monday_9am_tokyo() + Duration::days(1),
        &[("山田 太郎", "taro@example.jp", "")],
    )
    .await;
    let first = sink.wait_for(1, ARRIVES).await.remove(0);
    let id = visit["id"].as_str().expect("id");
    let message = visit_json(&app, &token, id).await["messages"][0]["id"]
        .as_i64()
        .expect("message id");
    app.login_as_admin().await;
    let res = app
        .post_form(
            &format!("/staff/visits/{id}"),
            &format!("/staff/visits/{id}/messages/{message}/again"),
            &[],
        )
        .await;
    assert_eq!(redirected_to(&res), format!("/staff/visits/{id}#messages"));
    let again = sink.wait_for(2, ARRIVES).await.remove(1);
    assert_eq!(again.subject, first.subject);
    assert_eq!(again.link(), first.link(), "the same link");
    assert_ne!(
        again.message_id, first.message_id,
        "not taken for a duplicate"
    );
    sent(&app, &token, id).await;
    nothing_more(&sink, 2).await;
}
