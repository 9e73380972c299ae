//! The rules every listening socket keeps, whatever it carries (HTTP, HTTPS, TURN over
//! TCP or TLS): how many connections it holds, how many of them one address may hold,
//! and how long a connection may stay without sending anything useful.
//!
//! Why one place: the first relay listeners were written with their own cap and a
//! 60 s idle timer that any single byte reset, so forty connections trickling a byte
//! every 20 s kept the HTTPS port full for as long as they liked, and one address
//! could fill the relay's TCP port for everyone. Here
//! - [`Admission`] counts a listener's connections, in total and per source address
//!   (IPv6 per /64, since one host there holds a whole /64), so one address never
//!   takes more than its share of a listener;
//! - [`Deadline`] is a connection's clock: the first complete message must arrive
//!   within [`FIRST_MESSAGE`], and afterwards only complete, *valid* messages push it
//!   forward — a byte every few seconds buys nothing;
//! - [`Held`] is an accepted stream as a listener holds it: with its permit, and with
//!   the first bytes read to tell TURN from HTTP given back to the next reader.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::Instant;

/// Time from accepting a connection to its first complete message (a request head, a
/// signed TURN request), TLS handshake included.
pub const FIRST_MESSAGE: Duration = Duration::from_secs(15);

/// Connections the kernel may hold for us before we accept them. The standard
/// library's 128 overflowed when hundreds of tablets reconnected at once after a
/// restart (their handshakes were dropped, and they waited for retransmissions).
const ACCEPT_BACKLOG: u32 = 4096;

/// Binds a listening socket with a backlog fit for a herd of reconnecting devices.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted server must get its port back while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Raises this process's open-file limit to what the OS allows, and returns the
/// connection cap that fits under it (a few files stay for the database and logs).
pub fn fit_to_open_file_limit(wanted: usize) -> usize {
    const RESERVED: u64 = 64;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit > RESERVED => {
            let fits = usize::try_from(limit - RESERVED).unwrap_or(usize::MAX);
            if fits < wanted {
                tracing::warn!(
                    open_files = limit,
                    max_connections = fits,
                    "the open-file limit allows fewer connections than configured"
                );
            }
            wanted.min(fits)
        }
        Ok(_) | Err(_) => wanted,
    }
}

/// The part of an address that counts as one source: an IPv4 address, or an IPv6
/// address's /64 (IPv4-mapped IPv6 addresses count as their IPv4 address).
pub fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::V6(octets.into())
            }
        },
    }
}

/// One listener's connection count, in total and per source.
///
/// Each source may hold a quarter of the listener (at least one connection): a care
/// home's whole ward behind one address stays far below it, while one address can no
/// longer shut everyone else out.
#[derive(Debug)]
pub struct Admission {
    capacity: usize,
    per_source: usize,
    held: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener is full.
    Full,
    /// This source holds its share already.
    SourceShare,
}

impl Admission {
    /// The share one source may hold of a listener of `capacity` connections.
    pub const SHARE_DIVISOR: usize = 4;

    pub fn new(capacity: usize) -> Arc<Self> {
        let capacity = capacity.max(1);
        Arc::new(Self {
            capacity,
            per_source: (capacity / Self::SHARE_DIVISOR).max(1),
            held: Mutex::new(Counts::default()),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a connection from `peer`, held until the [`Permit`] is dropped.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Refused> {
        let source = source_of(peer);
        let mut held = self.held();
        if held.total >= self.capacity {
            return Err(Refused::Full);
        }
        let mine = held.by_source.entry(source).or_default();
        if *mine >= self.per_source {
            return Err(Refused::SourceShare);
        }
        *mine += 1;
        held.total += 1;
        Ok(Permit {
            admission: self.clone(),
            source,
        })
    }

    /// Connections held now.
    pub fn held_now(&self) -> usize {
        self.held().total
    }
}

/// A connection's place in its listener; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    source: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.admission.held();
        held.total = held.total.saturating_sub(1);
        if let Some(mine) = held.by_source.get_mut(&self.source) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                held.by_source.remove(&self.source);
            }
        }
    }
}

/// A connection's clock: when it is closed unless something valid arrives first.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    idle: Duration,
}

impl Deadline {
    /// Started when the connection was accepted: the first message is due within
    /// [`FIRST_MESSAGE`]; each valid one then gives `idle` more.
    pub fn from_accept(accepted: Instant, idle: Duration) -> Self {
        Self {
            at: accepted + FIRST_MESSAGE,
            idle,
        }
    }

    /// A complete, valid message arrived at `now`.
    pub fn valid_message(&mut self, now: Instant) {
        self.at = self.at.max(now + self.idle);
    }

    pub fn at(&self) -> Instant {
        self.at
    }
}

/// A connection's stream as the server holds it: the permit it counts against (given
/// back when the stream is dropped, so also when an upgraded WebSocket ends) and the
/// first bytes already read from it to tell TURN from HTTP, given back before the rest.
pub struct Held<S> {
    io: S,
    permit: Option<Permit>,
    first: Vec<u8>,
}

impl<S> Held<S> {
    /// A freshly accepted stream, counted against `permit`.
    pub fn counted(io: S, permit: Permit) -> Self {
        Self {
            io,
            permit: Some(permit),
            first: Vec::new(),
        }
    }

    /// The connection stops counting against this listener (the relay took it and
    /// counts it against its own).
    pub fn release(&mut self) {
        self.permit = None;
    }

    /// A stream whose `first` bytes were read, given back to the next reader.
    pub fn rewound(io: S, first: &[u8]) -> Self {
        Self {
            io,
            permit: None,
            first: first.to_vec(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Held<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.first.is_empty() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn one_source_holds_at_most_a_quarter_of_a_listener() {
        let admission = Admission::new(8);
        let mine: Vec<Permit> = (0..2)
            .map(|_| admission.admit(ip("192.0.2.1")).expect("within the share"))
            .collect();
        assert_eq!(
            admission.admit(ip("192.0.2.1")).err(),
            Some(Refused::SourceShare)
        );
        assert!(admission.admit(ip("192.0.2.2")).is_ok(), "another address");
        drop(mine);
        assert!(
            admission.admit(ip("192.0.2.1")).is_ok(),
            "given back on drop"
        );
    }

    #[test]
    fn a_full_listener_admits_nobody() {
        let admission = Admission::new(4);
        let _held: Vec<Permit> = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
            .iter()
            .map(|a| admission.admit(ip(a)).expect("room"))
            .collect();
        assert_eq!(admission.admit(ip("192.0.2.5")).err(), Some(Refused::Full));
        assert_eq!(admission.held_now(), 4);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source_and_mapped_ipv4_is_its_ipv4() {
        assert_eq!(
            source_of(ip("2001:db8:1:2:aaaa::1")),
            source_of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            source_of(ip("2001:db8:1:2::1")),
            source_of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(source_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn only_valid_messages_move_the_deadline() {
        let start = Instant::now();
        let mut deadline = Deadline::from_accept(start, Duration::from_secs(60));
        assert_eq!(deadline.at(), start + FIRST_MESSAGE);
        deadline.valid_message(start + Duration::from_secs(5));
        assert_eq!(deadline.at(), start + Duration::from_secs(65));
        // A later deadline is never pulled earlier.
        deadline.valid_message(start + Duration::from_secs(1));
        assert_eq!(deadline.at(), start + Duration::from_secs(65));
    }
}
