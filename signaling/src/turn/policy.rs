//! Which peers the relay may send to: an open relay is a gift to attackers.
//!
//! A TURN allocation lets an authenticated client send UDP from the server's address
//! to any address it names. Left open, that reaches the server's own loopback
//! services, the care home's LAN behind it, the cloud's metadata endpoint
//! (169.254.169.254) and anything the firewall trusts the server for. So by default
//! the relay talks only to public unicast addresses, never to the server's own
//! addresses — except its own relayed addresses, so two relayed participants can
//! always reach each other. A closed LAN deployment lists its ranges in
//! `turn_allow_peers`.
//!
//! Pure functions of an address, so every range is unit-tested here.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why a peer address is refused (a metrics label and a log word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denied {
    Unspecified,
    Loopback,
    Private,
    SharedCgnat,
    LinkLocal,
    Multicast,
    Broadcast,
    Documentation,
    Reserved,
    /// One of the server's own addresses (not a relayed one).
    OwnAddress,
}

impl Denied {
    pub fn as_str(self) -> &'static str {
        match self {
            Denied::Unspecified => "unspecified",
            Denied::Loopback => "loopback",
            Denied::Private => "private",
            Denied::SharedCgnat => "cgnat",
            Denied::LinkLocal => "link_local",
            Denied::Multicast => "multicast",
            Denied::Broadcast => "broadcast",
            Denied::Documentation => "documentation",
            Denied::Reserved => "reserved",
            Denied::OwnAddress => "own_address",
        }
    }
}

/// The relay's rule for peers: never the server itself, then the allow list, then
/// the special ranges.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    /// Ranges allowed even though they are special (a closed LAN deployment).
    allow: Vec<IpNet>,
    /// The server's own addresses (interfaces, listeners, the advertised address), in
    /// canonical form.
    own: HashSet<IpAddr>,
}

impl PeerPolicy {
    pub fn new(allow: Vec<IpNet>, own: impl IntoIterator<Item = IpAddr>) -> Self {
        Self {
            allow,
            own: own.into_iter().map(canonical).collect(),
        }
    }

    /// `None` when the relay may send to `ip`; otherwise why not. The relay's own
    /// relayed addresses are let through before this is asked.
    pub fn check(&self, ip: IpAddr) -> Option<Denied> {
        let ip = canonical(ip);
        // Before the allow list: a LAN range that is allowed usually holds the server
        // too, and its own services must stay out of reach.
        if self.own.contains(&ip) {
            return Some(Denied::OwnAddress);
        }
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return None;
        }
        special_range(ip)
    }
}

/// IPv4 addresses written in IPv6 forms (v4-mapped, v4-compatible, 6to4, Teredo,
/// NAT64) are judged as the IPv4 address they carry: otherwise `::ffff:127.0.0.1`
/// would slip past the loopback rule.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    // 6to4: 2002:AABB:CCDD::/16 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return IpAddr::V4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    // Teredo: 2001:0000::/32; the client's address is the last 32 bits, inverted.
    if s[0] == 0x2001 && s[1] == 0 {
        return IpAddr::V4(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    // Deprecated IPv4-compatible ::a.b.c.d (but not :: and ::1 themselves).
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    ip
}

/// The special-purpose ranges (IANA registries) a relay must not reach.
fn special_range(ip: IpAddr) -> Option<Denied> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<Denied> {
    let [a, b, c, _] = ip.octets();
    if a == 0 {
        return Some(Denied::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Denied::Loopback);
    }
    if ip.is_private() {
        return Some(Denied::Private);
    }
    if a == 100 && (64..128).contains(&b) {
        return Some(Denied::SharedCgnat);
    }
    if ip.is_link_local() {
        return Some(Denied::LinkLocal);
    }
    if ip.is_multicast() {
        return Some(Denied::Multicast);
    }
    if ip.is_broadcast() {
        return Some(Denied::Broadcast);
    }
    if ip.is_documentation() {
        return Some(Denied::Documentation);
    }
    // 192.0.0.0/24 (protocol assignments), 198.18.0.0/15 (benchmarking),
    // 240.0.0.0/4 (reserved), 192.88.99.0/24 (old 6to4 relays).
    if (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xfe) == 18)
        || a >= 240
        || (a == 192 && b == 88 && c == 99)
    {
        return Some(Denied::Reserved);
    }
    None
}

fn special_v6(ip: Ipv6Addr) -> Option<Denied> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Denied::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Denied::Loopback);
    }
    if ip.is_multicast() {
        return Some(Denied::Multicast);
    }
    // fc00::/7 unique local.
    if (s[0] & 0xfe00) == 0xfc00 {
        return Some(Denied::Private);
    }
    // fe80::/10 link-local, fec0::/10 old site-local.
    if (s[0] & 0xffc0) == 0xfe80 {
        return Some(Denied::LinkLocal);
    }
    if (s[0] & 0xffc0) == 0xfec0 {
        return Some(Denied::Private);
    }
    // 2001:db8::/32 and 3fff::/20 documentation.
    if (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] == 0x3fff && s[1] < 0x1000) {
        return Some(Denied::Documentation);
    }
    // Only 2000::/3 is global unicast; 100::/64 discard, 2001::/23 IETF protocol
    // assignments (after Teredo was unwrapped above) and the rest are reserved.
    if (s[0] & 0xe000) != 0x2000
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])
        || (s[0] == 0x2001 && s[1] < 0x0200)
    {
        return Some(Denied::Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ip: &str) -> Option<Denied> {
        PeerPolicy::default().check(ip.parse().expect("ip"))
    }

    #[test]
    fn every_special_range_is_refused() {
        for (ip, why) in [
            ("0.0.0.0", Denied::Unspecified),
            ("0.1.2.3", Denied::Unspecified),
            ("::", Denied::Unspecified),
            ("127.0.0.1", Denied::Loopback),
            ("127.255.0.9", Denied::Loopback),
            ("::1", Denied::Loopback),
            ("10.1.2.3", Denied::Private),
            ("172.16.0.1", Denied::Private),
            ("172.31.255.255", Denied::Private),
            ("192.168.1.20", Denied::Private),
            ("fd12:3456::1", Denied::Private),
            ("100.64.0.1", Denied::SharedCgnat),
            ("100.127.255.254", Denied::SharedCgnat),
            ("169.254.169.254", Denied::LinkLocal),
            ("fe80::1", Denied::LinkLocal),
            ("224.0.0.1", Denied::Multicast),
            ("239.255.255.250", Denied::Multicast),
            ("ff02::1", Denied::Multicast),
            ("255.255.255.255", Denied::Broadcast),
            ("192.0.2.1", Denied::Documentation),
            ("198.51.100.7", Denied::Documentation),
            ("203.0.113.9", Denied::Documentation),
            ("2001:db8::1", Denied::Documentation),
            ("192.0.0.8", Denied::Reserved),
            ("198.18.0.1", Denied::Reserved),
            ("198.19.255.1", Denied::Reserved),
            ("240.0.0.1", Denied::Reserved),
            ("100::1", Denied::Reserved),
            ("::ffff:127.0.0.1", Denied::Loopback),
            ("::ffff:10.0.0.1", Denied::Private),
            ("::ffff:169.254.169.254", Denied::LinkLocal),
            ("::127.0.0.1", Denied::Loopback),
            ("2002:7f00:1::", Denied::Loopback),
            ("2002:c0a8:0101::1", Denied::Private),
            ("64:ff9b::a9fe:a9fe", Denied::LinkLocal),
            // Teredo carries the client's IPv4 inverted: 10.0.0.1 → f5ff:fffe.
            ("2001:0:4136:e378:8000:63bf:f5ff:fffe", Denied::Private),
        ] {
            assert_eq!(check(ip), Some(why), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "193.0.14.129",
            "2a00:1450:4001::200e",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(check(ip), None, "{ip}");
        }
    }

    #[test]
    fn own_addresses_are_refused_and_allow_lists_open_a_range() {
        let allow = vec!["192.168.10.0/24".parse().expect("net")];
        let policy = PeerPolicy::new(allow.clone(), ["203.0.114.5".parse().expect("ip")]);
        assert_eq!(
            policy.check("203.0.114.5".parse().expect("ip")),
            Some(Denied::OwnAddress)
        );
        assert_eq!(
            policy.check("::ffff:203.0.114.5".parse().expect("ip")),
            Some(Denied::OwnAddress)
        );
        assert_eq!(policy.check("192.168.10.7".parse().expect("ip")), None);
        let on_the_lan = PeerPolicy::new(allow, ["::ffff:192.168.10.5".parse().expect("ip")]);
        assert_eq!(
            on_the_lan.check("192.168.10.5".parse().expect("ip")),
            Some(Denied::OwnAddress),
            "the allow list does not open the server itself"
        );
        assert_eq!(
            policy.check("192.168.11.7".parse().expect("ip")),
            Some(Denied::Private)
        );
    }
}
