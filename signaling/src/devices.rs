//! Devices: the entrance kiosk and the ward tablets.
//!
//! Staff add a device and get a short one-time pairing code; the device trades the
//! code for a long-lived device token (stored hashed) that staff can revoke.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::{self, FieldErrors};

/// How long a pairing code works after staff create it.
pub const PAIRING_VALID_FOR: Duration = Duration::hours(1);
const MAX_NAME_CHARS: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The kiosk at the facility entrance.
    Entrance,
    /// A tablet on the ward, beside the resident.
    Ward,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Entrance => "entrance",
            DeviceKind::Ward => "ward",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "entrance" => Some(DeviceKind::Entrance),
            "ward" => Some(DeviceKind::Ward),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub kind: DeviceKind,
    pub pairing_expires_at: Option<DateTime<Utc>>,
    pub paired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Playback volume in percent, one of [`VOLUME_CHOICES`].
    pub volume_percent: u16,
    /// What the device last reported about itself.
    pub health: Option<Health>,
}

/// A device's report on itself (the `health` frame, docs/PROTOCOL.md), as the wire
/// protocol defines it.
pub use menkai_protocol::Health;

impl Device {
    /// What would stop this device serving a visit now, as message ids: not connected,
    /// no camera or microphone, a low battery not charging.
    pub fn problems(&self, online: bool) -> Vec<&'static str> {
        let mut out = vec![];
        if !online {
            out.push("health-offline");
        }
        if let Some(health) = &self.health {
            out.extend(health_warnings(health));
        }
        out
    }
}

/// Below this, a battery that is not charging is worth a warning before a visit.
pub const LOW_BATTERY: f64 = 0.2;

/// What staff should know of a device's report before a visit, as message ids.
pub fn health_warnings(health: &Health) -> Vec<&'static str> {
    let mut out = vec![];
    // Not a secure address: the browser hides camera and microphone whatever the
    // hardware; blaming the camera would send staff to the wrong fix.
    let insecure = [health.camera_problem, health.microphone_problem]
        .contains(&Some(menkai_protocol::MediaProblem::Insecure));
    if insecure {
        out.push("health-insecure");
    }
    if health.camera == Some(false) && !insecure {
        out.push("health-no-camera");
    }
    if health.microphone == Some(false) && !insecure {
        out.push("health-no-microphone");
    }
    if health.battery.is_some_and(|b| b < LOW_BATTERY) && health.charging != Some(true) {
        out.push("health-low-battery");
    }
    // The self-check found what the live report cannot (a black picture, a silent
    // microphone, no way through to the relay): worth fixing before the visit.
    if let Some(check) = &health.check {
        use menkai_protocol::check::{Camera, Microphone, Path};
        if check.camera.is_some_and(|c| c != Camera::Ok) && health.camera != Some(false) {
            out.push("health-check-camera");
        }
        if check.microphone.is_some_and(|m| m != Microphone::Ok) && health.microphone != Some(false)
        {
            out.push("health-check-microphone");
        }
        if check.path == Some(Path::None) {
            out.push("health-check-network");
        }
    }
    out
}

/// The volumes staff can choose for a ward tablet, in percent. 100 is the tablet's own
/// full volume; above it the device page amplifies (and limits peaks), for residents
/// who hear poorly.
pub const VOLUME_CHOICES: [u16; 6] = [50, 75, 100, 150, 200, 300];

/// A volume staff may set, or `invalid_choice`.
pub fn parse_volume(percent: u16) -> Result<u16, FieldErrors> {
    if VOLUME_CHOICES.contains(&percent) {
        Ok(percent)
    } else {
        let mut errors = FieldErrors::default();
        errors.add("volume", "invalid_choice");
        Err(errors)
    }
}

/// The volume as the protocol carries it: 1.0 is full volume.
pub fn volume_gain(percent: u16) -> f32 {
    f32::from(percent) / 100.0
}

/// Where a device stands, for the devices page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Added; waiting for someone to type the pairing code on it.
    AwaitingPairing,
    /// The pairing code ran out before it was used.
    PairingExpired,
    Paired,
    Revoked,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::AwaitingPairing => "awaiting_pairing",
            DeviceStatus::PairingExpired => "pairing_expired",
            DeviceStatus::Paired => "paired",
            DeviceStatus::Revoked => "revoked",
        }
    }
}

impl Device {
    pub fn status(&self, now: DateTime<Utc>) -> DeviceStatus {
        if self.revoked_at.is_some() {
            DeviceStatus::Revoked
        } else if self.paired_at.is_some() {
            DeviceStatus::Paired
        } else if self.pairing_expires_at.is_some_and(|t| t > now) {
            DeviceStatus::AwaitingPairing
        } else {
            DeviceStatus::PairingExpired
        }
    }

    /// Whether visits may still be booked on it.
    pub fn bookable(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Pairing codes made and not yet used, in memory, so the devices page shows every
/// device's code until it is used or replaced (the database keeps only their hashes).
/// Lost on restart: the page then offers a new code for a device still waiting.
#[derive(Default)]
pub struct UnusedCodes {
    by_device: std::sync::Mutex<std::collections::HashMap<String, crate::storage::PairingCode>>,
}

impl UnusedCodes {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, crate::storage::PairingCode>>
    {
        self.by_device.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a code just made; it replaces the device's earlier one. Expired codes go,
    /// so the map never holds more than the codes of the last hour.
    pub fn keep(&self, code: &crate::storage::PairingCode, now: DateTime<Utc>) {
        let mut codes = self.lock();
        codes.retain(|_, c| c.expires_at > now);
        codes.insert(code.device_id.clone(), code.clone());
    }

    /// The code to show for `device`: only while it still waits for this code.
    pub fn for_device(
        &self,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Option<crate::storage::PairingCode> {
        if device.status(now) != DeviceStatus::AwaitingPairing {
            return None;
        }
        self.lock()
            .get(&device.id)
            .filter(|c| c.expires_at > now)
            .cloned()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeviceInput {
    pub name: String,
    pub kind: String,
}

impl DeviceInput {
    pub fn parse(&self) -> Result<(String, DeviceKind), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", validation::name(&self.name, MAX_NAME_CHARS));
        let kind = errors.check(
            "kind",
            DeviceKind::parse(&self.kind).ok_or("invalid_choice"),
        );
        match (name, kind) {
            (Some(name), Some(kind)) => Ok((name, kind)),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_volumes_can_be_set() {
        assert_eq!(parse_volume(200).ok(), Some(200));
        assert!(parse_volume(0).is_err());
        assert!(parse_volume(101).is_err());
        assert!(parse_volume(1000).is_err());
        assert!((volume_gain(150) - 1.5).abs() < f32::EPSILON);
    }

    #[test]
    fn a_device_moves_from_pairing_to_paired_to_revoked() {
        let now = Utc::now();
        let mut d = Device {
            id: "d".into(),
            name: "Tablet".into(),
            kind: DeviceKind::Ward,
            pairing_expires_at: Some(now + PAIRING_VALID_FOR),
            volume_percent: 100,
            health: None,
            paired_at: None,
            revoked_at: None,
            last_seen_at: None,
        };
        assert_eq!(d.status(now), DeviceStatus::AwaitingPairing);
        assert_eq!(
            d.status(now + Duration::hours(2)),
            DeviceStatus::PairingExpired
        );
        d.paired_at = Some(now);
        assert_eq!(d.status(now + Duration::hours(2)), DeviceStatus::Paired);
        d.revoked_at = Some(now);
        assert_eq!(d.status(now), DeviceStatus::Revoked);
        assert!(!d.bookable());
    }

    #[test]
    fn bad_device_input_is_refused() {
        let err = DeviceInput {
            name: "".into(),
            kind: "toaster".into(),
        }
        .parse()
        .unwrap_err();
        assert_eq!(err.code_for("name"), Some("required"));
        assert_eq!(err.code_for("kind"), Some("invalid_choice"));
    }

    #[test]
    fn a_device_reports_what_would_stop_a_visit() {
        let mut device = Device {
            id: "d".into(),
            name: "2F".into(),
            kind: DeviceKind::Ward,
            pairing_expires_at: None,
            paired_at: None,
            revoked_at: None,
            last_seen_at: None,
            volume_percent: 100,
            health: None,
        };
        assert_eq!(device.problems(true), Vec::<&str>::new());
        assert_eq!(device.problems(false), ["health-offline"]);
        device.health = Some(Health {
            camera: Some(false),
            microphone: Some(true),
            battery: Some(0.1),
            charging: Some(false),
            ..Health::default()
        });
        assert_eq!(
            device.problems(true),
            ["health-no-camera", "health-low-battery"]
        );
        device.health = Some(Health {
            battery: Some(0.1),
            charging: Some(true),
            ..Health::default()
        });
        assert!(device.problems(true).is_empty(), "charging: fine");
    }
}
