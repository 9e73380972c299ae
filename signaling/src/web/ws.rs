//! One signaling WebSocket: the first frame must be `hello`; then a reader (this task)
//! and a writer (a spawned task fed by the connection's bounded queue). The writer
//! pings every 20 s; a socket silent for 45 s is dead. Frames are capped at 64 KiB and
//! rate-limited per socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc};

use crate::error::SignalingError;
use crate::rate::TokenBucket;
use crate::signaling::hub::{Conn, Credential};
use crate::signaling::protocol::{self, ClientMsg, ServerMsg};
use crate::state::AppState;
use crate::visits::VisitState;

/// Largest frame accepted: far above any SDP, far below anything that could hurt.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(20);
const SILENT_LIMIT: Duration = Duration::from_secs(45);
const HELLO_WITHIN: Duration = Duration::from_secs(15);
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
const HEALTH_EVERY_AT_MOST: Duration = Duration::from_secs(10);
/// Rate limit: a burst of 60 frames, then 20 a second (ICE gathering sends bursts).
const BURST: u64 = 60;
const PER_SECOND: u32 = 20;
/// Captions audio (binary frames, 20–100 ms each): at most 60 a second, a little over
/// real time at the smallest frame; more is dropped.
const AUDIO_BURST: u64 = 100;
const AUDIO_PER_SECOND: u32 = 60;

pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    // Idle sockets are the common case (a tablet connected all day): small buffers.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        // Frames a little over our own limit are read and refused by size; larger ones
        // stop tungstenite at their header (a capacity error), and get the same answer.
        .max_message_size(2 * MAX_FRAME_BYTES)
        .max_frame_size(2 * MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(socket, state))
}

/// Frames one socket may send: a burst, then a steady rate; and when it was last
/// told it is being limited.
struct FrameRate {
    bucket: TokenBucket,
    last_warned: Option<Instant>,
}

impl FrameRate {
    fn new() -> Self {
        Self {
            bucket: TokenBucket::new(BURST, Duration::from_secs(1) / PER_SECOND, Instant::now()),
            last_warned: None,
        }
    }

    fn take(&mut self) -> bool {
        self.bucket.take(1, Instant::now())
    }

    /// Whether to tell the client it is being limited (at most once a second).
    fn should_warn(&mut self) -> bool {
        let now = Instant::now();
        let warn = self
            .last_warned
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1));
        if warn {
            self.last_warned = Some(now);
        }
        warn
    }
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut outbox: mpsc::Receiver<Arc<str>>,
    kill: Arc<Notify>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let sent = tokio::select! {
            frame = outbox.recv() => match frame {
                Some(frame) => tokio::time::timeout(WRITE_DEADLINE, sink.send(Message::Text(frame.as_ref().into()))).await,
                None => break,
            },
            _ = ping.tick() => tokio::time::timeout(WRITE_DEADLINE, sink.send(Message::Ping(Default::default()))).await,
            () = kill.notified() => break,
        };
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
    // Whatever was queued before the end (a final error, the last state) still goes out.
    while let Ok(frame) = outbox.try_recv() {
        if tokio::time::timeout(
            WRITE_DEADLINE,
            sink.send(Message::Text(frame.as_ref().into())),
        )
        .await
        .is_err()
        {
            return;
        }
    }
    let _ = tokio::time::timeout(WRITE_DEADLINE, sink.close()).await;
}

/// Passes a guest's audio frame to the recogniser if its captions are open and the frame
/// is well-formed (whole 16-bit samples, 20–100 ms).
fn captions_audio(state: &AppState, conn: u64, pcm: &[u8]) -> bool {
    use menkai_protocol::captions::{MAX_AUDIO_SAMPLES, MIN_AUDIO_SAMPLES};
    let samples = pcm.len() / 2;
    let Some(captions) = &state.captions else {
        return false;
    };
    pcm.len() % 2 == 0
        && (MIN_AUDIO_SAMPLES..=MAX_AUDIO_SAMPLES).contains(&samples)
        && captions.audio(conn, pcm)
}

/// Whether a read failed because the frame is over the size limit (tungstenite stops
/// reading such a frame at its header).
fn too_large(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// Looks up what a hello's token is.
async fn credential(state: &AppState, token: &str) -> crate::error::Result<Credential> {
    if let Some(invited) = state.db.visit_by_invitation(token.to_owned()).await? {
        return Ok(Credential::Guest {
            visit: invited.visit,
            guest_id: invited.guest_id,
            name: invited.guest,
            revoked: invited.revoked,
        });
    }
    let Some(device) = state.db.device_by_token(token.to_owned()).await? else {
        return Ok(Credential::Unknown);
    };
    let now = state.now();
    state.db.touch_device(device.id.clone(), now).await?;
    let facility = state.facility();
    let open_visit = state.db.visits_in_window(now).await?.into_iter().find(|v| {
        v.device_ids().any(|id| id == device.id) && v.state(now, false) == VisitState::Open
    });
    let schedule = protocol::schedule_of(
        &device.id,
        &state
            .db
            .device_schedules(&facility, now)
            .await?
            .remove(&device.id)
            .unwrap_or_default(),
        facility.lobby_names,
    );
    Ok(Credential::Device {
        device: Box::new(device),
        open_visit,
        schedule,
    })
}

async fn run(socket: WebSocket, state: AppState) {
    let hub = state.hub.clone();
    let id = hub.next_conn_id();
    let (conn, outbox, kill) = Conn::new(id);
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(sink, outbox, kill));
    let mut bucket = FrameRate::new();
    let mut authenticated = false;
    let mut writer_done = false;
    let mut device_id = None;
    let mut last_health = None;
    let mut audio_rate = TokenBucket::new(
        AUDIO_BURST,
        Duration::from_secs(1) / AUDIO_PER_SECOND,
        Instant::now(),
    );
    let started = Instant::now();
    loop {
        let limit = if authenticated {
            SILENT_LIMIT
        } else {
            HELLO_WITHIN.saturating_sub(started.elapsed())
        };
        let message = tokio::select! {
            next = tokio::time::timeout(limit, stream.next()) => match next {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) if too_large(&e) => {
                    // Read no further (the rest of the frame is never buffered) but
                    // say why before closing.
                    conn.refuse(SignalingError::MessageTooLarge);
                    break;
                }
                _ => break,
            },
            _ = &mut writer => {
                writer_done = true;
                break;
            }
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(pcm) => {
                // Captions audio from a guest who opened it; anything else is refused.
                let taken = authenticated
                    && audio_rate.take(1, Instant::now())
                    && captions_audio(&state, id, &pcm);
                if !taken && state.captions.is_none() {
                    conn.send_msg(&protocol::error_frame(SignalingError::BadMessage));
                }
                continue;
            }
        };
        if text.len() > MAX_FRAME_BYTES {
            conn.refuse(SignalingError::MessageTooLarge);
            break;
        }
        if !bucket.take() {
            if bucket.should_warn() {
                conn.send_msg(&protocol::error_frame(SignalingError::RateLimited));
            }
            continue;
        }
        match protocol::parse(text.as_str()) {
            Some(ClientMsg::Hello { token, resume }) if !authenticated => {
                let found = match credential(&state, &token).await {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::error!(error = %e, "looking up a signaling token");
                        conn.send_msg(&protocol::error_frame(SignalingError::Internal));
                        conn.close();
                        break;
                    }
                };
                if let Credential::Device { device, .. } = &found {
                    device_id = Some(device.id.clone());
                }
                match hub.hello(conn.clone(), &token, resume.as_deref(), found, state.now()) {
                    Ok(()) => {
                        state.metrics.hello("welcome");
                        authenticated = true;
                    }
                    Err(refusal) => {
                        state.metrics.hello(refusal.as_str());
                        conn.refuse(refusal);
                        break;
                    }
                }
            }
            Some(ClientMsg::Signal { to, data }) if authenticated => hub.relay(id, &to, data),
            Some(ClientMsg::Ping) if authenticated => conn.send_msg(&ServerMsg::Pong),
            Some(ClientMsg::Captions { lang, paused }) if authenticated => {
                if let Some(captions) = &state.captions {
                    match (lang, paused, hub.speaker(id)) {
                        (Some(lang), false, Some((visit_id, peer_id))) => {
                            captions.open(id, visit_id, peer_id, &lang);
                        }
                        _ => captions.close(id),
                    }
                }
            }
            Some(ClientMsg::Health(health)) if authenticated && device_id.is_some() => {
                // Once a minute is the contract; a few more are kept, a flood is not
                // written (each report is a database write).
                if last_health.is_none_or(|t: Instant| t.elapsed() >= HEALTH_EVERY_AT_MOST)
                    && let Some(device) = &device_id
                {
                    last_health = Some(Instant::now());
                    if let Err(e) = state
                        .db
                        .record_health(device.clone(), health, state.now())
                        .await
                    {
                        tracing::warn!(error = %e, "storing a device's health report");
                    }
                }
            }
            Some(ClientMsg::Leave) if authenticated => {
                hub.leave(id);
                conn.close();
                break;
            }
            Some(ClientMsg::ClientError { message }) if authenticated => {
                // The page stopped: it must not look present to staff or to the others.
                // One line per socket at most (it closes), and sockets per link are
                // throttled (hub/churn.rs).
                state.metrics.client_errors.inc();
                let message: String = crate::validation::visible_only(&message)
                    .chars()
                    .take(200)
                    .collect();
                tracing::warn!(
                    device = device_id.is_some(),
                    error = %message,
                    "a page stopped on an error in the browser"
                );
                hub.leave(id);
                conn.close();
                break;
            }
            _ => conn.send_msg(&protocol::error_frame(SignalingError::BadMessage)),
        }
    }
    if let Some(captions) = &state.captions {
        captions.gone(id);
    }
    hub.dropped(id, state.now());
    conn.close();
    // A JoinHandle may be awaited once: only if the select above did not already.
    if !writer_done {
        let _ = writer.await;
    }
    if let Some(device_id) = device_id {
        let _ = state.db.touch_device(device_id, state.now()).await;
    }
}
