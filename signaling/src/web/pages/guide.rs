//! The deployment guide, built in, for staff who see the "local address" warning: how
//! to put Menkai where families and tablets reach it over https, and how to move the
//! first-steps computer's data there, one click away and with no outside request. The
//! page is translated like every other (templates/guide.html, `guide-…` messages);
//! docs/DEPLOY.md and docs/DEPLOY.ja.md say the same at length.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Chrome;
use crate::error::PageError;
use crate::state::AppState;
use crate::web::extract::{Ctx, StaffUser};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/deploy-guide", get(guide))
}

#[derive(askama::Template)]
#[template(path = "guide.html")]
struct GuidePage {
    c: Chrome,
    /// The address links start with today, so the reader sees what the guide fixes.
    public_url: String,
}

async fn guide(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> Result<Response, PageError> {
    Ok(render(&GuidePage {
        c: Chrome::staff(&ctx, &state, &me, "guide"),
        public_url: state.public_url.to_string(),
    })?
    .into_response())
}
