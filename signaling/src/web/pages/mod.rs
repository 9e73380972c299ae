//! Staff pages: login, today's visits, booking, residents, devices, staff accounts,
//! facility settings and the audit list. Rendered by askama from `web/templates`.

mod accounts;
mod auth;
mod booking;
mod devices;
mod facility;
mod guide;
mod residents;
mod today;
mod visits;

use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};

use crate::facility::Facility;
use crate::i18n::Tr;
use crate::state::AppState;
pub use crate::web::shared::{Chrome, local_hm};

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
        .merge(guide::router())
}

/// A date from `?date=YYYY-MM-DD`, else today at the facility. Dates more than ten
/// years away are not plausible for a visit and would only invite overflow.
pub fn chosen_date(param: Option<&str>, facility: &Facility, now: DateTime<Utc>) -> NaiveDate {
    let today = facility.local_date(now);
    param
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| (*d - today).num_days().abs() <= 3650)
        .unwrap_or(today)
}

/// A field's error message, if the field has one. Templates show it beside the field.
pub fn field_message(tr: &Tr, errors: &crate::error::FieldErrors, field: &str) -> Option<String> {
    errors
        .code_for(field)
        .map(|code| tr.t(&format!("error-{code}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn implausible_or_broken_dates_fall_back_to_today() {
        let f = Facility::default();
        let now = Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap();
        let today = f.local_date(now);
        assert_eq!(
            chosen_date(Some("2030-01-09"), &f, now).to_string(),
            "2030-01-09"
        );
        assert_eq!(chosen_date(Some("+200000-01-01"), &f, now), today);
        assert_eq!(chosen_date(Some("262143-12-31"), &f, now), today);
        assert_eq!(chosen_date(Some("yesterday"), &f, now), today);
        assert_eq!(chosen_date(None, &f, now), today);
    }
}
