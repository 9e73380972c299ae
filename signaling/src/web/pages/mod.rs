//! Staff pages: login, today's visits, booking, residents, devices, staff accounts,
//! facility settings and the audit list. Rendered by askama from `web/templates`.

mod accounts;
mod auth;
mod booking;
mod devices;
mod facility;
mod residents;
mod today;
mod visits;

use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};

use crate::facility::Facility;
use crate::i18n::Tr;
use crate::staff::StaffMember;
use crate::state::AppState;
use crate::web::extract::Ctx;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(today::router())
        .merge(booking::router())
        .merge(visits::router())
        .merge(residents::router())
        .merge(devices::router())
        .merge(accounts::router())
        .merge(facility::router())
}

/// What every page's frame needs: language, CSRF value, facility name, and for staff
/// the navigation.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub csrf: String,
    pub facility_name: String,
    pub staff: Option<StaffNav>,
    /// Off on pages that answer a POST, where reloading in another language would
    /// resubmit or lose what is shown.
    pub lang_switch: bool,
}

#[derive(Debug, Clone)]
pub struct StaffNav {
    pub name: String,
    pub is_admin: bool,
    /// Which navigation entry is the current page.
    pub current: &'static str,
}

impl Chrome {
    pub fn public(tr: Tr, csrf: String, facility_name: &str) -> Self {
        Self {
            tr,
            csrf,
            facility_name: facility_name.to_owned(),
            staff: None,
            lang_switch: true,
        }
    }

    pub fn staff(ctx: &Ctx, state: &AppState, member: &StaffMember, current: &'static str) -> Self {
        Self {
            staff: Some(StaffNav {
                name: member.display_name.clone(),
                is_admin: member.role == crate::staff::Role::Admin,
                current,
            }),
            ..Self::public(ctx.tr, ctx.csrf.clone(), &state.facility().name)
        }
    }

    pub fn without_lang_switch(mut self) -> Self {
        self.lang_switch = false;
        self
    }
}

/// A date from `?date=YYYY-MM-DD`, else today at the facility.
pub fn chosen_date(param: Option<&str>, facility: &Facility, now: DateTime<Utc>) -> NaiveDate {
    param
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| facility.local_date(now))
}

/// `9:00` in the facility's time zone.
pub fn local_hm(facility: &Facility, t: DateTime<Utc>) -> String {
    t.with_timezone(&facility.tz()).format("%-H:%M").to_string()
}

/// A field's error message, if the field has one. Templates show it beside the field.
pub fn field_message(tr: &Tr, errors: &crate::error::FieldErrors, field: &str) -> Option<String> {
    errors
        .code_for(field)
        .map(|code| tr.t(&format!("error-{code}")))
}
