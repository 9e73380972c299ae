//! Requests about allocations: Allocate (every check, then a port from the I/O layer),
//! Refresh, CreatePermission and ChannelBind, and the peer rule they apply.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use turn_types::AddressFamily;
use turn_types::attribute::{
    ChannelNumber, DontFragment, EvenPort, Lifetime, RequestedAddressFamily, RequestedTransport,
    XorPeerAddress, XorRelayedAddress,
};
use turn_types::message::{CREATE_PERMISSION, REFRESH};
use turn_types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, Nonce, Realm, Username, XorMappedAddress,
};
use turn_types::stun::message::{IntegrityKey, Message, MessageWrite, MessageWriteVec};

use super::answer::Answer;
use super::{
    Allocation, Authed, Bound, Effect, FiveTuple, MAX_PEERS_PER_REQUEST, Now, PORT_TRIES, Pending,
    Refusal, Relay, Reply, Table,
};
use crate::turn::allocation::{AllocState, BindError, DEFAULT_LIFETIME};
use crate::turn::policy::Denied;

impl Relay {
    /// An Allocate: every check that needs no port, then [`Effect::Bind`] (or the
    /// answer a retransmission gets).
    pub(super) fn allocate<'a>(
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
    pub(super) fn may_allocate(
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
    pub(super) fn existing_or<'a>(
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
        let next = |port: u16| if port >= last { first } else { port + 1 };
        let mut ports = Vec::new();
        let mut port = table.next_port;
        for _ in 0..span.min(PORT_TRIES) {
            let taken = table.by_port.contains_key(&port);
            let odd_when_even_asked = even && port % 2 == 1;
            if !taken && !odd_when_even_asked {
                ports.push(port);
            }
            port = next(port);
        }
        // The next allocation starts after this one's first choice (usually the port
        // it gets), so ports are used in turn and two at once seldom try the same.
        if let Some(&chosen) = ports.first() {
            table.next_port = next(chosen);
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
    pub(super) fn allocated(
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
    pub(super) fn lifetime(&self, msg: &Message) -> Duration {
        let asked = msg
            .attribute::<Lifetime>()
            .map(|l| Duration::from_secs(u64::from(l.seconds())))
            .unwrap_or(DEFAULT_LIFETIME);
        asked.max(DEFAULT_LIFETIME).min(self.settings.max_lifetime)
    }

    /// Refresh, CreatePermission and ChannelBind: requests about an allocation.
    pub(super) fn on_allocation<'a>(
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
    pub(super) fn peer_allowed(&self, peer: SocketAddr) -> Result<(), Denied> {
        if self.is_relay_ip(peer.ip()) && self.read().by_port.contains_key(&peer.port()) {
            return Ok(());
        }
        match self.settings.policy.check(peer.ip()) {
            None => Ok(()),
            Some(denied) => Err(denied),
        }
    }
}
