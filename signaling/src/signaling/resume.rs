//! Resume tokens: a client that lost its socket comes back as the same peer.
//!
//! A token is `peer_id.mac`, where `mac` is an HMAC-SHA256 over the peer id and the hash
//! of the credential the peer signed in with, under a key kept in the database. So a
//! resume token works only together with its own invitation or device token, cannot be
//! forged, and stays valid across a restart of the server.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::tokens;

#[derive(Clone)]
pub struct ResumeKey([u8; 32]);

impl std::fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeKey(…)")
    }
}

impl ResumeKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac(&self, peer_id: &str, credential: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).ok()?;
        mac.update(peer_id.as_bytes());
        mac.update(b"\0");
        mac.update(tokens::hash(credential).as_bytes());
        Some(mac)
    }

    /// The resume token for `peer_id`, valid with `credential` only.
    pub fn issue(&self, peer_id: &str, credential: &str) -> String {
        let tag = self
            .mac(peer_id, credential)
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        format!("{peer_id}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The peer id inside a genuine resume token for this credential.
    pub fn verify(&self, resume: &str, credential: &str) -> Option<String> {
        if resume.len() > 200 {
            return None;
        }
        let (peer_id, tag) = resume.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(peer_id, credential)?.verify_slice(&tag).ok()?;
        Some(peer_id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_token_names_its_peer_only_with_its_own_credential() {
        let key = ResumeKey::new([7; 32]);
        let token = key.issue("peer-1", "invitation-a");
        assert_eq!(
            key.verify(&token, "invitation-a").as_deref(),
            Some("peer-1")
        );
        assert_eq!(key.verify(&token, "invitation-b"), None);
        assert_eq!(ResumeKey::new([8; 32]).verify(&token, "invitation-a"), None);
        let forged = token.replacen("peer-1", "peer-2", 1);
        assert_eq!(key.verify(&forged, "invitation-a"), None);
        assert_eq!(key.verify("garbage", "invitation-a"), None);
    }
}
