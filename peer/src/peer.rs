//! A Menkai endpoint: one signaling socket and a link to every other endpoint of the
//! visit. It behaves like the browser clients: it joins with a token, keeps its seat
//! with `resume` when the socket drops, and follows the visit from open to end.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::peer_connection::RTCIceServer;

use crate::link::{Link, LinkContext, LinkStats};
use crate::protocol::{ClientFrame, IceServer, PeerInfo, ServerFrame, VisitState, word};
use crate::signaling::{self, JoinError, Socket, Welcome};

/// How the peer reaches the network.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Local UDP addresses for media. `0.0.0.0:0` means every interface but loopback;
    /// tests on one machine pass `127.0.0.1:0`.
    pub udp_addrs: Vec<String>,
    /// Send a stream of its own (audio and video-sized RTP at a call's rates) instead
    /// of mirroring what arrives: for load scripts where no browser supplies media.
    pub test_media: bool,
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions {
            udp_addrs: vec!["0.0.0.0:0".into()],
            test_media: false,
        }
    }
}

/// What the peer knows right now: plain data.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Our id in the visit, as the server's latest `welcome` said.
    pub peer_id: String,
    pub role: String,
    /// The visit's state (`scheduled`, `open`, `live`, `ended`, …); `None` for a
    /// device between visits.
    pub visit: Option<String>,
    /// Whether the signaling socket is up (it is down while reconnecting).
    pub online: bool,
    pub links: Vec<LinkStats>,
}

#[derive(Default)]
struct Shared {
    /// As the latest `welcome` said: the same after a resume.
    peer_id: String,
    visit: Option<String>,
    online: bool,
    /// One link per other endpoint of the visit, by peer id.
    links: BTreeMap<String, Link>,
}

/// A running endpoint. Dropping it leaves the visit as a closed tab would.
pub struct Peer {
    peer_id: String,
    role: String,
    shared: Arc<Mutex<Shared>>,
    leave: mpsc::UnboundedSender<()>,
    task: JoinHandle<()>,
}

impl Peer {
    /// Connects to the signaling socket (`ws://host/ws`) with an invitation or device
    /// token and takes a seat. Fails with the server's error code (`invalid_token`,
    /// `visit_full`, …) when it is refused.
    pub async fn join(ws_url: &str, token: &str, options: PeerOptions) -> Result<Peer, JoinError> {
        let (socket, welcome) = signaling::connect(ws_url, token, None).await?;
        let (outgoing, outbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (leave, left) = mpsc::unbounded_channel();
        let mut session = Session {
            url: ws_url.to_owned(),
            token: token.to_owned(),
            resume: welcome.resume.clone(),
            role: welcome.role.clone(),
            context: LinkContext {
                me: welcome.peer_id.clone(),
                ice_servers: ice_servers(&welcome.ice_servers),
                relay_only: welcome.relay_only,
                udp_addrs: options.udp_addrs,
                test_media: options.test_media,
                outgoing,
            },
            shared: shared.clone(),
        };
        let (peer_id, role) = (welcome.peer_id.clone(), welcome.role.clone());
        session.welcomed(welcome);
        let task = tokio::spawn(session.run(socket, outbox, left));
        Ok(Peer {
            peer_id,
            role,
            shared,
            leave,
            task,
        })
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    pub fn snapshot(&self) -> Snapshot {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            peer_id: shared.peer_id.clone(),
            role: self.role.clone(),
            visit: shared.visit.clone(),
            online: shared.online,
            links: shared.links.values().map(Link::stats).collect(),
        }
    }

    /// Waits until `done` holds for a snapshot, and returns it; fails after `within`
    /// with the last snapshot in the message.
    pub async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&Snapshot) -> bool,
    ) -> Result<Snapshot> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return Ok(snapshot);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("not reached within {within:?}: {snapshot:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Says `leave` (the others see `peer-left` at once) and closes every connection.
    pub async fn leave(self) {
        let _ = self.leave.send(());
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.leave.send(());
    }
}

fn ice_servers(servers: &[IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect()
}

/// How a socket's life ended.
enum Ended {
    /// We said leave, or the visit is over for a guest: done.
    Done,
    /// The socket dropped: reconnect with `resume`.
    Dropped,
}

/// The signaling task's state.
struct Session {
    url: String,
    token: String,
    resume: String,
    role: String,
    context: LinkContext,
    shared: Arc<Mutex<Shared>>,
}

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Session {
    async fn run(
        mut self,
        mut socket: Socket,
        mut outbox: mpsc::UnboundedReceiver<(String, Value)>,
        mut left: mpsc::UnboundedReceiver<()>,
    ) {
        loop {
            self.with(|s| s.online = true);
            let ended = self.serve(&mut socket, &mut outbox, &mut left).await;
            self.with(|s| s.online = false);
            if let Ended::Done = ended {
                break;
            }
            match self.reconnect(&mut left).await {
                Some(fresh) => socket = fresh,
                None => break,
            }
        }
        self.close_links();
    }

    async fn serve(
        &mut self,
        socket: &mut Socket,
        outbox: &mut mpsc::UnboundedReceiver<(String, Value)>,
        left: &mut mpsc::UnboundedReceiver<()>,
    ) -> Ended {
        loop {
            tokio::select! {
                frame = signaling::next(socket) => match frame {
                    Ok(Some(frame)) => {
                        if self.on_frame(frame) {
                            return Ended::Done;
                        }
                    }
                    Ok(None) | Err(_) => return Ended::Dropped,
                },
                Some((to, data)) = outbox.recv() => {
                    let Ok(data) = serde_json::value::to_raw_value(&data) else {
                        continue;
                    };
                    let signal = ClientFrame::Signal { to, data: menkai_protocol::Relayed(data) };
                    if signaling::send(socket, &signal).await.is_err() {
                        return Ended::Dropped;
                    }
                }
                _ = left.recv() => {
                    let _ = signaling::send(socket, &ClientFrame::Leave).await;
                    let _ = socket.close(None).await;
                    return Ended::Done;
                }
            }
        }
    }

    /// Handles one frame; says whether the session is over.
    fn on_frame(&mut self, frame: ServerFrame) -> bool {
        match frame {
            ServerFrame::PeerJoined { peer } => self.add(peer),
            ServerFrame::PeerLeft { peer_id } => self.remove(&peer_id),
            ServerFrame::Signal { from, data } => {
                let Ok(data) = serde_json::from_str(data.get()) else {
                    return false;
                };
                self.with(|s| match s.links.get(&from) {
                    Some(link) => link.receive(data),
                    None => tracing::debug!("signal from unknown peer {from}"),
                });
            }
            ServerFrame::Visit { state, .. } => {
                let over = matches!(state, VisitState::Ended | VisitState::Cancelled);
                self.with(|s| s.visit = Some(word(state)));
                if over {
                    self.close_links();
                    // A guest's socket closes with the visit; a device stays for the next.
                    if self.role == "guest" {
                        return true;
                    }
                }
            }
            ServerFrame::Error { code, message } => {
                tracing::warn!("server error {}: {message}", code.as_str());
            }
            // Welcome came first; schedules, volume and pongs are not this peer's.
            _ => {}
        }
        false
    }

    fn welcomed(&mut self, welcome: Welcome) {
        self.resume = welcome.resume;
        self.with(|s| {
            s.peer_id = welcome.peer_id;
            s.visit = welcome.visit_state;
        });
        let context = &self.context;
        self.with(|s| {
            for peer in welcome.peers {
                match s.links.entry(peer.peer_id.clone()) {
                    // Resumed: both sides keep the connection and look for a new path.
                    Entry::Occupied(link) => link.get().restart_ice(),
                    Entry::Vacant(slot) => {
                        slot.insert(Link::start(context.clone(), peer));
                    }
                }
            }
        });
    }

    /// Tries again and again with `resume` until the server takes us back, refuses
    /// us, or we are told to leave.
    async fn reconnect(&mut self, left: &mut mpsc::UnboundedReceiver<()>) -> Option<Socket> {
        let mut backoff = Duration::from_millis(250);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = left.recv() => return None,
            }
            match signaling::connect(&self.url, &self.token, Some(&self.resume)).await {
                Ok((socket, welcome)) => {
                    self.welcomed(welcome);
                    return Some(socket);
                }
                Err(JoinError::Unreachable(_)) => backoff = (backoff * 2).min(MAX_BACKOFF),
                Err(err) => {
                    tracing::warn!("not taken back: {err}");
                    return None;
                }
            }
        }
    }

    fn add(&self, peer: PeerInfo) {
        self.with(|s| {
            s.links
                .entry(peer.peer_id.clone())
                .or_insert_with(|| Link::start(self.context.clone(), peer));
        });
    }

    fn remove(&self, peer_id: &str) {
        if let Some(link) = self.with(|s| s.links.remove(peer_id)) {
            link.close();
        }
    }

    fn close_links(&self) {
        for link in self.with(|s| std::mem::take(&mut s.links)).values() {
            link.close();
        }
    }

    fn with<R>(&self, change: impl FnOnce(&mut Shared) -> R) -> R {
        change(&mut self.shared.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
