//! The stylesheet and scripts, compiled into the binary: one file to install, and no
//! request ever leaves for a third party. Served with an ETag so browsers revalidate
//! cheaply after an upgrade.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// (path under /static/, content type, contents)
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/static/style.css"),
    ),
    (
        "js/countdown.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/js/countdown.js"),
    ),
    (
        "js/staff.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/js/staff.js"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(asset))
}

fn etag(contents: &str) -> String {
    let digest = Sha256::digest(contents.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, contents)) = ASSETS.iter().find(|(p, _, _)| *p == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let tag = etag(contents);
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, tag.clone()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(tag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, *content_type)], *contents).into_response()
}
