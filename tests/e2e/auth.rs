//! Staff login, sessions, CSRF and roles, through the pages a person uses.

use chrono::Duration;
use reqwest::StatusCode;

use crate::support::{browser_client, csrf_of, spawn_app};

#[tokio::test]
async fn staff_pages_send_strangers_to_the_login_page() {
    let app = spawn_app().await;
    let res = app.get("/staff").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/staff/login");
}

#[tokio::test]
async fn an_administrator_created_from_the_setup_link_can_log_out_and_in_again() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let (status, html) = app.get_text("/staff").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sato Admin"));
    let res = app.post_form("/staff", "/staff/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/staff").await.status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
    let res = app
        .post_form(
            "/staff/login",
            "/staff/login",
            &[("login", "ADMIN"), ("password", "a long enough password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/staff").await.status(), StatusCode::OK);
}

/// The link printed at first start makes the first administrator: the page says so,
/// and still says so when the form comes back with a mistake (not "you have been
/// invited", which is for colleagues).
#[tokio::test]
async fn the_first_administrator_is_not_told_they_were_invited() {
    let app = spawn_app().await;
    let path = format!("{}?lang=en", app.setup_path());
    let first = "This creates the first administrator account";
    let (_, html) = app.get_text(&path).await;
    assert!(html.contains(first), "{html}");
    let res = app
        .post_form(
            &path,
            &path,
            &[
                ("display_name", "Sato"),
                ("login", "sato"),
                ("password", "a long enough password"),
                ("password_again", "another long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("page");
    assert!(html.contains(first), "after a mistake too: {html}");
    assert!(!html.contains("You have been invited"), "{html}");
}

#[tokio::test]
async fn a_setup_link_works_only_once() {
    let app = spawn_app().await;
    let link = app
        .app_state
        .db
        .create_staff_invite(
            "Ito".into(),
            menkai::staff::Role::Staff,
            "test".into(),
            app.clock_now(),
        )
        .await
        .expect("invite");
    let path = format!("/setup/{link}");
    let fields = [
        ("display_name", "Ito"),
        ("login", "ito"),
        ("password", "a long enough password"),
        ("password_again", "a long enough password"),
    ];
    assert_eq!(
        app.post_form(&path, &path, &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    let again = browser_client();
    let res = again.get(app.url(&path)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a used link is gone");
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let res = app
        .client
        .post(app.url("/staff/residents"))
        .form(&[("name", "Intruder")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .client
        .post(app.url("/staff/residents"))
        .form(&[("name", "Intruder"), ("csrf", "guessed-value")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = app.get_text("/staff/residents").await;
    assert!(!html.contains("Intruder"));
    // The same form with the token works.
    let res = app
        .post_form(
            "/staff/residents",
            "/staff/residents",
            &[("name", "山田 花子"), ("room", "201")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_text("/staff/residents").await;
    assert!(html.contains("山田 花子"));
}

#[tokio::test]
async fn the_login_form_also_needs_its_csrf_token() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let fresh = browser_client();
    let res = fresh
        .post(app.url("/staff/login"))
        .form(&[("login", "admin"), ("password", "a long enough password")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_slow_down() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let _ = app.post_form("/staff", "/staff/logout", &[]).await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                "/staff/login",
                "/staff/login",
                &[("login", "admin"), ("password", password)],
            )
            .await
        }
    };
    for _ in 0..3 {
        let res = attempt("wrong password!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(
            res.text().await.expect("body").contains("role=\"alert\""),
            "the page says what went wrong"
        );
    }
    // From now on every attempt must wait, even with the right password, and each
    // further failure makes the wait longer.
    let mut waits = vec![];
    for _ in 0..3 {
        let res = attempt("a long enough password").await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password must wait"
        );
        let wait: i64 = res.headers()["retry-after"]
            .to_str()
            .expect("header")
            .parse()
            .expect("seconds");
        waits.push(wait);
        app.advance(Duration::seconds(wait));
        assert_eq!(
            attempt("wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = attempt("a long enough password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    app.advance(Duration::seconds(
        res.headers()["retry-after"]
            .to_str()
            .expect("header")
            .parse()
            .expect("seconds"),
    ));
    assert!(
        waits.windows(2).all(|w| w[1] > w[0]),
        "the delay grows: {waits:?}"
    );
    assert_eq!(
        attempt("a long enough password").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn staff_members_cannot_open_administrator_pages() {
    let app = spawn_app().await;
    app.login_as_admin().await;
    let link = app.invite_colleague("Suzuki", "staff").await;
    let colleague = browser_client();
    let page = colleague
        .get(&link)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let csrf = csrf_of(&page);
    let res = colleague
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Suzuki"),
            ("login", "suzuki"),
            ("password", "another long password"),
            ("password_again", "another long password"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let today = colleague
        .get(app.url("/staff"))
        .send()
        .await
        .expect("request");
    assert_eq!(today.status(), StatusCode::OK);
    for admin_page in [
        "/staff/devices",
        "/staff/accounts",
        "/staff/facility",
        "/staff/audit",
    ] {
        let res = colleague
            .get(app.url(admin_page))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{admin_page}");
    }
}
