//! Secrets handed to people and devices: invitation links, device tokens, staff
//! sessions, API tokens, one-time set-up links and pairing codes.
//!
//! Every secret is random (192 bits for tokens) and only its SHA-256 hash is stored,
//! so a copy of the database does not let anyone join a visit or log in.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng as _, RngExt as _};
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token: 192 bits, well above the 128 the design asks for.
const TOKEN_BYTES: usize = 24;

/// Longest token we will even hash: anything longer is not ours. Bounds work done on
/// untrusted input.
pub const MAX_TOKEN_LEN: usize = 128;

/// A freshly made secret: the plain text goes to its holder once, the hash to storage.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub plain: String,
    pub hash: String,
}

/// Makes a new URL-safe token (32 characters).
pub fn generate() -> NewToken {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let plain = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&plain);
    NewToken { plain, hash }
}

/// The stored form of a token.
pub fn hash(plain: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(plain.as_bytes()))
}

/// Whether a string could be one of our tokens at all; checked before any lookup.
pub fn looks_valid(candidate: &str) -> bool {
    !candidate.is_empty()
        && candidate.len() <= MAX_TOKEN_LEN
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A pairing code a person types on a tablet: 8 digits, shown as `1234 5678`.
pub fn pairing_code() -> NewToken {
    let n: u32 = rand::rng().random_range(0..100_000_000);
    let plain = format!("{:04} {:04}", n / 10_000, n % 10_000);
    let hash = hash(&normalize_pairing_code(&plain));
    NewToken { plain, hash }
}

/// What a person typed, reduced to its digits: spaces and dashes are forgiven.
pub fn normalize_pairing_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .take(32)
        .collect()
}

/// A random opaque identifier for rows (not a secret).
pub fn new_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    let (a, b) = (a.as_ref(), b.as_ref());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_hash_to_their_stored_form() {
        let a = generate();
        let b = generate();
        assert_eq!(a.plain.len(), 32);
        assert_ne!(a.plain, b.plain);
        assert_eq!(hash(&a.plain), a.hash);
        assert_ne!(a.plain, a.hash);
        assert!(looks_valid(&a.plain));
    }

    #[test]
    fn junk_is_not_a_token() {
        assert!(!looks_valid(""));
        assert!(!looks_valid("../etc/passwd"));
        assert!(!looks_valid(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }

    #[test]
    fn pairing_codes_forgive_spaces_and_dashes() {
        let code = pairing_code();
        assert_eq!(code.plain.len(), 9);
        let typed = code.plain.replace(' ', "-");
        assert_eq!(hash(&normalize_pairing_code(&typed)), code.hash);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
