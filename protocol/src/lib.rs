//! Menkai's signaling wire protocol (docs/PROTOCOL.md): one JSON object per WebSocket
//! text frame, tagged by `type`, one enum variant per frame type.
//!
//! Defined once, here, for everyone who speaks it: the server (`menkai`), the Rust
//! endpoint (`menkai-peer`), and the pages, whose TypeScript declarations
//! (`web/types/wire.d.ts`) are generated from these types with the `ts` feature; a test
//! of the server fails when the file and the types drift apart. What an outside
//! endpoint may rely on is pinned by the tests below (the exact JSON of each frame).

#![forbid(unsafe_code)]

pub mod captions;
pub mod check;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `code` of an `error` frame: why the server refuses or ends something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidToken,
    /// The visit ended.
    LinkExpired,
    /// Staff made a new link for this guest.
    LinkReplaced,
    VisitCancelled,
    /// Not an end: the socket stays open and the guest is let in when the link opens.
    TooEarly,
    VisitFull,
    /// The same invitation was opened on another device, which has the seat now.
    JoinedElsewhere,
    BadMessage,
    MessageTooLarge,
    RateLimited,
    UnknownPeer,
    /// Staff removed the device: its token no longer works.
    DeviceRevoked,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::LinkExpired => "link_expired",
            ErrorCode::LinkReplaced => "link_replaced",
            ErrorCode::VisitCancelled => "visit_cancelled",
            ErrorCode::TooEarly => "too_early",
            ErrorCode::VisitFull => "visit_full",
            ErrorCode::JoinedElsewhere => "joined_elsewhere",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnknownPeer => "unknown_peer",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Guest,
    Ward,
    Entrance,
}

/// `scheduled → open → live → ended`, or `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum VisitState {
    Scheduled,
    Open,
    Live,
    Ended,
    Cancelled,
}

/// `remote`: the family joins from home by link; `entrance`: at the entrance kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum VisitMode {
    Remote,
    Entrance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeerInfo {
    pub peer_id: String,
    pub role: Role,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitInfo {
    pub id: String,
    pub resident: String,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339.
    pub ends_at: String,
    pub state: VisitState,
    /// Live captions are on for this visit (an extension; only when the server has a
    /// recogniser): the family's page sends its microphone's audio for recognition,
    /// and the resident's devices show `caption` frames.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub captions: bool,
}

/// A STUN or TURN server, as `RTCIceServer` takes it: from the config file's
/// `[[ice_servers]]`, or a relay with credentials of this peer's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub credential: Option<String>,
}

/// One of a device's visits today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleEntry {
    pub id: String,
    pub resident: String,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339.
    pub ends_at: String,
    pub mode: VisitMode,
}

/// Why a camera or microphone cannot be used, when the device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum MediaProblem {
    /// Not an https address.
    Insecure,
    Denied,
    Missing,
}

/// A device's report on itself (the `health` frame). Fields the device cannot know
/// are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// A camera is present and may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_problem: Option<MediaProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone_problem: Option<MediaProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// 0.0 (empty) to 1.0 (full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub uptime_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// In a call: whether its media goes through a relay (for staff troubleshooting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayed: Option<bool>,
    /// The latest self-check (every morning before visiting hours, and on staff's
    /// "Check now").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<check::DeviceCheck>,
}

/// Text fields of a health report are at most this long (characters).
pub const MAX_HEALTH_TEXT: usize = 200;

impl Health {
    /// The report if it keeps the documented bounds (text at most
    /// [`MAX_HEALTH_TEXT`] characters, battery 0–1).
    pub fn checked(self) -> Option<Health> {
        let short = |s: &Option<String>| {
            s.as_ref()
                .is_none_or(|s| s.chars().count() <= MAX_HEALTH_TEXT)
        };
        let battery_ok = self.battery.is_none_or(|b| (0.0..=1.0).contains(&b));
        let check_ok = self
            .check
            .as_ref()
            .is_none_or(check::DeviceCheck::is_plausible);
        (short(&self.app) && short(&self.browser) && battery_ok && check_ok).then_some(self)
    }
}

/// What the server sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMsg {
    Welcome {
        peer_id: String,
        role: Role,
        /// Sent back in the next `hello` after a drop, to take the same seat again.
        resume: String,
        /// `null` for a device between visits.
        visit: Option<VisitInfo>,
        #[serde(default)]
        peers: Vec<PeerInfo>,
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        /// `"relay"` when the server wants relayed paths only (an extension: set by
        /// `relay_only` to prove a relay set-up).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional, type = "RTCIceTransportPolicy"))]
        ice_transport_policy: Option<Cow<'static, str>>,
        /// Devices only: today's upcoming visits for this device (an extension).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        schedule: Option<Vec<ScheduleEntry>>,
        /// Devices only (an extension): the playback volume staff set (1.0 = full;
        /// above it the device amplifies).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        volume: Option<f32>,
        /// The server's clock, RFC 3339 (an extension): lets clients with a wrong
        /// clock time the end-of-visit notices right.
        #[serde(default)]
        now: String,
    },
    PeerJoined {
        peer: PeerInfo,
    },
    PeerLeft {
        peer_id: String,
    },
    Signal {
        from: String,
        /// Relayed as the sender wrote it; Menkai's endpoints put [`SignalData`] in it.
        #[cfg_attr(feature = "ts", ts(type = "SignalData"))]
        data: Relayed,
    },
    /// On every change of the visit's state or times. Carries `id` and `resident`
    /// when it also puts a device into (or out of) a visit.
    Visit {
        state: VisitState,
        #[serde(default)]
        starts_at: String,
        #[serde(default)]
        ends_at: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        resident: Option<String>,
        /// When it puts a device into a visit: fresh STUN/TURN servers, with relay
        /// credentials good until the visit's end (a device's socket lives all day).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        ice_servers: Option<Vec<IceServer>>,
        /// The server's clock (an extension).
        #[serde(default)]
        now: String,
        /// Whether captions are on, when staff turned them on or off during the visit
        /// (an extension; left out otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        captions: Option<bool>,
    },
    Pong,
    /// To a device between visits: run the self-check now and report it in `health`
    /// (every morning before visiting hours, and when staff press "Check now"), with
    /// fresh relay credentials for it (the welcome's may have expired overnight).
    Check {
        #[serde(default)]
        ice_servers: Vec<IceServer>,
    },
    Error {
        code: ErrorCode,
        /// English, for logs; pages show their own translated text per code.
        message: String,
    },
    /// Devices only (an extension): staff changed the playback volume (0.5–3.0; 1.0
    /// is the device's full volume, above it the device amplifies).
    Control {
        volume: f32,
    },
    /// Devices only (an extension): today's upcoming visits changed.
    Schedule {
        schedule: Vec<ScheduleEntry>,
    },
    /// To the resident's devices: what family member `from` said (docs/PROTOCOL.md
    /// "Captions"). `seq` numbers the utterance; partials (`final: false`) of one
    /// utterance are followed by its final, which replaces them (an empty final takes
    /// a partial back: it was not speech after all).
    Caption {
        from: String,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        seq: u64,
    },
    /// To everyone in a visit with captions on: whether the recogniser is working now
    /// (it stopped, or it is back).
    Captions {
        available: bool,
    },
    /// A frame of a later version, read by a client that does not know it (never
    /// sent): extensions never break a client.
    #[serde(other, skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    Unknown,
}

/// A `signal` frame's `data`: JSON kept as it was written, never parsed by the server
/// (it relays the sender's bytes).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Relayed(pub Box<RawValue>);

impl Relayed {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

/// A tagged enum's fields reach their deserializer buffered, which `RawValue` cannot
/// read: a client takes `data` as a value and keeps it as text.
impl<'de> Deserialize<'de> for Relayed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        serde_json::value::to_raw_value(&value)
            .map(Relayed)
            .map_err(serde::de::Error::custom)
    }
}

impl ServerMsg {
    /// The frame's text. Serializing these types cannot fail; were it ever to, the
    /// client gets an `internal` error rather than nothing.
    pub fn to_json(&self) -> std::sync::Arc<str> {
        serde_json::to_string(self)
            .unwrap_or_else(|_| {
                String::from("{\"type\":\"error\",\"code\":\"internal\",\"message\":\"\"}")
            })
            .into()
    }
}

/// What a client may send.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientMsg {
    /// The first frame: an invitation token or a device token, and optionally the
    /// resume token of an earlier connection.
    Hello {
        token: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        resume: Option<String>,
    },
    /// To one peer of the same visit. `data` is relayed untouched, never parsed.
    Signal {
        to: String,
        #[cfg_attr(feature = "ts", ts(type = "SignalData"))]
        data: Relayed,
    },
    Ping,
    Leave,
    /// The page stopped on an error of its own (a bug, or a browser it did not
    /// expect): it leaves at once like `leave`, and the server logs what it said.
    #[serde(rename = "client_error")]
    ClientError {
        /// The error in short (at most [`CLIENT_ERROR_MAX`] characters).
        message: String,
    },
    /// Devices only: how the device is (camera, microphone, battery…).
    Health(Health),
    /// Guests only, in a visit with captions on: start sending audio for captions in
    /// language `lang` ("ja" or "en"), or stop (`paused: true`: what was being said is
    /// dropped). The audio itself goes in binary frames (docs/PROTOCOL.md).
    Captions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        lang: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
        paused: bool,
    },
}

/// A `captions` frame exactly as documented.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptionsFrame {
    #[serde(rename = "type")]
    _kind: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    paused: bool,
}

fn parse_captions(text: &str) -> Option<ClientMsg> {
    let frame: CaptionsFrame = serde_json::from_str(text).ok()?;
    let lang_ok = frame
        .lang
        .as_deref()
        .is_none_or(|l| matches!(l, "ja" | "en"));
    (lang_ok && (frame.lang.is_some() != frame.paused)).then_some(ClientMsg::Captions {
        lang: frame.lang,
        paused: frame.paused,
    })
}

/// What Menkai's own endpoints put in a `signal` frame's `data` (W3C perfect
/// negotiation): an offer or answer, a candidate, or "rebuild our connection" (it
/// never found a path). The server never reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// An SDP offer or answer as browsers' `RTCSessionDescription.toJSON()` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    token: Option<String>,
    resume: Option<String>,
    to: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    message: Option<String>,
}

/// The longest `client_error` message the server takes, in characters.
pub const CLIENT_ERROR_MAX: usize = 500;

#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

fn parse_health(text: &str) -> Option<ClientMsg> {
    let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    fields.remove("type");
    let health: Health = serde_json::from_value(serde_json::Value::Object(fields)).ok()?;
    health.checked().map(ClientMsg::Health)
}

impl ClientMsg {
    /// A client frame as the server reads it: only in its documented shape (no field
    /// another frame type has, none unknown); anything else is `None`.
    pub fn parse(text: &str) -> Option<ClientMsg> {
        match serde_json::from_str::<Kind<'_>>(text).map(|k| k.kind) {
            Ok(kind) if kind == "health" => return parse_health(text),
            Ok(kind) if kind == "captions" => return parse_captions(text),
            _ => {}
        }
        let e: Envelope<'_> = serde_json::from_str(text).ok()?;
        let no_extras = |allowed: (bool, bool, bool, bool)| {
            e.message.is_none()
                && (e.token.is_some() <= allowed.0)
                && (e.resume.is_some() <= allowed.1)
                && (e.to.is_some() <= allowed.2)
                && (e.data.is_some() <= allowed.3)
        };
        match e.kind {
            "hello" if no_extras((true, true, false, false)) => Some(ClientMsg::Hello {
                token: e.token?,
                resume: e.resume,
            }),
            "signal" if no_extras((false, false, true, true)) => Some(ClientMsg::Signal {
                to: e.to?,
                data: Relayed(e.data?.to_owned()),
            }),
            "ping" if no_extras((false, false, false, false)) => Some(ClientMsg::Ping),
            "leave" if no_extras((false, false, false, false)) => Some(ClientMsg::Leave),
            "client_error"
                if e.token.is_none()
                    && e.resume.is_none()
                    && e.to.is_none()
                    && e.data.is_none() =>
            {
                let message = e.message?;
                (message.chars().count() <= CLIENT_ERROR_MAX)
                    .then_some(ClientMsg::ClientError { message })
            }
            _ => None,
        }
    }

    /// The frame's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
