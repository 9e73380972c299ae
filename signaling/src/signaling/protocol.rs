//! The signaling wire protocol (docs/PROTOCOL.md): one JSON object per WebSocket text
//! frame, tagged by `type`. One enum variant per frame type, both directions.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::devices::Health;
use crate::error::SignalingError;
use crate::visits::Visit;

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
    /// Devices only: how the device is (camera, microphone, battery…).
    Health(Health),
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
        /// `"relay"` when the server wants relayed paths only (an extension: set by
        /// `relay_only` to prove a relay set-up).
        #[serde(skip_serializing_if = "Option::is_none")]
        ice_transport_policy: Option<&'static str>,
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
        /// When it puts a device into a visit: fresh STUN/TURN servers, with relay
        /// credentials good until the visit's end (a device's socket lives all day).
        #[serde(skip_serializing_if = "Option::is_none")]
        ice_servers: Option<Vec<IceServer>>,
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

impl ScheduleEntry {
    /// A device's idle screen lists its visits of the day like this.
    pub fn of(visits: &[Visit]) -> Vec<ScheduleEntry> {
        visits
            .iter()
            .map(|v| ScheduleEntry {
                id: v.id.clone(),
                resident: v.resident_name.clone(),
                starts_at: v.starts_at.to_rfc3339(),
                ends_at: v.ends_at.to_rfc3339(),
                mode: v.mode.as_str(),
            })
            .collect()
    }
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

/// Just a frame's type, whatever else it holds.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// A `health` frame: its fields are the report, each checked (see [`Health::checked`]).
fn parse_health(text: &str) -> Option<ClientMsg> {
    let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    fields.remove("type");
    let health: Health = serde_json::from_value(serde_json::Value::Object(fields)).ok()?;
    health.checked().map(ClientMsg::Health)
}

/// Parses one client frame. Any shape we do not know is `bad_message`.
pub fn parse(text: &str) -> Option<ClientMsg> {
    if serde_json::from_str::<Kind<'_>>(text).is_ok_and(|k| k.kind == "health") {
        return parse_health(text);
    }
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
    pub fn error(error: SignalingError) -> ServerMsg {
        ServerMsg::Error {
            code: error.code(),
            message: error.message(),
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
            ice_servers: None,
            now: "c".into(),
        }
        .to_json();
        assert_eq!(
            &*json,
            r#"{"type":"visit","state":"open","starts_at":"a","ends_at":"b","now":"c"}"#
        );
    }

    mod properties {
        //! Frames come from anyone who opens `/ws`: whatever they send, the parser
        //! returns a frame or nothing, never panics, and relays `data` byte for byte.
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<String>().prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(any::<String>(), inner, 0..6)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn frame() -> impl Strategy<Value = serde_json::Value> {
            let kind = prop_oneof![
                Just("hello".to_owned()),
                Just("signal".to_owned()),
                Just("ping".to_owned()),
                Just("leave".to_owned()),
                Just("health".to_owned()),
                any::<String>(),
            ];
            let field = || prop::option::of(json_value());
            (
                kind,
                field(),
                field(),
                field(),
                field(),
                prop::option::of(any::<String>()),
            )
                .prop_map(|(kind, token, resume, to, data, extra)| {
                    let mut frame = serde_json::Map::new();
                    frame.insert("type".into(), kind.into());
                    for (name, value) in [
                        ("token", token),
                        ("resume", resume),
                        ("to", to),
                        ("data", data),
                    ] {
                        if let Some(value) = value {
                            frame.insert(name.into(), value);
                        }
                    }
                    if let Some(extra) = extra {
                        frame.insert(extra, serde_json::Value::Null);
                    }
                    serde_json::Value::Object(frame)
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn any_text_is_a_frame_or_nothing(text in any::<String>()) {
                let _ = parse(&text);
            }

            #[test]
            fn frames_parse_only_in_their_documented_shape(frame in frame()) {
                let text = frame.to_string();
                // A field set to null counts as absent (it carries nothing).
                let keys: Vec<&str> = frame
                    .as_object()
                    .map(|o| o.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.as_str()).collect())
                    .unwrap_or_default();
                let has = |k: &str| keys.contains(&k);
                match parse(&text) {
                    Some(ClientMsg::Hello { token, resume }) => {
                        prop_assert_eq!(&frame["type"], "hello");
                        prop_assert_eq!(frame["token"].as_str(), Some(token.as_str()));
                        prop_assert_eq!(frame["resume"].as_str(), resume.as_deref());
                        prop_assert!(!has("to") && !has("data"));
                    }
                    Some(ClientMsg::Signal { to, data }) => {
                        prop_assert_eq!(&frame["type"], "signal");
                        prop_assert_eq!(frame["to"].as_str(), Some(to.as_str()));
                        // Relayed untouched: the same JSON the client sent.
                        let sent: serde_json::Value = serde_json::from_str(data.get()).expect("json");
                        prop_assert_eq!(&sent, &frame["data"]);
                    }
                    Some(ClientMsg::Ping) => prop_assert!(frame["type"] == "ping" && keys.len() == 1),
                    Some(ClientMsg::Leave) => prop_assert!(frame["type"] == "leave" && keys.len() == 1),
                    Some(ClientMsg::Health(_)) => {
                        prop_assert_eq!(&frame["type"], "health");
                        prop_assert!(!has("token") && !has("to") && !has("data"));
                    }
                    None => {}
                }
            }
        }
    }
}
