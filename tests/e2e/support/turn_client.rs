//! A small TURN client over real sockets (UDP, TCP or TLS), for the relay's tests and
//! `scripts/bench-turn`: it speaks the wire format through `turn-types`, the same codec
//! crate the relay uses, but none of the relay's own code.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn_types::attribute::{
    ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};
use turn_types::stun::attribute::{ErrorCode, Nonce, Realm, Username};
use turn_types::stun::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials,
    MessageWrite, MessageWriteExt, MessageWriteVec, Method, TransactionId,
};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Wire {
    Udp(UdpSocket, SocketAddr),
    Stream(Box<dyn Stream>, Vec<u8>),
}

/// What arrived from a peer through the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relayed {
    /// A Data indication: from whom, what.
    Indication(SocketAddr, Vec<u8>),
    /// ChannelData: which channel, what.
    Channel(u16, Vec<u8>),
}

/// One TURN client with one set of credentials.
pub struct TurnClient {
    wire: Wire,
    username: String,
    password: String,
    realm: Option<String>,
    nonce: Option<String>,
    /// Data and ChannelData that arrived while waiting for a response.
    pending: VecDeque<Vec<u8>>,
    /// The last request sent, for [`TurnClient::retransmit`].
    last: Vec<u8>,
}

/// Attributes a request adds before the credentials.
pub type Attrs<'a> = &'a dyn Fn(&mut MessageWriteVec, TransactionId);

const WAIT: Duration = Duration::from_secs(5);

impl TurnClient {
    pub async fn udp(server: SocketAddr, username: &str, password: &str) -> TurnClient {
        Self::udp_from([127, 0, 0, 1].into(), server, username, password).await
    }

    /// Over UDP from a chosen local address (another loopback address is another
    /// source to the relay).
    pub async fn udp_from(
        local: std::net::IpAddr,
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> TurnClient {
        let socket = UdpSocket::bind((local, 0)).await.expect("udp");
        Self::over(Wire::Udp(socket, server), username, password)
    }

    pub async fn tcp(server: SocketAddr, username: &str, password: &str) -> TurnClient {
        let stream = TcpStream::connect(server).await.expect("tcp");
        Self::over(
            Wire::Stream(Box::new(stream), Vec::new()),
            username,
            password,
        )
    }

    /// Over any byte stream, e.g. TLS to the HTTPS port.
    pub fn stream(
        stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
        username: &str,
        password: &str,
    ) -> TurnClient {
        Self::over(
            Wire::Stream(Box::new(stream), Vec::new()),
            username,
            password,
        )
    }

    fn over(wire: Wire, username: &str, password: &str) -> TurnClient {
        TurnClient {
            wire,
            username: username.to_owned(),
            password: password.to_owned(),
            realm: None,
            nonce: None,
            pending: VecDeque::new(),
            last: Vec::new(),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.wire {
            Wire::Udp(socket, server) => {
                socket.send_to(bytes, *server).await.expect("send");
            }
            Wire::Stream(stream, _) => stream.write_all(bytes).await.expect("write"),
        }
    }

    /// The next message or ChannelData frame, or `None` after [`WAIT`].
    async fn recv_raw(&mut self) -> Option<Vec<u8>> {
        match &mut self.wire {
            Wire::Udp(socket, _) => {
                let mut buf = vec![0u8; 65_536];
                let (n, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
                    .await
                    .ok()?
                    .ok()?;
                buf.truncate(n);
                Some(buf)
            }
            Wire::Stream(stream, buf) => loop {
                if buf.len() >= 4 {
                    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                    let total = if buf[0] < 0x40 {
                        20 + length
                    } else {
                        4 + length.next_multiple_of(4)
                    };
                    if buf.len() >= total {
                        return Some(buf.drain(..total).collect());
                    }
                }
                let mut chunk = [0u8; 16_384];
                let n = tokio::time::timeout(WAIT, stream.read(&mut chunk))
                    .await
                    .ok()?
                    .ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }

    /// A request with `attrs`, signed once the server has said its realm and nonce
    /// (the first 401 and any 438 are answered by retrying, as clients do); the
    /// success response, or the error code.
    pub async fn call(&mut self, method: Method, attrs: Attrs<'_>) -> Result<Vec<u8>, u16> {
        for _ in 0..3 {
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
            self.last = out.finish();
            let last = self.last.clone();
            self.send_raw(&last).await;
            let reply = self.response_to(transaction).await.ok_or(0u16)?;
            let msg = Message::from_bytes(&reply).expect("parsed");
            if msg.class() == MessageClass::Success {
                return Ok(reply);
            }
            let code = msg.attribute::<ErrorCode>().map_or(0, |e| e.code());
            let retry = (code == 401 && self.nonce.is_none()) || code == 438;
            if let (true, Ok(realm), Ok(nonce)) =
                (retry, msg.attribute::<Realm>(), msg.attribute::<Nonce>())
            {
                self.realm = Some(realm.realm().to_owned());
                self.nonce = Some(nonce.nonce().to_owned());
                continue;
            }
            return Err(code);
        }
        Err(0)
    }

    /// The response with this transaction id (what else arrives meanwhile is kept).
    async fn response_to(&mut self, transaction: TransactionId) -> Option<Vec<u8>> {
        loop {
            let bytes = self.recv_raw().await?;
            match Message::from_bytes(&bytes) {
                Ok(msg) if msg.transaction_id() == transaction => return Some(bytes),
                _ => self.pending.push_back(bytes),
            }
        }
    }

    /// Sends the last request again, as a client does when its answer was lost; the
    /// relayed address in the answer.
    pub async fn retransmit_allocate(&mut self) -> Option<SocketAddr> {
        let last = self.last.clone();
        let transaction = Message::from_bytes(&last).ok()?.transaction_id();
        self.send_raw(&last).await;
        let reply = self.response_to(transaction).await?;
        let msg = Message::from_bytes(&reply).ok()?;
        Some(msg.attribute::<XorRelayedAddress>().ok()?.addr(transaction))
    }

    /// An allocation for UDP relaying; its relayed address.
    pub async fn allocate(&mut self) -> Result<SocketAddr, u16> {
        let reply = self
            .call(ALLOCATE, &|m, _| {
                m.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                    .expect("add");
            })
            .await?;
        let msg = Message::from_bytes(&reply).expect("reply");
        Ok(msg
            .attribute::<XorRelayedAddress>()
            .expect("relayed address")
            .addr(msg.transaction_id()))
    }

    pub async fn refresh(&mut self, seconds: u32) -> Result<(), u16> {
        self.call(REFRESH, &|m, _| {
            m.add_attribute(&Lifetime::new(seconds)).expect("add");
        })
        .await
        .map(drop)
    }

    pub async fn permit(&mut self, peer: SocketAddr) -> Result<(), u16> {
        self.call(CREATE_PERMISSION, &|m, t| {
            m.add_attribute(&XorPeerAddress::new(peer, t)).expect("add");
        })
        .await
        .map(drop)
    }

    pub async fn bind_channel(&mut self, channel: u16, peer: SocketAddr) -> Result<(), u16> {
        self.call(CHANNEL_BIND, &|m, t| {
            m.add_attribute(&ChannelNumber::new(channel)).expect("add");
            m.add_attribute(&XorPeerAddress::new(peer, t)).expect("add");
        })
        .await
        .map(drop)
    }

    /// A Send indication to `peer`.
    pub async fn send_to(&mut self, peer: SocketAddr, data: &[u8]) {
        let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
        let transaction = out.transaction_id();
        out.add_attribute(&XorPeerAddress::new(peer, transaction))
            .expect("add");
        out.add_attribute(&Data::new(data)).expect("add");
        self.send_raw(&out.finish()).await;
    }

    /// ChannelData on `channel` (padded on streams, as RFC 8656 §12.5 asks).
    pub async fn send_on(&mut self, channel: u16, data: &[u8]) {
        let mut frame = vec![0u8; 4 + data.len()];
        ChannelData::new(channel, data).write_into_unchecked(&mut frame);
        if matches!(self.wire, Wire::Stream(..)) {
            frame.resize(frame.len().next_multiple_of(4), 0);
        }
        self.send_raw(&frame).await;
    }

    /// The next thing a peer sent, or `None` after a few seconds of nothing.
    pub async fn relayed(&mut self) -> Option<Relayed> {
        loop {
            let bytes = match self.pending.pop_front() {
                Some(bytes) => bytes,
                None => self.recv_raw().await?,
            };
            if let Ok(frame) = ChannelData::parse(&bytes) {
                return Some(Relayed::Channel(frame.id(), frame.data().to_vec()));
            }
            let Ok(msg) = Message::from_bytes(&bytes) else {
                continue;
            };
            if msg.has_method(DATA) && msg.has_class(MessageClass::Indication) {
                let from = msg
                    .attribute::<XorPeerAddress>()
                    .expect("peer")
                    .addr(msg.transaction_id());
                let data = msg.attribute::<Data>().expect("data").data().to_vec();
                return Some(Relayed::Indication(from, data));
            }
        }
    }
}
