//! Checking what people type, for every domain type alike: per-field error codes that
//! forms and the API show, and one rule for names.
//!
//! Names (residents, guests, staff, devices, the facility) end up on printed cards,
//! staff pages and call tiles. Control characters and bidirectional overrides would let
//! a name hide or reorder the text around it (a resident shown under another's name),
//! so they are refused; the rest is stored NFC-normalised, so a name typed on a phone
//! and the same name typed on a PC compare equal.

use unicode_normalization::UnicodeNormalization;

/// One invalid field of a form or JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

/// Every invalid field of one request, so a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, code: &'static str) {
        self.0.push(FieldError { field, code });
    }

    /// Records a failed check of `field`; passes a good value on.
    pub fn check<T>(&mut self, field: &'static str, checked: Result<T, &'static str>) -> Option<T> {
        checked.map_err(|code| self.add(field, code)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The code of the first error on a field, for templates.
    pub fn code_for(&self, field: &str) -> Option<&'static str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.code)
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    pub fn single(field: &'static str, code: &'static str) -> Self {
        Self(vec![FieldError { field, code }])
    }
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name as stored: trimmed, NFC, at most `max_chars` characters, no control
/// characters or bidi overrides. Spaces inside (「山田 花子」, "Hanako Yamada") are fine.
pub fn name(raw: &str, max_chars: usize) -> Result<String, &'static str> {
    let name = normalize(raw);
    if name.is_empty() {
        Err("required")
    } else if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Err("invalid_characters")
    } else if name.chars().count() > max_chars {
        Err("too_long")
    } else {
        Ok(name)
    }
}

/// Trimmed and NFC-normalised, nothing refused.
pub fn normalize(raw: &str) -> String {
    raw.trim().nfc().collect()
}

/// Like [`name`], for a field that may be left empty (a room number).
pub fn optional_name(raw: &str, max_chars: usize) -> Result<String, &'static str> {
    match name(raw, max_chars) {
        Err("required") => Ok(String::new()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_trimmed() {
        assert_eq!(name("  山田 花子 ", 80).as_deref(), Ok("山田 花子"));
        assert_eq!(name("Hanako Yamada", 80).as_deref(), Ok("Hanako Yamada"));
        assert_eq!(
            name("山田\u{3000}花子", 80).as_deref(),
            Ok("山田\u{3000}花子")
        );
    }

    #[test]
    fn names_are_stored_nfc() {
        // "が" as か + combining dakuten becomes the one precomposed character.
        assert_eq!(name("か\u{3099}", 80).as_deref(), Ok("が"));
        assert_eq!(name("e\u{301}", 80).as_deref(), Ok("\u{e9}"));
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for bad in [
            "Yamada\u{0}",
            "Ya\nmada",
            "Ya\tmada",
            "\u{1b}[31mred",
            "abc\u{202E}fed",
            "x\u{2066}y",
            "\u{7f}",
        ] {
            assert_eq!(name(bad, 80), Err("invalid_characters"), "{bad:?}");
        }
    }

    #[test]
    fn blank_and_long_names_are_refused() {
        assert_eq!(name("   ", 80), Err("required"));
        assert_eq!(name(&"あ".repeat(81), 80), Err("too_long"));
        assert_eq!(
            name(&"あ".repeat(80), 80).map(|n| n.chars().count()),
            Ok(80)
        );
        assert_eq!(optional_name(" ", 40).as_deref(), Ok(""));
        assert_eq!(optional_name("a\u{202D}", 40), Err("invalid_characters"));
    }
}
