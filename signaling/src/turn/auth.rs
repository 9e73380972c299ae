//! Who may use the relay: TURN REST API credentials checked with no lookup, and
//! nonces that cost the server nothing to hand out.
//!
//! - A username is `expiry:participant`; its password is base64(HMAC-SHA1(secret,
//!   username)). The relay recomputes the password from the secret, so no list of users
//!   exists to grow, leak or go stale, and an expired username is simply refused.
//! - A nonce is `expiry.mac`, where the MAC binds the expiry to the client's IP with a
//!   key of this process. Handing one out stores nothing, so a flood of unauthenticated
//!   requests from spoofed sources cannot grow the server's memory (the usual design
//!   keeps a nonce per source address, forever).

use base64::Engine;
use hmac::{KeyInit, Mac};
use std::net::IpAddr;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How long a nonce is good for; afterwards the client is told 438 (stale nonce) and
/// retries with a fresh one.
pub const NONCE_LIFETIME_S: u64 = 600;

/// Mints and checks stateless nonces.
#[derive(Clone)]
pub struct Nonces {
    key: [u8; 32],
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces(…)")
    }
}

/// What a presented nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    Valid,
    /// Ours, but too old: 438, try again with the fresh one.
    Stale,
    /// Not ours (or for another client address): 401.
    Invalid,
}

impl Nonces {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, expiry: u64, client: IpAddr) -> String {
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length.
            Err(_) => return String::new(),
        };
        mac.update(&expiry.to_be_bytes());
        match client {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        let bytes = mac.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..12])
    }

    /// A nonce for `client`, good until `now_s + NONCE_LIFETIME_S`.
    pub fn mint(&self, client: IpAddr, now_s: u64) -> String {
        let expiry = now_s + NONCE_LIFETIME_S;
        format!("{expiry:x}.{}", self.mac(expiry, client))
    }

    pub fn check(&self, nonce: &str, client: IpAddr, now_s: u64) -> NonceCheck {
        let Some((expiry, mac)) = nonce.split_once('.') else {
            return NonceCheck::Invalid;
        };
        let Ok(expiry) = u64::from_str_radix(expiry, 16) else {
            return NonceCheck::Invalid;
        };
        let expected = self.mac(expiry, client);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return NonceCheck::Invalid;
        }
        if expiry < now_s {
            NonceCheck::Stale
        } else {
            NonceCheck::Valid
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a username was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCheck {
    /// Not of the form `expiry:participant`.
    Malformed,
    Expired,
}

/// The password for `username` if it is a well-formed TURN REST API username that
/// has not expired at `now_s`.
pub fn password_for(secret: &str, username: &str, now_s: u64) -> Result<String, UserCheck> {
    let (expiry, participant) = username.split_once(':').ok_or(UserCheck::Malformed)?;
    let expiry: u64 = expiry.parse().map_err(|_| UserCheck::Malformed)?;
    if participant.is_empty() {
        return Err(UserCheck::Malformed);
    }
    if expiry < now_s {
        return Err(UserCheck::Expired);
    }
    Ok(rest_password(secret, username))
}

/// base64(HMAC-SHA1(secret, username)): the TURN REST API password.
pub fn rest_password(secret: &str, username: &str) -> String {
    match hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(username.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this is not reached.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_bound_to_the_client_and_expire() {
        let nonces = Nonces::new([7; 32]);
        let alice: IpAddr = "198.51.100.1".parse().expect("ip");
        let bob: IpAddr = "198.51.100.2".parse().expect("ip");
        let nonce = nonces.mint(alice, 1_000);
        assert_eq!(nonces.check(&nonce, alice, 1_000), NonceCheck::Valid);
        assert_eq!(nonces.check(&nonce, bob, 1_000), NonceCheck::Invalid);
        assert_eq!(
            nonces.check(&nonce, alice, 1_000 + NONCE_LIFETIME_S + 1),
            NonceCheck::Stale
        );
        assert_eq!(nonces.check("ffffffff.xx", alice, 0), NonceCheck::Invalid);
        assert_eq!(nonces.check("junk", alice, 0), NonceCheck::Invalid);
        let forged = nonce.replacen(nonce.split('.').next().expect("expiry"), "ffffffffff", 1);
        assert_eq!(
            nonces.check(&forged, alice, 1_000),
            NonceCheck::Invalid,
            "a later expiry breaks the MAC"
        );
        assert_eq!(
            Nonces::new([8; 32]).check(&nonce, alice, 1_000),
            NonceCheck::Invalid,
            "another process's key"
        );
    }

    #[test]
    fn usernames_carry_their_expiry() {
        // The same vector as turn::tests (checked against openssl).
        assert_eq!(
            password_for("north", "1433895918:alice", 1_433_895_000).as_deref(),
            Ok("RqMvcGPYTJMGThVLSi4amT4zFtI=")
        );
        assert_eq!(
            password_for("north", "1433895918:alice", 1_433_895_919),
            Err(UserCheck::Expired)
        );
        for bad in ["alice", "x:alice", "1433895918:", ""] {
            assert_eq!(
                password_for("north", bad, 0),
                Err(UserCheck::Malformed),
                "{bad}"
            );
        }
    }
}
