//! `menkai-kiosk doctor`: everything a visit at the entrance needs, checked in one go
//! and reported in plain words: the browser, the server and its certificate, the
//! pairing, and camera and microphone (opened for real by the browser, as a visit
//! would, then closed again).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser;
use crate::cdp::Cdp;
use crate::error::KioskError;
use crate::i18n::Tr;
use crate::pairing::{self, Pairing};
use crate::server::{self, Server};

/// The longest label or error name shown for a camera or microphone. Both are read
/// from the server's page, which the server writes: cleaned and cut like its text.
const MAX_MEDIA_TEXT: usize = 100;

/// One line of the report.
#[derive(Debug)]
pub struct Check {
    pub ok: bool,
    /// A catalog id: `doctor-browser`, `doctor-camera`…
    pub what: &'static str,
    pub detail: String,
}

/// Runs every check; the browser options say which browser and whether to use fake
/// media (tests).
pub async fn run(
    tr: &Tr,
    pairing_dir: &Path,
    options: Result<browser::Options, KioskError>,
    profiles: &Path,
) -> Vec<Check> {
    let mut checks = vec![];
    let browser_ok = match &options {
        Ok(o) => {
            let version = browser::version(&o.path)
                .await
                .unwrap_or_else(|| "?".into());
            checks.push(Check {
                ok: true,
                what: "doctor-browser",
                detail: tr.args(
                    "doctor-browser-found",
                    &[("path", &o.path.display()), ("version", &version)],
                ),
            });
            true
        }
        Err(e) => {
            checks.push(Check {
                ok: false,
                what: "doctor-browser",
                detail: e.message(tr),
            });
            false
        }
    };
    let pairing = Pairing::load(pairing_dir);
    let origin = pairing
        .as_ref()
        .ok()
        .and_then(|p| server::origin(&p.server).ok());
    let mut reachable = false;
    match (&pairing, &origin) {
        (Ok(p), Some(origin)) => {
            let shown = origin.as_str().trim_end_matches('/').to_owned();
            let server = Server::new(origin.clone());
            let health = match &server {
                Ok(s) => s.healthz().await,
                Err(e) => Err(KioskError::Unreachable(e.to_string())),
            };
            match health {
                Ok(()) => {
                    reachable = true;
                    let id = match origin.scheme() {
                        "https" => "doctor-server-secure",
                        _ if is_loopback(origin) => "doctor-server-ok",
                        _ => "doctor-server-plain",
                    };
                    checks.push(Check {
                        ok: id != "doctor-server-plain",
                        what: "doctor-server",
                        detail: tr.args(id, &[("url", &shown)]),
                    });
                }
                Err(e) => checks.push(Check {
                    ok: false,
                    what: "doctor-server",
                    detail: e.message(tr),
                }),
            }
            let pairing_check = match (&server, reachable) {
                (Ok(s), true) => match s.check(&p.device_token).await {
                    Ok(Some((name, kind))) => Check {
                        ok: true,
                        what: "doctor-pairing",
                        detail: tr.args("doctor-paired", &[("name", &name), ("kind", &kind)]),
                    },
                    Ok(None) => Check {
                        ok: false,
                        what: "doctor-pairing",
                        detail: tr.t("doctor-token-invalid"),
                    },
                    Err(e) => Check {
                        ok: false,
                        what: "doctor-pairing",
                        detail: e.message(tr),
                    },
                },
                _ => Check {
                    ok: false,
                    what: "doctor-pairing",
                    detail: tr.t("doctor-unchecked"),
                },
            };
            checks.push(pairing_check);
        }
        (Err(e), _) => checks.push(Check {
            ok: false,
            what: "doctor-pairing",
            detail: e.message(tr),
        }),
        (Ok(p), None) => checks.push(Check {
            ok: false,
            what: "doctor-pairing",
            detail: KioskError::BadUrl(p.server.clone()).message(tr),
        }),
    }
    // Camera and microphone are opened on the server's page, as in a visit: browsers
    // only offer them to a secure page, and grant them per origin.
    let media = match (&options, &origin, browser_ok && reachable) {
        (Ok(o), Some(origin), true) => open_media(o, origin, profiles).await,
        _ => None,
    };
    for (what, key) in [
        ("doctor-camera", "camera"),
        ("doctor-microphone", "microphone"),
    ] {
        let fake = options.as_ref().is_ok_and(|o| o.fake_media);
        checks.push(match media.as_ref().map(|m| &m[key]) {
            None => Check {
                ok: false,
                what,
                detail: tr.t(if browser_ok {
                    "doctor-unchecked"
                } else {
                    "doctor-media-unchecked"
                }),
            },
            Some(result) => media_check(tr, what, result, fake),
        });
    }
    checks
}

fn is_loopback(origin: &url::Url) -> bool {
    match origin.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// What opening one kind of device told, in plain words.
fn media_check(tr: &Tr, what: &'static str, result: &Value, fake: bool) -> Check {
    if result["ok"] == true {
        let label =
            pairing::printable(result["label"].as_str().unwrap_or_default(), MAX_MEDIA_TEXT);
        let detail = if fake {
            tr.t("doctor-media-fake")
        } else {
            tr.args("doctor-media-works", &[("label", &label)])
        };
        return Check {
            ok: true,
            what,
            detail,
        };
    }
    let error = result["error"].as_str().unwrap_or("unknown");
    let detail = match error {
        "NotFoundError" | "OverconstrainedError" => tr.t("doctor-media-missing"),
        "NotReadableError" | "AbortError" => tr.t("doctor-media-busy"),
        "NotAllowedError" | "SecurityError" => tr.t("doctor-media-denied"),
        other => tr.args(
            "doctor-media-error",
            &[("error", &pairing::printable(other, MAX_MEDIA_TEXT))],
        ),
    };
    Check {
        ok: false,
        what,
        detail,
    }
}

/// Opens and closes camera and microphone in a headless browser on the server's
/// origin; `{camera: {ok, label | error}, microphone: …}`.
async fn open_media(
    options: &browser::Options,
    origin: &url::Url,
    profiles: &Path,
) -> Option<Value> {
    let within = Duration::from_secs(15);
    let headless = browser::Options {
        headless: true,
        ..options.clone()
    };
    let running = browser::launch(&headless, profiles).await.ok()?;
    let result = async {
        let (cdp, _events) = Cdp::connect(&running.devtools).await.ok()?;
        let origin_text = origin.as_str().trim_end_matches('/');
        cdp.grant(origin_text, &["camera", "microphone"], within)
            .await
            .ok()?;
        let session = cdp.attach_to_page(within).await.ok()?;
        cdp.call(Some(&session), "Page.enable", json!({}), within)
            .await
            .ok()?;
        cdp.call(
            Some(&session),
            "Page.navigate",
            json!({ "url": format!("{origin_text}/healthz") }),
            within,
        )
        .await
        .ok()?;
        // The navigation answers before the document is there; ask until it is.
        for _ in 0..50 {
            let here = cdp
                .evaluate(&session, "location.origin", within)
                .await
                .ok()?;
            if here.as_str() == Some(origin_text) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cdp.evaluate(&session, MEDIA_PROBE, within).await.ok()
    }
    .await;
    running.stop().await;
    result
}

const MEDIA_PROBE: &str = r#"(async () => {
  const out = {};
  for (const [kind, constraints] of [["camera", { video: true }], ["microphone", { audio: true }]]) {
    if (!navigator.mediaDevices) { out[kind] = { ok: false, error: "SecurityError" }; continue; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const track = stream.getTracks()[0];
      out[kind] = { ok: true, label: track ? track.label : "" };
      stream.getTracks().forEach((t) => t.stop());
    } catch (e) {
      out[kind] = { ok: false, error: (e && e.name) || String(e) };
    }
  }
  return out;
})()"#;

/// The report as printed: one line per check, then the verdict.
pub fn report(tr: &Tr, checks: &[Check]) -> String {
    let mut out = format!("{}\n", tr.t("doctor-title"));
    for check in checks {
        let mark = if check.ok {
            tr.t("doctor-ok")
        } else {
            tr.t("doctor-problem")
        };
        out.push_str(&format!(
            "  [{mark}] {}: {}\n",
            tr.t(check.what),
            check.detail
        ));
    }
    let verdict = if checks.iter().all(|c| c.ok) {
        "doctor-all-ok"
    } else {
        "doctor-some-problems"
    };
    out.push_str(&tr.t(verdict));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn media_errors_become_what_to_do() {
        let tr = Tr::new(Lang::En);
        let missing = media_check(
            &tr,
            "doctor-camera",
            &json!({"ok": false, "error": "NotFoundError"}),
            false,
        );
        assert!(!missing.ok);
        assert!(
            missing.detail.starts_with("none found"),
            "{}",
            missing.detail
        );
        let busy = media_check(
            &tr,
            "doctor-camera",
            &json!({"ok": false, "error": "NotReadableError"}),
            false,
        );
        assert!(busy.detail.contains("another program"));
        let works = media_check(
            &tr,
            "doctor-camera",
            &json!({"ok": true, "label": "HD Webcam"}),
            false,
        );
        assert!(works.ok && works.detail.contains("HD Webcam"));
        let text = report(&tr, &[works, busy]);
        assert!(text.contains("[OK] Camera: works (HD Webcam)"), "{text}");
        assert!(text.trim_end().ends_with("run this check again."), "{text}");
    }

    #[test]
    fn what_the_page_reports_about_a_device_is_cleaned_before_it_is_shown() {
        let tr = Tr::new(Lang::En);
        let works = media_check(
            &tr,
            "doctor-camera",
            &json!({"ok": true, "label": "HD\u{1b}[2J Webcam\r\n[OK] Everything\u{202E}"}),
            false,
        );
        assert_eq!(works.detail, "works (HD Webcam [OK] Everything)");
        let odd = media_check(
            &tr,
            "doctor-camera",
            &json!({"ok": false, "error": "\u{1b}]0;title\u{7}Odd\nError"}),
            false,
        );
        assert_eq!(odd.detail, "cannot be used: Odd Error");
    }
}
