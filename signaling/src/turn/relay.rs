//! The embedded TURN relay (RFC 8656): what it answers, and how packets cross it.
//!
//! Why Menkai's own relay core rather than a TURN server crate: the message codec
//! comes from `turn-types`/`stun-types` (the fuzzed codec under `turn-server-proto`),
//! but the policy a care home's relay needs is the part those servers leave out or
//! build in a way that cannot be bounded — credentials checked from a shared secret
//! with no user list, nonces that store nothing per source, a peer rule asked for every
//! address and packet, quotas per credential and in total, a bandwidth cap, and
//! per-packet work that does not scan lists (see `docs/ARCHITECTURE.md`).
//!
//! Shape: [`Relay`] holds the allocations. A client's message arrives through
//! [`Relay::from_client`] (from the UDP listener or a TCP/TLS stream in `listen.rs`)
//! and any answer is returned for the caller to write back. Each allocation owns a UDP
//! socket whose reader hands peers' packets to [`Relay::deliver`]. A packet between two
//! of this relay's own allocations never leaves the process: that is how two relayed
//! participants always reach each other, even behind 1:1 NAT and even though the
//! relay's own address is otherwise a forbidden peer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use turn_types::AddressFamily;
use turn_types::attribute::{
    ChannelNumber, Data as DataAttr, DontFragment, EvenPort, Lifetime, RequestedAddressFamily,
    RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};
use turn_types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, Nonce, Realm, Software, Username,
    XorMappedAddress,
};
use turn_types::stun::message::{
    BINDING, IntegrityAlgorithm, IntegrityKey, LongTermKeyCredentials, Message, MessageClass,
    MessageWrite, MessageWriteExt, MessageWriteVec, TransactionId,
};

use super::allocation::{AllocState, BindError, DEFAULT_LIFETIME};
use super::auth::{NonceCheck, Nonces, UserCheck, password_for};
use super::credentials::{DayKeys, Ledger, MAX_CREDENTIAL_LIFETIME_S};
use super::limit::SourceLimit;
use super::policy::{Denied, PeerPolicy, canonical};
use crate::clock::Clock;
use crate::metrics::RelayCounters;

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

/// How to reach a client.
#[derive(Debug, Clone)]
pub enum ClientLink {
    /// The UDP listener the client writes to.
    Udp(Arc<UdpSocket>),
    /// The writer of the client's TCP or TLS stream (bounded: when it is full, media
    /// packets are dropped, as on any congested path).
    Stream(mpsc::Sender<Bytes>),
}

impl ClientLink {
    fn send(&self, to: SocketAddr, frame: &[u8]) -> bool {
        match self {
            ClientLink::Udp(socket) => socket.try_send_to(frame, to).is_ok(),
            ClientLink::Stream(tx) => tx.try_send(Bytes::copy_from_slice(frame)).is_ok(),
        }
    }
}

/// One client's relayed address.
#[derive(Debug)]
pub struct Allocation {
    five: FiveTuple,
    username: String,
    /// The transaction that created it: a retransmitted Allocate gets the same answer.
    created_by: TransactionId,
    relayed: SocketAddr,
    socket: Arc<UdpSocket>,
    client: ClientLink,
    state: Mutex<AllocState>,
    reader: Mutex<Option<AbortHandle>>,
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
    clock: Arc<dyn Clock>,
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

/// The name the relay gives in SOFTWARE.
const SOFTWARE: &str = "Menkai relay";

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

/// An answer under construction: success or error, signed when the request was.
struct Answer<'a> {
    out: MessageWriteVec,
    key: Option<&'a IntegrityKey>,
}

impl<'a> Answer<'a> {
    fn success(request: &Message, key: Option<&'a IntegrityKey>) -> Self {
        Self {
            out: Message::builder_success(request, MessageWriteVec::new()),
            key,
        }
    }

    fn error(request: &Message, code: u16, reason: &str, key: Option<&'a IntegrityKey>) -> Self {
        let mut answer = Self {
            out: Message::builder_error(request, MessageWriteVec::new()),
            key,
        };
        if let Ok(error) = ErrorCode::new(code, reason) {
            answer.add(&error);
        }
        answer
    }

    fn add(&mut self, attribute: &dyn turn_types::stun::attribute::AttributeWrite) {
        // Only an attribute too long for a message fails, and none of ours is.
        let _ = self.out.add_attribute(attribute);
    }

    fn finish(mut self) -> Vec<u8> {
        if let Ok(software) = Software::new(SOFTWARE) {
            let _ = self.out.add_attribute(&software);
        }
        if let Some(key) = self.key {
            let _ = self
                .out
                .add_message_integrity_with_key(key, IntegrityAlgorithm::Sha1);
        }
        let _ = self.out.add_fingerprint();
        self.out.finish()
    }
}

/// What became of one message from a client.
#[derive(Debug, Default)]
pub struct Reply {
    /// To write back to the client.
    pub answer: Option<Vec<u8>>,
    /// Whether the message was one only a participant could send (a signed request,
    /// ChannelData on a bound channel, data for a permitted peer): only those keep a
    /// TCP or TLS connection open (`net::Deadline`).
    pub valid: bool,
}

impl Reply {
    fn unsigned(answer: Option<Vec<u8>>) -> Self {
        Self {
            answer,
            valid: false,
        }
    }
}

/// An authenticated request's credential.
struct Authed {
    username: String,
    key: IntegrityKey,
}

impl Relay {
    pub fn new(settings: RelaySettings, clock: Arc<dyn Clock>, counters: RelayCounters) -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut key);
        let next_port = *settings.ports.start();
        Self {
            advertised: canonical(settings.advertised_ip),
            settings,
            nonces: Nonces::new(key),
            unsigned: SourceLimit::new(
                UNSIGNED_ANSWERS_PER_SOURCE,
                VERIFIED_ANSWERS_PER_SOURCE,
                SOURCES,
                Instant::now(),
            ),
            clock,
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    fn unix_now(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or(0)
    }

    fn refuse(&self, why: Refusal) {
        self.counters.refused(why.as_str());
    }

    /// One message from a client (a STUN message or ChannelData): the answer to write
    /// back, if any, and whether it was valid. Anything that is neither is dropped
    /// without a word (and counted: a flood of junk shows on /metrics, not in the log).
    pub fn from_client(self: &Arc<Self>, five: FiveTuple, link: &ClientLink, data: &[u8]) -> Reply {
        let Some(&first) = data.first() else {
            return Reply::default();
        };
        if (0x40..0x80).contains(&first) {
            return Reply {
                answer: None,
                valid: self.channel_data(five, data),
            };
        }
        let Ok(msg) = Message::from_bytes(data) else {
            self.refuse(Refusal::Malformed);
            return Reply::default();
        };
        match (msg.class(), msg.method()) {
            (MessageClass::Request, BINDING) => Reply::unsigned(self.unsigned(five, || {
                let mut answer = Answer::success(&msg, None);
                answer.add(&XorMappedAddress::new(five.client, msg.transaction_id()));
                answer.finish()
            })),
            (MessageClass::Indication, SEND) => Reply {
                answer: None,
                valid: self.send_indication(five, &msg),
            },
            (MessageClass::Request, method)
                if [ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) =>
            {
                let authed = match self.authenticate(five, &msg) {
                    Ok(authed) => authed,
                    Err(answer) => return Reply::unsigned(answer),
                };
                let answer = if method == ALLOCATE {
                    self.allocate(five, link, &msg, &authed)
                } else {
                    self.on_allocation(five, &msg, &authed, method)
                };
                Reply {
                    answer: Some(answer),
                    valid: true,
                }
            }
            (MessageClass::Request, _) => {
                self.refuse(Refusal::BadRequest);
                Reply::unsigned(self.unsigned(five, || {
                    Answer::error(&msg, ErrorCode::BAD_REQUEST, "Unsupported method", None).finish()
                }))
            }
            _ => Reply::default(),
        }
    }

    /// An answer anyone could have asked for, unless the source has had its share of
    /// them over UDP (where the source may be forged; see [`SourceLimit`]).
    fn unsigned(&self, five: FiveTuple, answer: impl FnOnce() -> Vec<u8>) -> Option<Vec<u8>> {
        if five.transport == Transport::Udp
            && !self.unsigned.allow(five.client.ip(), Instant::now())
        {
            self.refuse(Refusal::Unanswered);
            return None;
        }
        Some(answer())
    }

    /// 401 with a fresh nonce: what a client without (valid) credentials is told.
    fn challenge(&self, msg: &Message, client: IpAddr, code: u16, reason: &str) -> Vec<u8> {
        let mut answer = Answer::error(msg, code, reason, None);
        if let Ok(realm) = Realm::new(&self.settings.realm) {
            answer.add(&realm);
        }
        if let Ok(nonce) = Nonce::new(&self.nonces.mint(client, self.unix_now())) {
            answer.add(&nonce);
        }
        answer.finish()
    }

    /// RFC 8656 §5 long-term credentials, with the user's password derived from the
    /// shared secret and a stateless nonce.
    ///
    /// A refusal's answer is unsigned (the request proved nothing), so it is sent only
    /// within the source's allowance: `Err(None)` when the source has had its share.
    fn authenticate(&self, five: FiveTuple, msg: &Message) -> Result<Authed, Option<Vec<u8>>> {
        let client = five.client.ip();
        let challenge = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            self.unsigned(five, || self.challenge(msg, client, code, reason))
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
            return Err(self.unsigned(five, || {
                Answer::error(msg, ErrorCode::BAD_REQUEST, "Bad Request", None).finish()
            }));
        };
        match self.nonces.check(nonce.nonce(), client, self.unix_now()) {
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
        let now = self.unix_now();
        let mut key = None;
        // Made with today's key or yesterday's (see `credentials.rs`).
        for secret in self.settings.keys.accepted() {
            let password = match password_for(&secret, &username, now) {
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
            .is_some_and(|(expiry, _)| expiry > now + MAX_CREDENTIAL_LIFETIME_S + 60)
        {
            return Err(unauthorized(Refusal::TooLong, "Credentials not accepted"));
        }
        if self.settings.ledger.is_revoked(&username) {
            return Err(unauthorized(Refusal::Revoked, "Credentials revoked"));
        }
        // The nonce was minted for this address, so the client receives there.
        self.unsigned.verified(client, Instant::now());
        Ok(Authed { username, key })
    }

    fn allocate(
        self: &Arc<Self>,
        five: FiveTuple,
        link: &ClientLink,
        msg: &Message,
        authed: &Authed,
    ) -> Vec<u8> {
        let key = Some(&authed.key);
        let fail = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            Answer::error(msg, code, reason, key).finish()
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
            return unknown.finish();
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
        let lifetime = self.lifetime(msg);
        let allocation = {
            let mut table = self.write();
            // One allocation per 5-tuple; a retransmitted Allocate (the answer was
            // lost) gets the same answer again. Checked under the write lock: two
            // readers share the UDP socket.
            if let Some(existing) = table.by_client.get(&five).cloned() {
                drop(table);
                if existing.created_by == msg.transaction_id()
                    && existing.username == authed.username
                {
                    return self.allocated(msg, &existing, key);
                }
                return fail(
                    Refusal::Mismatch,
                    ErrorCode::ALLOCATION_MISMATCH,
                    "Allocation Mismatch",
                );
            }
            if table.by_client.len() >= self.settings.max_allocations {
                drop(table);
                return fail(
                    Refusal::TotalQuota,
                    ErrorCode::INSUFFICIENT_CAPACITY,
                    "Insufficient Capacity",
                );
            }
            if table.per_user.get(&authed.username).copied().unwrap_or(0)
                >= self.settings.max_per_user
            {
                drop(table);
                return fail(
                    Refusal::UserQuota,
                    ErrorCode::ALLOCATION_QUOTA_REACHED,
                    "Allocation Quota Reached",
                );
            }
            let Some((socket, port)) = self.bind_port(&mut table, even) else {
                drop(table);
                return fail(
                    Refusal::NoPort,
                    ErrorCode::INSUFFICIENT_CAPACITY,
                    "Insufficient Capacity",
                );
            };
            let allocation = Arc::new(Allocation {
                five,
                username: authed.username.clone(),
                created_by: msg.transaction_id(),
                relayed: SocketAddr::new(self.settings.advertised_ip, port),
                socket,
                client: link.clone(),
                state: Mutex::new(AllocState::new(
                    lifetime,
                    self.settings.bandwidth,
                    Instant::now(),
                )),
                reader: Mutex::new(None),
            });
            table.by_client.insert(five, allocation.clone());
            table.by_port.insert(port, allocation.clone());
            *table.per_user.entry(authed.username.clone()).or_default() += 1;
            allocation
        };
        let reader = tokio::spawn(read_peers(self.clone(), allocation.clone())).abort_handle();
        *allocation.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(reader);
        self.counters.allocated(five.transport.as_str());
        tracing::debug!(transport = five.transport.as_str(), relayed = %allocation.relayed, "relay allocation");
        self.allocated(msg, &allocation, key)
    }

    /// The Allocate success for `allocation`.
    fn allocated(
        &self,
        msg: &Message,
        allocation: &Allocation,
        key: Option<&IntegrityKey>,
    ) -> Vec<u8> {
        let remaining = allocation.state().remaining(Instant::now()).as_secs();
        let mut answer = Answer::success(msg, key);
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

    /// A UDP socket on the next free port of the range.
    fn bind_port(&self, table: &mut Table, even: bool) -> Option<(Arc<UdpSocket>, u16)> {
        let (first, last) = (*self.settings.ports.start(), *self.settings.ports.end());
        let span = usize::from(last - first) + 1;
        for _ in 0..span.min(256) {
            let port = table.next_port;
            table.next_port = if port >= last { first } else { port + 1 };
            if table.by_port.contains_key(&port) || (even && port % 2 == 1) {
                continue;
            }
            let Ok(socket) = std::net::UdpSocket::bind((self.settings.bind_ip, port)) else {
                continue;
            };
            if socket.set_nonblocking(true).is_err() {
                continue;
            }
            if let Ok(socket) = UdpSocket::from_std(socket) {
                super::listen::roomy_buffers(&socket, ALLOCATION_BUFFER);
                return Some((Arc::new(socket), port));
            }
        }
        None
    }

    /// Refresh, CreatePermission and ChannelBind: requests about an allocation.
    fn on_allocation(
        &self,
        five: FiveTuple,
        msg: &Message,
        authed: &Authed,
        method: turn_types::stun::message::Method,
    ) -> Vec<u8> {
        let key = Some(&authed.key);
        let fail = |why: Refusal, code: u16, reason: &str| {
            self.refuse(why);
            Answer::error(msg, code, reason, key).finish()
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
        let now = Instant::now();
        if method == REFRESH {
            let asked_zero = msg.attribute::<Lifetime>().is_ok_and(|l| l.seconds() == 0);
            let lifetime = if asked_zero {
                self.remove(&allocation);
                Duration::ZERO
            } else {
                let lifetime = self.lifetime(msg);
                allocation.state().refresh(lifetime, now);
                lifetime
            };
            let mut answer = Answer::success(msg, key);
            answer.add(&Lifetime::new(
                u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX),
            ));
            return answer.finish();
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
                .try_for_each(|peer| state.permit(peer.ip(), now))
        } else {
            let Ok(channel) = msg.attribute::<ChannelNumber>() else {
                return fail(
                    Refusal::BadRequest,
                    ErrorCode::BAD_REQUEST,
                    "CHANNEL-NUMBER missing",
                );
            };
            allocation.state().bind(channel.channel(), peers[0], now)
        };
        match result {
            Ok(()) => Answer::success(msg, key).finish(),
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
        if self.own_allocation(peer).is_some() {
            return Ok(());
        }
        match self.settings.policy.check(peer.ip()) {
            None => Ok(()),
            Some(denied) => Err(denied),
        }
    }

    fn own_allocation(&self, peer: SocketAddr) -> Option<Arc<Allocation>> {
        if !self.is_relay_ip(peer.ip()) {
            return None;
        }
        self.read().by_port.get(&peer.port()).cloned()
    }

    /// Whether `ip` is the address relayed candidates carry (in any of its forms).
    fn is_relay_ip(&self, ip: IpAddr) -> bool {
        canonical(ip) == self.advertised
    }

    /// A Send indication: data for a permitted peer (RFC 8656 §11). Whether it was
    /// (the peer permitted).
    fn send_indication(&self, five: FiveTuple, msg: &Message) -> bool {
        let (Ok(peer), Ok(data)) = (
            msg.attribute::<XorPeerAddress>(),
            msg.attribute::<DataAttr>(),
        ) else {
            return false;
        };
        let Some(allocation) = self.read().by_client.get(&five).cloned() else {
            return false;
        };
        self.to_peer(&allocation, peer.addr(msg.transaction_id()), data.data())
    }

    /// ChannelData from a client: data for the channel's peer. Whether the channel
    /// was bound (and the peer permitted).
    fn channel_data(&self, five: FiveTuple, data: &[u8]) -> bool {
        let Ok(frame) = ChannelData::parse(data) else {
            self.refuse(Refusal::Malformed);
            return false;
        };
        let Some(allocation) = self.read().by_client.get(&five).cloned() else {
            return false;
        };
        let Some(peer) = allocation.state().peer_of(frame.id(), Instant::now()) else {
            self.refuse(Refusal::NoPermission);
            return false;
        };
        self.to_peer(&allocation, peer, frame.data())
    }

    /// Whether `allocation` may carry `bytes` to or from `peer` now: the peer is
    /// permitted and the bandwidth allows it. The state stays locked for the caller.
    fn admit<'a>(
        &self,
        allocation: &'a Allocation,
        peer: SocketAddr,
        bytes: usize,
        now: Instant,
    ) -> Result<std::sync::MutexGuard<'a, AllocState>, Refusal> {
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

    /// Relays `data` to `peer` if the allocation may; whether the peer is permitted
    /// (a packet dropped for bandwidth still came from a participant).
    fn to_peer(&self, allocation: &Arc<Allocation>, peer: SocketAddr, data: &[u8]) -> bool {
        if let Err(why) = self.admit(allocation, peer, data.len(), Instant::now()) {
            return why == Refusal::Bandwidth;
        }
        let transport = allocation.five.transport.as_str();
        // A permission names an IP. Every permitted IP passed the peer rule except the
        // relay's own, which was permitted for one of its allocations: there only the
        // relayed ports may be reached, and the packet never leaves the process.
        if self.is_relay_ip(peer.ip()) {
            match self.read().by_port.get(&peer.port()).cloned() {
                Some(target) => {
                    self.counters.relayed(transport, "to_peer", data.len());
                    self.deliver(&target, allocation.relayed, data);
                }
                None => self.refuse(Refusal::NoPermission),
            }
            return true;
        }
        if allocation.socket.try_send_to(data, peer).is_ok() {
            self.counters.relayed(transport, "to_peer", data.len());
        }
        true
    }

    /// A peer's packet for `allocation`'s client: as ChannelData when a channel names
    /// the peer, else as a Data indication; only from permitted peers.
    pub fn deliver(&self, allocation: &Allocation, from: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        let Ok(state) = self.admit(allocation, from, data.len(), now) else {
            return;
        };
        let channel = state.channel_of(from, now);
        drop(state);
        let frame = match channel {
            Some(number) => channel_frame(number, data, allocation.five.transport.is_stream()),
            None => {
                let mut out = Message::builder_indication(DATA, MessageWriteVec::new());
                let transaction = out.transaction_id();
                if out
                    .add_attribute(&XorPeerAddress::new(from, transaction))
                    .is_err()
                    || out.add_attribute(&DataAttr::new(data)).is_err()
                {
                    return;
                }
                out.finish()
            }
        };
        if allocation.client.send(allocation.five.client, &frame) {
            self.counters
                .relayed(allocation.five.transport.as_str(), "to_client", data.len());
        }
    }

    fn remove(&self, allocation: &Allocation) {
        let mut table = self.write();
        if table.by_client.remove(&allocation.five).is_none() {
            return;
        }
        table.by_port.remove(&allocation.relayed.port());
        if let Some(n) = table.per_user.get_mut(&allocation.username) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_user.remove(&allocation.username);
            }
        }
        drop(table);
        if let Some(reader) = allocation
            .reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            reader.abort();
        }
    }

    /// Ends the allocation of a client whose TCP or TLS connection closed.
    pub fn client_gone(&self, five: FiveTuple) {
        let allocation = self.read().by_client.get(&five).cloned();
        if let Some(allocation) = allocation {
            self.remove(&allocation);
        }
    }

    /// Ends expired allocations and those of revoked credentials, and forgets expired
    /// permissions and channels.
    pub fn sweep(&self) {
        use std::sync::atomic::Ordering;
        let now = Instant::now();
        let generation = self.settings.ledger.generation();
        let revocations = self.revocations_seen.swap(generation, Ordering::Relaxed) != generation;
        let expired: Vec<Arc<Allocation>> = self
            .read()
            .by_client
            .values()
            .filter(|a| {
                if revocations && self.settings.ledger.is_revoked(&a.username) {
                    return true;
                }
                let mut state = a.state();
                state.prune(now);
                state.is_expired(now)
            })
            .cloned()
            .collect();
        for allocation in expired {
            self.remove(&allocation);
        }
    }

    /// Ends every allocation (the server is stopping).
    pub fn close_all(&self) {
        let all: Vec<Arc<Allocation>> = self.read().by_client.values().cloned().collect();
        for allocation in all {
            self.remove(&allocation);
        }
    }
}

/// Socket buffers of one allocation: a call's burst (a video key frame) fits.
const ALLOCATION_BUFFER: usize = 1 << 20;

/// The largest datagram relayed from a peer.
const PEER_DATAGRAM: usize = 4096;

/// Peers one CreatePermission may name.
const MAX_PEERS_PER_REQUEST: usize = 16;

/// ChannelData: number, length, data, and over TCP/TLS padding to four bytes
/// (RFC 8656 §12.5).
fn channel_frame(number: u16, data: &[u8], stream: bool) -> Vec<u8> {
    let padded = if stream {
        data.len().next_multiple_of(4)
    } else {
        data.len()
    };
    let mut frame = Vec::with_capacity(4 + padded);
    frame.extend_from_slice(&number.to_be_bytes());
    frame.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes());
    frame.extend_from_slice(data);
    frame.resize(4 + padded, 0);
    frame
}

/// Reads what peers send to one allocation's socket, until the allocation ends.
async fn read_peers(relay: Arc<Relay>, allocation: Arc<Allocation>) {
    // Media datagrams fit a path MTU; a small buffer keeps thousands of allocations
    // cheap (a larger datagram is cut short, as on a path that could not carry it).
    let mut buf = vec![0u8; PEER_DATAGRAM];
    loop {
        let Ok((n, from)) = allocation.socket.recv_from(&mut buf).await else {
            // ICMP errors surface here as failed reads on some systems; keep reading.
            tokio::task::yield_now().await;
            continue;
        };
        relay.deliver(&allocation, from, &buf[..n]);
    }
}
