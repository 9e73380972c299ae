//! Files only this server's user may read.
//!
//! The data directory holds the database (residents' names, staff accounts, the keys
//! that sign resume tokens and relay credentials), its WAL and shared-memory files,
//! the ACME account and certificate keys, and backups are copies of all of it. With
//! the usual umask they came out readable by every user of the machine. So the
//! directory is made 0700 and each file 0600 when it is created, whatever the umask,
//! and files left readable by an older version are tightened at start.

use std::io;
use std::path::Path;

/// Creates `dir` if needed and makes it 0700. Returns whether others could read or
/// enter it before (worth a warning: its files may have been copied).
pub fn private_dir(dir: &Path) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes an existing file 0600 (nothing if it does not exist). Returns whether others
/// could read it before.
pub fn private_file(path: &Path) -> io::Result<bool> {
    match restrict(path, 0o600) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        other => other,
    }
}

/// Creates `path` empty with mode 0600; fails if it exists (a backup never overwrites).
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // The mode given at creation is masked by the umask; this is not.
    restrict(path, 0o600)?;
    Ok(file)
}

/// Writes `contents` to `path` readable by the owner only, atomically (a crash never
/// leaves half a key behind).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        let mut file = create_private(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt as _;
    let before = std::fs::metadata(path)?.permissions().mode();
    if before & 0o777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(before & 0o077 != 0)
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<bool> {
    // Elsewhere a user's profile folder is private by default.
    Ok(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_directory_open_to_others_is_closed_and_reported() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(private_dir(&dir).expect("private"), "it was open");
        assert_eq!(mode(&dir), 0o700);
        assert!(!private_dir(&dir).expect("private"), "now it is not");
    }

    #[test]
    fn files_are_written_for_the_owner_only() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("key.pem");
        write_private(&path, b"secret").expect("written");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"secret");
        assert!(create_private(&path).is_err(), "never overwritten");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(private_file(&path).expect("tightened"));
        assert_eq!(mode(&path), 0o600);
        assert!(!private_file(&root.path().join("absent")).expect("absent is fine"));
    }
}
