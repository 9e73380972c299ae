//! The pages a kiosk or ward tablet shows: `/pair` (once, to trade the pairing code
//! for a device token) and `/device` (all day), and the web app manifest that lets a
//! tablet put `/device` on its home screen and open it full screen. The device token
//! never reaches the server in a URL: the page keeps it in local storage and sends it
//! in `hello`.

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::shared::Chrome;
use crate::error::PageError;
use crate::state::AppState;
use crate::web::extract::Ctx;
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/device", get(device_page))
        .route("/pair", get(pair_page))
        .route("/device.webmanifest", get(manifest))
}

/// The ward tablet as an app (Android's "Add to home screen", iPad's "Add to Home
/// Screen"): its own icon, full screen, straight to the device page.
async fn manifest(ctx: Ctx, State(state): State<AppState>) -> Response {
    let facility = state.facility();
    let body = serde_json::json!({
        "name": ctx.tr.t1("manifest-name", "facility", &facility.name),
        "short_name": ctx.tr.t("device-title"),
        "lang": ctx.tr.code(),
        "start_url": "/device",
        "scope": "/",
        "display": "fullscreen",
        "background_color": "#0b4a8b",
        "theme_color": "#0b4a8b",
        "icons": [
            { "src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any" },
            { "src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any" },
            { "src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable" },
            { "src": "/static/icons/app.svg", "sizes": "any", "type": "image/svg+xml" },
        ],
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/manifest+json",
        )],
        body.to_string(),
    )
        .into_response()
}

#[derive(askama::Template)]
#[template(path = "device.html")]
struct DevicePage {
    c: Chrome,
    /// The facility's other language, for the "removed" screen.
    other: crate::i18n::Tr,
    buffer_minutes: u32,
    time_zone: String,
    /// The server's version, which the page reports as its own in `health`.
    version: &'static str,
}

async fn device_page(ctx: Ctx, State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let facility = state.facility();
    render(&DevicePage {
        other: crate::i18n::Tr::new(ctx.tr.lang.other()),
        c: Chrome::public(ctx.tr, ctx.csrf, &facility)
            .without_lang_switch()
            .with_captions(&state),
        buffer_minutes: facility.buffer_minutes,
        version: env!("CARGO_PKG_VERSION"),
        time_zone: facility.time_zone.clone(),
    })
}

#[derive(askama::Template)]
#[template(path = "pair.html")]
struct PairPage {
    c: Chrome,
}

async fn pair_page(ctx: Ctx, State(state): State<AppState>) -> Result<Response, PageError> {
    Ok(render(&PairPage {
        c: Chrome::public(ctx.tr, ctx.csrf, &state.facility()),
    })?
    .into_response())
}
