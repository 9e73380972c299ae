//! What pages of every kind share — the family's (`join.rs`), the devices'
//! (`device.rs`) and the staff's (`pages/`): the frame around every page ([`Chrome`]),
//! times in the facility's zone, and the family's printed card and calendar file,
//! which staff hand out too.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::facility::Facility;
use crate::i18n::{Lang, Tr};
use crate::invitations::{self, ics, visit_url};
use crate::staff::StaffMember;
use crate::state::AppState;
use crate::visits::Visit;
use crate::web::extract::Ctx;

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
    /// Staff pages: what is wrong with the public address, as a message id — a
    /// loopback one (links work only on this computer) or plain http:// elsewhere
    /// (phones and tablets give no camera); every staff page says so.
    pub address_warning: Option<&'static str>,
    /// A recogniser is installed: pages may offer and show live captions (without
    /// one, no page mentions them).
    pub captions: bool,
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
            address_warning: None,
            captions: false,
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
            address_warning: address_problem(&state.public_url),
            captions: state.captions.is_some(),
            ..Self::public(ctx.tr, ctx.csrf.clone(), &state.facility())
        }
    }

    /// Pages of calls: captions shown (the devices) or sent (the family) when on.
    pub fn with_captions(mut self, state: &AppState) -> Self {
        self.captions = state.captions.is_some();
        self
    }

    pub fn without_lang_switch(mut self) -> Self {
        self.lang_switch = false;
        self
    }
}

/// What stops links under `public_url` from working as a family expects, as a message
/// id: only this computer can open them, or (http:// anywhere else) browsers give
/// them no camera or microphone.
pub fn address_problem(public_url: &str) -> Option<&'static str> {
    if is_loopback_url(public_url) {
        Some("address-warning")
    } else if !public_url.starts_with("https://") {
        Some("address-warning-insecure")
    } else {
        None
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
    // 0.0.0.0 too: the address a listener binds to is no address to hand out.
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// `9:00` in the facility's time zone.
pub fn local_hm(facility: &Facility, t: DateTime<Utc>) -> String {
    t.with_timezone(&facility.tz()).format("%-H:%M").to_string()
}

/// `?in=ja|en`: the language of a card or calendar file staff make for a family. Not
/// the `?lang=` switch, which would also change the staff member's own pages.
#[derive(serde::Deserialize)]
pub struct MadeIn {
    #[serde(rename = "in")]
    lang: Option<String>,
}

impl MadeIn {
    pub fn tr(&self, ctx: &Ctx) -> Tr {
        Tr::new(
            self.lang
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or(ctx.tr.lang),
        )
    }
}

/// The calendar file of `visit`: with the family's link (`(token, guest id)`: the
/// entry has the same UID as the one their e-mail brings, so a calendar keeps one),
/// or (at the entrance) with what to do at reception.
pub fn calendar_file(
    tr: Tr,
    state: &AppState,
    visit: &Visit,
    link: Option<(&str, &str)>,
) -> Response {
    let token = link.map(|(token, _)| token);
    let facility = state.facility();
    let url = token
        .map(|t| visit_url(&state.public_url, t))
        .unwrap_or_default();
    let summary = invitations::title(tr.lang, &visit.resident_name);
    let description = match token {
        Some(_) => tr.t1("ics-description", "url", &url),
        None => tr.t1("ics-entrance-description", "facility", &facility.name),
    };
    let uid = invitations::calendar_uid(&visit.id, link.map(|(_, guest)| guest));
    let event = ics::Event {
        uid: &uid,
        summary: &summary,
        description: &description,
        url: &url,
        location: &facility.name,
        starts_at: visit.starts_at,
        ends_at: visit.ends_at,
        cancelled: false,
        alarm_text: &summary,
        stamp: state.now(),
        method: "PUBLISH",
        sequence: visit.sequence,
        organizer: None,
        attendee: None,
    };
    let body = ics::calendar(&event, facility.tz());
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"menkai-visit.ics\"",
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(askama::Template)]
#[template(path = "card.html")]
pub struct CardPage {
    c: Chrome,
    /// The family's link and its QR code; none for a visit at the entrance.
    link: Option<CardLink>,
    title: String,
    date: String,
    start: String,
    end: String,
}

pub struct CardLink {
    qr: String,
    url: String,
}

impl CardPage {
    /// The printed card of `visit`: with its link (`token`) for a family at home, or
    /// with what to do at reception for a family coming to the entrance.
    pub fn new(tr: Tr, csrf: String, state: &AppState, visit: &Visit, token: Option<&str>) -> Self {
        let facility = state.facility();
        let times = invitations::local_times(&facility, tr.lang, visit.starts_at, visit.ends_at);
        CardPage {
            c: Chrome::public(tr, csrf, &facility),
            link: token.map(|token| CardLink {
                qr: format!("/v/{token}/qr.svg"),
                url: visit_url(&state.public_url, token),
            }),
            title: invitations::title(tr.lang, &visit.resident_name),
            date: times.date,
            start: times.start,
            end: times.end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
