//! The relay's I/O: UDP and TCP on `--turn-listen` (3478), TLS on `--turns-listen`, TLS
//! streams the HTTPS listener finds to carry TURN (`turns:` on port 443), and one UDP
//! socket per allocation. Everything here carries bytes; what to answer and where each
//! packet goes is the core's business ([`Relay`], which does no I/O), and this module
//! carries out the [`Effect`]s it returns.
//!
//! Stream clients keep the same discipline as web clients (`net.rs`): all TCP and TLS
//! relay connections, the HTTPS port's included, share one [`Admission`] (one address
//! holds at most a quarter of it); the first signed request is due
//! [`crate::net::FIRST_MESSAGE`] after the connection was accepted, and afterwards only
//! valid messages (a signed request, ChannelData on a bound channel, data to a
//! permitted peer) keep a connection open: bytes that are not, however often they
//! come, do not.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::relay::{Delivery, Effect, FiveTuple, Now, Pending, Relay, Reply, Transport};
use crate::clock::Clock;
use crate::metrics::Refusals;
use crate::net::{Admission, Deadline, Held};

/// A TCP or TLS client that sends nothing valid this long is gone (browsers send
/// consent checks through the relay every few seconds while a call runs).
const STREAM_IDLE: Duration = Duration::from_secs(60);
/// TCP and TLS relay clients at once, on the relay's own ports and on the HTTPS port.
const MAX_STREAMS: usize = 2048;

/// Socket buffers of the relay's UDP listener: every client's packets pass through it,
/// and the kernel's default (about 200 KiB) overflows under a burst of a few hundred
/// calls, dropping packets the relay never sees.
const LISTENER_BUFFER: usize = 4 << 20;
/// Socket buffers of one allocation: a call's burst (a video key frame) fits.
const ALLOCATION_BUFFER: usize = 1 << 20;
/// The largest datagram relayed from a peer: media datagrams fit a path MTU, and a
/// small buffer keeps thousands of allocations cheap (a larger datagram is cut short,
/// as on a path that could not carry it).
const PEER_DATAGRAM: usize = 4096;

/// Asks for larger socket buffers (the kernel caps them at `net.core.rmem_max` and
/// `wmem_max`; smaller ones still work, they only drop sooner under bursts).
fn roomy_buffers(socket: &UdpSocket, bytes: usize) {
    let socket = socket2::SockRef::from(socket);
    let _ = socket.set_recv_buffer_size(bytes);
    let _ = socket.set_send_buffer_size(bytes);
}

/// The relay's bound sockets.
#[derive(Debug)]
pub struct Listeners {
    pub udp: Arc<UdpSocket>,
    pub tcp: TcpListener,
    pub turns: Option<TcpListener>,
}

impl Listeners {
    /// UDP and TCP on the same port (with port 0, the first port free for both), and
    /// the separate TLS port if asked for.
    pub async fn bind(listen: SocketAddr, turns: Option<SocketAddr>) -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..20 {
            let udp = UdpSocket::bind(listen).await?;
            roomy_buffers(&udp, LISTENER_BUFFER);
            let port = udp.local_addr()?.port();
            match crate::net::listen(SocketAddr::new(listen.ip(), port)) {
                Ok(tcp) => {
                    let turns = turns.map(crate::net::listen).transpose()?;
                    return Ok(Self {
                        udp: Arc::new(udp),
                        tcp,
                        turns,
                    });
                }
                // Port 0 gave a UDP port whose TCP twin is taken: try another.
                Err(e) if listen.port() == 0 => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no port free for UDP and TCP")))
    }

    /// The UDP/TCP address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    pub fn turns_addr(&self) -> Option<SocketAddr> {
        self.turns.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// The relay with its sockets: a cheap handle, shared by the listener tasks, the
/// allocations' readers and the HTTPS port.
#[derive(Debug, Clone)]
pub struct RelayIo {
    inner: Arc<Inner>,
}

struct Inner {
    relay: Arc<Relay>,
    clock: Arc<dyn Clock>,
    /// The UDP listener: UDP clients are written to from it.
    udp: Arc<UdpSocket>,
    /// Each allocation's socket, by relayed port, and its reader task.
    allocations: RwLock<HashMap<u16, (Arc<UdpSocket>, AbortHandle)>>,
    /// The writers of TCP and TLS clients (bounded: when one is full, media packets
    /// are dropped, as on any congested path).
    streams: RwLock<HashMap<FiveTuple, mpsc::Sender<Bytes>>>,
    admission: Arc<Admission>,
    refusals: Refusals,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayIo")
            .field("relay", &self.relay)
            .finish()
    }
}

/// Whether a connection carries TURN rather than HTTP: its ALPN says so (RFC 7443), or
/// its first byte starts a STUN message (the two top bits of a STUN header are zero;
/// an HTTP request starts with a letter; a TURN client's first message is a request).
/// The one place this is decided.
pub fn is_turn(alpn: Option<&[u8]>, first: &[u8]) -> bool {
    alpn == Some(crate::tls::TURN_ALPN) || first.first().is_some_and(|&b| b < 0x40)
}

impl RelayIo {
    pub fn new(
        relay: Arc<Relay>,
        clock: Arc<dyn Clock>,
        udp: Arc<UdpSocket>,
        refusals: Refusals,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                relay,
                clock,
                udp,
                allocations: RwLock::default(),
                streams: RwLock::default(),
                admission: Admission::new(MAX_STREAMS),
                refusals,
            }),
        }
    }

    fn now(&self) -> Now {
        Now {
            at: std::time::Instant::now(),
            unix: u64::try_from(self.inner.clock.now().timestamp()).unwrap_or(0),
        }
    }

    fn relay(&self) -> &Relay {
        &self.inner.relay
    }

    /// One message from a client: carries out the core's effect; the answer to write
    /// back, and whether the message was valid.
    fn handle_client(&self, five: FiveTuple, data: &[u8]) -> (Option<Vec<u8>>, bool) {
        let Reply {
            mut answer,
            effect,
            valid,
        } = self.relay().from_client(five, data, self.now());
        match effect {
            None => {}
            Some(Effect::Bind(pending)) => answer = Some(self.bind(*pending)),
            Some(Effect::ToPeer {
                port,
                peer,
                payload,
            }) => {
                // Sent under the read lock: a non-blocking send, and no clone per packet.
                let allocations = self
                    .inner
                    .allocations
                    .read()
                    .unwrap_or_else(|e| e.into_inner());
                let sent = allocations
                    .get(&port)
                    .is_some_and(|(socket, _)| socket.try_send_to(&payload, peer).is_ok());
                drop(allocations);
                if sent {
                    self.relay().counters().relayed(
                        five.transport.as_str(),
                        "to_peer",
                        payload.len(),
                    );
                }
            }
            Some(Effect::ToClient(delivery)) => self.deliver(delivery),
            Some(Effect::Close { port }) => self.close(port),
        }
        (answer, valid)
    }

    /// A UDP socket on the first port that binds for `pending`; the answer for the
    /// client.
    fn bind(&self, pending: Pending) -> Vec<u8> {
        let ip = self.relay().bind_ip();
        for port in self.relay().candidate_ports(pending.even) {
            let Some(socket) = bind_udp(SocketAddr::new(ip, port)) else {
                // Taken by another program: the next one.
                continue;
            };
            let bound = self.relay().bound(pending, port, self.now());
            if bound.keep {
                let socket = Arc::new(socket);
                let reader = tokio::spawn(self.clone().read_peers(port, socket.clone()));
                self.inner
                    .allocations
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(port, (socket, reader.abort_handle()));
            }
            return bound.answer;
        }
        self.relay().unbound(pending)
    }

    /// Closes the socket of an allocation that ended.
    fn close(&self, port: u16) {
        let removed = self
            .inner
            .allocations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&port);
        if let Some((_, reader)) = removed {
            reader.abort();
        }
    }

    /// A frame for a client, over the transport it came by.
    fn deliver(&self, delivery: Delivery) {
        let Delivery {
            client,
            frame,
            bytes,
        } = delivery;
        let sent = match client.transport {
            Transport::Udp => self.inner.udp.try_send_to(&frame, client.client).is_ok(),
            Transport::Tcp | Transport::Tls => self
                .inner
                .streams
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&client)
                .is_some_and(|tx| tx.try_send(Bytes::from(frame)).is_ok()),
        };
        if sent {
            self.relay()
                .counters()
                .relayed(client.transport.as_str(), "to_client", bytes);
        }
    }

    /// Reads what peers send to one allocation's socket, until the allocation ends.
    async fn read_peers(self, port: u16, socket: Arc<UdpSocket>) {
        let mut buf = vec![0u8; PEER_DATAGRAM];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                // ICMP errors surface here as failed reads on some systems; keep reading.
                tokio::task::yield_now().await;
                continue;
            };
            if let Some(delivery) = self.relay().from_peer(port, from, &buf[..n], self.now()) {
                self.deliver(delivery);
            }
        }
    }

    /// Ends expired and revoked allocations; called every second.
    fn sweep(&self) {
        for port in self.relay().sweep(self.now()) {
            self.close(port);
        }
    }

    /// Ends every allocation (the server is stopping).
    fn close_all(&self) {
        for port in self.relay().close_all() {
            self.close(port);
        }
    }

    /// A TLS connection the HTTPS listener accepted (`accepted` when): served here if
    /// it carries TURN — after the web's permit is given back and the relay's own is
    /// taken — or given back (with the bytes read to tell) for HTTP.
    pub async fn serve_if_turn(
        &self,
        mut tls: tokio_rustls::server::TlsStream<Held<TcpStream>>,
        client: SocketAddr,
        server: SocketAddr,
        accepted: Instant,
    ) -> Option<Held<tokio_rustls::server::TlsStream<Held<TcpStream>>>> {
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let mut first = Vec::new();
        if !is_turn(alpn.as_deref(), &first) {
            let mut buf = [0u8; 512];
            let read = tls.read(&mut buf);
            match tokio::time::timeout_at(accepted + crate::net::FIRST_MESSAGE, read).await {
                Ok(Ok(n)) if n > 0 => first.extend_from_slice(&buf[..n]),
                _ => return None,
            }
        }
        if !is_turn(alpn.as_deref(), &first) {
            return Some(Held::rewound(tls, &first));
        }
        // The relay counts it against its own listeners' share, not the web's.
        tls.get_mut().0.release();
        let Ok(_permit) = self.inner.admission.admit(client.ip()) else {
            self.inner.refusals.note("relay_connection_cap");
            return None;
        };
        let five = FiveTuple {
            transport: Transport::Tls,
            client,
            server,
        };
        self.serve_stream(tls, five, &first, accepted).await;
        None
    }

    /// A TURN client on a TCP or TLS stream, until it closes, misses its deadline or
    /// sends something that is not TURN; its allocation ends with it. `already` is what
    /// was read before the stream was known to be TURN.
    async fn serve_stream<S>(&self, stream: S, five: FiveTuple, already: &[u8], accepted: Instant)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::channel::<Bytes>(1024);
        let writing = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        self.inner
            .streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(five, tx.clone());
        let mut deadline = Deadline::from_accept(accepted, STREAM_IDLE);
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(already);
        'read: loop {
            loop {
                match frame_len(&buf) {
                    Frame::Len(len) if buf.len() >= len => {
                        let frame = buf.split_to(len);
                        let (answer, valid) = self.handle_client(five, &frame);
                        if valid {
                            deadline.valid_message(Instant::now());
                        }
                        if let Some(answer) = answer
                            && tx.send(Bytes::from(answer)).await.is_err()
                        {
                            break 'read;
                        }
                    }
                    Frame::Len(_) | Frame::Incomplete => break,
                    Frame::NotTurn => break 'read,
                }
            }
            match tokio::time::timeout_at(deadline.at(), reader.read_buf(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => break,
            }
        }
        self.inner
            .streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&five);
        if let Some(port) = self.relay().client_gone(five) {
            self.close(port);
        }
        drop(tx);
        // Answers already queued go out; then the writer ends with the last sender.
        let _ = tokio::time::timeout(Duration::from_secs(2), writing).await;
    }
}

/// A nonblocking UDP socket on `addr`, with room for a call's bursts.
fn bind_udp(addr: SocketAddr) -> Option<UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr).ok()?;
    socket.set_nonblocking(true).ok()?;
    let socket = UdpSocket::from_std(socket).ok()?;
    roomy_buffers(&socket, ALLOCATION_BUFFER);
    Some(socket)
}

/// Runs the relay on its sockets until `stop` turns true; then ends every allocation.
pub async fn run(
    io: RelayIo,
    listeners: Listeners,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    let server = listeners.udp.local_addr().ok();
    // Two readers on one socket keep both cores busy under load.
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if let Some(server) = server {
        for _ in 0..readers {
            tasks.spawn(read_udp(io.clone(), listeners.udp.clone(), server));
        }
    }
    tasks.spawn(accept(io.clone(), listeners.tcp, None));
    if let (Some(listener), Some(tls)) = (listeners.turns, tls) {
        tasks.spawn(accept(io.clone(), listener, Some(tls)));
    }
    tasks.spawn({
        let io = io.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                io.sweep();
            }
        }
    });
    let _ = stop.wait_for(|stopped| *stopped).await;
    tasks.abort_all();
    io.close_all();
}

async fn read_udp(io: RelayIo, socket: Arc<UdpSocket>, server: SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf).await else {
            // A previous send's ICMP error (port unreachable) surfaces as a failed read.
            continue;
        };
        let five = FiveTuple {
            transport: Transport::Udp,
            client,
            server,
        };
        if let (Some(answer), _) = io.handle_client(five, &buf[..n]) {
            let _ = socket.send_to(&answer, client).await;
        }
    }
}

async fn accept(io: RelayIo, listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let Ok((stream, client)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let accepted = Instant::now();
        // Over the address's share or the listener's capacity: closed at once.
        let Ok(permit) = io.inner.admission.admit(client.ip()) else {
            io.inner.refusals.note("relay_connection_cap");
            continue;
        };
        let Ok(server) = stream.local_addr() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = io.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => {
                    let five = FiveTuple {
                        transport: Transport::Tcp,
                        client,
                        server,
                    };
                    io.serve_stream(stream, five, &[], accepted).await;
                }
                Some(acceptor) => {
                    let handshake = tokio::time::timeout_at(
                        accepted + crate::net::FIRST_MESSAGE,
                        acceptor.accept(stream),
                    );
                    let Ok(Ok(stream)) = handshake.await else {
                        io.inner.refusals.note("tls_handshake");
                        return;
                    };
                    let five = FiveTuple {
                        transport: Transport::Tls,
                        client,
                        server,
                    };
                    io.serve_stream(stream, five, &[], accepted).await;
                }
            }
        });
    }
}

/// What starts a TCP stream of STUN messages and ChannelData.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A frame this long (RFC 8656 §12.5: ChannelData is padded to four bytes there).
    Len(usize),
    /// More bytes are needed to tell.
    Incomplete,
    /// Not TURN.
    NotTurn,
}

pub fn frame_len(buf: &[u8]) -> Frame {
    if buf.len() < 4 {
        return Frame::Incomplete;
    }
    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    match buf[0] {
        0x00..=0x3f => {
            if buf.len() >= 8 && buf[4..8] != [0x21, 0x12, 0xa4, 0x42] {
                return Frame::NotTurn;
            }
            Frame::Len(20 + length)
        }
        // ChannelData (see allocation::CHANNELS for the numbers accepted).
        0x40..=0x7f => Frame::Len(4 + length.next_multiple_of(4)),
        _ => Frame::NotTurn,
    }
}

#[cfg(test)]
mod tests {
    use super::{Frame, frame_len, is_turn};

    #[test]
    fn turn_is_told_from_http_by_alpn_or_first_byte() {
        assert!(is_turn(Some(b"stun.turn"), b""));
        assert!(is_turn(None, &[0x00, 0x03]), "a STUN request");
        assert!(
            is_turn(Some(b"http/1.1"), &[0x01, 0x01]),
            "whatever ALPN says"
        );
        assert!(!is_turn(None, b"GET / HTTP/1.1"));
        assert!(!is_turn(Some(b"http/1.1"), b"POST"));
        assert!(!is_turn(None, b""), "nothing read yet is not TURN");
    }

    #[test]
    fn stream_frames_are_stun_or_padded_channel_data() {
        let stun = [0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42];
        assert_eq!(frame_len(&stun), Frame::Len(28));
        assert_eq!(frame_len(&[0x40, 0x00, 0x00, 0x05]), Frame::Len(12));
        assert_eq!(frame_len(&[0x40, 0x00]), Frame::Incomplete);
        assert_eq!(frame_len(&[0xc0, 0, 0, 0]), Frame::NotTurn);
        assert_eq!(frame_len(&[0x80, 0, 0, 0]), Frame::NotTurn);
        assert_eq!(
            frame_len(&[0x00, 0x01, 0x00, 0x08, 1, 2, 3, 4]),
            Frame::NotTurn,
            "no magic cookie"
        );
    }
}
