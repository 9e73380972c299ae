//! Who may use the relay: RFC 8656 §5 long-term credentials, checked against the
//! day's keys and the ledger of revoked credentials, with a stateless nonce; and the
//! 401 that tells a newcomer the realm and a nonce.

use std::net::IpAddr;

use turn_types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, Nonce, Realm, Username,
};
use turn_types::stun::message::{IntegrityAlgorithm, LongTermKeyCredentials, Message};

use super::answer::Answer;
use super::{Authed, FiveTuple, Now, Refusal, Relay};
use crate::turn::auth::{NonceCheck, UserCheck, password_for};
use crate::turn::credentials::MAX_CREDENTIAL_LIFETIME_S;

impl Relay {
    /// 401 with a fresh nonce: what a client without (valid) credentials is told.
    pub(super) fn challenge(
        &self,
        msg: &Message,
        client: IpAddr,
        code: u16,
        reason: &str,
        now: Now,
    ) -> Vec<u8> {
        let mut answer = Answer::error(msg, code, reason, None);
        if let Ok(realm) = Realm::new(&self.settings.realm) {
            answer.add(&realm);
        }
        if let Ok(nonce) = Nonce::new(&self.nonces.mint(client, now.unix)) {
            answer.add(&nonce);
        }
        answer.finish()
    }

    /// RFC 8656 §5 long-term credentials, with the user's password derived from the
    /// day's key and a stateless nonce.
    ///
    /// A refusal's answer is unsigned (the request proved nothing), so it is sent only
    /// within the source's allowance: `Err(None)` when the source has had its share.
    pub(super) fn authenticate(
        &self,
        five: FiveTuple,
        msg: &Message,
        now: Now,
    ) -> Result<Authed, Option<Vec<u8>>> {
        let client = five.client.ip();
        let challenge = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            self.unsigned(five, now, || self.challenge(msg, client, code, reason, now))
        };
        let unauthorized =
            |why: Refusal, reason: &str| challenge(why, ErrorCode::UNAUTHORIZED, reason);
        if !msg.has_attribute(MessageIntegrity::TYPE) {
            // Every client's first request; counted, so a flood shows on /metrics.
            return Err(unauthorized(Refusal::NoCredentials, "Unauthorized"));
        }
        let (Ok(username), Ok(realm), Ok(nonce)) = (
            msg.attribute::<Username>(),
            msg.attribute::<Realm>(),
            msg.attribute::<Nonce>(),
        ) else {
            self.refuse(Refusal::BadRequest);
            return Err(self.unsigned(five, now, || {
                Answer::error(msg, ErrorCode::BAD_REQUEST, "Bad Request", None).finish()
            }));
        };
        match self.nonces.check(nonce.nonce(), client, now.unix) {
            NonceCheck::Valid => {}
            NonceCheck::Stale => {
                return Err(challenge(
                    Refusal::StaleNonce,
                    ErrorCode::STALE_NONCE,
                    "Stale Nonce",
                ));
            }
            NonceCheck::Invalid => return Err(unauthorized(Refusal::BadNonce, "Unauthorized")),
        }
        if realm.realm() != self.settings.realm {
            return Err(unauthorized(Refusal::WrongRealm, "Unauthorized"));
        }
        let username = username.username().to_owned();
        let mut key = None;
        // Made with today's key or yesterday's (see `credentials.rs`).
        for secret in self.settings.keys.accepted() {
            let password = match password_for(&secret, &username, now.unix) {
                Ok(password) => password,
                Err(UserCheck::Expired) => {
                    return Err(unauthorized(Refusal::Expired, "Credentials expired"));
                }
                Err(UserCheck::Malformed) => {
                    return Err(unauthorized(Refusal::BadUsername, "Unauthorized"));
                }
            };
            let candidate = LongTermKeyCredentials::new(
                username.clone(),
                password,
                self.settings.realm.clone(),
            )
            .make_key(IntegrityAlgorithm::Sha1);
            if msg.validate_integrity_with_key(&candidate).is_ok() {
                key = Some(candidate);
                break;
            }
        }
        let Some(key) = key else {
            return Err(unauthorized(Refusal::WrongPassword, "Unauthorized"));
        };
        // Signed with a real key, yet not to be honoured: made for longer than any
        // credential is (a key read from a copy of the database), or taken back.
        if crate::turn::credentials::parse_username(&username)
            .is_some_and(|(expiry, _)| expiry > now.unix + MAX_CREDENTIAL_LIFETIME_S + 60)
        {
            return Err(unauthorized(Refusal::TooLong, "Credentials not accepted"));
        }
        if self.settings.ledger.is_revoked(&username) {
            return Err(unauthorized(Refusal::Revoked, "Credentials revoked"));
        }
        // The nonce was minted for this address, so the client receives there.
        self.unsigned.verified(client, now.at);
        Ok(Authed { username, key })
    }
}
