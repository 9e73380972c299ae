//! Staff accounts (administrators): invite a person with a one-time link, disable or
//! enable an account; and the audit list.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Chrome, field_message, local_hm};
use crate::error::{FieldErrors, PageError};
use crate::i18n;
use crate::staff::{Actor, Role, StaffMember};
use crate::state::AppState;
use crate::web::extract::{AdminUser, CsrfForm, Ctx, NoFields};
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/accounts", get(list).post(invite))
        .route("/staff/accounts/{id}/disable", post(disable))
        .route("/staff/accounts/invites/{id}/revoke", post(revoke_invite))
        .route("/staff/accounts/{id}/enable", post(enable))
        .route("/staff/audit", get(audit))
}

pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub login: String,
    pub role: String,
    pub disabled: bool,
    pub is_me: bool,
}

#[derive(askama::Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    c: Chrome,
    accounts: Vec<AccountRow>,
    invite_link: Option<String>,
    invite_name: String,
    /// Account links not used yet: (id, name, role, until).
    pending: Vec<(i64, String, String, String)>,
    errors: FieldErrors,
    conflict: Option<String>,
}

impl AccountsPage {
    fn error(&self, field: &str) -> Option<String> {
        field_message(&self.c.tr, &self.errors, field)
    }
}

async fn page(ctx: &Ctx, state: &AppState, me: &StaffMember) -> Result<AccountsPage, PageError> {
    let accounts = state
        .db
        .staff_members()
        .await?
        .into_iter()
        .map(|m| AccountRow {
            is_me: m.id == me.id,
            role: ctx.tr.t(&format!("role-{}", m.role.as_str())),
            id: m.id,
            name: m.display_name,
            login: m.login,
            disabled: m.disabled,
        })
        .collect();
    let facility = state.facility();
    let pending = state
        .db
        .pending_staff_invites(state.now())
        .await?
        .into_iter()
        .map(|i| {
            let until = format!(
                "{} {}",
                crate::i18n::long_date(ctx.tr.lang, facility.local_date(i.expires_at)),
                super::local_hm(&facility, i.expires_at)
            );
            (
                i.id,
                i.display_name,
                ctx.tr.t(&format!("role-{}", i.role.as_str())),
                until,
            )
        })
        .collect();
    Ok(AccountsPage {
        c: Chrome::staff(ctx, state, me, "accounts"),
        accounts,
        invite_link: None,
        invite_name: String::new(),
        pending,
        errors: FieldErrors::default(),
        conflict: None,
    })
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
) -> Result<Response, PageError> {
    Ok(render(&page(&ctx, &state, &me).await?)?.into_response())
}

#[derive(Deserialize)]
struct InviteForm {
    name: String,
    role: String,
}

async fn invite(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, PageError> {
    let mut page = page(&ctx, &state, &me).await?;
    let name = crate::validation::name(&form.name, 80);
    let role = Role::parse(&form.role);
    match (role, name) {
        (Some(role), Ok(name)) => {
            let token = state
                .db
                .create_staff_invite(name.clone(), role, me.display_name.clone(), state.now())
                .await?;
            page.invite_link = Some(format!("{}/setup/{token}", state.public_url));
            page.invite_name = name;
            page.c = page.c.without_lang_switch();
            Ok(render(&page)?.into_response())
        }
        (role, name) => {
            page.errors = match (role, name) {
                (None, _) => FieldErrors::single("role", "invalid_choice"),
                (_, Err(code)) => FieldErrors::single("name", code),
                (Some(_), Ok(_)) => FieldErrors::default(),
            };
            page.invite_name = form.name;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

async fn set_disabled(
    ctx: Ctx,
    state: AppState,
    me: StaffMember,
    id: String,
    disabled: bool,
) -> Result<Response, PageError> {
    match state
        .db
        .set_staff_disabled(id, disabled, &Actor::from(&me), state.now())
        .await
    {
        Ok(()) => Ok(Redirect::to("/staff/accounts").into_response()),
        Err(crate::error::Error::Conflict(code)) => {
            let mut page = page(&ctx, &state, &me).await?;
            page.conflict = Some(ctx.tr.t(&format!("error-{code}")));
            Ok((StatusCode::CONFLICT, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn disable(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    set_disabled(ctx, state, me, id, true).await
}

async fn enable(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    set_disabled(ctx, state, me, id, false).await
}

/// "Revoke" on a pending account link: it stops working at once.
async fn revoke_invite(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    state
        .db
        .revoke_staff_invite(id, me.display_name.clone(), state.now())
        .await?;
    Ok(axum::response::Redirect::to("/staff/accounts").into_response())
}

pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
}

async fn audit(
    ctx: Ctx,
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
) -> Result<Response, PageError> {
    let facility = state.facility();
    let rows = state
        .db
        .recent_audit(200)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            when: format!(
                "{} {}",
                i18n::long_date(ctx.tr.lang, facility.local_date(e.at)),
                local_hm(&facility, e.at)
            ),
            action: ctx.tr.t(&format!("audit-{}", e.action)),
            actor: match e.actor.strip_prefix('@') {
                Some(key) => ctx.tr.t(&format!("actor-{key}")),
                None => e.actor,
            },
            detail: e.detail,
        })
        .collect();
    Ok(render(&AuditPage {
        c: Chrome::staff(&ctx, &state, &me, "audit"),
        rows,
    })?
    .into_response())
}
