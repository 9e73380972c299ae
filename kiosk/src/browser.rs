//! Finding Chromium (or Google Chrome) and starting it as a kiosk: full screen, a fresh
//! profile the kiosk owns, no prompts or bubbles, DevTools on a loopback port only the
//! kiosk learns (from the profile's `DevToolsActivePort` file).
//!
//! Where it looks, in order, after `--browser` and `MENKAI_KIOSK_BROWSER`:
//! - Linux: `chromium`, `chromium-browser`, `google-chrome-stable`, `google-chrome` on
//!   the `PATH`, then `/usr/bin/…`, `/snap/bin/chromium`, `/opt/google/chrome/chrome`.
//! - macOS: `/Applications/Google Chrome.app/Contents/MacOS/Google Chrome`, then
//!   `/Applications/Chromium.app/Contents/MacOS/Chromium`.
//! - Windows: `chrome.exe` under `%ProgramFiles%`, `%ProgramFiles(x86)%` and
//!   `%LocalAppData%` (`Google\Chrome\Application`), then Microsoft Edge
//!   (`Microsoft\Edge\Application\msedge.exe`, also Chromium).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::error::KioskError;

/// The places to look on this platform, in order.
pub fn candidates(
    os: &str,
    path_var: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<PathBuf> {
    match os {
        "macos" => vec![
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".into(),
            "/Applications/Chromium.app/Contents/MacOS/Chromium".into(),
        ],
        "windows" => {
            let mut out = vec![];
            for root in ["ProgramFiles", "ProgramFiles(x86)", "LocalAppData"] {
                if let Some(root) = env(root) {
                    out.push(Path::new(&root).join(r"Google\Chrome\Application\chrome.exe"));
                }
            }
            for root in ["ProgramFiles(x86)", "ProgramFiles"] {
                if let Some(root) = env(root) {
                    out.push(Path::new(&root).join(r"Microsoft\Edge\Application\msedge.exe"));
                }
            }
            out
        }
        _ => {
            let names = [
                "chromium",
                "chromium-browser",
                "google-chrome-stable",
                "google-chrome",
            ];
            let mut out: Vec<PathBuf> = vec![];
            for dir in std::env::split_paths(path_var.unwrap_or_default()) {
                out.extend(names.iter().map(|n| dir.join(n)));
            }
            out.extend(names.iter().map(|n| Path::new("/usr/bin").join(n)));
            out.push("/snap/bin/chromium".into());
            out.push("/opt/google/chrome/chrome".into());
            out
        }
    }
}

/// The browser to run: the one named, or the first found.
pub fn find(named: Option<&Path>) -> Result<PathBuf, KioskError> {
    if let Some(path) = named {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(KioskError::NoBrowser)
        };
    }
    let path_var = std::env::var("PATH").ok();
    candidates(std::env::consts::OS, path_var.as_deref(), |k| {
        std::env::var(k).ok()
    })
    .into_iter()
    .find(|p| p.is_file())
    .ok_or(KioskError::NoBrowser)
}

/// The browser's own version line (`Chromium 142.0…`).
pub async fn version(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// How to start it.
#[derive(Debug, Clone)]
pub struct Options {
    pub path: PathBuf,
    pub headless: bool,
    /// Chromium's fake camera and microphone (tests, and `doctor` in tests).
    pub fake_media: bool,
    /// The window size when not full screen (headless).
    pub window: (u32, u32),
    /// The user interface language (`ja`, `en`).
    pub lang: String,
}

/// The command-line switches; the device token is never among them.
pub fn args(options: &Options, profile: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        // DevTools on a free loopback port, written to the profile for the kiosk only.
        "--remote-debugging-port=0",
        "--no-first-run",
        "--no-default-browser-check",
        // Nothing a kiosk user must not see or answer: crash-restore prompts, error
        // dialogs, infobars, translation offers, password and sign-in prompts.
        "--disable-session-crashed-bubble",
        "--hide-crash-restore-bubble",
        "--noerrdialogs",
        "--disable-infobars",
        "--disable-translate",
        "--disable-features=Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions",
        "--password-store=basic",
        "--disable-sync",
        // Not to the internet unless the page asks: no updates, no background fetches.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-client-side-phishing-detection",
        "--metrics-recording-only",
        // No pinch zoom, no swipe back and forward.
        "--disable-pinch",
        "--overscroll-history-navigation=0",
        // Sound plays without a tap first.
        "--autoplay-policy=no-user-gesture-required",
        // A hidden or covered window keeps its timers and media running.
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--lang={}", options.lang));
    if options.headless {
        args.push("--headless=new".into());
        args.push("--disable-gpu".into());
        args.push(format!(
            "--window-size={},{}",
            options.window.0, options.window.1
        ));
    } else {
        args.push("--kiosk".into());
        args.push("--start-fullscreen".into());
        args.push("--start-maximized".into());
    }
    if options.fake_media {
        // Fake devices only; the permission itself is granted per origin over DevTools.
        args.push("--use-fake-device-for-media-stream".into());
    }
    if running_as_root() {
        // Chromium refuses to start as root with its sandbox on (CI, containers).
        args.push("--no-sandbox".into());
    }
    args.push("about:blank".into());
    args
}

fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// A running browser: its process (leader of its own process group) and DevTools.
pub struct Running {
    child: Child,
    pub pid: u32,
    pub devtools: String,
    /// The profile: deleted with this value (kept by [`Running::leave_running`]).
    profile: Option<tempfile::TempDir>,
}

/// Starts the browser with a fresh profile under `profiles` and waits for DevTools.
pub async fn launch(options: &Options, profiles: &Path) -> Result<Running, KioskError> {
    let fail = |e: &dyn std::fmt::Display| KioskError::BrowserStart(e.to_string());
    std::fs::create_dir_all(profiles).map_err(|e| fail(&e))?;
    let profile = tempfile::Builder::new()
        .prefix("profile-")
        .tempdir_in(profiles)
        .map_err(|e| fail(&e))?;
    let mut command = Command::new(&options.path);
    command
        .args(args(options, profile.path()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Ended by Running's Drop (the whole process group), unless left running.
        .kill_on_drop(false);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| fail(&e))?;
    let pid = child.id().unwrap_or(0);
    let port_file = profile.path().join("DevToolsActivePort");
    let started = Instant::now();
    let devtools = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                break format!("ws://127.0.0.1:{}{}", port.trim(), path.trim());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(fail(&format!("exited at once ({status})")));
        }
        if started.elapsed() > Duration::from_secs(30) {
            kill_group(pid);
            return Err(fail(&"DevTools did not open within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Ok(Running {
        child,
        pid,
        devtools,
        profile: Some(profile),
    })
}

impl Running {
    /// Completes when the browser process exits.
    pub async fn exited(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        }
    }

    /// Ends the browser and every process it started.
    pub async fn stop(mut self) {
        kill_group(self.pid);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Running {
    /// Leaves the browser running after this process ends: the "removed" screen stays
    /// for whoever stands at the laptop while the kiosk exits (4) for the service
    /// manager to see. The next `run` (after staff pair the laptop again) closes it
    /// first ([`close_left_behind`]: every launch writes its process id down).
    pub fn leave_running(mut self) {
        // The profile stays too (the browser is using it); the next run clears the
        // profiles' directory.
        if let Some(profile) = self.profile.take() {
            let _ = profile.keep();
        }
        // Drop kills nothing now (no process group 0).
        self.pid = 0;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_group(self.pid);
    }
}

/// Closes a browser an earlier `run` left behind: showing the "removed" screen, or
/// orphaned when that run was killed. Only when the process named in `pid_file` is
/// still a browser on this kiosk's own profiles (a process id is reused after a
/// reboot: an unrelated process is never touched).
pub fn close_left_behind(pid_file: &Path, profiles: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return;
    };
    let _ = std::fs::remove_file(pid_file);
    let Ok(pid) = text.trim().parse::<u32>() else {
        return;
    };
    if is_our_browser(pid, profiles) {
        kill_group(pid);
    }
}

fn is_our_browser(pid: u32, profiles: &Path) -> bool {
    // Linux names a process's command line in /proc; elsewhere nothing is closed (a
    // stale window there is closed by hand, which is safer than a wrong kill).
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains(&format!("--user-data-dir={}", profiles.display()))
        }
        Err(_) => false,
    }
}

/// Kills a process group: Chromium's helpers (renderer, GPU, zygote) go with it.
fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_has_its_places_to_look() {
        let linux = candidates("linux", Some("/opt/x/bin:/usr/local/bin"), |_| None);
        assert_eq!(linux[0], Path::new("/opt/x/bin/chromium"));
        assert!(linux.contains(&PathBuf::from("/usr/bin/google-chrome-stable")));
        let windows = candidates("windows", None, |k| {
            (k == "ProgramFiles").then(|| r"C:\Program Files".to_owned())
        });
        assert_eq!(windows.len(), 2, "{windows:?}");
        assert!(windows[0].ends_with(r"Google\Chrome\Application\chrome.exe"));
        assert!(
            candidates("macos", None, |_| None)[0]
                .to_string_lossy()
                .contains("Google Chrome.app")
        );
    }

    #[test]
    fn the_command_line_grants_nothing_to_every_origin() {
        let options = Options {
            path: "/usr/bin/chromium".into(),
            headless: false,
            fake_media: true,
            window: (1366, 768),
            lang: "ja".into(),
        };
        let args = args(&options, Path::new("/tmp/p"));
        assert!(args.contains(&"--kiosk".to_owned()));
        assert!(args.contains(&"--use-fake-device-for-media-stream".to_owned()));
        assert!(!args.iter().any(|a| a.contains("fake-ui")));
        assert_eq!(args.last().map(String::as_str), Some("about:blank"));
    }
}
