//! RFC 8656's rules as Menkai's relay keeps them, in simulated time: a client's
//! messages go in as bytes with the time, and each test reads what came out. No
//! socket is opened; ports are "bound" by answering the core's `Bind` effect.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use turn_types::AddressFamily;
use turn_types::attribute::{
    ChannelNumber, EvenPort, Lifetime, RequestedAddressFamily, RequestedTransport, XorPeerAddress,
    XorRelayedAddress,
};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};
use turn_types::stun::attribute::{ErrorCode, Nonce, Realm, Username};
use turn_types::stun::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec, Method,
    TransactionId,
};

use super::{Bound, Delivery, Effect, FiveTuple, Now, Relay, RelaySettings, Reply, Transport};
use crate::metrics::RelayCounters;
use crate::turn::credentials::{DayKeys, Ledger, day_of};
use crate::turn::policy::PeerPolicy;

const UNIX: u64 = 1_800_000_000;
const ADVERTISED: [u8; 4] = [203, 0, 113, 10];

/// A relay and the time, which each test moves by hand.
struct World {
    relay: Relay,
    ledger: Arc<Ledger>,
    keys: Arc<DayKeys>,
    start: Instant,
    now: Now,
}

impl World {
    fn new() -> World {
        World::with(|_| {})
    }

    fn with(edit: impl FnOnce(&mut RelaySettings)) -> World {
        let keys = Arc::new(DayKeys::new(day_of(UNIX as i64), &[7; 32], Some(&[6; 32])));
        let ledger = Arc::new(Ledger::default());
        let mut settings = RelaySettings {
            realm: "menkai.test".into(),
            keys: keys.clone(),
            ledger: ledger.clone(),
            advertised_ip: IpAddr::from(ADVERTISED),
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            ports: 50_000..=50_099,
            policy: PeerPolicy::new(vec![], [IpAddr::from(ADVERTISED)]),
            max_allocations: 8,
            max_per_user: 4,
            bandwidth: 10_000,
            max_lifetime: Duration::from_secs(3600),
        };
        edit(&mut settings);
        let start = Instant::now();
        World {
            relay: Relay::with_nonce_key(settings, RelayCounters::default(), start, [9; 32]),
            ledger,
            keys,
            start,
            now: Now {
                at: start,
                unix: UNIX,
            },
        }
    }

    /// Moves the clock on.
    fn pass(&mut self, by: Duration) {
        self.now = Now {
            at: self.now.at + by,
            unix: self.now.unix + by.as_secs(),
        };
    }

    /// A participant's client with credentials good for an hour, made with today's key.
    fn client(&self, participant: &str, port: u16) -> Client {
        self.client_until(participant, port, 3600)
    }

    fn client_until(&self, participant: &str, port: u16, valid_s: i64) -> Client {
        let secret = self.keys.current().expect("a key");
        let expiry = DateTime::<Utc>::from_timestamp(UNIX as i64 + valid_s, 0).expect("time");
        let (username, password) = crate::turn::rest_credential(&secret, participant, expiry);
        Client::new(port, username, password)
    }

    /// `data` from `client`; what came back.
    fn send<'a>(&self, client: &Client, data: &'a [u8]) -> Reply<'a> {
        self.relay.from_client(client.five, data, self.now)
    }

    /// Carries out a Bind effect with the first free port, as the I/O layer would;
    /// else the answer the relay gave instead.
    fn bind(&self, reply: Reply<'_>) -> Result<(Bound, u16), Option<Vec<u8>>> {
        match reply.effect {
            Some(Effect::Bind(pending)) => {
                let port = self.relay.candidate_ports(pending.even)[0];
                Ok((self.relay.bound(*pending, port, self.now), port))
            }
            _ => Err(reply.answer),
        }
    }

    /// Allocate, answering the first 401 as a client does; the relayed address or the
    /// error code.
    fn allocate(&self, client: &mut Client) -> Result<SocketAddr, u16> {
        self.allocate_with(client, &|_, _| {})
    }

    fn allocate_with(&self, client: &mut Client, extra: Attrs<'_>) -> Result<SocketAddr, u16> {
        for _ in 0..2 {
            let request = client.request(ALLOCATE, &|m, t| {
                m.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                    .expect("add");
                extra(m, t);
            });
            let answer = match self.bind(self.send(client, &request)) {
                Ok((bound, _)) => bound.answer,
                Err(answer) => answer.ok_or(0u16)?,
            };
            match client.read(&answer) {
                Ok(msg) => {
                    let relayed = Message::from_bytes(&msg).expect("answer");
                    return Ok(relayed
                        .attribute::<XorRelayedAddress>()
                        .expect("relayed address")
                        .addr(relayed.transaction_id()));
                }
                Err(401) if client.learned_now => continue,
                Err(code) => return Err(code),
            }
        }
        Err(0)
    }

    /// The client's first, unsigned request, whose 401 tells it the realm and nonce.
    fn introduce(&self, client: &mut Client) {
        let hello = client.request(ALLOCATE, &|_, _| {});
        let answer = self.send(client, &hello).answer.expect("a 401");
        assert_eq!(client.read(&answer), Err(401));
    }

    /// A signed request of `method` about the client's allocation; its answer's code
    /// (`Ok` on success).
    fn ask(
        &self,
        client: &mut Client,
        method: Method,
        attrs: Attrs<'_>,
    ) -> Result<Reply<'static>, u16> {
        let request = client.request(method, attrs);
        let reply = self.send(client, &request);
        let answer = reply.answer.clone().ok_or(0u16)?;
        client.read(&answer)?;
        Ok(Reply {
            answer: reply.answer,
            effect: reply.effect.map(|e| match e {
                Effect::Close { port } => Effect::Close { port },
                other => panic!("unexpected {other:?}"),
            }),
            valid: reply.valid,
        })
    }

    fn permit(&self, client: &mut Client, peer: SocketAddr) -> Result<(), u16> {
        self.ask(client, CREATE_PERMISSION, &|m, t| {
            m.add_attribute(&XorPeerAddress::new(peer, t)).expect("add");
        })
        .map(|_| ())
    }

    fn bind_channel(&self, client: &mut Client, number: u16, peer: SocketAddr) -> Result<(), u16> {
        self.ask(client, CHANNEL_BIND, &|m, t| {
            m.add_attribute(&ChannelNumber::new(number)).expect("add");
            m.add_attribute(&XorPeerAddress::new(peer, t)).expect("add");
        })
        .map(|_| ())
    }
}

type Attrs<'a> = &'a dyn Fn(&mut MessageWriteVec, TransactionId);

/// One TURN client: its 5-tuple and credentials, and the realm and nonce once told.
struct Client {
    five: FiveTuple,
    username: String,
    password: String,
    realm: Option<String>,
    nonce: Option<String>,
    /// The last answer taught a (new) nonce.
    learned_now: bool,
}

impl Client {
    fn new(port: u16, username: String, password: String) -> Client {
        Client {
            five: FiveTuple {
                transport: Transport::Udp,
                client: SocketAddr::from(([198, 51, 100, 7], port)),
                server: SocketAddr::from(([192, 0, 2, 1], 3478)),
            },
            username,
            password,
            realm: None,
            nonce: None,
            learned_now: false,
        }
    }

    /// A request, signed once the relay has told its realm and nonce.
    fn request(&self, method: Method, attrs: Attrs<'_>) -> Vec<u8> {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        let transaction = out.transaction_id();
        attrs(&mut out, transaction);
        if let (Some(realm), Some(nonce)) = (&self.realm, &self.nonce) {
            out.add_attribute(&Username::new(&self.username).expect("username"))
                .expect("add");
            out.add_attribute(&Realm::new(realm).expect("realm"))
                .expect("add");
            out.add_attribute(&Nonce::new(nonce).expect("nonce"))
                .expect("add");
            let credentials: MessageIntegrityCredentials = LongTermKeyCredentials::new(
                self.username.clone(),
                self.password.clone(),
                realm.clone(),
            )
            .into();
            out.add_message_integrity(&credentials, IntegrityAlgorithm::Sha1)
                .expect("integrity");
        }
        out.finish()
    }

    /// A signed Allocate for UDP relaying.
    fn allocate_request(&self) -> Vec<u8> {
        self.request(ALLOCATE, &|m, _| {
            m.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .expect("add");
        })
    }

    /// The answer if it is a success, else its error code (learning a nonce from a 401
    /// or 438 on the way).
    fn read(&mut self, answer: &[u8]) -> Result<Vec<u8>, u16> {
        let msg = Message::from_bytes(answer).expect("a STUN answer");
        self.learned_now = false;
        if msg.class() == MessageClass::Success {
            return Ok(answer.to_vec());
        }
        if let (Ok(realm), Ok(nonce)) = (msg.attribute::<Realm>(), msg.attribute::<Nonce>()) {
            self.learned_now = self.nonce.as_deref() != Some(nonce.nonce());
            self.realm = Some(realm.realm().to_owned());
            self.nonce = Some(nonce.nonce().to_owned());
        }
        Err(msg.attribute::<ErrorCode>().map_or(0, |e| e.code()))
    }
}

fn code_of(answer: &[u8]) -> u16 {
    Message::from_bytes(answer)
        .expect("answer")
        .attribute::<ErrorCode>()
        .map_or(0, |e| e.code())
}

fn peer(text: &str) -> SocketAddr {
    text.parse().expect("address")
}

#[test]
fn a_client_is_challenged_first_then_allocates_with_its_credentials() {
    let world = World::new();
    let mut client = world.client("guest-1", 40_000);
    let request = client.allocate_request();
    let first = world.send(&client, &request);
    assert!(!first.valid, "an unsigned request proves nothing");
    assert_eq!(client.read(&first.answer.expect("answered")), Err(401));
    assert!(client.nonce.is_some(), "the 401 carries a nonce");
    let relayed = world.allocate(&mut client).expect("allocated");
    assert_eq!(relayed.ip(), IpAddr::from(ADVERTISED));
    assert_eq!(relayed.port(), 50_000);
    assert_eq!(world.relay.allocations(), 1);
}

#[test]
fn a_nonce_goes_stale_after_ten_minutes_and_438_brings_a_fresh_one() {
    let mut world = World::new();
    let mut client = world.client("guest-1", 40_000);
    world.allocate(&mut client).expect("allocated");
    world.pass(Duration::from_secs(601));
    let refresh = client.request(REFRESH, &|_, _| {});
    let answer = world.send(&client, &refresh).answer.expect("answered");
    assert_eq!(client.read(&answer), Err(438));
    assert!(client.learned_now, "with a fresh nonce");
    world
        .ask(&mut client, REFRESH, &|_, _| {})
        .expect("the refresh with the fresh nonce works");
}

#[test]
fn a_refresh_without_an_allocation_is_437() {
    let world = World::new();
    let mut client = world.client("guest-1", 40_000);
    world.introduce(&mut client);
    assert_eq!(world.ask(&mut client, REFRESH, &|_, _| {}).err(), Some(437));
}

#[test]
fn a_retransmitted_allocate_gets_the_same_relayed_address_and_no_second_port() {
    let world = World::new();
    let mut client = world.client("guest-1", 40_000);
    world.introduce(&mut client);
    let request = client.allocate_request();
    let (bound, port) = world.bind(world.send(&client, &request)).expect("a port");
    assert!(bound.keep);
    let again = world.send(&client, &request);
    assert!(again.effect.is_none(), "no second port");
    let answer = again.answer.expect("answered again");
    let msg = Message::from_bytes(&answer).expect("answer");
    let relayed = msg.attribute::<XorRelayedAddress>().expect("relayed");
    assert_eq!(relayed.addr(msg.transaction_id()).port(), port);
    // Another transaction on the same 5-tuple is a mismatch.
    let other = client.allocate_request();
    assert_eq!(
        code_of(&world.send(&client, &other).answer.expect("answered")),
        437
    );
}

#[test]
fn a_client_that_got_an_allocation_while_its_port_was_bound_keeps_the_first() {
    let world = World::new();
    let mut client = world.client("guest-1", 40_000);
    world.introduce(&mut client);
    let request = client.allocate_request();
    // Two readers of the UDP listener both pass the checks before either binds.
    let (first, second) = (world.send(&client, &request), world.send(&client, &request));
    let (bound, _) = world.bind(first).expect("a port");
    let (late, _) = world.bind(second).expect("a port too");
    assert!(bound.keep);
    assert!(!late.keep, "the second socket is closed again");
    assert_eq!(
        code_of(&late.answer),
        0,
        "and answered as the retransmission it is"
    );
    assert_eq!(world.relay.allocations(), 1);
}

#[test]
fn one_credential_beyond_its_quota_gets_486_and_the_relay_beyond_its_total_508() {
    let world = World::with(|s| {
        s.max_per_user = 2;
        s.max_allocations = 3;
    });
    for port in [1, 2] {
        world
            .allocate(&mut world.client("tablet", port))
            .expect("within the quota");
    }
    assert_eq!(world.allocate(&mut world.client("tablet", 3)), Err(486));
    world
        .allocate(&mut world.client("guest", 4))
        .expect("another participant");
    assert_eq!(world.allocate(&mut world.client("guest", 5)), Err(508));
}

#[test]
fn an_even_port_is_given_when_asked_and_a_reservation_is_refused() {
    let world = World::new();
    let mut first = world.client("a", 1);
    world.allocate(&mut first).expect("port 50000");
    let mut even = world.client("a", 2);
    let relayed = world
        .allocate_with(&mut even, &|m, _| {
            m.add_attribute(&EvenPort::new(false)).expect("add");
        })
        .expect("an even port");
    assert_eq!(relayed.port(), 50_002, "50001 skipped");
    let mut reserve = world.client("a", 3);
    let refused = world.allocate_with(&mut reserve, &|m, _| {
        m.add_attribute(&EvenPort::new(true)).expect("add");
    });
    assert_eq!(refused, Err(508));
}

#[test]
fn an_allocation_of_another_address_family_is_440_and_such_a_peer_443() {
    let world = World::new();
    let mut v6 = world.client("a", 1);
    let refused = world.allocate_with(&mut v6, &|m, _| {
        m.add_attribute(&RequestedAddressFamily::new(AddressFamily::IPV6))
            .expect("add");
    });
    assert_eq!(refused, Err(440));
    let mut client = world.client("a", 2);
    world.allocate(&mut client).expect("IPv4");
    assert_eq!(
        world.permit(&mut client, peer("[2001:db8::1]:5000")),
        Err(443)
    );
}

#[test]
fn loopback_private_and_the_relay_s_own_ports_are_refused_as_peers() {
    let world = World::new();
    let mut client = world.client("a", 1);
    world.allocate(&mut client).expect("allocated");
    for forbidden in [
        "127.0.0.1:22",
        "10.0.0.5:80",
        "192.168.1.1:443",
        "203.0.113.10:3478",
    ] {
        assert_eq!(
            world.permit(&mut client, peer(forbidden)),
            Err(403),
            "{forbidden}"
        );
    }
    world
        .permit(&mut client, peer("93.184.216.34:6000"))
        .expect("a public peer");
}

#[test]
fn channel_data_reaches_a_bound_permitted_peer_until_its_permission_lapses() {
    let mut world = World::new();
    let mut client = world.client("a", 1);
    let relayed = world.allocate(&mut client).expect("allocated");
    let family = peer("93.184.216.34:6000");
    world
        .bind_channel(&mut client, 0x4001, family)
        .expect("bound");
    let frame = super::answer::channel_frame(0x4001, b"hello", false);
    let reply = world.send(&client, &frame);
    assert!(
        reply.valid,
        "ChannelData on a bound channel keeps a connection"
    );
    match reply.effect {
        Some(Effect::ToPeer {
            port,
            peer,
            payload: Cow::Borrowed(payload),
        }) => {
            assert_eq!(
                (port, peer, payload),
                (relayed.port(), family, &b"hello"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    // An unbound channel number goes nowhere and keeps nothing open.
    let stray = super::answer::channel_frame(0x4002, b"hello", false);
    let reply = world.send(&client, &stray);
    assert!(reply.effect.is_none() && !reply.valid);
    // Five minutes on, the permission (which the channel binding made) has lapsed.
    world.pass(Duration::from_secs(301));
    let reply = world.send(&client, &frame);
    assert!(reply.effect.is_none(), "no longer relayed");
}

#[test]
fn a_peer_s_packet_reaches_the_client_on_its_channel_or_as_a_data_indication() {
    let world = World::new();
    let mut client = world.client("a", 1);
    let relayed = world.allocate(&mut client).expect("allocated");
    let (bound, unbound) = (peer("93.184.216.34:6000"), peer("93.184.216.35:6000"));
    world
        .bind_channel(&mut client, 0x4001, bound)
        .expect("bound");
    world.permit(&mut client, unbound).expect("permitted");
    let Delivery {
        client: to,
        frame,
        bytes,
    } = world
        .relay
        .from_peer(relayed.port(), bound, b"video", world.now)
        .expect("delivered");
    assert_eq!((to, bytes), (client.five, 5));
    assert_eq!(frame, super::answer::channel_frame(0x4001, b"video", false));
    let indication = world
        .relay
        .from_peer(relayed.port(), unbound, b"audio", world.now)
        .expect("delivered");
    let msg = Message::from_bytes(&indication.frame).expect("a Data indication");
    assert_eq!(msg.class(), MessageClass::Indication);
    assert!(
        world
            .relay
            .from_peer(relayed.port(), peer("93.184.216.36:1"), b"x", world.now)
            .is_none(),
        "an unpermitted peer is dropped"
    );
}

#[test]
fn two_of_the_relay_s_own_allocations_reach_each_other_inside_the_process() {
    let world = World::new();
    let (mut family, mut ward) = (world.client("family", 1), world.client("ward", 2));
    let family_relayed = world.allocate(&mut family).expect("family");
    let ward_relayed = world.allocate(&mut ward).expect("ward");
    world
        .bind_channel(&mut family, 0x4001, ward_relayed)
        .expect("own address permitted");
    world.permit(&mut ward, family_relayed).expect("and back");
    let frame = super::answer::channel_frame(0x4001, b"hi", false);
    let reply = world.send(&family, &frame);
    match reply.effect {
        Some(Effect::ToClient(Delivery { client, bytes, .. })) => {
            assert_eq!((client, bytes), (ward.five, 2));
        }
        other => panic!("never sent out of the process: {other:?}"),
    }
}

#[test]
fn an_allocation_relays_no_more_than_its_bandwidth_a_second() {
    let mut world = World::with(|s| s.bandwidth = 1000);
    let mut client = world.client("a", 1);
    world.allocate(&mut client).expect("allocated");
    let family = peer("93.184.216.34:6000");
    world
        .bind_channel(&mut client, 0x4001, family)
        .expect("bound");
    let frame = super::answer::channel_frame(0x4001, &[0; 100], false);
    let sent = (0..40)
        .filter(|_| world.send(&client, &frame).effect.is_some())
        .count();
    assert_eq!(sent, 10, "a second's worth");
    world.pass(Duration::from_secs(1));
    assert!(
        world.send(&client, &frame).effect.is_some(),
        "and more a second later"
    );
}

#[test]
fn an_allocation_ends_with_its_lifetime_and_refresh_zero_ends_it_at_once() {
    let mut world = World::new();
    let mut client = world.client("a", 1);
    let relayed = world.allocate(&mut client).expect("allocated");
    world.pass(Duration::from_secs(599));
    assert!(
        world.relay.sweep(world.now).is_empty(),
        "alive for its 600 s"
    );
    world.pass(Duration::from_secs(2));
    assert_eq!(world.relay.sweep(world.now), vec![relayed.port()]);
    assert_eq!(world.relay.allocations(), 0);

    let mut again = world.client("a", 2);
    let relayed = world.allocate(&mut again).expect("allocated");
    let reply = world
        .ask(&mut again, REFRESH, &|m, _| {
            m.add_attribute(&Lifetime::new(0)).expect("add");
        })
        .expect("deleted");
    assert!(matches!(reply.effect, Some(Effect::Close { port }) if port == relayed.port()));
    assert_eq!(world.relay.allocations(), 0);
}

#[test]
fn a_revoked_credential_is_refused_and_its_allocation_closes_at_the_next_sweep() {
    let world = World::new();
    let mut client = world.client("guest-1", 1);
    let relayed = world.allocate(&mut client).expect("allocated");
    world.ledger.issue("guest-1", UNIX + 3600, UNIX);
    world.ledger.revoke("guest-1");
    assert_eq!(world.ask(&mut client, REFRESH, &|_, _| {}).err(), Some(401));
    assert_eq!(world.relay.sweep(world.now), vec![relayed.port()]);
    assert_eq!(world.allocate(&mut world.client("guest-1", 2)), Err(401));
    world
        .allocate(&mut world.client("guest-2", 3))
        .expect("others are untouched");
}

#[test]
fn a_credential_made_for_longer_than_a_day_is_refused_even_with_the_right_key() {
    let world = World::new();
    let mut ten_years = world.client_until("thief", 1, 10 * 365 * 86_400);
    assert_eq!(world.allocate(&mut ten_years), Err(401));
    let mut a_day = world.client_until("guest", 2, 86_000);
    world.allocate(&mut a_day).expect("a day is fine");
}

#[test]
fn yesterday_s_key_is_still_accepted_and_an_expired_credential_is_not() {
    let world = World::new();
    let expiry = DateTime::<Utc>::from_timestamp(UNIX as i64 + 600, 0).expect("time");
    let yesterday = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [6u8; 32]);
    let (user, pass) = crate::turn::rest_credential(&yesterday, "tablet", expiry);
    world
        .allocate(&mut Client::new(1, user, pass))
        .expect("made before midnight");
    let mut expired = world.client_until("tablet", 2, -1);
    assert_eq!(world.allocate(&mut expired), Err(401));
}

#[test]
fn unsigned_answers_to_one_source_stop_at_its_allowance() {
    let mut world = World::new();
    let client = world.client("anyone", 1);
    let answered = (0..200)
        .filter(|_| {
            let binding = client.request(BINDING, &|_, _| {});
            world.send(&client, &binding).answer.is_some()
        })
        .count();
    assert_eq!(answered, 64, "a second's allowance, then silence");
    world.pass(Duration::from_secs(1));
    let binding = client.request(BINDING, &|_, _| {});
    assert!(
        world.send(&client, &binding).answer.is_some(),
        "and again later"
    );
    let _ = world.start;
}

#[test]
fn bytes_that_are_not_turn_are_dropped_and_counted() {
    let world = World::new();
    let client = world.client("anyone", 1);
    let junk = [0x00, 0x01, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
    let reply = world.send(&client, &junk);
    assert!(reply.answer.is_none() && reply.effect.is_none() && !reply.valid);
    assert!(world.send(&client, &[]).answer.is_none());
}
