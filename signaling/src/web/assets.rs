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

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const PNG: &str = "image/png";

/// One embedded file: (path under /static/, content type, contents).
macro_rules! asset {
    ($path:literal, $kind:expr) => {
        (
            $path,
            $kind,
            include_bytes!(concat!("../../../web/static/", $path)),
        )
    };
}

const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("style.css", CSS),
    asset!("staff.css", CSS),
    asset!("js/countdown.js", JS),
    asset!("js/staff.js", JS),
    asset!("js/signaling.js", JS),
    asset!("js/mesh.js", JS),
    asset!("js/callview.js", JS),
    asset!("js/call.js", JS),
    asset!("js/device.js", JS),
    asset!("js/pair.js", JS),
    asset!("js/guard.js", JS),
    asset!("js/check.js", JS),
    asset!("js/probe.js", JS),
    asset!("js/captions.js", JS),
    asset!("js/captions-worklet.js", JS),
    asset!("favicon.svg", SVG),
    // The ward tablet's home-screen icons (scripts/icons renders them from app.svg).
    asset!("icons/app.svg", SVG),
    asset!("icons/icon-180.png", PNG),
    asset!("icons/icon-192.png", PNG),
    asset!("icons/icon-512.png", PNG),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{*path}", get(asset))
        // A phone on a poor line loads the family's pages in a third of the bytes.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        // Browsers ask for this on their own, whatever the page says.
        .route(
            "/favicon.ico",
            get(|headers: HeaderMap| asset(Path("favicon.svg".to_owned()), headers)),
        )
}

fn etag(contents: &[u8]) -> String {
    let digest = Sha256::digest(contents);
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

#[cfg(test)]
mod tests {
    /// Every script a page or another script loads is served.
    #[test]
    fn every_referenced_script_is_embedded() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../web");
        let mut referenced = vec![];
        for dir in ["templates", "static/js"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}"))
                .unwrap()
                .flatten()
            {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                for part in text.split("/static/").skip(1) {
                    referenced.push(part.split(['"', '\'', ')']).next().unwrap().to_owned());
                }
                for part in text.split("from \"./").skip(1) {
                    referenced.push(format!("js/{}", part.split('"').next().unwrap()));
                }
            }
        }
        assert!(referenced.len() > 5);
        for path in referenced {
            assert!(
                super::ASSETS.iter().any(|(p, _, _)| *p == path),
                "{path} is referenced but not embedded"
            );
        }
    }
}
