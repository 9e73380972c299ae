//! The frames' JSON, pinned: what an outside endpoint may rely on.

use super::*;

#[test]
fn client_frames_parse_by_type_and_unknown_shapes_do_not() {
    assert!(matches!(
        ClientMsg::parse(r#"{"type":"hello","token":"abc"}"#),
        Some(ClientMsg::Hello { resume: None, .. })
    ));
    assert!(matches!(
        ClientMsg::parse(r#"{"type":"ping"}"#),
        Some(ClientMsg::Ping)
    ));
    let Some(ClientMsg::Signal { to, data }) =
        ClientMsg::parse(r#"{"type":"signal","to":"p1","data":{"candidate":{"x":1}}}"#)
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
        assert!(ClientMsg::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn captions_frames_are_read_and_written_as_documented() {
    assert!(matches!(
        ClientMsg::parse(r#"{"type":"captions","lang":"en"}"#),
        Some(ClientMsg::Captions { lang: Some(l), paused: false }) if l == "en"
    ));
    assert!(matches!(
        ClientMsg::parse(r#"{"type":"captions","paused":true}"#),
        Some(ClientMsg::Captions {
            lang: None,
            paused: true
        })
    ));
    for bad in [
        r#"{"type":"captions"}"#,
        r#"{"type":"captions","lang":"fr"}"#,
        r#"{"type":"captions","lang":"ja","paused":true}"#,
        r#"{"type":"captions","lang":"ja","to":"p1"}"#,
    ] {
        assert!(ClientMsg::parse(bad).is_none(), "{bad}");
    }
    let caption = ServerMsg::Caption {
        from: "p1".into(),
        text: "こんにちは".into(),
        is_final: true,
        seq: 3,
    };
    assert_eq!(
        &*caption.to_json(),
        r#"{"type":"caption","from":"p1","text":"こんにちは","final":true,"seq":3}"#
    );
}

#[test]
fn server_frames_have_the_documented_shape() {
    let json = ServerMsg::PeerLeft {
        peer_id: "p1".into(),
    }
    .to_json();
    assert_eq!(&*json, r#"{"type":"peer-left","peer_id":"p1"}"#);
    let json = ServerMsg::Visit {
        state: VisitState::Open,
        starts_at: "a".into(),
        ends_at: "b".into(),
        id: None,
        resident: None,
        ice_servers: None,
        now: "c".into(),
        captions: None,
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
            Just("client_error".to_owned()),
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
            field(),
            prop::option::of(any::<String>()),
        )
            .prop_map(|(kind, token, resume, to, data, message, extra)| {
                let mut frame = serde_json::Map::new();
                frame.insert("type".into(), kind.into());
                for (name, value) in [
                    ("token", token),
                    ("resume", resume),
                    ("to", to),
                    ("data", data),
                    ("message", message),
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
            let _ = ClientMsg::parse(&text);
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
            match ClientMsg::parse(&text) {
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
                Some(ClientMsg::ClientError { message }) => {
                    prop_assert_eq!(&frame["type"], "client_error");
                    prop_assert_eq!(frame["message"].as_str(), Some(message.as_str()));
                    prop_assert!(keys.len() == 2 && message.chars().count() <= CLIENT_ERROR_MAX);
                }
                Some(ClientMsg::Health(_)) => {
                    prop_assert_eq!(&frame["type"], "health");
                    prop_assert!(!has("token") && !has("to") && !has("data"));
                }
                Some(ClientMsg::Captions { lang, paused }) => {
                    prop_assert_eq!(&frame["type"], "captions");
                    prop_assert!(lang.is_some() != paused);
                    prop_assert!(!has("token") && !has("to") && !has("data"));
                }
                None => {}
            }
        }
    }
}

#[test]
fn hello_and_signal_frames_are_written_as_the_protocol_says() {
    let hello = ClientMsg::Hello {
        token: "t".into(),
        resume: None,
    };
    assert_eq!(hello.to_json(), r#"{"type":"hello","token":"t"}"#);
    let reset = serde_json::to_value(SignalData {
        reset: true,
        ..Default::default()
    })
    .ok();
    assert_eq!(reset, Some(serde_json::json!({"reset": true})));
}

#[test]
fn unknown_server_frames_are_tolerated_by_clients() {
    let frame: Result<ServerMsg, _> = serde_json::from_str(r#"{"type":"reaction","emoji":"x"}"#);
    assert!(matches!(frame, Ok(ServerMsg::Unknown)));
    let joined: Result<ServerMsg, _> = serde_json::from_str(
        r#"{"type":"peer-joined","peer":{"peer_id":"p1","role":"guest","name":"Taro"}}"#,
    );
    assert!(matches!(joined, Ok(ServerMsg::PeerJoined { peer }) if peer.peer_id == "p1"));
    let error: Result<ServerMsg, _> =
        serde_json::from_str(r#"{"type":"error","code":"visit_full","message":"Full"}"#);
    assert!(matches!(
        error,
        Ok(ServerMsg::Error {
            code: ErrorCode::VisitFull,
            ..
        })
    ));
}

#[test]
fn every_error_code_is_written_as_its_name() {
    for code in [
        ErrorCode::InvalidToken,
        ErrorCode::LinkExpired,
        ErrorCode::LinkReplaced,
        ErrorCode::VisitCancelled,
        ErrorCode::TooEarly,
        ErrorCode::VisitFull,
        ErrorCode::JoinedElsewhere,
        ErrorCode::BadMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::UnknownPeer,
        ErrorCode::DeviceRevoked,
        ErrorCode::Internal,
    ] {
        assert_eq!(
            serde_json::to_value(code).ok(),
            Some(serde_json::Value::from(code.as_str()))
        );
    }
}

#[test]
fn health_reports_from_the_network_are_bounded() {
    let ok = Health {
        camera_problem: Some(MediaProblem::Denied),
        battery: Some(0.5),
        ..Health::default()
    };
    assert!(ok.clone().checked().is_some());
    for bad in [
        Health {
            battery: Some(1.5),
            ..ok.clone()
        },
        Health {
            browser: Some("x".repeat(201)),
            ..ok.clone()
        },
    ] {
        assert!(bad.checked().is_none());
    }
    assert!(
        ClientMsg::parse(r#"{"type":"health","camera_problem":"<script>"}"#).is_none(),
        "only the known problems"
    );
    assert!(ClientMsg::parse(r#"{"type":"health","camera_problem":"denied"}"#).is_some());
}

#[test]
fn a_client_reads_the_signal_it_is_relayed() {
    let frame: ServerMsg = serde_json::from_str(
        r#"{"type":"signal","from":"p1","data":{"description":{"type":"offer","sdp":"v=0"}}}"#,
    )
    .expect("a signal frame");
    let ServerMsg::Signal { from, data } = frame else {
        panic!("signal");
    };
    let signal: SignalData = serde_json::from_str(data.get()).expect("signal data");
    assert_eq!(from, "p1");
    assert_eq!(signal.description.map(|d| d.kind), Some("offer".to_owned()));
}

#[test]
fn a_client_error_carries_a_short_message_and_nothing_else() {
    let ok = ClientMsg::parse(r#"{"type":"client_error","message":"TypeError: x is undefined"}"#);
    assert!(
        matches!(ok, Some(ClientMsg::ClientError { message }) if message == "TypeError: x is undefined")
    );
    let long = format!(
        r#"{{"type":"client_error","message":"{}"}}"#,
        "x".repeat(CLIENT_ERROR_MAX + 1)
    );
    assert!(ClientMsg::parse(&long).is_none(), "too long");
    assert!(
        ClientMsg::parse(r#"{"type":"client_error"}"#).is_none(),
        "no message"
    );
    assert!(
        ClientMsg::parse(r#"{"type":"client_error","message":"m","to":"p"}"#).is_none(),
        "another frame's field"
    );
    assert!(
        ClientMsg::parse(r#"{"type":"leave","message":"m"}"#).is_none(),
        "a message on another frame"
    );
}
