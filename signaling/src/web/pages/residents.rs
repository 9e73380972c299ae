//! Residents: add, edit, archive, restore.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Chrome, field_message};
use crate::error::{Error, FieldErrors, PageError};
use crate::residents::{Addition, Resident, ResidentInput};
use crate::staff::{Actor, StaffMember};
use crate::state::AppState;
use crate::web::extract::{CsrfForm, Ctx, NoFields, StaffUser};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/residents", get(list).post(add))
        .route("/staff/residents/{id}", get(edit_page).post(edit))
        .route("/staff/residents/{id}/archive", post(archive))
        .route("/staff/residents/{id}/restore", post(restore))
}

#[derive(askama::Template)]
#[template(path = "residents.html")]
struct ResidentsPage {
    c: Chrome,
    residents: Vec<Resident>,
    input: ResidentInput,
    errors: FieldErrors,
    /// A resident with this name and room (as [`crate::validation::match_key`] compares
    /// them) is already there: this one, shown while asking before adding twice.
    duplicate: Option<Resident>,
}

impl ResidentsPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn list_page(
    ctx: &Ctx,
    state: &AppState,
    me: &StaffMember,
    input: ResidentInput,
    errors: FieldErrors,
) -> Result<ResidentsPage, PageError> {
    Ok(ResidentsPage {
        c: Chrome::staff(ctx, state, me, "residents"),
        residents: state.db.residents(true).await?,
        input,
        errors,
        duplicate: None,
    })
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(
            &ctx,
            &state,
            &me,
            ResidentInput::default(),
            FieldErrors::default(),
        )
        .await?,
    )?
    .into_response())
}

/// The add form: a resident, and whether staff confirmed adding a second one with the
/// same name and room (twins of names happen; a double click should not). The API asks
/// the same question through the same `Db::add_resident`.
#[derive(Debug, Clone, serde::Deserialize)]
struct AddForm {
    name: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    add_anyway: Option<String>,
    #[serde(default)]
    captions: bool,
}

async fn add(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let typed = ResidentInput {
        name: form.name,
        room: form.room,
        captions: form.captions,
    };
    match typed.clone().parse() {
        Ok(input) => {
            let addition = state
                .db
                .add_resident(
                    input.clone(),
                    form.add_anyway.is_some(),
                    &Actor::from(&me),
                    state.now(),
                )
                .await?;
            match addition {
                Addition::Added(_) => Ok(Redirect::to("/staff/residents?saved=1").into_response()),
                Addition::PossibleDuplicate(twin) => {
                    let mut page =
                        list_page(&ctx, &state, &me, input, FieldErrors::default()).await?;
                    page.duplicate = Some(twin);
                    Ok((StatusCode::CONFLICT, render(&page)?).into_response())
                }
            }
        }
        Err(errors) => {
            // Shown again without what cannot be seen: a box that looks empty must be.
            let shown = ResidentInput {
                name: crate::validation::visible_only(&typed.name),
                room: crate::validation::visible_only(&typed.room),
                captions: typed.captions,
            };
            let page = list_page(&ctx, &state, &me, shown, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

#[derive(askama::Template)]
#[template(path = "resident_edit.html")]
struct EditPage {
    c: Chrome,
    id: String,
    input: ResidentInput,
    archived: bool,
    errors: FieldErrors,
}

impl EditPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn edit_page(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let r = state.db.resident(id).await?;
    let page = EditPage {
        c: Chrome::staff(&ctx, &state, &me, "residents"),
        id: r.id,
        input: ResidentInput {
            name: r.name,
            room: r.room,
            captions: r.captions,
        },
        archived: r.archived,
        errors: FieldErrors::default(),
    };
    Ok(render(&page)?.into_response())
}

async fn edit(
    ctx: Ctx,
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ResidentInput>,
) -> Result<Response, PageError> {
    match form.clone().parse() {
        Ok(input) => {
            state
                .db
                .update_resident(id, input, &Actor::from(&me), state.now())
                .await?;
            Ok(Redirect::to("/staff/residents?saved=1").into_response())
        }
        Err(errors) => {
            let r = state.db.resident(id).await?;
            let page = EditPage {
                c: Chrome::staff(&ctx, &state, &me, "residents"),
                id: r.id,
                input: form,
                archived: r.archived,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

async fn set_archived(
    state: &AppState,
    me: &StaffMember,
    id: String,
    archived: bool,
) -> Result<Response, Error> {
    state
        .db
        .set_resident_archived(id, archived, &Actor::from(me), state.now())
        .await?;
    Ok(Redirect::to("/staff/residents").into_response())
}

async fn archive(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    Ok(set_archived(&state, &me, id, true).await?)
}

async fn restore(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    Ok(set_archived(&state, &me, id, false).await?)
}
