//! The deployment guide (docs/DEPLOY.md), built in, for staff who see the "local
//! address" warning: the steps are one click away, with no outside request.

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
    text: &'static str,
}

async fn guide(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> Result<Response, PageError> {
    Ok(render(&GuidePage {
        c: Chrome::staff(&ctx, &state, &me, "guide"),
        text: include_str!("../../../../docs/DEPLOY.md"),
    })?
    .into_response())
}
