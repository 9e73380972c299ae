//! The embedded TURN relay's core (RFC 8656), with no I/O: what it answers, who may
//! relay to whom, and where each packet goes.
//!
//! Why Menkai's own relay core rather than a TURN server crate: the message codec
//! comes from `turn-types`/`stun-types` (the fuzzed codec under `turn-server-proto`),
//! but the policy a care home's relay needs is the part those servers leave out or
//! build in a way that cannot be bounded — credentials checked from a shared secret
//! with no user list, nonces that store nothing per source, a peer rule asked for every
//! address and packet, quotas per credential and in total, a bandwidth cap, and
//! per-packet work that does not scan lists (see `docs/ARCHITECTURE.md`).
//!
//! Shape, like the signaling hub and like str0m: [`Relay`] is a state machine. A
//! client's bytes go in through [`Relay::from_client`] with the time ([`Now`]); what
//! comes out is a [`Reply`]: an answer to write back, and at most one [`Effect`] for
//! the I/O layer (`io.rs`) to carry out — bind a relayed port (then [`Relay::bound`]),
//! send to a peer, deliver to a client, close a port. A peer's datagram goes in
//! through [`Relay::from_peer`]. Time moves allocations along in [`Relay::sweep`].
//! Nothing here opens a socket or reads a clock, so every rule is a unit test in
//! simulated time (`tests.rs`). A packet between two of this relay's own allocations
//! never leaves the process: that is how two relayed participants always reach each
//! other, even behind 1:1 NAT and even though the relay's own address is otherwise a
//! forbidden peer.

mod answer;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use turn_types::AddressFamily;
use turn_types::attribute::{
    ChannelNumber, Data as DataAttr, DontFragment, EvenPort, Lifetime, RequestedAddressFamily,
    RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};
use turn_types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, Nonce, Realm, Username, XorMappedAddress,
};
use turn_types::stun::message::{
    BINDING, IntegrityAlgorithm, IntegrityKey, LongTermKeyCredentials, Message, MessageClass,
    MessageWrite, MessageWriteVec, TransactionId,
};

use super::allocation::{AllocState, BindError, DEFAULT_LIFETIME};
use super::auth::{NonceCheck, Nonces, UserCheck, password_for};
use super::credentials::{DayKeys, Ledger, MAX_CREDENTIAL_LIFETIME_S};
use super::limit::SourceLimit;
use super::policy::{Denied, PeerPolicy, canonical};
use crate::metrics::RelayCounters;
use answer::{Answer, channel_frame, channel_payload, data_indication};

/// What the relay offers and allows.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// REALM: the facility's host name.
    pub realm: String,
    /// The keys of the credentials [`super::IceProvider`] hands out.
    pub keys: Arc<DayKeys>,
    /// Credentials taken back before their expiry.
    pub ledger: Arc<Ledger>,
    /// The address relayed candidates carry (`--turn-public-ip` behind 1:1 NAT).
    pub advertised_ip: IpAddr,
    /// Where allocation sockets are bound.
    pub bind_ip: IpAddr,
    /// Ports allocations may use.
    pub ports: RangeInclusive<u16>,
    pub policy: PeerPolicy,
    /// Allocations at once, in total (508 beyond) and per credential (486 beyond).
    pub max_allocations: usize,
    pub max_per_user: usize,
    /// Bytes a second one allocation may relay, both directions together.
    pub bandwidth: u64,
    /// The longest lifetime a client may ask for.
    pub max_lifetime: Duration,
}

/// How a client reached the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    fn is_stream(self) -> bool {
        self != Transport::Udp
    }
}

/// A client's connection to the relay: the allocation's key (RFC 8656 "5-tuple").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// When something happens to the relay: monotonic time for lifetimes and rates, Unix
/// seconds for credentials and nonces (which the server's clock, injected in tests,
/// decides).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub unix: u64,
}

/// What became of one message from a client.
#[derive(Debug, Default)]
pub struct Reply<'a> {
    /// To write back to the client.
    pub answer: Option<Vec<u8>>,
    /// What the I/O layer is to do.
    pub effect: Option<Effect<'a>>,
    /// Whether the message was one only a participant could send (a signed request,
    /// ChannelData on a bound channel, data for a permitted peer): only those keep a
    /// TCP or TLS connection open (`net::Deadline`).
    pub valid: bool,
}

impl Reply<'_> {
    fn answer(answer: Option<Vec<u8>>, valid: bool) -> Self {
        Self {
            answer,
            effect: None,
            valid,
        }
    }
}

/// What the relay asks of the I/O around it.
#[derive(Debug)]
pub enum Effect<'a> {
    /// A new allocation needs a UDP port: try [`Relay::candidate_ports`], then tell
    /// [`Relay::bound`] (or [`Relay::unbound`]), whose answer goes to the client.
    Bind(Box<Pending>),
    /// Send `payload` from the relayed port `port` to `peer`.
    ToPeer {
        port: u16,
        peer: SocketAddr,
        payload: Cow<'a, [u8]>,
    },
    /// Send a frame to a client (a packet between two of the relay's own allocations).
    ToClient(Delivery),
    /// The allocation on `port` ended: close its socket.
    Close { port: u16 },
}

/// A peer's data on its way to a client.
#[derive(Debug)]
pub struct Delivery {
    pub client: FiveTuple,
    /// ChannelData or a Data indication.
    pub frame: Vec<u8>,
    /// The data's own size (what `/metrics` counts).
    pub bytes: usize,
}

/// An Allocate that passed every check and waits for a port.
#[derive(Debug)]
pub struct Pending {
    five: FiveTuple,
    username: String,
    key: IntegrityKey,
    /// The request, to answer it once a port is bound.
    request: Vec<u8>,
    lifetime: Duration,
    /// EVEN-PORT asked for.
    pub even: bool,
}

/// What [`Relay::bound`] made of a bound port.
#[derive(Debug)]
pub struct Bound {
    /// For the client.
    pub answer: Vec<u8>,
    /// Whether the socket now belongs to an allocation (else it is closed again: the
    /// client had one meanwhile, or a quota filled).
    pub keep: bool,
}

/// One client's relayed address.
#[derive(Debug)]
struct Allocation {
    five: FiveTuple,
    username: String,
    /// The transaction that created it: a retransmitted Allocate gets the same answer.
    created_by: TransactionId,
    relayed: SocketAddr,
    state: Mutex<AllocState>,
}

impl Allocation {
    fn state(&self) -> std::sync::MutexGuard<'_, AllocState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Default)]
struct Table {
    by_client: HashMap<FiveTuple, Arc<Allocation>>,
    /// Relayed port → allocation (all share the advertised IP).
    by_port: HashMap<u16, Arc<Allocation>>,
    per_user: HashMap<String, usize>,
    next_port: u16,
}

/// A refusal, counted by reason on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    NoCredentials,
    BadNonce,
    StaleNonce,
    BadUsername,
    Expired,
    WrongPassword,
    WrongRealm,
    Mismatch,
    UserQuota,
    TotalQuota,
    NoPort,
    Transport,
    Family,
    Peer(Denied),
    BadRequest,
    Bandwidth,
    NoPermission,
    /// An unsigned UDP answer beyond the source's allowance ([`SourceLimit`]).
    Unanswered,
    /// A credential taken back (its visit ended, its device was removed…).
    Revoked,
    /// A username whose expiry is further ahead than any credential is made for.
    TooLong,
    /// Bytes that are neither a STUN message nor ChannelData.
    Malformed,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoCredentials => "no_credentials",
            Refusal::BadNonce => "bad_nonce",
            Refusal::StaleNonce => "stale_nonce",
            Refusal::BadUsername => "bad_username",
            Refusal::Expired => "expired",
            Refusal::WrongPassword => "wrong_password",
            Refusal::WrongRealm => "wrong_realm",
            Refusal::Mismatch => "allocation_mismatch",
            Refusal::UserQuota => "user_quota",
            Refusal::TotalQuota => "total_quota",
            Refusal::NoPort => "no_port",
            Refusal::Transport => "unsupported_transport",
            Refusal::Family => "address_family",
            Refusal::Peer(d) => d.as_str(),
            Refusal::BadRequest => "bad_request",
            Refusal::Bandwidth => "bandwidth",
            Refusal::NoPermission => "no_permission",
            Refusal::Unanswered => "unanswered",
            Refusal::Revoked => "revoked",
            Refusal::TooLong => "too_long",
            Refusal::Malformed => "malformed",
        }
    }
}

/// The relay.
pub struct Relay {
    settings: RelaySettings,
    /// `settings.advertised_ip` in canonical form, compared on every relayed packet.
    advertised: IpAddr,
    nonces: Nonces,
    /// Unsigned answers over UDP, per source: a forged source gets no flood back.
    unsigned: SourceLimit,
    table: RwLock<Table>,
    counters: RelayCounters,
    /// The ledger's generation when revoked allocations were last looked for.
    revocations_seen: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("advertised_ip", &self.settings.advertised_ip)
            .field("allocations", &self.allocations())
            .finish()
    }
}

/// Unsigned answers a second (and at once) one source address gets over UDP. A page
/// sends one unsigned Allocate per relay URL and network interface when a call starts,
/// so even a care home's whole ward behind one address stays far below it, while a
/// forged flood gets at most this many small answers a second sent to its victim.
const UNSIGNED_ANSWERS_PER_SOURCE: u64 = 64;
/// The same for an address that has signed a request with a nonce sent to it (so it
/// receives there): many participants behind one NAT starting calls at once.
const VERIFIED_ANSWERS_PER_SOURCE: u64 = 1024;
/// Source addresses with an allowance of their own (about 64 bytes each).
const SOURCES: usize = 4096;
/// Peers one CreatePermission may name.
const MAX_PEERS_PER_REQUEST: usize = 16;
/// Ports tried for one allocation before it is refused (508).
const PORT_TRIES: usize = 256;

/// An authenticated request's credential.
struct Authed {
    username: String,
    key: IntegrityKey,
}

impl Relay {
    /// A relay with a fresh nonce key (nonces from an earlier run are stale).
    pub fn new(settings: RelaySettings, counters: RelayCounters, now: Instant) -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut key);
        Self::with_nonce_key(settings, counters, now, key)
    }

    fn with_nonce_key(
        settings: RelaySettings,
        counters: RelayCounters,
        now: Instant,
        key: [u8; 32],
    ) -> Self {
        let next_port = *settings.ports.start();
        Self {
            advertised: canonical(settings.advertised_ip),
            settings,
            nonces: Nonces::new(key),
            unsigned: SourceLimit::new(
                UNSIGNED_ANSWERS_PER_SOURCE,
                VERIFIED_ANSWERS_PER_SOURCE,
                SOURCES,
                now,
            ),
            table: RwLock::new(Table {
                next_port,
                ..Table::default()
            }),
            counters,
            revocations_seen: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Allocations now.
    pub fn allocations(&self) -> usize {
        self.read().by_client.len()
    }

    /// Where allocation sockets are bound.
    pub fn bind_ip(&self) -> IpAddr {
        self.settings.bind_ip
    }

    pub fn counters(&self) -> &RelayCounters {
        &self.counters
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    fn refuse(&self, why: Refusal) {
        self.counters.refused(why.as_str());
    }

    /// One message from a client (a STUN message or ChannelData). Anything that is
    /// neither is dropped without a word (and counted: a flood of junk shows on
    /// /metrics, not in the log).
    pub fn from_client<'a>(&self, five: FiveTuple, data: &'a [u8], now: Now) -> Reply<'a> {
        let Some(&first) = data.first() else {
            return Reply::default();
        };
        if (0x40..0x80).contains(&first) {
            return self.channel_data(five, data, now);
        }
        let Ok(msg) = Message::from_bytes(data) else {
            self.refuse(Refusal::Malformed);
            return Reply::default();
        };
        match (msg.class(), msg.method()) {
            (MessageClass::Request, BINDING) => Reply::answer(
                self.unsigned(five, now, || {
                    let mut answer = Answer::success(&msg, None);
                    answer.add(&XorMappedAddress::new(five.client, msg.transaction_id()));
                    answer.finish()
                }),
                false,
            ),
            (MessageClass::Indication, SEND) => self.send_indication(five, &msg, now),
            (MessageClass::Request, method)
                if [ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) =>
            {
                let authed = match self.authenticate(five, &msg, now) {
                    Ok(authed) => authed,
                    Err(answer) => return Reply::answer(answer, false),
                };
                let mut reply = if method == ALLOCATE {
                    self.allocate(five, data, &msg, authed, now)
                } else {
                    self.on_allocation(five, &msg, &authed, method, now)
                };
                reply.valid = true;
                reply
            }
            (MessageClass::Request, _) => {
                self.refuse(Refusal::BadRequest);
                Reply::answer(
                    self.unsigned(five, now, || {
                        Answer::error(&msg, ErrorCode::BAD_REQUEST, "Unsupported method", None)
                            .finish()
                    }),
                    false,
                )
            }
            _ => Reply::default(),
        }
    }

    /// An answer anyone could have asked for, unless the source has had its share of
    /// them over UDP (where the source may be forged; see [`SourceLimit`]).
    fn unsigned(
        &self,
        five: FiveTuple,
        now: Now,
        answer: impl FnOnce() -> Vec<u8>,
    ) -> Option<Vec<u8>> {
        if five.transport == Transport::Udp && !self.unsigned.allow(five.client.ip(), now.at) {
            self.refuse(Refusal::Unanswered);
            return None;
        }
        Some(answer())
    }

    /// 401 with a fresh nonce: what a client without (valid) credentials is told.
    fn challenge(
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
    fn authenticate(
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
        if super::credentials::parse_username(&username)
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

    /// An Allocate: every check that needs no port, then [`Effect::Bind`] (or the
    /// answer a retransmission gets).
    fn allocate<'a>(
        &self,
        five: FiveTuple,
        data: &[u8],
        msg: &Message,
        authed: Authed,
        now: Now,
    ) -> Reply<'a> {
        let fail = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            Reply::answer(
                Some(Answer::error(msg, code, reason, Some(&authed.key)).finish()),
                true,
            )
        };
        match msg.attribute::<RequestedTransport>() {
            Ok(t) if t.protocol() == RequestedTransport::UDP => {}
            Ok(_) => {
                return fail(
                    Refusal::Transport,
                    ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL,
                    "Only UDP relaying",
                );
            }
            Err(_) => {
                return fail(
                    Refusal::BadRequest,
                    ErrorCode::BAD_REQUEST,
                    "REQUESTED-TRANSPORT missing",
                );
            }
        }
        // Comprehension-required attributes this relay does not implement
        // (RESERVATION-TOKEN, …) must be refused, not ignored (RFC 8489 §14).
        let known = [
            Username::TYPE,
            Realm::TYPE,
            Nonce::TYPE,
            MessageIntegrity::TYPE,
            Lifetime::TYPE,
            RequestedTransport::TYPE,
            RequestedAddressFamily::TYPE,
            DontFragment::TYPE,
            EvenPort::TYPE,
        ];
        if let Some(unknown) =
            Message::check_attribute_types(msg, &known, &[], MessageWriteVec::new())
        {
            self.refuse(Refusal::BadRequest);
            return Reply::answer(Some(unknown.finish()), true);
        }
        let family = if self.settings.advertised_ip.is_ipv4() {
            AddressFamily::IPV4
        } else {
            AddressFamily::IPV6
        };
        if msg
            .attribute::<RequestedAddressFamily>()
            .is_ok_and(|f| f.family() != family)
        {
            return fail(
                Refusal::Family,
                ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED,
                "Address Family not Supported",
            );
        }
        // An even port is easy to give; reserving the next one for later (the R bit,
        // for RTP/RTCP pairs no browser asks for) is not offered.
        let even = match msg.attribute::<EvenPort>() {
            Ok(even) if even.requested() => {
                return fail(
                    Refusal::NoPort,
                    ErrorCode::INSUFFICIENT_CAPACITY,
                    "No port reservations",
                );
            }
            Ok(_) => true,
            Err(_) => false,
        };
        if let Err((why, code, reason)) = self.may_allocate(&self.read(), five, &authed.username) {
            return self.existing_or(five, msg, &authed, now, || fail(why, code, reason));
        }
        Reply {
            answer: None,
            effect: Some(Effect::Bind(Box::new(Pending {
                five,
                username: authed.username,
                key: authed.key,
                request: data.to_vec(),
                lifetime: self.lifetime(msg),
                even,
            }))),
            valid: true,
        }
    }

    /// Whether `five` may get a new allocation for `username` now: none yet for this
    /// 5-tuple, and the quotas have room. The refusal otherwise.
    fn may_allocate(
        &self,
        table: &Table,
        five: FiveTuple,
        username: &str,
    ) -> Result<(), (Refusal, u16, &'static str)> {
        if table.by_client.contains_key(&five) {
            return Err((
                Refusal::Mismatch,
                ErrorCode::ALLOCATION_MISMATCH,
                "Allocation Mismatch",
            ));
        }
        if table.by_client.len() >= self.settings.max_allocations {
            return Err((
                Refusal::TotalQuota,
                ErrorCode::INSUFFICIENT_CAPACITY,
                "Insufficient Capacity",
            ));
        }
        if table.per_user.get(username).copied().unwrap_or(0) >= self.settings.max_per_user {
            return Err((
                Refusal::UserQuota,
                ErrorCode::ALLOCATION_QUOTA_REACHED,
                "Allocation Quota Reached",
            ));
        }
        Ok(())
    }

    /// A retransmitted Allocate (the answer was lost) gets the same answer again; any
    /// other request finds `otherwise`.
    fn existing_or<'a>(
        &self,
        five: FiveTuple,
        msg: &Message,
        authed: &Authed,
        now: Now,
        otherwise: impl FnOnce() -> Reply<'a>,
    ) -> Reply<'a> {
        let existing = self.read().by_client.get(&five).cloned();
        match existing {
            Some(existing)
                if existing.created_by == msg.transaction_id()
                    && existing.username == authed.username =>
            {
                Reply::answer(Some(self.allocated(msg, &existing, &authed.key, now)), true)
            }
            _ => otherwise(),
        }
    }

    /// Free ports for a new allocation, in the order to try them (even ones only, when
    /// asked). Binding them is the I/O layer's business; one taken by another program
    /// meanwhile is simply skipped there.
    pub fn candidate_ports(&self, even: bool) -> Vec<u16> {
        let mut table = self.write();
        let (first, last) = (*self.settings.ports.start(), *self.settings.ports.end());
        let span = usize::from(last - first) + 1;
        let mut ports = Vec::new();
        for _ in 0..span.min(PORT_TRIES) {
            let port = table.next_port;
            table.next_port = if port >= last { first } else { port + 1 };
            if table.by_port.contains_key(&port) || (even && port % 2 == 1) {
                continue;
            }
            ports.push(port);
        }
        ports
    }

    /// `pending` got `port`: the allocation exists from now on (unless the client got
    /// one meanwhile, or a quota filled: checked again, under the table's lock, since
    /// two readers share the UDP listener).
    pub fn bound(&self, pending: Pending, port: u16, now: Now) -> Bound {
        let Ok(msg) = Message::from_bytes(&pending.request) else {
            return Bound {
                answer: Vec::new(),
                keep: false,
            };
        };
        let authed = Authed {
            username: pending.username,
            key: pending.key,
        };
        let mut table = self.write();
        if let Err((why, code, reason)) = self.may_allocate(&table, pending.five, &authed.username)
        {
            drop(table);
            let reply = self.existing_or(pending.five, &msg, &authed, now, || {
                self.refuse(why);
                Reply::answer(
                    Some(Answer::error(&msg, code, reason, Some(&authed.key)).finish()),
                    true,
                )
            });
            return Bound {
                answer: reply.answer.unwrap_or_default(),
                keep: false,
            };
        }
        let allocation = Arc::new(Allocation {
            five: pending.five,
            username: authed.username.clone(),
            created_by: msg.transaction_id(),
            relayed: SocketAddr::new(self.settings.advertised_ip, port),
            state: Mutex::new(AllocState::new(
                pending.lifetime,
                self.settings.bandwidth,
                now.at,
            )),
        });
        table.by_client.insert(pending.five, allocation.clone());
        table.by_port.insert(port, allocation.clone());
        *table.per_user.entry(authed.username.clone()).or_default() += 1;
        drop(table);
        self.counters.allocated(pending.five.transport.as_str());
        tracing::debug!(transport = pending.five.transport.as_str(), relayed = %allocation.relayed, "relay allocation");
        Bound {
            answer: self.allocated(&msg, &allocation, &authed.key, now),
            keep: true,
        }
    }

    /// No port could be bound for `pending`: 508.
    pub fn unbound(&self, pending: Pending) -> Vec<u8> {
        self.refuse(Refusal::NoPort);
        match Message::from_bytes(&pending.request) {
            Ok(msg) => Answer::error(
                &msg,
                ErrorCode::INSUFFICIENT_CAPACITY,
                "Insufficient Capacity",
                Some(&pending.key),
            )
            .finish(),
            Err(_) => Vec::new(),
        }
    }

    /// The Allocate success for `allocation`.
    fn allocated(
        &self,
        msg: &Message,
        allocation: &Allocation,
        key: &IntegrityKey,
        now: Now,
    ) -> Vec<u8> {
        let remaining = allocation.state().remaining(now.at).as_secs();
        let mut answer = Answer::success(msg, Some(key));
        answer.add(&XorRelayedAddress::new(
            allocation.relayed,
            msg.transaction_id(),
        ));
        answer.add(&Lifetime::new(u32::try_from(remaining).unwrap_or(u32::MAX)));
        answer.add(&XorMappedAddress::new(
            allocation.five.client,
            msg.transaction_id(),
        ));
        answer.finish()
    }

    /// The lifetime a request asks for, within the relay's bounds: below the default
    /// the default, above the maximum the maximum (RFC 8656 §7.2).
    fn lifetime(&self, msg: &Message) -> Duration {
        let asked = msg
            .attribute::<Lifetime>()
            .map(|l| Duration::from_secs(u64::from(l.seconds())))
            .unwrap_or(DEFAULT_LIFETIME);
        asked.max(DEFAULT_LIFETIME).min(self.settings.max_lifetime)
    }

    /// Refresh, CreatePermission and ChannelBind: requests about an allocation.
    fn on_allocation<'a>(
        &self,
        five: FiveTuple,
        msg: &Message,
        authed: &Authed,
        method: turn_types::stun::message::Method,
        now: Now,
    ) -> Reply<'a> {
        let key = Some(&authed.key);
        let fail = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            Reply::answer(Some(Answer::error(msg, code, reason, key).finish()), true)
        };
        let Some(allocation) = self.read().by_client.get(&five).cloned() else {
            return fail(
                Refusal::Mismatch,
                ErrorCode::ALLOCATION_MISMATCH,
                "Allocation Mismatch",
            );
        };
        if allocation.username != authed.username {
            return fail(
                Refusal::Mismatch,
                ErrorCode::WRONG_CREDENTIALS,
                "Wrong Credentials",
            );
        }
        if method == REFRESH {
            let asked_zero = msg.attribute::<Lifetime>().is_ok_and(|l| l.seconds() == 0);
            let (lifetime, effect) = if asked_zero {
                let port = self.remove(&allocation);
                (Duration::ZERO, port.map(|port| Effect::Close { port }))
            } else {
                let lifetime = self.lifetime(msg);
                allocation.state().refresh(lifetime, now.at);
                (lifetime, None)
            };
            let mut answer = Answer::success(msg, key);
            answer.add(&Lifetime::new(
                u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX),
            ));
            return Reply {
                answer: Some(answer.finish()),
                effect,
                valid: true,
            };
        }
        let peers: Vec<SocketAddr> = (0..)
            .map_while(|n| msg.nth_attribute::<XorPeerAddress>(n).ok())
            .map(|p| p.addr(msg.transaction_id()))
            .take(MAX_PEERS_PER_REQUEST + 1)
            .collect();
        if peers.is_empty() || peers.len() > MAX_PEERS_PER_REQUEST {
            return fail(
                Refusal::BadRequest,
                ErrorCode::BAD_REQUEST,
                "XOR-PEER-ADDRESS missing",
            );
        }
        for peer in &peers {
            if peer.is_ipv4() != allocation.relayed.is_ipv4() {
                return fail(
                    Refusal::Family,
                    ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH,
                    "Peer Address Family Mismatch",
                );
            }
            if let Err(denied) = self.peer_allowed(*peer) {
                tracing::info!(reason = denied.as_str(), "relay refused a peer address");
                return fail(Refusal::Peer(denied), ErrorCode::FORBIDDEN, "Forbidden");
            }
        }
        let result = if method == CREATE_PERMISSION {
            let mut state = allocation.state();
            peers
                .iter()
                .try_for_each(|peer| state.permit(peer.ip(), now.at))
        } else {
            let Ok(channel) = msg.attribute::<ChannelNumber>() else {
                return fail(
                    Refusal::BadRequest,
                    ErrorCode::BAD_REQUEST,
                    "CHANNEL-NUMBER missing",
                );
            };
            allocation.state().bind(channel.channel(), peers[0], now.at)
        };
        match result {
            Ok(()) => Reply::answer(Some(Answer::success(msg, key).finish()), true),
            Err(BindError::TooMany) => fail(
                Refusal::NoPermission,
                ErrorCode::INSUFFICIENT_CAPACITY,
                "Insufficient Capacity",
            ),
            Err(BindError::BadNumber | BindError::Conflict) => {
                fail(Refusal::BadRequest, ErrorCode::BAD_REQUEST, "Bad Request")
            }
        }
    }

    /// The peer rule: one of this relay's own allocations, or an address the policy
    /// lets through.
    fn peer_allowed(&self, peer: SocketAddr) -> Result<(), Denied> {
        if self.is_relay_ip(peer.ip()) && self.read().by_port.contains_key(&peer.port()) {
            return Ok(());
        }
        match self.settings.policy.check(peer.ip()) {
            None => Ok(()),
            Some(denied) => Err(denied),
        }
    }

    /// Whether `ip` is the address relayed candidates carry (in any of its forms).
    fn is_relay_ip(&self, ip: IpAddr) -> bool {
        canonical(ip) == self.advertised
    }

    /// A Send indication: data for a permitted peer (RFC 8656 §11).
    fn send_indication<'a>(&self, five: FiveTuple, msg: &Message, now: Now) -> Reply<'a> {
        let (Ok(peer), Ok(data)) = (
            msg.attribute::<XorPeerAddress>(),
            msg.attribute::<DataAttr>(),
        ) else {
            return Reply::default();
        };
        let Some(allocation) = self.read().by_client.get(&five).cloned() else {
            return Reply::default();
        };
        // Browsers send a few of these before their channel is bound: a copy is cheap.
        let payload = Cow::Owned(data.data().to_vec());
        self.to_peer(&allocation, peer.addr(msg.transaction_id()), payload, now)
    }

    /// ChannelData from a client: data for the channel's peer.
    fn channel_data<'a>(&self, five: FiveTuple, data: &'a [u8], now: Now) -> Reply<'a> {
        let (Ok(frame), Some(payload)) = (ChannelData::parse(data), channel_payload(data)) else {
            self.refuse(Refusal::Malformed);
            return Reply::default();
        };
        let Some(allocation) = self.read().by_client.get(&five).cloned() else {
            return Reply::default();
        };
        let Some(peer) = allocation.state().peer_of(frame.id(), now.at) else {
            self.refuse(Refusal::NoPermission);
            return Reply::default();
        };
        self.to_peer(&allocation, peer, Cow::Borrowed(payload), now)
    }

    /// Whether `allocation` may carry `bytes` to or from `peer` now: the peer is
    /// permitted and the bandwidth allows it. The state stays locked for the caller.
    fn admit<'s>(
        &self,
        allocation: &'s Allocation,
        peer: SocketAddr,
        bytes: usize,
        now: Instant,
    ) -> Result<std::sync::MutexGuard<'s, AllocState>, Refusal> {
        let mut state = allocation.state();
        let refusal = if !state.permits(peer.ip(), now) {
            Refusal::NoPermission
        } else if !state.bandwidth.take(bytes, now) {
            Refusal::Bandwidth
        } else {
            return Ok(state);
        };
        drop(state);
        self.refuse(refusal);
        Err(refusal)
    }

    /// `payload` for `peer` through `allocation`, if it may: valid when the peer is
    /// permitted (a packet dropped for bandwidth still came from a participant).
    fn to_peer<'a>(
        &self,
        allocation: &Allocation,
        peer: SocketAddr,
        payload: Cow<'a, [u8]>,
        now: Now,
    ) -> Reply<'a> {
        if let Err(why) = self.admit(allocation, peer, payload.len(), now.at) {
            return Reply::answer(None, why == Refusal::Bandwidth);
        }
        // A permission names an IP. Every permitted IP passed the peer rule except the
        // relay's own, which was permitted for one of its allocations: there only the
        // relayed ports may be reached, and the packet never leaves the process.
        let effect = if self.is_relay_ip(peer.ip()) {
            let target = self.read().by_port.get(&peer.port()).cloned();
            match target {
                Some(target) => {
                    self.counters.relayed(
                        allocation.five.transport.as_str(),
                        "to_peer",
                        payload.len(),
                    );
                    self.frame_for(&target, allocation.relayed, &payload, now)
                        .map(Effect::ToClient)
                }
                None => {
                    self.refuse(Refusal::NoPermission);
                    None
                }
            }
        } else {
            Some(Effect::ToPeer {
                port: allocation.relayed.port(),
                peer,
                payload,
            })
        };
        Reply {
            answer: None,
            effect,
            valid: true,
        }
    }

    /// A datagram from `from` to the relayed port `port`: what to deliver to which
    /// client, if the peer is permitted.
    pub fn from_peer(
        &self,
        port: u16,
        from: SocketAddr,
        data: &[u8],
        now: Now,
    ) -> Option<Delivery> {
        let allocation = self.read().by_port.get(&port).cloned()?;
        self.frame_for(&allocation, from, data, now)
    }

    /// A peer's packet for `allocation`'s client: as ChannelData when a channel names
    /// the peer, else as a Data indication; only from permitted peers.
    fn frame_for(
        &self,
        allocation: &Allocation,
        from: SocketAddr,
        data: &[u8],
        now: Now,
    ) -> Option<Delivery> {
        let state = self.admit(allocation, from, data.len(), now.at).ok()?;
        let channel = state.channel_of(from, now.at);
        drop(state);
        let frame = match channel {
            Some(number) => channel_frame(number, data, allocation.five.transport.is_stream()),
            None => data_indication(from, data)?,
        };
        Some(Delivery {
            client: allocation.five,
            frame,
            bytes: data.len(),
        })
    }

    /// Takes `allocation` out of the table; its port, if it was still there.
    fn remove(&self, allocation: &Allocation) -> Option<u16> {
        let mut table = self.write();
        table.by_client.remove(&allocation.five)?;
        let port = allocation.relayed.port();
        table.by_port.remove(&port);
        if let Some(n) = table.per_user.get_mut(&allocation.username) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_user.remove(&allocation.username);
            }
        }
        Some(port)
    }

    /// The client's TCP or TLS connection closed: its allocation ends. The port to
    /// close, if it had one.
    pub fn client_gone(&self, five: FiveTuple) -> Option<u16> {
        let allocation = self.read().by_client.get(&five).cloned()?;
        self.remove(&allocation)
    }

    /// Ends expired allocations and those of revoked credentials, and forgets expired
    /// permissions and channels. The ports to close.
    pub fn sweep(&self, now: Now) -> Vec<u16> {
        use std::sync::atomic::Ordering;
        let generation = self.settings.ledger.generation();
        let revocations = self.revocations_seen.swap(generation, Ordering::Relaxed) != generation;
        let ended: Vec<Arc<Allocation>> = self
            .read()
            .by_client
            .values()
            .filter(|a| {
                if revocations && self.settings.ledger.is_revoked(&a.username) {
                    return true;
                }
                let mut state = a.state();
                state.prune(now.at);
                state.is_expired(now.at)
            })
            .cloned()
            .collect();
        ended.iter().filter_map(|a| self.remove(a)).collect()
    }

    /// Ends every allocation (the server is stopping). The ports to close.
    pub fn close_all(&self) -> Vec<u16> {
        let all: Vec<Arc<Allocation>> = self.read().by_client.values().cloned().collect();
        all.iter().filter_map(|a| self.remove(a)).collect()
    }
}
