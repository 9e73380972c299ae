//! `menkai-kiosk install`: start the kiosk at every login of this user, on Linux.
//!
//! A systemd user unit keeps it running (restarted if it ever stops), tied to the
//! graphical session; a desktop autostart entry starts that unit in desktops whose
//! session does not reach `graphical-session.target`. Windows and ChromeOS: README.

use std::path::{Path, PathBuf};

use crate::error::KioskError;

/// The files written: (systemd unit, autostart entry).
pub struct Installed {
    pub unit: PathBuf,
    pub autostart: PathBuf,
}

/// The unit that runs `exe run` with `extra` arguments.
pub fn unit(exe: &Path, extra: &[String]) -> String {
    let mut command = vec![quote(&exe.display().to_string()), "run".to_owned()];
    command.extend(extra.iter().map(|a| quote(a)));
    format!(
        "[Unit]\n\
         Description=Menkai entrance kiosk\n\
         After=graphical-session.target\n\
         PartOf=graphical-session.target\n\n\
         [Service]\n\
         ExecStart={}\n\
         Restart=always\n\
         RestartSec=5\n\
         # Only the kiosk is signalled when the service stops (it closes its browser\n\
         # itself); after staff remove the device its browser stays, showing so.\n\
         KillMode=process\n\
         # Not paired (2), or removed by staff (4): restarting would not help.\n\
         RestartPreventExitStatus=2 4\n\n\
         [Install]\n\
         WantedBy=graphical-session.target\n",
        command.join(" ")
    )
}

pub fn autostart_entry() -> String {
    "[Desktop Entry]\n\
     Type=Application\n\
     Name=Menkai kiosk\n\
     Comment=Starts the Menkai entrance kiosk\n\
     Exec=systemctl --user start menkai-kiosk.service\n\
     NoDisplay=true\n\
     X-GNOME-Autostart-enabled=true\n"
        .to_owned()
}

/// systemd's quoting: a word with spaces, quotes or backslashes goes in double quotes.
fn quote(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '"', '\\', '\'', '$', '%']) {
        let escaped = word
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "$$")
            .replace('%', "%%");
        format!("\"{escaped}\"")
    } else {
        word.to_owned()
    }
}

/// Writes both files under `config` (the user's config directory).
pub fn install(config: &Path, exe: &Path, extra: &[String]) -> Result<Installed, KioskError> {
    let unit_path = config.join("systemd/user/menkai-kiosk.service");
    let autostart = config.join("autostart/menkai-kiosk.desktop");
    for (path, text) in [
        (&unit_path, unit(exe, extra)),
        (&autostart, autostart_entry()),
    ] {
        let fail = |e: std::io::Error| KioskError::Save {
            path: path.clone(),
            error: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        std::fs::write(path, text).map_err(fail)?;
    }
    Ok(Installed {
        unit: unit_path,
        autostart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_kiosk_and_restarts_it() {
        let text = unit(
            Path::new("/opt/menkai kiosk/menkai-kiosk"),
            &["--browser".into(), "/usr/bin/chromium".into()],
        );
        assert!(
            text.contains(
                "ExecStart=\"/opt/menkai kiosk/menkai-kiosk\" run --browser /usr/bin/chromium"
            ),
            "{text}"
        );
        assert!(text.contains("Restart=always"));
        let dir = tempfile::tempdir().expect("dir");
        let done = install(dir.path(), Path::new("/usr/bin/menkai-kiosk"), &[]).expect("written");
        assert!(done.unit.ends_with("systemd/user/menkai-kiosk.service"));
        let entry = std::fs::read_to_string(done.autostart).expect("entry");
        assert!(entry.contains("Exec=systemctl --user start menkai-kiosk.service"));
    }
}
