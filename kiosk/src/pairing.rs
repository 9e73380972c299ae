//! The pairing this laptop keeps: the server's address and the device token, in one
//! small file in the user's config directory, readable by the owner only. The token is
//! the device's only credential: it is never printed, logged or put on a command line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::KioskError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pairing {
    /// The server's origin, e.g. `https://visits.example.org`.
    pub server: String,
    pub device_token: String,
    pub device_id: String,
    pub device_name: String,
    /// `entrance` or `ward`.
    pub kind: String,
}

/// Where the pairing lives: `$MENKAI_KIOSK_CONFIG_DIR`, else the platform's config
/// directory (`~/.config/menkai-kiosk` on Linux, `%APPDATA%\menkai-kiosk` on Windows,
/// `~/Library/Application Support/menkai-kiosk` on macOS).
pub fn config_dir() -> PathBuf {
    std::env::var_os("MENKAI_KIOSK_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("menkai-kiosk")))
        .unwrap_or_else(|| PathBuf::from(".menkai-kiosk"))
}

pub fn file_in(dir: &Path) -> PathBuf {
    dir.join("pairing.json")
}

impl Pairing {
    /// The saved pairing; `NotPaired` when there is none.
    pub fn load(dir: &Path) -> Result<Pairing, KioskError> {
        let path = file_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KioskError::NotPaired);
            }
            Err(e) => {
                return Err(KioskError::PairingFile {
                    path,
                    error: e.to_string(),
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| KioskError::PairingFile {
            path,
            error: e.to_string(),
        })
    }

    /// Saves atomically (a new file renamed over the old), created with mode 0600.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, KioskError> {
        let path = file_in(dir);
        let fail = |e: &dyn std::fmt::Display| KioskError::Save {
            path: path.clone(),
            error: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| fail(&e))?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
        // NamedTempFile is created 0600 on Unix; say so explicitly all the same.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| fail(&e))?;
        }
        std::io::Write::write_all(&mut file, &json).map_err(|e| fail(&e))?;
        file.as_file().sync_all().map_err(|e| fail(&e))?;
        file.persist(&path).map_err(|e| fail(&e.error))?;
        Ok(path)
    }

    /// Forgets the pairing (staff removed the device: the token is worth nothing).
    pub fn forget(dir: &Path) {
        let _ = std::fs::remove_file(file_in(dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_pairing_is_read_back_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            Pairing::load(dir.path()),
            Err(KioskError::NotPaired)
        ));
        let pairing = Pairing {
            server: "https://visits.example.org".into(),
            device_token: "secret".into(),
            device_id: "d1".into(),
            device_name: "Entrance".into(),
            kind: "entrance".into(),
        };
        let path = pairing.save(dir.path()).expect("saved");
        assert_eq!(Pairing::load(dir.path()).expect("loaded"), pairing);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Pairing::forget(dir.path());
        assert!(matches!(
            Pairing::load(dir.path()),
            Err(KioskError::NotPaired)
        ));
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(
            Pairing::load(dir.path()),
            Err(KioskError::PairingFile { .. })
        ));
    }
}
