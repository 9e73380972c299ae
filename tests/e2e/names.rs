//! Names that look alike (issue 16, finding 9): invisible characters (zero-width
//! spaces, direction marks, fillers, line separators) are refused wherever a name is
//! typed, and a resident typed again in another case, width or spacing is asked about
//! before being added a second time, through the API and the residents page alike.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, monday_9am_tokyo, redirected_to, spawn_app, spawn_app_with_seed};

/// The code points of the finding.
const INVISIBLE: [char; 9] = [
    '\u{200B}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{FEFF}', '\u{2060}', '\u{3164}', '\u{2028}',
    '\u{2029}',
];

async fn add_resident(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.api_post("/residents", token, body).await
}

/// The residents' names, as the API lists them.
async fn resident_names(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app.api(Method::GET, "/residents", token, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .map(str::to_owned)
        .collect()
}

/// The code a refused field got, after checking the whole answer is a 422 whose
/// field message is a sentence (not a missing translation id).
fn refused(field: &str, (status, body): (StatusCode, Value)) -> String {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["fields"][field]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !message.is_empty() && !message.starts_with("error-"),
        "a translated message: {body}"
    );
    body["error"]["fields"][field]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts a 409 `possible_duplicate` answer.
fn asked_about_duplicate(what: &str, (status, body): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::CONFLICT, "{what}: {body}");
    assert_eq!(
        body["error"]["code"], "possible_duplicate",
        "{what}: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("confirm_duplicate")),
        "the message says how to confirm: {body}"
    );
    assert!(body["error"].get("fields").is_none(), "{body}");
}

#[tokio::test]
async fn resident_names_with_invisible_characters_are_refused_by_the_api_and_nothing_is_created() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    for c in INVISIBLE {
        for name in [format!("Yamada{c}Hanako"), format!("山田{c}花子")] {
            assert_eq!(
                refused(
                    "name",
                    add_resident(&app, &token, json!({"name": name, "room": "201"})).await
                ),
                "invalid_characters",
                "{name:?}"
            );
        }
        assert_eq!(
            refused(
                "room",
                add_resident(
                    &app,
                    &token,
                    json!({"name": "Sato", "room": format!("2{c}01")})
                )
                .await
            ),
            "invalid_characters",
            "{c:?}"
        );
    }
    // Names made only of them: nothing a person could read.
    let only: String = INVISIBLE.iter().collect();
    for name in [
        only.as_str(),
        "\u{200B}",
        "\u{FEFF}\u{2060}",
        "\u{3164}\u{3164}\u{3164}",
        "\u{200E}\u{061C}\u{200F}",
    ] {
        assert_eq!(
            refused(
                "name",
                add_resident(&app, &token, json!({"name": name})).await
            ),
            "invalid_characters",
            "{name:?}"
        );
    }
    // Only combining marks, or only spaces.
    for name in ["\u{3099}\u{3099}", " \u{301} ", "\u{3000}\u{20DD}"] {
        assert_eq!(
            refused(
                "name",
                add_resident(&app, &token, json!({"name": name})).await
            ),
            "no_visible_characters",
            "{name:?}"
        );
    }
    assert_eq!(
        refused(
            "name",
            add_resident(&app, &token, json!({"name": "\u{3000}\u{3000}"})).await
        ),
        "required"
    );
    assert!(
        resident_names(&app, &token).await.is_empty(),
        "nothing was created"
    );
    // Ordinary names with spaces, ideographic ones included, still pass.
    for name in ["山田\u{3000}花子", "José Müller", "Zoë O'Neil"] {
        let (status, body) = add_resident(&app, &token, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{name:?}: {body}");
    }
}

#[tokio::test]
async fn guest_device_and_facility_names_with_invisible_characters_are_refused_too() {
    let (app, token, seed) = spawn_app_with_seed().await;
    for guest in [
        "Taro\u{200B}",
        "山田\u{FEFF}太郎",
        "\u{3164}",
        "Ta\u{2028}ro",
    ] {
        assert_eq!(
            refused(
                "guests",
                app.book(&token, &seed, monday_9am_tokyo(), &[guest]).await
            ),
            "invalid_characters",
            "{guest:?}"
        );
    }
    assert_eq!(
        app.visits_on_monday(&token).await,
        json!([]),
        "nothing booked"
    );

    let (_, devices) = app.api(Method::GET, "/devices", &token, None).await;
    let devices_before = devices.as_array().map(Vec::len);
    for name in ["2F\u{200B}tablet", "\u{2060}", "Tablet\u{200E}"] {
        let answer = app
            .api_post("/devices", &token, json!({"name": name, "kind": "ward"}))
            .await;
        assert_eq!(refused("name", answer), "invalid_characters", "{name:?}");
    }
    let (_, devices) = app.api(Method::GET, "/devices", &token, None).await;
    assert_eq!(
        devices.as_array().map(Vec::len),
        devices_before,
        "no device added"
    );

    let (_, mut facility) = app.api(Method::GET, "/facility", &token, None).await;
    let name_before = facility["name"].clone();
    facility["name"] = json!("さくら\u{3164}苑");
    let put = app
        .api(Method::PUT, "/facility", &token, Some(facility))
        .await;
    assert_eq!(refused("name", put), "invalid_characters");
    let (_, facility) = app.api(Method::GET, "/facility", &token, None).await;
    assert_eq!(facility["name"], name_before, "the facility kept its name");
}

#[tokio::test]
async fn a_resident_typed_again_in_another_case_width_or_spacing_is_asked_about_by_the_api_and_not_added()
 {
    let app = spawn_app().await;
    let token = app.api_token().await;
    for (name, room) in [("Tanaka", "201"), ("山田 花子", "305")] {
        let (status, body) = add_resident(&app, &token, json!({"name": name, "room": room})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (name, room) in [
        ("Tanaka", "201"),
        ("TANAKA", "201"),
        ("tanaka", " 201 "),
        ("ＴＡＮＡＫＡ", "２０１"),
        ("ｔａｎａｋａ", "201"),
        ("Ta naka", "201"),
        ("山田花子", "305"),
        ("山田\u{3000}花子", "305"),
        ("山田  花子", "３０５"),
    ] {
        asked_about_duplicate(
            &format!("{name:?} {room:?}"),
            add_resident(&app, &token, json!({"name": name, "room": room})).await,
        );
    }
    // Saying no is the same as saying nothing.
    asked_about_duplicate(
        "confirm_duplicate false",
        add_resident(
            &app,
            &token,
            json!({"name": "TANAKA", "room": "201", "confirm_duplicate": false}),
        )
        .await,
    );
    // With a zero-width space the name is refused outright.
    assert_eq!(
        refused(
            "name",
            add_resident(
                &app,
                &token,
                json!({"name": "Tanaka\u{200B}", "room": "201"})
            )
            .await
        ),
        "invalid_characters"
    );
    assert_eq!(
        resident_names(&app, &token).await,
        ["Tanaka", "山田 花子"],
        "nothing was added"
    );
}

#[tokio::test]
async fn a_name_stored_with_a_zero_width_space_before_the_rule_still_counts_as_the_same_resident() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    // Written the way an older version accepted it, without today's name rule.
    let legacy = menkai::residents::ResidentInput {
        name: "tanaka\u{200B}".into(),
        room: "201".into(),
        captions: false,
    };
    let actor = menkai::staff::Actor {
        label: "an older version".into(),
        role: menkai::staff::Role::Admin,
        staff_id: None,
    };
    let added = app
        .app_state
        .db
        .add_resident(legacy, true, &actor, app.clock_now())
        .await
        .expect("stored");
    assert!(
        matches!(added, menkai::residents::Addition::Added(_)),
        "{added:?}"
    );
    asked_about_duplicate(
        "Tanaka after tanaka with a zero-width space",
        add_resident(&app, &token, json!({"name": "Tanaka", "room": "201"})).await,
    );
    assert_eq!(resident_names(&app, &token).await, ["tanaka\u{200B}"]);
}

#[tokio::test]
async fn a_likely_duplicate_is_added_through_the_api_once_the_client_confirms_it() {
    let app = spawn_app().await;
    let token = app.api_token().await;
    let (status, _) = add_resident(&app, &token, json!({"name": "Tanaka", "room": "201"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = add_resident(
        &app,
        &token,
        json!({"name": "ＴＡＮＡＫＡ", "room": "201", "confirm_duplicate": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    // Another room is another person: no question.
    let (status, body) = add_resident(&app, &token, json!({"name": "tanaka", "room": "202"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut names = resident_names(&app, &token).await;
    names.sort();
    assert_eq!(names, ["Tanaka", "tanaka", "ＴＡＮＡＫＡ"]);
}

#[tokio::test]
async fn the_residents_page_asks_before_adding_a_resident_typed_again_in_another_case_width_or_spacing()
 {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let token = app.api_token().await;
    // Added through the API: the page asks about it all the same.
    let (status, _) = add_resident(&app, &token, json!({"name": "Tanaka", "room": "201"})).await;
    assert_eq!(status, StatusCode::CREATED);
    for (name, room) in [
        ("ＴＡＮＡＫＡ", "201"),
        ("tanaka", "２０１"),
        ("TANAKA", "201"),
    ] {
        let res = app
            .post_form(
                "/staff/residents?lang=en",
                "/staff/residents",
                &[("name", name), ("room", room)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{name:?}");
        let html = res.text().await.expect("page");
        assert!(
            html.contains("Tanaka (201) is already on the list"),
            "the resident already there is named: {html}"
        );
        assert!(html.contains("name=\"add_anyway\""), "{html}");
    }
    assert_eq!(
        resident_names(&app, &token).await,
        ["Tanaka"],
        "asked, not added"
    );

    // A zero-width space is refused with the field's message, nothing added.
    let res = app
        .post_form(
            "/staff/residents?lang=en",
            "/staff/residents",
            &[("name", "Tanaka\u{200B}"), ("room", "201")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("page");
    assert!(html.contains("id=\"name-error\""), "{html}");
    assert!(html.contains("invisible or unusable characters"), "{html}");
    assert!(
        html.contains("value=\"Tanaka\""),
        "shown back without the zero-width space, so retyping works: {html}"
    );
    assert!(!html.contains("name=\"add_anyway\""), "{html}");
    assert_eq!(resident_names(&app, &token).await, ["Tanaka"]);

    // Confirmed on the page: added.
    let res = app
        .post_form(
            "/staff/residents",
            "/staff/residents",
            &[
                ("name", "ＴＡＮＡＫＡ"),
                ("room", "201"),
                ("add_anyway", "1"),
            ],
        )
        .await;
    assert_eq!(redirected_to(&res), "/staff/residents?saved=1");
    assert_eq!(resident_names(&app, &token).await.len(), 2);

    // Added on the page with an ideographic space: the API asks about it with a plain
    // space, and the page about it without any.
    let res = app
        .post_form(
            "/staff/residents",
            "/staff/residents",
            &[("name", "山田\u{3000}花子"), ("room", "305")],
        )
        .await;
    assert_eq!(redirected_to(&res), "/staff/residents?saved=1");
    asked_about_duplicate(
        "山田 花子 after 山田\u{3000}花子",
        add_resident(&app, &token, json!({"name": "山田 花子", "room": "305"})).await,
    );
    let res = app
        .post_form(
            "/staff/residents?lang=en",
            "/staff/residents",
            &[("name", "山田花子"), ("room", "305")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(resident_names(&app, &token).await.len(), 3);
}
