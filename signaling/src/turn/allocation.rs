//! One allocation's rules, as plain data: how long it lives, which peers it may talk
//! to (permissions), which channels name them, and how many bytes a second it may
//! relay. No sockets here, so every rule of RFC 8656 that Menkai keeps is a unit test.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::rate::TokenBucket;

/// A permission lasts five minutes unless refreshed (RFC 8656 §9).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// A channel binding lasts ten minutes unless refreshed (RFC 8656 §12).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Lifetime when the client asks for none (RFC 8656 §7.2).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
/// Peers one allocation may name: a call needs a handful; a scanner would need many.
pub const MAX_PERMISSIONS: usize = 64;
/// The channel numbers clients may use: RFC 8656 §12 narrowed them to 0x4000–0x4FFF,
/// but clients written for RFC 5766 (pjnath, coturn's own tools) still pick up to
/// 0x7FFE, and refusing them would only break calls.
pub const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x7ffe;

/// Why a ChannelBind is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// Outside [`CHANNELS`]: 400.
    BadNumber,
    /// The number is bound to another peer, or the peer to another number: 400.
    Conflict,
    /// More peers than [`MAX_PERMISSIONS`]: 508.
    TooMany,
}

#[derive(Debug, Clone, Copy)]
struct Channel {
    peer: SocketAddr,
    expires: Instant,
}

/// The state of one allocation.
#[derive(Debug, Clone)]
pub struct AllocState {
    expires: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, Channel>,
    by_peer: HashMap<SocketAddr, u16>,
    pub bandwidth: TokenBucket,
}

impl AllocState {
    pub fn new(lifetime: Duration, bytes_per_second: u64, now: Instant) -> Self {
        Self {
            expires: now + lifetime,
            permissions: HashMap::new(),
            channels: HashMap::new(),
            by_peer: HashMap::new(),
            bandwidth: TokenBucket::per_second(bytes_per_second, now),
        }
    }

    pub fn refresh(&mut self, lifetime: Duration, now: Instant) {
        self.expires = now + lifetime;
    }

    /// Time left before the allocation expires.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.expires.saturating_duration_since(now)
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        now >= self.expires
    }

    /// Installs or refreshes a permission for `ip` (any port).
    pub fn permit(&mut self, ip: IpAddr, now: Instant) -> Result<(), BindError> {
        if !self.permissions.contains_key(&ip) {
            self.prune(now);
            if self.permissions.len() >= MAX_PERMISSIONS {
                return Err(BindError::TooMany);
            }
        }
        self.permissions.insert(ip, now + PERMISSION_LIFETIME);
        Ok(())
    }

    pub fn permits(&self, ip: IpAddr, now: Instant) -> bool {
        self.permissions.get(&ip).is_some_and(|until| now < *until)
    }

    /// Binds `number` to `peer` (or refreshes that binding); it also permits the peer.
    pub fn bind(&mut self, number: u16, peer: SocketAddr, now: Instant) -> Result<(), BindError> {
        if !CHANNELS.contains(&number) {
            return Err(BindError::BadNumber);
        }
        let bound_peer = self
            .channels
            .get(&number)
            .filter(|c| now < c.expires)
            .map(|c| c.peer);
        let bound_number = self
            .by_peer
            .get(&peer)
            .filter(|n| self.channels.get(n).is_some_and(|c| now < c.expires))
            .copied();
        if bound_peer.is_some_and(|p| p != peer) || bound_number.is_some_and(|n| n != number) {
            return Err(BindError::Conflict);
        }
        self.permit(peer.ip(), now)?;
        if let Some(old) = self.channels.get(&number).map(|c| c.peer) {
            self.by_peer.remove(&old);
        }
        self.channels.insert(
            number,
            Channel {
                peer,
                expires: now + CHANNEL_LIFETIME,
            },
        );
        self.by_peer.insert(peer, number);
        Ok(())
    }

    /// The peer a channel names, while it is bound and the peer is permitted.
    pub fn peer_of(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        self.channels
            .get(&number)
            .filter(|c| now < c.expires && self.permits(c.peer.ip(), now))
            .map(|c| c.peer)
    }

    /// The channel bound to `peer`, if any.
    pub fn channel_of(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        self.by_peer
            .get(&peer)
            .filter(|n| self.channels.get(n).is_some_and(|c| now < c.expires))
            .copied()
    }

    /// Forgets expired permissions and channels.
    pub fn prune(&mut self, now: Instant) {
        self.permissions.retain(|_, until| now < *until);
        self.channels.retain(|_, c| now < c.expires);
        let channels = &self.channels;
        self.by_peer.retain(|_, n| channels.contains_key(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn permissions_are_per_ip_and_expire() {
        let t0 = Instant::now();
        let mut a = AllocState::new(DEFAULT_LIFETIME, 1_000_000, t0);
        let peer = addr("8.8.8.8:5000");
        assert!(!a.permits(peer.ip(), t0));
        a.permit(peer.ip(), t0).expect("permit");
        assert!(a.permits(peer.ip(), t0 + Duration::from_secs(299)));
        assert!(!a.permits(peer.ip(), t0 + PERMISSION_LIFETIME));
        assert!(!a.is_expired(t0 + Duration::from_secs(599)));
        assert!(a.is_expired(t0 + DEFAULT_LIFETIME));
        a.refresh(Duration::from_secs(60), t0 + Duration::from_secs(590));
        assert!(!a.is_expired(t0 + Duration::from_secs(649)));
    }

    #[test]
    fn a_scanner_runs_out_of_permissions() {
        let t0 = Instant::now();
        let mut a = AllocState::new(DEFAULT_LIFETIME, 1_000_000, t0);
        for i in 0..MAX_PERMISSIONS {
            let ip = IpAddr::from([8, 8, (i / 256) as u8, (i % 256) as u8]);
            a.permit(ip, t0).expect("within the limit");
        }
        assert_eq!(
            a.permit("9.9.9.9".parse().expect("ip"), t0),
            Err(BindError::TooMany)
        );
        assert_eq!(
            a.permit("8.8.0.0".parse().expect("ip"), t0),
            Ok(()),
            "refreshing one already there is fine"
        );
        assert_eq!(
            a.permit("9.9.9.9".parse().expect("ip"), t0 + PERMISSION_LIFETIME),
            Ok(()),
            "expired ones make room"
        );
    }

    #[test]
    fn channels_name_one_peer_each() {
        let t0 = Instant::now();
        let mut a = AllocState::new(DEFAULT_LIFETIME, 1_000_000, t0);
        let (p, q) = (addr("8.8.8.8:5000"), addr("8.8.8.8:5001"));
        assert_eq!(a.bind(0x3fff, p, t0), Err(BindError::BadNumber));
        assert_eq!(a.bind(0x7fff, p, t0), Err(BindError::BadNumber));
        a.bind(0x4000, p, t0).expect("bind");
        assert!(a.permits(p.ip(), t0), "binding permits the peer");
        assert_eq!(a.peer_of(0x4000, t0), Some(p));
        assert_eq!(a.channel_of(p, t0), Some(0x4000));
        assert_eq!(a.bind(0x4000, q, t0), Err(BindError::Conflict));
        assert_eq!(a.bind(0x4001, p, t0), Err(BindError::Conflict));
        a.bind(0x4000, p, t0 + Duration::from_secs(500))
            .expect("refresh");
        a.bind(0x4001, q, t0).expect("another peer, another number");
        let later = t0 + Duration::from_secs(500) + CHANNEL_LIFETIME;
        assert_eq!(a.peer_of(0x4000, later), None, "expired");
        a.prune(later);
        a.bind(0x4000, q, later).expect("free again");
    }
}
