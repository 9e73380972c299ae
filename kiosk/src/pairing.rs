//! The pairing this laptop keeps: the server's address and the device token, in one
//! small file in the user's config directory, readable by the owner only. The token is
//! the device's only credential: it is never printed, logged or put on a command line.
//!
//! Everything in it came from the server, so nothing is kept as it arrived: the token
//! and id must look like the server's (URL-safe, bounded), the kind must be one we
//! know, and the name is cleaned of whatever could move a terminal's cursor, recolour
//! it, start a new line or turn text around (escape sequences, control and bidi
//! characters) before it is printed or saved. The same bounds are checked when the
//! file is read back, so a file changed by hand is refused with a message instead of
//! reaching the browser or the screen.

use std::io::Read;
use std::iter::Peekable;
use std::path::{Path, PathBuf};
use std::str::Chars;

use serde::{Deserialize, Serialize};

use crate::error::KioskError;

/// Longest device token kept. Menkai's are 32 characters; this leaves room for a
/// longer secret, and none for a megabyte that would be saved and handed to pages.
pub const MAX_TOKEN_BYTES: usize = 512;
/// Longest device id kept (Menkai's are 16 characters).
pub const MAX_ID_BYTES: usize = 128;
/// Longest device name kept or shown. The server allows 60; a name is one line.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest server address kept (an origin: scheme, host, port).
const MAX_SERVER_BYTES: usize = 2048;
/// Largest pairing file read: a real one is a few hundred bytes.
const MAX_FILE_BYTES: usize = 16 * 1024;
/// The device kinds the server has: the kiosk's page and behaviour depend on them.
pub const KINDS: [&str; 2] = ["entrance", "ward"];

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

/// Which part of a pairing broke its bounds, for the message that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Server,
    DeviceToken,
    DeviceId,
    DeviceName,
    Kind,
}

impl Field {
    /// The catalog id of the field's name, as the operator reads it.
    pub fn label(self) -> &'static str {
        match self {
            Field::Server => "field-server",
            Field::DeviceToken => "field-device-token",
            Field::DeviceId => "field-device-id",
            Field::DeviceName => "field-device-name",
            Field::Kind => "field-kind",
        }
    }
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
    /// What the server answered to a pairing code, checked before anything is kept
    /// or shown. A token or id that does not look like one, a name that is empty or
    /// longer than a name, or an unknown kind is refused (nothing is saved): no Menkai
    /// server sends them. The name is cleaned first (see [`sanitize`]), so a name with
    /// an escape sequence in it pairs, shown and saved without it.
    pub fn from_server(
        server: String,
        token: &str,
        id: &str,
        name: &str,
        kind: &str,
    ) -> Result<Pairing, Field> {
        if !token_ok(token) {
            return Err(Field::DeviceToken);
        }
        if !id_ok(id) {
            return Err(Field::DeviceId);
        }
        let device_name = device_name(name).ok_or(Field::DeviceName)?;
        if !kind_ok(kind) {
            return Err(Field::Kind);
        }
        Ok(Pairing {
            server,
            device_token: token.to_owned(),
            device_id: id.to_owned(),
            device_name,
            kind: kind.to_owned(),
        })
    }

    /// The bounds `from_server` keeps, checked on a pairing read from disk. Nothing is
    /// cleaned here: this program never writes a name that needs cleaning, so one that
    /// does was written by someone else.
    pub fn validate(&self) -> Result<(), Field> {
        let server_ok = self.server.len() <= MAX_SERVER_BYTES
            && crate::server::origin(&self.server)
                .is_ok_and(|o| o.as_str().trim_end_matches('/') == self.server);
        if !server_ok {
            return Err(Field::Server);
        }
        if !token_ok(&self.device_token) {
            return Err(Field::DeviceToken);
        }
        if !id_ok(&self.device_id) {
            return Err(Field::DeviceId);
        }
        if !name_ok(&self.device_name) {
            return Err(Field::DeviceName);
        }
        if !kind_ok(&self.kind) {
            return Err(Field::Kind);
        }
        Ok(())
    }

    /// The saved pairing; `NotPaired` when there is none. A file larger than any
    /// pairing is not read to its end, and one whose fields break the bounds is
    /// refused, saying which field.
    pub fn load(dir: &Path) -> Result<Pairing, KioskError> {
        let path = file_in(dir);
        let unreadable = |error: String| KioskError::PairingFile {
            path: path.clone(),
            error,
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KioskError::NotPaired);
            }
            Err(e) => return Err(unreadable(e.to_string())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(e.to_string()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(KioskError::PairingTooLarge(path.clone()));
        }
        let pairing: Pairing =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        pairing
            .validate()
            .map_err(|field| KioskError::PairingField {
                path: path.clone(),
                field,
            })?;
        Ok(pairing)
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

/// URL-safe base64 and the few other characters a bearer token may hold: nothing that
/// could end a header, a JSON string or a line.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Whether `token` can be a device token: 1 to 512 token characters.
pub fn token_ok(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN_BYTES && token.bytes().all(is_token_byte)
}

/// Whether `id` can be a device id (the same characters as a token, shorter).
pub fn id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && id.bytes().all(is_token_byte)
}

/// Whether `kind` is one the server has.
pub fn kind_ok(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// A device name as the server sent it, cleaned for the screen and the file; `None`
/// when nothing is left or it is longer than a name.
pub fn device_name(raw: &str) -> Option<String> {
    let name = sanitize(raw);
    (!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS).then_some(name)
}

/// Whether a stored name is one this program could have written.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.trim() == name
        && !name.chars().any(is_unsafe)
}

/// Bidirectional formatting: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069), the marks (U+200E, U+200F) and the Arabic letter mark (U+061C).
/// U+202E turns "gpj.exe" into what reads as "exe.jpg".
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// What never reaches the terminal or the file: C0 and C1 controls, DEL (all of
/// them `is_control`), bidi formatting, and the Unicode line and paragraph separators.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text that came from the server (or from a page it serves), made safe to print and
/// store: escape sequences are removed whole (ESC and what it introduces, so
/// "\x1b[31m" leaves no "[31m" behind), a line break or tab becomes one space, every
/// other control and bidi character goes, and the ends are trimmed. Ordinary text in
/// any script (「入口のパソコン」, "Entrance") is kept as it is.
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(4096));
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // The one-character (C1) forms of CSI, and of DCS, SOS, OSC, PM and APC.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                    out.push(' ');
                }
            }
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// [`sanitize`], then cut to `max_chars` (with "…"): for what is only shown, such as
/// a redirect's target or a camera's label.
pub fn printable(raw: &str, max_chars: usize) -> String {
    let clean = sanitize(raw);
    if clean.chars().count() <= max_chars {
        return clean;
    }
    let mut short: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// After ESC (ECMA-48): `[` starts a control sequence; `]`, `P`, `X`, `^` and `_` a
/// string (a window title, a hyperlink…); intermediate bytes (0x20–0x2F) come before
/// one final character; anything else is a single character.
fn skip_escape(chars: &mut Peekable<Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        Some('\u{20}'..='\u{2f}') => {
            for c in chars.by_ref() {
                if !('\u{20}'..='\u{2f}').contains(&c) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// A control sequence's parameters and intermediates (0x20–0x3F), then its final
/// character (0x40–0x7E). Anything else ends it without being taken.
fn skip_csi(chars: &mut Peekable<Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
            continue;
        }
        if ('\u{40}'..='\u{7e}').contains(&c) {
            chars.next();
        }
        break;
    }
}

/// A control string runs to BEL, to ST (ESC `\` or U+009C), or to the end.
fn skip_string(chars: &mut Peekable<Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entrance() -> Pairing {
        Pairing {
            server: "https://visits.example.org".into(),
            device_token: "secret".into(),
            device_id: "d1".into(),
            device_name: "Entrance".into(),
            kind: "entrance".into(),
        }
    }

    #[test]
    fn a_saved_pairing_is_read_back_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            Pairing::load(dir.path()),
            Err(KioskError::NotPaired)
        ));
        let pairing = entrance();
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

    #[test]
    fn escape_sequences_line_breaks_and_bidi_overrides_are_removed_from_server_text() {
        assert_eq!(sanitize("\u{1b}[31mEntrance\u{1b}[0m"), "Entrance");
        assert_eq!(sanitize("Entrance\r\nFAKE: ok"), "Entrance FAKE: ok");
        assert_eq!(sanitize("Entrance\u{202E}gpj.exe"), "Entrancegpj.exe");
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert_eq!(sanitize(&format!("A{bidi}B")), "AB", "{:04X}", bidi as u32);
        }
        // A window title (OSC, ended by BEL or by ST), a hyperlink, a character set.
        assert_eq!(sanitize("A\u{1b}]0;owned\u{7}B"), "AB");
        assert_eq!(
            sanitize("A\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "Alink"
        );
        assert_eq!(sanitize("A\u{1b}(BB"), "AB");
        // C1 forms, DEL, NUL, a lone ESC at the end, an unterminated sequence.
        assert_eq!(sanitize("A\u{9b}2JB\u{7f}\u{0}C\u{1b}"), "ABC");
        assert_eq!(sanitize("A\u{1b}[31"), "A");
        // Nothing unsafe is left, whatever came in.
        let hostile: String = (0u32..0x300)
            .chain(0x2000..0x2070)
            .filter_map(char::from_u32)
            .collect();
        assert!(!sanitize(&hostile).chars().any(is_unsafe));
    }

    #[test]
    fn ordinary_names_in_any_script_are_kept_as_they_are() {
        for name in [
            "入口のパソコン",
            "Entrance",
            "山田\u{3000}花子",
            "Entrée – hall 2",
            "مدخل",
        ] {
            assert_eq!(sanitize(name), name);
            assert_eq!(device_name(name).as_deref(), Some(name));
        }
        assert_eq!(sanitize("  入口\t1  "), "入口 1");
    }

    #[test]
    fn what_the_server_sends_is_refused_when_it_breaks_the_bounds() {
        let server = || "https://visits.example.org".to_owned();
        let pair = |token: &str, name: &str, kind: &str| {
            Pairing::from_server(server(), token, "d1", name, kind)
        };
        let token = "A".repeat(32);
        let paired = pair(&token, "\u{1b}[31m入口\r\nのパソコン\u{202E}", "entrance")
            .expect("a cleaned name pairs");
        assert_eq!(paired.device_name, "入口 のパソコン");
        assert_eq!(paired.validate(), Ok(()));

        assert_eq!(
            pair(&"A".repeat(1_000_000), "Entrance", "entrance"),
            Err(Field::DeviceToken)
        );
        assert!(pair(&"A".repeat(MAX_TOKEN_BYTES), "Entrance", "entrance").is_ok());
        assert_eq!(
            pair(&"A".repeat(MAX_TOKEN_BYTES + 1), "Entrance", "entrance"),
            Err(Field::DeviceToken)
        );
        for bad in ["", "tok en", "tok\"en", "tok\nen", "tōken"] {
            assert_eq!(pair(bad, "Entrance", "entrance"), Err(Field::DeviceToken));
        }
        assert_eq!(
            pair(&token, &"名".repeat(5_000_000 / 3), "entrance"),
            Err(Field::DeviceName)
        );
        assert!(pair(&token, &"名".repeat(MAX_NAME_CHARS), "entrance").is_ok());
        assert_eq!(
            pair(&token, "\u{1b}[31m\r\n", "entrance"),
            Err(Field::DeviceName)
        );
        assert_eq!(pair(&token, "Entrance", "admin"), Err(Field::Kind));
        assert_eq!(
            Pairing::from_server(server(), &token, &"x".repeat(500), "E", "ward"),
            Err(Field::DeviceId)
        );
    }

    #[test]
    fn a_pairing_file_changed_by_hand_is_refused_saying_which_field() {
        /// Saves the pairing with one change and reads it back: the field refused.
        fn tampered(change: impl FnOnce(&mut Pairing)) -> Option<Field> {
            let dir = tempfile::tempdir().expect("dir");
            let mut pairing = entrance();
            change(&mut pairing);
            pairing.save(dir.path()).expect("saved");
            match Pairing::load(dir.path()) {
                Err(KioskError::PairingField { field, .. }) => Some(field),
                _ => None,
            }
        }
        assert_eq!(
            tampered(|p| p.device_token = "A".repeat(1_000)),
            Some(Field::DeviceToken)
        );
        assert_eq!(
            tampered(|p| p.device_name = "Entrance\u{1b}[2J".into()),
            Some(Field::DeviceName)
        );
        assert_eq!(
            tampered(|p| p.device_name = "\u{202E}Entrance".into()),
            Some(Field::DeviceName)
        );
        assert_eq!(
            tampered(|p| p.server = "https://visits.example.org/steal?x=1".into()),
            Some(Field::Server)
        );
        assert_eq!(
            tampered(|p| p.server = "javascript:alert(1)".into()),
            Some(Field::Server)
        );
        assert_eq!(tampered(|p| p.kind = "root".into()), Some(Field::Kind));
        assert_eq!(
            tampered(|p| p.device_id = String::new()),
            Some(Field::DeviceId)
        );

        // A file larger than any pairing is not read to its end.
        let dir = tempfile::tempdir().expect("dir");
        let huge = format!(
            "{{\"server\":\"https://visits.example.org\",\"device_token\":\"{}\",\
             \"device_id\":\"d1\",\"device_name\":\"E\",\"kind\":\"entrance\"}}",
            "A".repeat(1 << 20)
        );
        std::fs::write(file_in(dir.path()), huge).expect("write");
        assert!(matches!(
            Pairing::load(dir.path()),
            Err(KioskError::PairingTooLarge(_))
        ));
    }

    #[test]
    fn shown_text_is_cleaned_and_cut_to_its_length() {
        assert_eq!(printable("\u{1b}[1mHD Webcam\u{1b}[0m", 200), "HD Webcam");
        let long = printable(&"あ".repeat(1_000), 200);
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with('…'));
    }
}
