//! The one place a visit link is kept after it is made: sealed for the messages that
//! still need it (reminders go out days after booking, and the database keeps only
//! tokens' hashes). The key lives in its own file in the data directory, never in the
//! database, so a copy of the database alone (a backup, a stolen disk image of it)
//! opens no link. Sealed links are deleted once no message can need them.

use std::path::Path;

use anyhow::Context as _;
use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "message-links.key";
const NONCE_LEN: usize = 12;

pub struct LinkSeal {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for LinkSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSeal")
    }
}

impl LinkSeal {
    /// The data directory's key, made on first use (0600).
    pub fn open(data_dir: &Path) -> anyhow::Result<LinkSeal> {
        let path = data_dir.join(KEY_FILE);
        let random = SystemRandom::new();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut fresh = [0u8; 32];
                random
                    .fill(&mut fresh)
                    .map_err(|_| anyhow::anyhow!("no randomness for {KEY_FILE}"))?;
                crate::files::write_private(&path, &fresh)
                    .with_context(|| format!("writing {}", path.display()))?;
                fresh.to_vec()
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        crate::files::private_file(&path).with_context(|| format!("{}", path.display()))?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| anyhow::anyhow!("{} is not a key (32 bytes)", path.display()))?;
        Ok(LinkSeal {
            key: LessSafeKey::new(key),
            random,
        })
    }

    /// `token` sealed for `guest_id` (it opens only for the same guest).
    pub fn seal(&self, guest_id: &str, token: &str) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness"))?;
        let mut data = token.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(guest_id.as_bytes()),
                &mut data,
            )
            .map_err(|_| anyhow::anyhow!("sealing a link"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// The token, or `None` when `sealed` was not made by this key for this guest (a
    /// database restored without its key file).
    pub fn open_for(&self, guest_id: &str, sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return None;
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(guest_id.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_link_opens_only_for_its_guest_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let seal = LinkSeal::open(dir.path()).unwrap();
        let sealed = seal.seal("guest-1", "token-abc").unwrap();
        assert!(
            !sealed.windows(9).any(|w| w == b"token-abc"),
            "not in clear"
        );
        assert_eq!(
            seal.open_for("guest-1", &sealed).as_deref(),
            Some("token-abc")
        );
        assert_eq!(seal.open_for("guest-2", &sealed), None);
        // The same directory gives the same key; another directory does not.
        let again = LinkSeal::open(dir.path()).unwrap();
        assert_eq!(
            again.open_for("guest-1", &sealed).as_deref(),
            Some("token-abc")
        );
        let other = tempfile::tempdir().unwrap();
        assert_eq!(
            LinkSeal::open(other.path())
                .unwrap()
                .open_for("guest-1", &sealed),
            None
        );
        assert_eq!(seal.open_for("guest-1", b"short"), None);
    }
}
