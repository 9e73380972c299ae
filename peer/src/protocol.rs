//! The wire protocol of docs/PROTOCOL.md as a client sees it. Written separately from
//! the server's own types on purpose: this is how an outside endpoint reads the
//! contract, so a change on the server that breaks clients breaks the tests too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Frames this peer sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientFrame {
    Hello {
        token: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    Signal {
        to: String,
        data: Value,
    },
    Leave,
}

/// Frames the server sends. Ones this peer has no use for (schedules, volume,
/// pongs) are read as `Other`, so extensions never break it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    Welcome {
        peer_id: String,
        role: String,
        resume: String,
        visit: Option<VisitInfo>,
        #[serde(default)]
        peers: Vec<PeerInfo>,
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        /// `"relay"` when the server wants relayed paths only.
        #[serde(default)]
        ice_transport_policy: Option<String>,
    },
    PeerJoined {
        peer: PeerInfo,
    },
    PeerLeft {
        peer_id: String,
    },
    Signal {
        from: String,
        data: Value,
    },
    Visit {
        state: String,
        #[serde(default)]
        id: Option<String>,
    },
    Error {
        code: String,
        message: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PeerInfo {
    pub peer_id: String,
    pub role: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VisitInfo {
    pub id: String,
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

/// What a `signal` frame carries between Menkai's endpoints (W3C perfect negotiation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SignalData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// An SDP offer or answer as browsers' `RTCSessionDescription.toJSON()` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_signal_frames_are_written_as_the_protocol_says() {
        let hello = ClientFrame::Hello {
            token: "t".into(),
            resume: None,
        };
        assert_eq!(
            serde_json::to_value(&hello).ok(),
            Some(serde_json::json!({"type": "hello", "token": "t"}))
        );
        let reset = serde_json::to_value(SignalData {
            reset: true,
            ..Default::default()
        })
        .ok();
        assert_eq!(reset, Some(serde_json::json!({"reset": true})));
    }

    #[test]
    fn unknown_server_frames_are_tolerated() {
        let frame: Result<ServerFrame, _> =
            serde_json::from_str(r#"{"type":"control","volume":0.5}"#);
        assert!(matches!(frame, Ok(ServerFrame::Other)));
        let joined: Result<ServerFrame, _> = serde_json::from_str(
            r#"{"type":"peer-joined","peer":{"peer_id":"p1","role":"guest","name":"Taro"}}"#,
        );
        assert!(matches!(joined, Ok(ServerFrame::PeerJoined { peer }) if peer.peer_id == "p1"));
    }
}
