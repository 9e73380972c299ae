//! The relay's sockets: UDP and TCP on `--turn-listen` (3478), TLS on `--turns-listen`,
//! and TLS streams handed over by the HTTPS listener (`turns:` on port 443, see
//! `server.rs`). Everything here is I/O; what to answer is [`Relay`]'s business.
//!
//! Stream clients keep the same discipline as web clients (`net.rs`): all TCP and TLS
//! relay connections, the HTTPS port's included, share one [`Admission`] (one address
//! holds at most a quarter of it); the first signed request is due
//! [`crate::net::FIRST_MESSAGE`] after the connection was accepted, and afterwards only
//! valid messages (a signed request, ChannelData on a bound channel, data to a
//! permitted peer) keep a connection open: bytes that are not, however often they
//! come, do not.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::relay::{ClientLink, FiveTuple, Relay, Transport};
use crate::metrics::Refusals;
use crate::net::{Admission, Deadline};

/// A TCP or TLS client that sends nothing valid this long is gone (browsers send
/// consent checks through the relay every few seconds while a call runs).
const STREAM_IDLE: Duration = Duration::from_secs(60);
/// TCP and TLS relay clients at once, on the relay's own ports and on the HTTPS port.
const MAX_STREAMS: usize = 2048;

/// Socket buffers of the relay's UDP listener: every client's packets pass through it,
/// and the kernel's default (about 200 KiB) overflows under a burst of a few hundred
/// calls, dropping packets the relay never sees.
const LISTENER_BUFFER: usize = 4 << 20;

/// Asks for larger socket buffers (the kernel caps them at `net.core.rmem_max` and
/// `wmem_max`; smaller ones still work, they only drop sooner under bursts).
pub fn roomy_buffers(socket: &UdpSocket, bytes: usize) {
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

/// The relay's stream clients (TCP and TLS, wherever they connected): one admission,
/// one deadline rule.
#[derive(Debug, Clone)]
pub struct Streams {
    relay: Arc<Relay>,
    admission: Arc<Admission>,
    refusals: Refusals,
}

impl Streams {
    pub fn new(relay: Arc<Relay>, refusals: Refusals) -> Self {
        Self {
            relay,
            admission: Admission::new(MAX_STREAMS),
            refusals,
        }
    }

    /// A TLS stream the HTTPS listener found to carry TURN: served here if its address
    /// has room among the relay's streams, else closed.
    pub async fn take_over<S>(&self, stream: S, five: FiveTuple, already: &[u8], accepted: Instant)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let Ok(_permit) = self.admission.admit(five.client.ip()) else {
            return;
        };
        serve_stream(self.relay.clone(), stream, five, already, accepted).await;
    }
}

/// Whether a connection carries TURN rather than HTTP: its ALPN says so (RFC 7443), or
/// its first byte starts a STUN message (the two top bits of a STUN header are zero;
/// an HTTP request starts with a letter; a TURN client's first message is a request). The one place this is
/// decided, for the HTTPS port and for the relay's own TLS port alike.
pub fn is_turn(alpn: Option<&[u8]>, first: &[u8]) -> bool {
    alpn == Some(crate::tls::TURN_ALPN) || first.first().is_some_and(|&b| b < 0x40)
}

/// Runs the relay on its sockets until `stop` turns true; then ends every allocation.
pub async fn run(
    streams: Streams,
    listeners: Listeners,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let relay = streams.relay.clone();
    let mut tasks = JoinSet::new();
    let server = listeners.udp.local_addr().ok();
    // Two readers on one socket keep both cores busy under load.
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if let Some(server) = server {
        for _ in 0..readers {
            tasks.spawn(read_udp(relay.clone(), listeners.udp.clone(), server));
        }
    }
    tasks.spawn(accept(streams.clone(), listeners.tcp, None));
    if let (Some(listener), Some(tls)) = (listeners.turns, tls) {
        tasks.spawn(accept(streams, listener, Some(tls)));
    }
    tasks.spawn({
        let relay = relay.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                relay.sweep();
            }
        }
    });
    let _ = stop.wait_for(|stopped| *stopped).await;
    tasks.abort_all();
    relay.close_all();
}

async fn read_udp(relay: Arc<Relay>, socket: Arc<UdpSocket>, server: SocketAddr) {
    let link = ClientLink::Udp(socket.clone());
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
        if let Some(answer) = relay.from_client(five, &link, &buf[..n]).answer {
            let _ = socket.send_to(&answer, client).await;
        }
    }
}

async fn accept(streams: Streams, listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let Ok((stream, client)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let accepted = Instant::now();
        // Over the address's share or the listener's capacity: closed at once.
        let Ok(permit) = streams.admission.admit(client.ip()) else {
            streams.refusals.note("relay_connection_cap");
            continue;
        };
        let Ok(server) = stream.local_addr() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let relay = streams.relay.clone();
        let refusals = streams.refusals.clone();
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
                    serve_stream(relay, stream, five, &[], accepted).await;
                }
                Some(acceptor) => {
                    let handshake = tokio::time::timeout_at(
                        accepted + crate::net::FIRST_MESSAGE,
                        acceptor.accept(stream),
                    );
                    let Ok(Ok(stream)) = handshake.await else {
                        refusals.note("tls_handshake");
                        return;
                    };
                    let five = FiveTuple {
                        transport: Transport::Tls,
                        client,
                        server,
                    };
                    serve_stream(relay, stream, five, &[], accepted).await;
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

/// A TURN client on a TCP or TLS stream, until it closes, misses its deadline or sends
/// something that is not TURN; its allocation ends with it. `already` is what was read
/// before the stream was known to be TURN; `accepted` when the connection was.
async fn serve_stream<S>(
    relay: Arc<Relay>,
    stream: S,
    five: FiveTuple,
    already: &[u8],
    accepted: Instant,
) where
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
    let link = ClientLink::Stream(tx.clone());
    let mut deadline = Deadline::from_accept(accepted, STREAM_IDLE);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    buf.extend_from_slice(already);
    'read: loop {
        loop {
            match frame_len(&buf) {
                Frame::Len(len) if buf.len() >= len => {
                    let frame = buf.split_to(len);
                    let reply = relay.from_client(five, &link, &frame);
                    if reply.valid {
                        deadline.valid_message(Instant::now());
                    }
                    if let Some(answer) = reply.answer
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
    relay.client_gone(five);
    drop((link, tx));
    // Answers already queued go out; then the writer ends with the last sender.
    let _ = tokio::time::timeout(Duration::from_secs(2), writing).await;
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
