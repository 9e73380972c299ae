//! Checking what people type, for every domain type alike: per-field error codes that
//! forms and the API show, and one rule for names.
//!
//! Names (residents, guests, staff, devices, the facility) end up on printed cards,
//! staff pages and call tiles. Control characters and bidirectional overrides would let
//! a name hide or reorder the text around it (a resident shown under another's name),
//! and invisible characters (zero-width spaces, fillers, variation selectors…) would
//! make two names that look the same differ, so all of them are refused; so is a name
//! with nothing visible in it (only spaces and combining marks). The rest is stored
//! NFC-normalised, so a name typed on a phone and the same name typed on a PC compare
//! equal. [`match_key`] goes further for spotting the same person entered twice.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

/// `raw` without the characters that show nothing (see [`is_invisible`]) or control
/// the terminal: what a form shows back after refusing such a name, so the box that
/// looks empty is empty.
pub fn visible_only(raw: &str) -> String {
    raw.chars()
        .filter(|c| !is_invisible(*c) && !c.is_control())
        .collect()
}

/// Characters that show nothing, or move the text around them, in a name.
///
/// Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt): soft hyphen,
/// combining grapheme joiner, Arabic letter mark, Hangul fillers, Khmer inherent
/// vowels, Mongolian variation selectors and vowel separator, zero-width space,
/// non-joiner and joiner, left-to-right and right-to-left marks, bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), word joiner and
/// invisible operators, variation selectors, the byte order mark, shorthand format
/// controls, musical formatting controls, tags and the rest of plane 14. Plus the line
/// and paragraph separators (a line break inside a name), the interlinear annotation
/// characters (they hide the text between them) and the braille blank (a "letter" that
/// prints as nothing).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
            // Not default-ignorable, but as invisible in a name:
            | '\u{2028}'..='\u{2029}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{2800}'
    )
}

/// A name as stored: trimmed, NFC, at most `max_chars` characters, no control or
/// invisible characters (bidi overrides included), something visible in it. Spaces
/// inside (「山田 花子」, 「山田\u{3000}花子」, "Hanako Yamada") are fine.
pub fn name(raw: &str, max_chars: usize) -> Result<String, &'static str> {
    let name = normalize(raw);
    if name.is_empty() {
        Err("required")
    } else if name.chars().any(|c| c.is_control() || is_invisible(c)) {
        Err("invalid_characters")
    } else if name
        .chars()
        .all(|c| c.is_whitespace() || is_combining_mark(c))
    {
        Err("no_visible_characters")
    } else if name.chars().count() > max_chars {
        Err("too_long")
    } else {
        Ok(name)
    }
}

/// The longest address SMTP carries (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// An e-mail address a family member gave, as it is stored and sent to: trimmed,
/// the domain in lower case. Refused: anything with a space or a control character
/// (a CR/LF could add a header), a display name ("Taro <t@x>"), no `@`, no dot in the
/// domain, or what the mail library would not accept as an address.
pub fn email(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("required");
    }
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err("too_long");
    }
    if trimmed.chars().any(|c| {
        c.is_whitespace() || c.is_control() || is_invisible(c) || "<>\"(),;:[]".contains(c)
    }) {
        return Err("invalid_email");
    }
    let Some((local, domain)) = trimmed.rsplit_once('@') else {
        return Err("invalid_email");
    };
    let domain = domain.to_ascii_lowercase();
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty() || local.contains('@') || !domain.contains('.') || !labels_ok {
        return Err("invalid_email");
    }
    let address = format!("{local}@{domain}");
    address
        .parse::<lettre::Address>()
        .map_err(|_| "invalid_email")?;
    Ok(address)
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

/// What two names are compared by to spot the same person entered twice: NFKC (full-
/// and half-width forms, circled and compatibility characters become the plain ones),
/// lower case, and without any whitespace, control or invisible character. So
/// 「山田 花子」, 「山田\u{3000}花子」 and 「山田花子」 have one key, as have "Tanaka",
/// "ＴＡＮＡＫＡ" and "tanaka" with a zero-width space. Only for comparing: names are
/// stored as [`name`] returns them.
pub fn match_key(name: &str) -> String {
    let kept = |c: &char| !(c.is_whitespace() || c.is_control() || is_invisible(*c));
    // Invisible characters go first (one between a letter and its accent would keep
    // them apart), and again at the end: NFKC can turn a character into a space
    // and a mark ("¨" is " \u{308}"), lower case can add marks ("İ" is "i\u{307}").
    let lowered = name
        .chars()
        .filter(kept)
        .nfkc()
        .collect::<String>()
        .to_lowercase();
    lowered.nfkc().filter(kept).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_are_checked_and_cannot_carry_headers() {
        assert_eq!(
            email(" Taro.Yamada@Example.JP ").as_deref(),
            Ok("Taro.Yamada@example.jp")
        );
        assert_eq!(
            email("hanako+visits@mail.example.co.jp").as_deref(),
            Ok("hanako+visits@mail.example.co.jp")
        );
        for bad in [
            "taro",
            "taro@",
            "@example.jp",
            "taro@localhost",
            "taro@@example.jp",
            "taro@example..jp",
            "Taro <taro@example.jp>",
            "taro@example.jp\r\nBcc: all@example.jp",
            "taro@example.jp\nX-Evil: 1",
            "ta ro@example.jp",
            "taro@exa_mple.jp",
        ] {
            assert_eq!(email(bad), Err("invalid_email"), "{bad:?}");
        }
        assert_eq!(email("  "), Err("required"));
        assert_eq!(
            email(&format!("{}@example.jp", "a".repeat(250))),
            Err("too_long")
        );
    }

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

    /// Each default-ignorable range at its ends (and a few inside), the separators and
    /// the other blanks.
    #[rustfmt::skip]
    const INVISIBLE: [char; 52] = [
        '\u{00AD}', '\u{034F}', '\u{061C}', '\u{115F}', '\u{1160}', '\u{17B4}', '\u{17B5}',
        '\u{180B}', '\u{180E}', '\u{180F}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}',
        '\u{200F}', '\u{202A}', '\u{202E}', '\u{2060}', '\u{2061}', '\u{2064}', '\u{2065}',
        '\u{2066}', '\u{2069}', '\u{206F}', '\u{3164}', '\u{FE00}', '\u{FE0E}', '\u{FE0F}',
        '\u{FEFF}', '\u{FFA0}', '\u{FFF0}', '\u{FFF8}', '\u{1BCA0}', '\u{1BCA3}', '\u{1D173}',
        '\u{1D17A}', '\u{E0000}', '\u{E0001}', '\u{E0020}', '\u{E007F}', '\u{E0100}',
        '\u{E01EF}', '\u{E0FFF}', '\u{2028}', '\u{2029}', '\u{FFF9}', '\u{FFFA}', '\u{FFFB}',
        '\u{2800}', '\u{2062}', '\u{2063}', '\u{E01F0}',
    ];

    #[test]
    fn every_invisible_character_is_refused_in_a_name() {
        for c in INVISIBLE {
            assert!(is_invisible(c), "{c:?}");
            for bad in [
                format!("Tanaka{c}Hanako"),
                format!("山田{c}花子"),
                format!("山田 {c}花子"),
            ] {
                assert_eq!(name(&bad, 80), Err("invalid_characters"), "{bad:?}");
            }
            if c.is_whitespace() {
                // Line and paragraph separators at either end are trimmed like spaces.
                assert_eq!(name(&format!("{c}Sato{c}"), 80).as_deref(), Ok("Sato"));
                assert_eq!(name(&c.to_string(), 80), Err("required"), "{c:?}");
            } else {
                for bad in [format!("Tanaka{c}"), format!("{c}Sato"), c.to_string()] {
                    assert_eq!(name(&bad, 80), Err("invalid_characters"), "{bad:?}");
                }
            }
            assert_eq!(
                optional_name(&format!("2{c}01"), 40),
                Err("invalid_characters")
            );
        }
    }

    #[test]
    fn a_name_made_only_of_invisible_characters_is_refused() {
        let all: String = INVISIBLE.iter().collect();
        assert_eq!(name(&all, 200), Err("invalid_characters"));
        assert_eq!(name("\u{200B}", 80), Err("invalid_characters"));
        assert_eq!(
            name("\u{200B}\u{200B}\u{FEFF}", 80),
            Err("invalid_characters")
        );
        assert_eq!(name("\u{3164}\u{3164}", 80), Err("invalid_characters"));
        assert_eq!(
            name("\u{200E}\u{200F}\u{061C}", 80),
            Err("invalid_characters")
        );
        assert_eq!(name("\u{2060}", 80), Err("invalid_characters"));
        assert_eq!(optional_name("\u{200B}", 40), Err("invalid_characters"));
    }

    #[test]
    fn a_name_of_only_spaces_or_combining_marks_is_refused() {
        assert_eq!(name("\u{3000}\u{3000}", 80), Err("required"));
        assert_eq!(name(" \u{2003}\u{A0} ", 80), Err("required"));
        for bad in [
            "\u{301}",
            "\u{3099}\u{309A}",
            "\u{301} \u{301}",
            "\u{3000}\u{20DD}\u{3000}",
            "\u{0E31}\u{0E34}",
            "\u{0903}",
        ] {
            assert_eq!(name(bad, 80), Err("no_visible_characters"), "{bad:?}");
        }
        assert_eq!(optional_name("\u{301}", 40), Err("no_visible_characters"));
    }

    #[test]
    fn ordinary_japanese_english_and_accented_names_still_pass() {
        for ok in [
            "山田 花子",
            "山田\u{3000}花子",
            "やまだ はなこ",
            "ヤマダ ハナコ",
            "髙橋 一郎",
            "佐々木 ゆう子",
            "Hanako Yamada",
            "Mary-Jane O'Neil",
            "José Müller",
            "Zoë Brontë",
            "François Nguyễn Văn An",
            "Łukasz Żółć",
            "Σωκράτης",
            "김민준",
            "अनीता",
            "สมชาย",
            "Ahmed \u{0645}\u{062D}\u{0645}\u{062F}",
            "201",
            "2F-3",
        ] {
            let stored: String = ok.nfc().collect();
            assert_eq!(name(ok, 80), Ok(stored), "{ok:?}");
        }
        // A name written with combining accents is stored composed, and passes.
        assert_eq!(name("Jose\u{301}", 80).as_deref(), Ok("Jos\u{e9}"));
        assert_eq!(name("\u{e9}", 80).as_deref(), Ok("\u{e9}"));
    }

    #[test]
    fn one_person_typed_differently_has_one_match_key() {
        let key = match_key("山田 花子");
        assert_eq!(key, "山田花子");
        for same in [
            "山田\u{3000}花子",
            "山田花子",
            " 山田  花子 ",
            "山田\u{200B}花子",
            "山田\u{A0}花子",
        ] {
            assert_eq!(match_key(same), key, "{same:?}");
        }
        for same in [
            "Tanaka",
            "ＴＡＮＡＫＡ",
            "tanaka\u{200B}",
            "TANAKA",
            "ｔａｎａｋａ",
            "Ta naka",
            "\u{FEFF}tanaka\u{2060}",
        ] {
            assert_eq!(match_key(same), "tanaka", "{same:?}");
        }
        // Half-width katakana, a composed or combining accent, full-width digits.
        assert_eq!(match_key("ﾔﾏﾀﾞ ﾊﾅｺ"), match_key("ヤマダ ハナコ"));
        assert_eq!(match_key("José"), match_key("JOSE\u{301}"));
        assert_eq!(match_key("Jos\u{200B}e\u{301}"), match_key("josé"));
        assert_eq!(match_key("２０１"), match_key("201"));
        assert_eq!(match_key(""), "");
        // Different people stay apart.
        assert_ne!(match_key("山田 花子"), match_key("山田 太郎"));
        assert_ne!(match_key("José"), match_key("Jose"));
        assert_ne!(match_key("201"), match_key("202"));
    }

    #[test]
    fn a_refused_name_is_shown_back_without_what_cannot_be_seen() {
        assert_eq!(visible_only("\u{200B}\u{200B}"), "");
        assert_eq!(visible_only("山田\u{200B} 花子\u{202E}"), "山田 花子");
    }
}
