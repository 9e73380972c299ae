//! One WebRTC connection to one other endpoint of the visit, negotiated with the same
//! W3C "perfect negotiation" rules as the browsers' `mesh.js`, so a Rust peer can meet
//! a browser or another Rust peer and either may offer first.
//!
//! As in the browsers, the impolite side makes the first offer and the polite side
//! waits for it (offering itself only if none comes): the first exchange has no glare,
//! so who is DTLS client is known in advance. webrtc-rs answers with a fixed DTLS role,
//! not the one the connection already has (RFC 8842 §5.5 wants it kept), so each link
//! is told to answer with the role it will have had from that first exchange.
//!
//! A link is an actor: one task owns the `RTCPeerConnection` and handles, one at a
//! time, what the other side signalled and what the connection reported. webrtc-rs
//! calls its event handler from the connection's own driver, and a handler that
//! called back into the connection would wait on itself, so the handler only forwards.
//!
//! Media: what arrives is counted and reflected. Each link sends back, on its own
//! tracks, the RTP it receives, so a browser decodes its own camera coming back
//! through a real WebRTC stack, and the Rust side proves it received the browser's.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};

use crate::protocol::{Description, PeerInfo, SignalData};

/// An offer unanswered this long is rolled back and made again (signals can be lost
/// while the other side's socket reconnects); the browsers' mesh waits as long.
const UNANSWERED: Duration = Duration::from_secs(5);
/// Browsers send a key frame when asked; reflected video needs one now and then so a
/// decoder that joined late, or lost a packet, can start again.
const KEY_FRAME_EVERY: Duration = Duration::from_secs(1);

/// What a link has seen so far: plain data, read by tests and the load script.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkStats {
    pub peer_id: String,
    pub role: String,
    /// The connection state as the W3C API names it (`new`, `connected`, …).
    pub state: String,
    pub audio_packets: u64,
    pub audio_bytes: u64,
    pub video_packets: u64,
    pub video_bytes: u64,
    /// Received packets sent back to their sender.
    pub reflected_packets: u64,
    /// Offer/answer exchanges completed (the first, then ICE restarts and renegotiations).
    pub negotiations: u32,
    /// How many times the connection was rebuilt at the other side's request.
    pub rebuilds: u32,
}

type SharedStats = Arc<Mutex<LinkStats>>;

fn update(stats: &SharedStats, change: impl FnOnce(&mut LinkStats)) {
    change(&mut stats.lock().unwrap_or_else(PoisonError::into_inner));
}

/// What the rest of the peer needs to start links: who we are and how to reach out.
#[derive(Clone)]
pub(crate) struct LinkContext {
    pub me: String,
    pub ice_servers: Vec<RTCIceServer>,
    /// Relayed paths only (the server's `relay_only`).
    pub relay_only: bool,
    pub udp_addrs: Vec<String>,
    /// Send [`test_media`] instead of mirroring (see `PeerOptions`).
    pub test_media: bool,
    /// `(to, data)` for `signal` frames; the signaling task sends them.
    pub outgoing: mpsc::UnboundedSender<(String, Value)>,
}

/// The signaling task's handle on a running link.
pub(crate) struct Link {
    input: mpsc::UnboundedSender<Input>,
    stats: SharedStats,
}

impl Link {
    pub fn start(context: LinkContext, remote: PeerInfo) -> Link {
        let stats = Arc::new(Mutex::new(LinkStats {
            peer_id: remote.peer_id.clone(),
            role: crate::protocol::word(remote.role),
            state: "new".into(),
            ..LinkStats::default()
        }));
        let (input, inbox) = mpsc::unbounded_channel();
        let polite = context.me < remote.peer_id;
        let actor = Actor {
            polite,
            context,
            remote,
            stats: stats.clone(),
            input: input.clone(),
            generation: 0,
            ignore_offer: false,
            wait_for_offer: polite,
            offered_at: None,
            created_at: Instant::now(),
        };
        tokio::spawn(actor.run(inbox));
        Link { input, stats }
    }

    /// What the link has seen so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Hands a `signal` frame from this link's peer to the link.
    pub fn receive(&self, data: Value) {
        let _ = self.input.send(Input::Remote(data));
    }

    /// After our own socket came back: the path may have changed, look for a new one.
    pub fn restart_ice(&self) {
        let _ = self.input.send(Input::RestartIce);
    }

    pub fn close(&self) {
        let _ = self.input.send(Input::Close);
    }
}

enum Input {
    Remote(Value),
    RestartIce,
    Close,
    /// Reported by the connection of the given generation (older ones are ignored).
    Event(u32, Event),
}

enum Event {
    NegotiationNeeded,
    Candidate(RTCIceCandidateInit),
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
}

/// Forwards the connection's events into the link's inbox.
struct Forwarder {
    generation: u32,
    input: mpsc::UnboundedSender<Input>,
}

impl Forwarder {
    fn forward(&self, event: Event) {
        let _ = self.input.send(Input::Event(self.generation, event));
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forwarder {
    async fn on_negotiation_needed(&self) {
        self.forward(Event::NegotiationNeeded);
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(candidate) => self.forward(Event::Candidate(candidate)),
            Err(err) => tracing::debug!("unusable local candidate: {err}"),
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.forward(Event::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.forward(Event::Track(track));
    }
}

/// One RTCPeerConnection with its outgoing tracks and the tasks reading its incoming ones.
struct Connection {
    pc: Arc<dyn PeerConnection>,
    audio: Arc<TrackLocalStaticRTP>,
    video: Arc<TrackLocalStaticRTP>,
    tasks: JoinSet<()>,
}

impl Connection {
    async fn close(mut self) {
        self.tasks.abort_all();
        if let Err(err) = self.pc.close().await {
            tracing::debug!("closing a connection: {err}");
        }
    }
}

struct Actor {
    context: LinkContext,
    remote: PeerInfo,
    stats: SharedStats,
    input: mpsc::UnboundedSender<Input>,
    polite: bool,
    generation: u32,
    ignore_offer: bool,
    /// The polite side lets the other offer first (see the module docs).
    wait_for_offer: bool,
    offered_at: Option<Instant>,
    created_at: Instant,
}

impl Actor {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Input>) {
        let mut conn = match self.connect().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(
                    "cannot create a connection to {}: {err:#}",
                    self.remote.peer_id
                );
                update(&self.stats, |s| s.state = "failed".into());
                return;
            }
        };
        // webrtc-rs 0.21.1 raises `negotiationneeded` for the tracks added above only
        // when its driver next wakes for another reason (add_track does not wake it),
        // which may be never: so the first offer is made here.
        self.offer_first(&conn).await;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let input = tokio::select! {
                input = inbox.recv() => input,
                _ = tick.tick() => {
                    if self.wait_for_offer && self.created_at.elapsed() >= UNANSWERED {
                        // The other side's first offer never came: offer ourselves.
                        self.wait_for_offer = false;
                        self.offer_first(&conn).await;
                    }
                    self.check_unanswered(&conn).await;
                    continue;
                }
            };
            let result = match input {
                None | Some(Input::Close) => break,
                Some(Input::RestartIce) => self.restart_ice(&conn).await,
                Some(Input::Remote(data)) => match serde_json::from_value::<SignalData>(data) {
                    Ok(data) if data.reset => match self.rebuild(conn).await {
                        Ok(fresh) => {
                            conn = fresh;
                            self.offer_first(&conn).await;
                            Ok(())
                        }
                        Err(err) => {
                            tracing::warn!("cannot rebuild the connection: {err:#}");
                            update(&self.stats, |s| s.state = "failed".into());
                            return;
                        }
                    },
                    Ok(data) => self.on_signal(&conn, data).await,
                    Err(err) => Err(err.into()),
                },
                Some(Input::Event(generation, event)) if generation == self.generation => {
                    self.on_event(&mut conn, event).await
                }
                Some(Input::Event(..)) => Ok(()),
            };
            if let Err(err) = result {
                tracing::debug!("link to {}: {err:#}", self.remote.peer_id);
            }
        }
        conn.close().await;
        update(&self.stats, |s| s.state = "closed".into());
    }

    /// The first offer of a connection, unless we are the side that waits for one.
    async fn offer_first(&mut self, conn: &Connection) {
        if self.wait_for_offer {
            return;
        }
        if let Err(err) = self.offer(conn).await {
            tracing::debug!("first offer to {}: {err:#}", self.remote.peer_id);
        }
    }

    /// A fresh RTCPeerConnection with an audio and a video track to send on.
    async fn connect(&mut self) -> Result<Connection> {
        let codecs = codecs();
        let mut media = MediaEngine::default();
        for (codec, kind) in codecs.clone() {
            media.register_codec(codec, kind)?;
        }
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        let handler = Arc::new(Forwarder {
            generation: self.generation,
            input: self.input.clone(),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_ice_servers(self.context.ice_servers.clone())
                    .with_ice_transport_policy(if self.context.relay_only {
                        RTCIceTransportPolicy::Relay
                    } else {
                        RTCIceTransportPolicy::All
                    })
                    .build(),
            )
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            // Browsers are told to send plain addresses in Menkai's tests; on a real
            // network the peer has STUN/TURN from `welcome` and needs no mDNS either.
            .with_setting_engine(
                SettingEngineBuilder::new()
                    .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                    // Relay-only, nothing better than a relayed pair can turn up, yet the
                    // ICE agent waits 2 s before it nominates one (pion's default).
                    .with_relay_acceptance_min_wait(
                        self.context.relay_only.then_some(Duration::ZERO),
                    )
                    // The polite side answers the first offer and browsers then take
                    // the DTLS server role; the impolite side offered and was made
                    // server by the answer. Keep that role in every later answer.
                    .with_answering_dtls_role(if self.polite {
                        RTCDtlsRole::Client
                    } else {
                        RTCDtlsRole::Server
                    })
                    .build(),
            )
            .with_handler(handler)
            .with_udp_addrs(self.context.udp_addrs.clone())
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let [(audio_codec, _), (video_codec, _)] = codecs;
        let audio = Arc::new(local_track(RtpCodecKind::Audio, audio_codec.rtp_codec));
        let video = Arc::new(local_track(RtpCodecKind::Video, video_codec.rtp_codec));
        pc.add_track(audio.clone()).await?;
        pc.add_track(video.clone()).await?;
        let mut tasks = JoinSet::new();
        if self.context.test_media {
            tasks.spawn(test_media(audio.clone(), video.clone()));
        }
        Ok(Connection {
            pc,
            audio,
            video,
            tasks,
        })
    }

    /// The other side found no path with this connection and asked for a new one.
    async fn rebuild(&mut self, old: Connection) -> Result<Connection> {
        old.close().await;
        self.generation += 1;
        self.ignore_offer = false;
        self.wait_for_offer = self.polite;
        self.offered_at = None;
        self.created_at = Instant::now();
        update(&self.stats, |s| {
            s.state = "new".into();
            s.rebuilds += 1;
        });
        self.connect().await
    }

    async fn on_event(&mut self, conn: &mut Connection, event: Event) -> Result<()> {
        match event {
            Event::NegotiationNeeded if self.wait_for_offer => Ok(()),
            Event::NegotiationNeeded => self.offer(conn).await,
            Event::Candidate(mut candidate) => {
                // webrtc-rs leaves the mid empty; browsers match candidates by mid.
                if let Some(description) = conn.pc.local_description().await {
                    candidate.sdp_mid = first_mid(&description.sdp);
                }
                self.send(json!({ "candidate": candidate }))
            }
            Event::State(state) => {
                update(&self.stats, |s| s.state = state.to_string());
                if state == RTCPeerConnectionState::Failed {
                    // A path that failed may come back over another route.
                    self.restart_ice(conn).await?;
                }
                Ok(())
            }
            Event::Track(track) => {
                let reflect = match track.kind().await {
                    _ if self.context.test_media => None,
                    RtpCodecKind::Audio => Some(conn.audio.clone()),
                    RtpCodecKind::Video => Some(conn.video.clone()),
                    _ => return Ok(()),
                };
                conn.tasks
                    .spawn(receive(track.clone(), reflect, self.stats.clone()));
                conn.tasks.spawn(ask_for_key_frames(track));
                Ok(())
            }
        }
    }

    async fn offer(&mut self, conn: &Connection) -> Result<()> {
        if !is_stable(conn).await {
            // Negotiation is under way; the connection asks again once it is stable.
            return Ok(());
        }
        let offer = conn.pc.create_offer(None).await?;
        conn.pc.set_local_description(offer).await?;
        self.offered_at = Some(Instant::now());
        self.send_local_description(conn).await
    }

    /// Marks ICE for a restart and offers at once (see `run` for why not on the event).
    async fn restart_ice(&mut self, conn: &Connection) -> Result<()> {
        conn.pc.restart_ice().await?;
        self.offer(conn).await
    }

    async fn on_signal(&mut self, conn: &Connection, data: SignalData) -> Result<()> {
        if let Some(description) = data.description {
            self.on_description(conn, description).await
        } else if let Some(candidate) = data.candidate {
            let candidate: RTCIceCandidateInit = serde_json::from_value(candidate)?;
            if candidate.candidate.is_empty() {
                return Ok(());
            }
            match conn.pc.add_ice_candidate(candidate).await {
                // Candidates for an offer we ignored are expected to fail.
                Err(_) if self.ignore_offer => Ok(()),
                result => result.context("adding a remote candidate"),
            }
        } else {
            bail!("a signal with neither description nor candidate")
        }
    }

    async fn on_description(&mut self, conn: &Connection, description: Description) -> Result<()> {
        self.wait_for_offer = false;
        let have_local_offer = conn.pc.pending_local_description().await.is_some();
        let is_offer = description.kind == "offer";
        let description = match description.kind.as_str() {
            "offer" => RTCSessionDescription::offer(description.sdp)?,
            "answer" if have_local_offer => RTCSessionDescription::answer(description.sdp)?,
            "answer" => bail!("an answer to no offer"),
            other => bail!("a description of type {other}"),
        };
        let collision = is_offer && have_local_offer;
        self.ignore_offer = !self.polite && collision;
        if self.ignore_offer {
            return Ok(());
        }
        if collision {
            conn.pc
                .set_local_description(RTCSessionDescription::rollback(None)?)
                .await?;
        }
        conn.pc.set_remote_description(description).await?;
        self.offered_at = None;
        if is_offer {
            let answer = conn.pc.create_answer(None).await?;
            conn.pc.set_local_description(answer).await?;
            self.send_local_description(conn).await?;
        }
        update(&self.stats, |s| s.negotiations += 1);
        Ok(())
    }

    /// An offer whose answer was lost is rolled back and made again with fresh ICE.
    async fn check_unanswered(&mut self, conn: &Connection) {
        let Some(at) = self.offered_at else { return };
        if at.elapsed() < UNANSWERED || conn.pc.pending_local_description().await.is_none() {
            return;
        }
        self.offered_at = None;
        if let Err(err) = self.offer_again(conn).await {
            tracing::debug!("offering again to {}: {err:#}", self.remote.peer_id);
        }
    }

    async fn offer_again(&mut self, conn: &Connection) -> Result<()> {
        conn.pc
            .set_local_description(RTCSessionDescription::rollback(None)?)
            .await?;
        self.restart_ice(conn).await
    }

    async fn send_local_description(&self, conn: &Connection) -> Result<()> {
        let description = conn
            .pc
            .local_description()
            .await
            .context("no local description")?;
        self.send(json!({ "description": description }))
    }

    fn send(&self, data: Value) -> Result<()> {
        self.context
            .outgoing
            .send((self.remote.peer_id.clone(), data))
            .context("the signaling socket is gone")
    }
}

async fn is_stable(conn: &Connection) -> bool {
    conn.pc.pending_local_description().await.is_none()
        && conn.pc.pending_remote_description().await.is_none()
}

/// Counts what arrives on a remote track and sends it back on our track of its kind.
async fn receive(
    track: Arc<dyn TrackRemote>,
    reflect: Option<Arc<TrackLocalStaticRTP>>,
    stats: SharedStats,
) {
    let kind = track.kind().await;
    let ssrc = match &reflect {
        Some(reflect) => reflect.ssrcs().await.first().copied(),
        None => None,
    };
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(mut packet) = event else {
            continue;
        };
        let bytes = packet.payload.len() as u64;
        update(&stats, |s| match kind {
            RtpCodecKind::Audio => {
                s.audio_packets += 1;
                s.audio_bytes += bytes;
            }
            _ => {
                s.video_packets += 1;
                s.video_bytes += bytes;
            }
        });
        let (Some(reflect), Some(ssrc)) = (&reflect, ssrc) else {
            continue;
        };
        packet.header.ssrc = ssrc;
        if reflect.write_rtp(packet).await.is_ok() {
            update(&stats, |s| s.reflected_packets += 1);
        }
    }
}

/// A call's worth of RTP with no camera: audio every 20 ms (100 bytes, Opus-sized)
/// and video at 30 frames a second in three packets of 1,000 bytes (about 800 kbit/s).
/// The payloads are not decodable media; a Rust peer at the other end only counts and
/// mirrors them, and the relay and network carry them like the real thing.
async fn test_media(audio: Arc<TrackLocalStaticRTP>, video: Arc<TrackLocalStaticRTP>) {
    let (Some(audio_ssrc), Some(video_ssrc)) = (
        audio.ssrcs().await.first().copied(),
        video.ssrcs().await.first().copied(),
    ) else {
        return;
    };
    let packet = |payload_type: u8,
                  ssrc: u32,
                  sequence_number: u16,
                  timestamp: u32,
                  marker: bool,
                  size: usize| {
        rtc::rtp::packet::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type,
                sequence_number,
                timestamp,
                ssrc,
                ..Default::default()
            },
            payload: vec![0u8; size].into(),
        }
    };
    let (mut audio_seq, mut video_seq) = (0u16, 0u16);
    let mut every = tokio::time::interval(Duration::from_millis(10));
    for tick in 0u32.. {
        every.tick().await;
        if tick % 2 == 0 {
            let at = tick.wrapping_mul(480);
            let _ = audio
                .write_rtp(packet(111, audio_ssrc, audio_seq, at, false, 100))
                .await;
            audio_seq = audio_seq.wrapping_add(1);
        }
        if tick % 3 == 0 {
            let at = tick.wrapping_mul(900);
            for part in 0..3 {
                let _ = video
                    .write_rtp(packet(96, video_ssrc, video_seq, at, part == 2, 1000))
                    .await;
                video_seq = video_seq.wrapping_add(1);
            }
        }
    }
}

/// Asks the sender of a video track for key frames until the connection is gone.
async fn ask_for_key_frames(track: Arc<dyn TrackRemote>) {
    if track.kind().await != RtpCodecKind::Video {
        return;
    }
    let Some(media_ssrc) = track.ssrcs().await.first().copied() else {
        return;
    };
    let mut every = tokio::time::interval(KEY_FRAME_EVERY);
    loop {
        every.tick().await;
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        };
        if track.write_rtcp(vec![Box::new(pli)]).await.is_err() {
            return;
        }
    }
}

/// One codec per kind, the ones every browser has: what comes in can go back out as is.
fn codecs() -> [(RTCRtpCodecParameters, RtpCodecKind); 2] {
    let feedback = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    };
    [
        (
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: MIME_TYPE_OPUS.into(),
                    clock_rate: 48_000,
                    channels: 2,
                    sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                    rtcp_feedback: vec![],
                },
                payload_type: 111,
            },
            RtpCodecKind::Audio,
        ),
        (
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: MIME_TYPE_VP8.into(),
                    clock_rate: 90_000,
                    channels: 0,
                    sdp_fmtp_line: String::new(),
                    rtcp_feedback: vec![
                        feedback("goog-remb", ""),
                        feedback("ccm", "fir"),
                        feedback("nack", ""),
                        feedback("nack", "pli"),
                    ],
                },
                payload_type: 96,
            },
            RtpCodecKind::Video,
        ),
    ]
}

fn local_track(kind: RtpCodecKind, codec: RTCRtpCodec) -> TrackLocalStaticRTP {
    TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "menkai-peer".into(),
        format!("menkai-peer-{kind}"),
        format!("menkai-peer-{kind}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(rand::random::<u32>()),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    ))
}

/// The first `a=mid:` of an SDP: with BUNDLE every candidate belongs to it.
fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=mid:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_mid_names_the_bundle() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
