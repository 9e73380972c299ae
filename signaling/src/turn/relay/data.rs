//! The data path: a client's data for its peers (Send indications, ChannelData) and
//! a peer's data for its client, each only while permitted and within the bandwidth.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use turn_types::attribute::{Data as DataAttr, XorPeerAddress};
use turn_types::channel::ChannelData;
use turn_types::stun::message::Message;

use super::answer::{channel_frame, channel_payload, data_indication};
use super::{Allocation, Delivery, Effect, FiveTuple, Now, Refusal, Relay, Reply};
use crate::turn::allocation::AllocState;
use crate::turn::policy::canonical;

impl Relay {
    /// Whether `ip` is the address relayed candidates carry (in any of its forms).
    pub(super) fn is_relay_ip(&self, ip: IpAddr) -> bool {
        canonical(ip) == self.advertised
    }

    /// A Send indication: data for a permitted peer (RFC 8656 §11).
    pub(super) fn send_indication<'a>(
        &self,
        five: FiveTuple,
        msg: &Message,
        now: Now,
    ) -> Reply<'a> {
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
    pub(super) fn channel_data<'a>(&self, five: FiveTuple, data: &'a [u8], now: Now) -> Reply<'a> {
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
    pub(super) fn admit<'s>(
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
    pub(super) fn to_peer<'a>(
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
    pub(super) fn frame_for(
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
}
