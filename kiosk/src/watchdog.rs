//! `menkai-kiosk run`: keeps the browser on the device page, whatever happens.
//!
//! One launch at a time: start Chromium with a fresh profile, grant camera and
//! microphone to the server's origin only, hand the page its device token through a
//! script the browser runs before the page's own (never a command line, a log or a
//! URL), open `/device`, then watch. Every 2 s the page is asked which screen it shows,
//! with a deadline: the browser's own endpoint keeps answering while a page hangs, the
//! page does not. A closed browser, a crash event, a lost DevTools connection or a
//! missed deadline ends the launch, and the next starts at once. A launch whose page
//! never answered counts as a failed start and the next waits longer (1 s doubling to a
//! minute), with the reason in the log. When the page shows "removed" (staff revoked
//! the device), the pairing is forgotten, the browser is left showing that screen and
//! the kiosk exits (4): nothing is retried.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use url::Url;

use crate::browser::{self, Running};
use crate::cdp::{Cdp, CdpError, Event};
use crate::error::KioskError;
use crate::i18n::Tr;
use crate::pairing::Pairing;

const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A page that does not answer within this is hung.
const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(3);
const SETUP_DEADLINE: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The key under which the device page keeps its token (web/static/js/device.js).
const TOKEN_KEY: &str = "menkai-device-token";

pub struct RunOptions {
    pub browser: browser::Options,
    pub pairing_dir: PathBuf,
    /// Where launch profiles are made (each deleted when its launch ends).
    pub profiles: PathBuf,
    /// Where the process id of the current browser is written (a browser left showing
    /// the "removed" screen, or orphaned by a killed run, is closed by the next run).
    pub left_behind: PathBuf,
}

/// How `run` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Asked to stop (Ctrl-C, SIGTERM, logout).
    Stopped,
    /// Staff removed the device; the pairing was forgotten.
    Removed,
}

/// Why one launch ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(String),
    Crashed,
    Hung,
    Lost,
    Removed,
    Stopped,
}

impl End {
    fn reason(&self, tr: &Tr) -> String {
        match self {
            End::Exited(_) => tr.t("reason-exited"),
            End::Crashed => tr.t("reason-crashed"),
            End::Hung => tr.t("reason-hung"),
            _ => tr.t("reason-lost"),
        }
    }
}

/// The wait before the next launch after `failures` failed starts in a row.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs(1u64 << (failures - 1).min(6)).min(MAX_BACKOFF)
}

/// Runs until `stop` completes or the device is removed.
pub async fn run(
    options: &RunOptions,
    tr: &Tr,
    stop: impl Future<Output = ()>,
) -> Result<Outcome, KioskError> {
    let pairing = Pairing::load(&options.pairing_dir)?;
    let origin = crate::server::origin(&pairing.server)?;
    let started_ms = epoch_ms();
    tokio::pin!(stop);
    let mut restarts: u32 = 0;
    let mut failures: u32 = 0;
    tracing::info!(
        "{}",
        tr.args("run-started", &[("url", &format!("{origin}device"))])
    );
    loop {
        let wait = backoff(failures);
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                () = &mut stop => return Ok(Outcome::Stopped),
            }
        }
        let kiosk = KioskInfo {
            started_ms,
            restarts,
        };
        let mut running = match browser::launch(&options.browser, &options.profiles).await {
            Ok(running) => running,
            Err(e) => {
                failures += 1;
                let next = backoff(failures).as_secs().to_string();
                let reason = match &e {
                    KioskError::BrowserStart(reason) => reason.clone(),
                    other => other.message(tr),
                };
                tracing::warn!(
                    "{}",
                    tr.args(
                        "run-start-failed",
                        &[("error", &reason), ("seconds", &next)]
                    )
                );
                continue;
            }
        };
        tracing::info!(pid = running.pid, devtools = %running.devtools, restarts, "browser started");
        // Written down, so a run that follows a killed one closes this browser first.
        let _ = std::fs::write(&options.left_behind, running.pid.to_string());
        let (end, answered) = tokio::select! {
            watched = watch(&mut running, &origin, &pairing.device_token, kiosk) => watched,
            () = &mut stop => (End::Stopped, true),
        };
        match end {
            End::Stopped => {
                running.stop().await;
                return Ok(Outcome::Stopped);
            }
            End::Removed => {
                Pairing::forget(&options.pairing_dir);
                let other = Tr::new(crate::i18n::Lang::from_env().other());
                tracing::warn!("{} / {}", tr.t("run-removed"), other.t("run-removed"));
                // The page keeps saying so to whoever stands at the laptop: the
                // browser is left running and the kiosk exits (4), so the service
                // manager shows it stopped and does not restart it. Nothing is retried
                // with the old token; the next `run` (after pairing again) closes
                // that window first.
                running.leave_running();
                return Ok(Outcome::Removed);
            }
            other => {
                if answered {
                    failures = 0;
                } else {
                    failures += 1;
                }
                restarts += 1;
                let detail = match &other {
                    End::Exited(status) => status.clone(),
                    _ => format!("{other:?}"),
                };
                tracing::warn!(
                    detail,
                    "{}",
                    tr.args(
                        "run-restarting",
                        &[("reason", &other.reason(tr)), ("count", &restarts)]
                    )
                );
                running.stop().await;
            }
        }
    }
}

/// What the page reports about its keeper in `health`.
#[derive(Clone, Copy)]
struct KioskInfo {
    started_ms: u64,
    restarts: u32,
}

/// Sets the launch up and watches it; returns why it ended and whether the page ever
/// answered (a launch that never did is a failed start).
async fn watch(running: &mut Running, origin: &Url, token: &str, kiosk: KioskInfo) -> (End, bool) {
    let (cdp, mut events) = match Cdp::connect(&running.devtools).await {
        Ok(connected) => connected,
        Err(e) => {
            tracing::warn!(error = %e, "DevTools connection");
            return (End::Lost, false);
        }
    };
    let (session, handover) = match set_up(&cdp, origin, token, kiosk).await {
        Ok(set) => set,
        Err(e) => {
            tracing::warn!(error = %e, "setting up the page");
            return (End::Lost, false);
        }
    };
    let mut answered = false;
    let mut refusals = 0;
    let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            status = running.exited() => return (End::Exited(status), answered),
            event = events.recv() => match event {
                None => return (End::Lost, answered),
                Some(Event { method, session: from, .. }) => {
                    let ours = from.as_deref() == Some(session.as_str());
                    if method == "Inspector.targetCrashed" && ours {
                        return (End::Crashed, answered);
                    }
                    if method == "Target.detachedFromTarget" {
                        return (End::Lost, answered);
                    }
                }
            },
            _ = beat.tick() => {
                match cdp.evaluate(
                    &session,
                    "document.body ? (document.body.dataset.screen || 'loading') : 'loading'",
                    HEARTBEAT_DEADLINE,
                ).await {
                    Ok(screen) => {
                        answered = true;
                        refusals = 0;
                        if screen == "removed" {
                            // A reload must not hand the dead token over again.
                            let _ = cdp.call(
                                Some(&session),
                                "Page.removeScriptToEvaluateOnNewDocument",
                                json!({ "identifier": handover }),
                                SETUP_DEADLINE,
                            ).await;
                            return (End::Removed, answered);
                        }
                    }
                    Err(CdpError::Timeout(_)) => return (End::Hung, answered),
                    Err(CdpError::Closed | CdpError::Connect(_)) => return (End::Lost, answered),
                    // Between two documents (a reload) there is briefly nothing to ask.
                    Err(CdpError::Refused { .. }) => {
                        refusals += 1;
                        if refusals >= 5 {
                            return (End::Lost, answered);
                        }
                    }
                }
            }
        }
    }
}

/// Grants camera, microphone and the screen wake lock to the server's origin only,
/// hands the page its token and opens the device page. Returns the page's session and
/// the handover script's identifier.
async fn set_up(
    cdp: &Cdp,
    origin: &Url,
    token: &str,
    kiosk: KioskInfo,
) -> Result<(String, serde_json::Value), CdpError> {
    let origin_text = origin.as_str().trim_end_matches('/');
    cdp.grant(
        origin_text,
        &["camera", "microphone", "screen-wake-lock"],
        SETUP_DEADLINE,
    )
    .await?;
    let session = cdp.attach_to_page(SETUP_DEADLINE).await?;
    for method in ["Page.enable", "Inspector.enable", "Runtime.enable"] {
        cdp.call(Some(&session), method, json!({}), SETUP_DEADLINE)
            .await?;
    }
    let handover = cdp
        .call(
            Some(&session),
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": handover_script(origin_text, token, kiosk) }),
            SETUP_DEADLINE,
        )
        .await?["identifier"]
        .clone();
    cdp.call(
        Some(&session),
        "Page.navigate",
        json!({ "url": format!("{origin_text}/device") }),
        SETUP_DEADLINE,
    )
    .await?;
    Ok((session, handover))
}

/// Runs in every new document before its own scripts: on the server's pages only, the
/// device token goes where the device page looks for it, and the page learns about its
/// keeper (for `health`).
fn handover_script(origin: &str, token: &str, kiosk: KioskInfo) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        "(() => {{ if (location.origin !== {origin}) return; \
         try {{ localStorage.setItem({key}, {token}); }} catch (e) {{}} \
         window.menkaiKiosk = {{ startedAt: {started}, restarts: {restarts} }}; }})();",
        origin = quoted(origin),
        key = quoted(TOKEN_KEY),
        token = quoted(token),
        started = kiosk.started_ms,
        restarts = kiosk.restarts,
    )
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_starts_wait_longer_up_to_a_minute() {
        let waits: Vec<u64> = (0..10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn the_handover_script_quotes_what_it_carries_and_checks_the_origin() {
        let script = handover_script(
            "https://visits.example.org",
            "tok\"en</script>",
            KioskInfo {
                started_ms: 5,
                restarts: 2,
            },
        );
        assert!(script.contains(r#"location.origin !== "https://visits.example.org""#));
        assert!(script.contains(r#""tok\"en</script>""#));
        assert!(script.contains("restarts: 2"));
    }
}
