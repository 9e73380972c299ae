//! The signaling wire protocol (docs/PROTOCOL.md): one JSON object per WebSocket text
//! frame, tagged by `type`. One enum variant per frame type, both directions.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What a client may send.
#[derive(Debug)]
pub enum ClientMsg {
    /// The first frame: an invitation token or a device token, and optionally the
    /// resume token of an earlier connection.
    Hello {
        token: String,
        resume: Option<String>,
    },
    /// To one peer of the same visit. `data` is relayed untouched, never parsed.
    Signal {
        to: String,
        data: Box<RawValue>,
    },
    Ping,
    Leave,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMsg {
    Welcome {
        peer_id: String,
        role: Role,
        resume: String,
        visit: Option<VisitInfo>,
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        /// Devices only: today's upcoming visits for this device (an extension).
        #[serde(skip_serializing_if = "Option::is_none")]
        schedule: Option<Vec<ScheduleEntry>>,
        /// Devices only (an extension): the playback volume staff set (1.0 = full;
        /// above it the device amplifies).
        #[serde(skip_serializing_if = "Option::is_none")]
        volume: Option<f32>,
        /// The server's clock (an extension): lets clients with a wrong clock time
        /// the end-of-visit notices right.
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
        data: Box<RawValue>,
    },
    /// On every change of the visit's state or times. Carries `id` and `resident`
    /// when it also puts a device into (or out of) a visit.
    Visit {
        state: &'static str,
        starts_at: String,
        ends_at: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resident: Option<String>,
        /// The server's clock (an extension).
        now: String,
    },
    Pong,
    Error {
        code: &'static str,
        message: String,
    },
    /// Devices only (an extension): staff changed the playback volume (0.5–3.0;
    /// 1.0 is the device's full volume, above it the device amplifies).
    Control {
        volume: f32,
    },
    /// Devices only (an extension): today's upcoming visits changed.
    Schedule {
        schedule: Vec<ScheduleEntry>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Guest,
    Ward,
    Entrance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    pub peer_id: String,
    pub role: Role,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitInfo {
    pub id: String,
    pub resident: String,
    pub starts_at: String,
    pub ends_at: String,
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleEntry {
    pub id: String,
    pub resident: String,
    pub starts_at: String,
    pub ends_at: String,
    pub mode: &'static str,
}

/// Every field any client frame may have. `data` must stay raw (relayed byte for
/// byte), and serde cannot keep a `RawValue` inside an internally tagged enum, so frames
/// are read through this and then checked into a [`ClientMsg`].
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
}

/// Parses one client frame. Any shape we do not know is `bad_message`.
pub fn parse(text: &str) -> Option<ClientMsg> {
    let e: Envelope<'_> = serde_json::from_str(text).ok()?;
    let no_extras = |allowed: (bool, bool, bool, bool)| {
        (e.token.is_some() <= allowed.0)
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
            data: e.data?.to_owned(),
        }),
        "ping" if no_extras((false, false, false, false)) => Some(ClientMsg::Ping),
        "leave" if no_extras((false, false, false, false)) => Some(ClientMsg::Leave),
        _ => None,
    }
}

impl ServerMsg {
    pub fn error(code: &'static str) -> ServerMsg {
        ServerMsg::Error {
            code,
            message: crate::i18n::text(crate::i18n::Lang::En, &format!("ws-{code}"), &[]),
        }
    }

    /// The frame's JSON, serialized once and shared by every recipient.
    pub fn to_json(&self) -> std::sync::Arc<str> {
        serde_json::to_string(self)
            .unwrap_or_else(|_| {
                String::from("{\"type\":\"error\",\"code\":\"internal\",\"message\":\"\"}")
            })
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_by_type_and_unknown_shapes_do_not() {
        assert!(matches!(
            parse(r#"{"type":"hello","token":"abc"}"#),
            Some(ClientMsg::Hello { resume: None, .. })
        ));
        assert!(matches!(parse(r#"{"type":"ping"}"#), Some(ClientMsg::Ping)));
        let Some(ClientMsg::Signal { to, data }) =
            parse(r#"{"type":"signal","to":"p1","data":{"candidate":{"x":1}}}"#)
        else {
            panic!("signal frame");
        };
        assert_eq!(
            (to.as_str(), data.get()),
            ("p1", r#"{"candidate":{"x":1}}"#)
        );
        for bad in [
            r#"{"type":"shout"}"#,
            r#"{"type":"hello"}"#,
            "[1,2]",
            "not json",
            r#"{"type":"ping","extra":1}"#,
            r#"{"type":"ping","to":"p1"}"#,
            r#"{"type":"signal","to":"p1"}"#,
            r#"{"type":"hello","token":"t","data":{}}"#,
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn server_frames_have_the_documented_shape() {
        let json = ServerMsg::PeerLeft {
            peer_id: "p1".into(),
        }
        .to_json();
        assert_eq!(&*json, r#"{"type":"peer-left","peer_id":"p1"}"#);
        let json = ServerMsg::Visit {
            state: "open",
            starts_at: "a".into(),
            ends_at: "b".into(),
            id: None,
            resident: None,
            now: "c".into(),
        }
        .to_json();
        assert_eq!(
            &*json,
            r#"{"type":"visit","state":"open","starts_at":"a","ends_at":"b","now":"c"}"#
        );
    }
}
