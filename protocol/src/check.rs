//! The steps of a pre-visit check, in the words both a family's check page (over
//! HTTP) and a device's self-check (in its `health`) report them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Camera {
    Ok,
    /// The person (or the browser's settings) refused it.
    Denied,
    /// Another app holds it.
    InUse,
    Missing,
    /// It gives only black frames (covered, or held by another app on some phones).
    Black,
    /// Its frames do not change.
    Frozen,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Microphone {
    Ok,
    Denied,
    InUse,
    Missing,
    /// Nothing above silence for 5 s while the person was asked to speak.
    Silent,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Ok,
    /// The person said they did not hear the chime.
    NotHeard,
}

/// The best way through to this server's relay the page found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// UDP reaches the server and a server-reflexive address was found: the call can
    /// go straight between the phone and the ward.
    Direct,
    /// UDP through the relay (as good as direct for a call).
    RelayUdp,
    /// Only TCP to the relay (UDP blocked).
    RelayTcp,
    /// Only TLS on the HTTPS port (everything else blocked).
    RelayTls,
    /// Nothing got through.
    None,
}

/// A device's own check (camera, microphone, the way to the relay), run every morning
/// before visiting hours and when staff ask: part of its `health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(deny_unknown_fields)]
pub struct DeviceCheck {
    /// When it ran (RFC 3339, the server's time as the device knows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<Camera>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<Microphone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_kbps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_kbps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
}

impl DeviceCheck {
    /// Within the bounds a real check keeps (a timestamp-sized `checked_at`).
    pub fn is_plausible(&self) -> bool {
        self.checked_at.as_ref().is_none_or(|t| t.len() <= 40)
            && [self.up_kbps, self.down_kbps]
                .into_iter()
                .flatten()
                .all(|k| k <= 10_000_000)
            && self.rtt_ms.is_none_or(|r| r <= 600_000)
    }

    /// Whether a step failed: camera, microphone, or no way through to the relay.
    pub fn failed(&self) -> bool {
        self.camera.is_some_and(|c| c != Camera::Ok)
            || self.microphone.is_some_and(|m| m != Microphone::Ok)
            || self.path == Some(Path::None)
    }
}
