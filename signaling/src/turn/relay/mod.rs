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

mod allocate;
mod answer;
mod authenticate;
mod data;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};
use turn_types::stun::attribute::{ErrorCode, XorMappedAddress};
use turn_types::stun::message::{BINDING, IntegrityKey, Message, MessageClass, TransactionId};

use super::allocation::AllocState;
use super::auth::Nonces;
use super::credentials::{DayKeys, Ledger};
use super::limit::SourceLimit;
use super::policy::{Denied, PeerPolicy, canonical};
use crate::metrics::RelayCounters;
use answer::Answer;

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
