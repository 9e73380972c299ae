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
        .merge(guide::router())
}

/// What every page's frame needs: language, CSRF value, facility name, and for staff
/// the navigation.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub csrf: String,
    pub facility_name: String,
    /// The facility's phone number as shown, and as a `tel:` target (may be empty).
    pub phone: String,
    pub phone_link: String,
    pub staff: Option<StaffNav>,
    /// Off on pages that answer a POST, where reloading in another language would
    /// resubmit or lose what is shown.
    pub lang_switch: bool,
    /// Say "Saved" at the top (the page follows a successful save).
    pub saved: bool,
    /// Staff pages: the public address is a loopback one, so links handed out from
    /// here cannot work anywhere else; every staff page says so.
    pub address_warning: bool,
}

#[derive(Debug, Clone)]
pub struct StaffNav {
    pub name: String,
    pub is_admin: bool,
    /// Which navigation entry is the current page.
    pub current: &'static str,
}

impl Chrome {
    pub fn public(tr: Tr, csrf: String, facility: &Facility) -> Self {
        Self {
            tr,
            csrf,
            facility_name: facility.name.clone(),
            phone: facility.phone.clone(),
            phone_link: facility.phone_link(),
            staff: None,
            lang_switch: true,
            saved: false,
            address_warning: false,
        }
    }

    pub fn staff(ctx: &Ctx, state: &AppState, member: &StaffMember, current: &'static str) -> Self {
        Self {
            staff: Some(StaffNav {
                name: member.display_name.clone(),
                is_admin: member.role == crate::staff::Role::Admin,
                current,
            }),
            saved: ctx.saved,
            address_warning: is_loopback_url(&state.public_url),
            ..Self::public(ctx.tr, ctx.csrf.clone(), &state.facility())
        }
    }

    pub fn without_lang_switch(mut self) -> Self {
        self.lang_switch = false;
        self
    }
}

/// Whether links under `public_url` only work on this very computer.
pub fn is_loopback_url(public_url: &str) -> bool {
    let host = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`.
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn loopback_addresses_are_recognised() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "https://127.0.0.2",
            "http://app.localhost",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://visits.example.org",
            "http://192.168.1.20:8080",
            "https://[2001:db8::1]:443",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

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
