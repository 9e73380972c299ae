//! The pre-visit check: what a family's phone or computer found when it tested itself
//! from its visit link (camera, microphone, speaker, the way through to this server
//! and its relay), and the one verdict staff see next to the guest. A visit should
//! never fail on the day for a reason anyone could have known the day before.
//!
//! The page measures; this module only validates what it reports (every value from a
//! fixed list, every figure bounded) and decides the verdict, so the page, the staff
//! pages and the API always agree. Nothing here knows HTTP or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Below this (either direction, kbit/s) a video call stutters: the visit will likely
/// be sound only. A small video call needs about 300 kbit/s each way.
pub const AUDIO_ONLY_BELOW_KBPS: u32 = 300;

/// Larger figures are not measurements (a page sends at most a few seconds' worth).
const MAX_KBPS: u32 = 10_000_000;
const MAX_RTT_MS: u32 = 600_000;

// The words of each step are the protocol's: a device reports the same steps in its
// `health` (docs/PROTOCOL.md).
pub use menkai_protocol::check::{Camera, DeviceCheck, Microphone, Path, Speaker};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ready,
    ReadyRelayed,
    AudioOnly,
    CannotConnect,
    Problem,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::ReadyRelayed => "ready_relayed",
            Verdict::AudioOnly => "audio_only",
            Verdict::CannotConnect => "cannot_connect",
            Verdict::Problem => "problem",
        }
    }
}

/// What a page reports: each step it could run, and the figures it measured. Anything
/// it could not learn is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<Camera>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<Microphone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<Speaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Path>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_kbps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_kbps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
}

impl Report {
    /// The report if its figures are possible; the first impossible field otherwise.
    pub fn checked(self) -> Result<Report, &'static str> {
        for (field, value, max) in [
            ("up_kbps", self.up_kbps, MAX_KBPS),
            ("down_kbps", self.down_kbps, MAX_KBPS),
            ("rtt_ms", self.rtt_ms, MAX_RTT_MS),
        ] {
            if value.is_some_and(|v| v > max) {
                return Err(field);
            }
        }
        Ok(self)
    }

    /// The steps that found a problem, as (step, the word the report used):
    /// `("camera", "denied")`. The words are the serialized names, so they are the
    /// same here, in the API and in the translation keys.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        fn word(value: impl Serialize) -> Option<String> {
            serde_json::to_value(value)
                .ok()?
                .as_str()
                .map(str::to_owned)
        }
        [
            ("camera", self.camera.and_then(word)),
            ("microphone", self.microphone.and_then(word)),
            ("speaker", self.speaker.and_then(word)),
        ]
        .into_iter()
        .filter_map(|(step, word)| Some((step, word?)))
        .filter(|(_, word)| word != "ok")
        .collect()
    }

    /// The one word staff see. What stops the visit outright comes first: no way
    /// through; then a device of the person's own that failed; then a line too slow for
    /// video; then a way through that needs the relay's TCP or TLS.
    pub fn verdict(&self) -> Verdict {
        match self.path {
            None | Some(Path::None) => return Verdict::CannotConnect,
            Some(_) => {}
        }
        let camera_bad = self.camera.is_some_and(|c| c != Camera::Ok);
        let microphone_bad = self.microphone.is_some_and(|m| m != Microphone::Ok);
        let speaker_bad = self.speaker.is_some_and(|s| s != Speaker::Ok);
        if camera_bad || microphone_bad || speaker_bad {
            return Verdict::Problem;
        }
        let slowest = [self.up_kbps, self.down_kbps].into_iter().flatten().min();
        if slowest.is_some_and(|k| k < AUDIO_ONLY_BELOW_KBPS) {
            return Verdict::AudioOnly;
        }
        match self.path {
            Some(Path::RelayTcp | Path::RelayTls) => Verdict::ReadyRelayed,
            _ => Verdict::Ready,
        }
    }
}

/// A check as kept for an invitation (the latest one) and shown in the API as
/// `invitations[].check`. Never the picture or the sound: only verdicts and figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub checked_at: DateTime<Utc>,
    pub verdict: Verdict,
    #[serde(flatten)]
    pub report: Report,
    /// "Chrome 156 on Android", from the user agent; never the whole string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

impl CheckResult {
    pub fn new(report: Report, user_agent: Option<&str>, now: DateTime<Utc>) -> CheckResult {
        CheckResult {
            checked_at: now,
            verdict: report.verdict(),
            report,
            browser: user_agent.map(short_browser).filter(|b| !b.is_empty()),
        }
    }
}

/// Each step of a check that found a problem, in words ("camera blocked"): the
/// family's check here, a device's self-check on the Devices page.
pub fn problem_words(tr: &crate::i18n::Tr, report: &Report) -> Vec<String> {
    report
        .problems()
        .into_iter()
        .map(|(step, word)| tr.t(&format!("check-problem-{step}-{word}")))
        .collect()
}

/// A user agent in a few words staff can read ("Safari 17 on iPhone", "Firefox 153 on
/// Windows"): browser, major version, system. Unknown parts are left out.
pub fn short_browser(user_agent: &str) -> String {
    // The order matters: Edge and Chrome on iOS also say "Safari", Edge says "Chrome".
    let browser = [
        ("EdgiOS/", "Edge"),
        ("Edg/", "Edge"),
        ("CriOS/", "Chrome"),
        ("FxiOS/", "Firefox"),
        ("Line/", "LINE"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .iter()
    .find_map(|(marker, name)| {
        let at = user_agent.find(marker)? + marker.len();
        let major: String = user_agent[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(4)
            .collect();
        Some(if major.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name} {major}")
        })
    });
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "Mac"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b,
        (None, Some(s)) => s.to_owned(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Report {
        Report {
            camera: Some(Camera::Ok),
            microphone: Some(Microphone::Ok),
            speaker: Some(Speaker::Ok),
            path: Some(Path::Direct),
            up_kbps: Some(2000),
            down_kbps: Some(3000),
            rtt_ms: Some(20),
        }
    }

    #[test]
    fn the_verdict_puts_what_stops_the_visit_first() {
        assert_eq!(ready().verdict(), Verdict::Ready);
        let relay_udp = Report {
            path: Some(Path::RelayUdp),
            ..ready()
        };
        assert_eq!(relay_udp.verdict(), Verdict::Ready);
        for path in [Path::RelayTcp, Path::RelayTls] {
            let relayed = Report {
                path: Some(path),
                ..ready()
            };
            assert_eq!(relayed.verdict(), Verdict::ReadyRelayed);
        }
        let slow = Report {
            up_kbps: Some(180),
            ..ready()
        };
        assert_eq!(slow.verdict(), Verdict::AudioOnly);
        let black_and_slow = Report {
            camera: Some(Camera::Black),
            ..slow.clone()
        };
        assert_eq!(black_and_slow.verdict(), Verdict::Problem);
        let nothing = Report {
            path: Some(Path::None),
            ..black_and_slow
        };
        assert_eq!(nothing.verdict(), Verdict::CannotConnect);
        let not_heard = Report {
            speaker: Some(Speaker::NotHeard),
            ..ready()
        };
        assert_eq!(not_heard.verdict(), Verdict::Problem);
        assert_eq!(Report::default().verdict(), Verdict::CannotConnect);
    }

    #[test]
    fn a_report_takes_only_known_words_and_possible_figures() {
        let parsed: Report = serde_json::from_str(
            r#"{"camera":"black","microphone":"silent","speaker":"not_heard","path":"relay_tls","up_kbps":250,"down_kbps":900,"rtt_ms":48}"#,
        )
        .expect("a full report");
        assert_eq!(parsed.camera, Some(Camera::Black));
        assert_eq!(parsed.path, Some(Path::RelayTls));
        for bad in [
            r#"{"camera":"fine"}"#,
            r#"{"path":"carrier_pigeon"}"#,
            r#"{"picture":"data:…"}"#,
            r#"{"up_kbps":-1}"#,
        ] {
            assert!(serde_json::from_str::<Report>(bad).is_err(), "{bad}");
        }
        let huge = Report {
            rtt_ms: Some(MAX_RTT_MS + 1),
            ..ready()
        };
        assert_eq!(huge.checked(), Err("rtt_ms"));
        assert!(ready().checked().is_ok());
    }

    #[test]
    fn a_user_agent_becomes_a_few_words() {
        for (agent, short) in [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari 17 on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
                "Chrome 156 on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:153.0) Gecko/20100101 Firefox/153.0",
                "Firefox 153 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0",
                "Edge 156 on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/156.0 Mobile/15E148 Safari/604.1",
                "Chrome 156 on iPhone",
            ),
            ("curl/8.5.0", ""),
        ] {
            assert_eq!(short_browser(agent), short, "{agent}");
        }
    }
}
