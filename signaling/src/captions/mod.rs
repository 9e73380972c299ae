//! Live captions (README "Live captions"): the server's side of the recogniser.
//!
//! Recognition runs in its own process, `menkai-captions` (the captions/ crate), so
//! its native code never shares a process with signaling: `menkai serve` starts it
//! when `menkai captions install` has put a model in the data directory, or connects to
//! one on another machine (`captions_url`). This module holds the one connection to it
//! (`link`), which family member each audio stream belongs to, and hands results to
//! the hub, which sends them to the resident's devices in the visit. Audio passes
//! through in memory; nothing is stored or logged.
//!
//! - this file: [`Captions`], what `ws.rs` calls (open, audio, close)
//! - `link` — starts (and restarts) the recogniser and speaks its protocol
//! - `install` — `menkai captions install`

pub mod install;
mod link;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use menkai_protocol::captions::{ToRecogniser, audio_frame};
use tokio::sync::mpsc;

use crate::signaling::Hub;

/// Where the recogniser is, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recogniser {
    /// Start `bin` with the model and runtime installed in `dir` (DATA/captions).
    Local {
        bin: PathBuf,
        dir: PathBuf,
        workers: usize,
    },
    /// One already running elsewhere (`menkai-captions serve` on another machine).
    Remote { url: String, secret: String },
}

impl Recogniser {
    /// The recogniser this server has, if any: `captions_url` if set, else an
    /// installed model (DATA/captions/model) and the `menkai-captions` binary.
    pub fn find(
        data_dir: &Path,
        url: Option<String>,
        secret: Option<String>,
        bin: Option<PathBuf>,
        workers: usize,
    ) -> anyhow::Result<Option<Recogniser>> {
        if let Some(url) = url {
            let secret = secret.ok_or_else(|| {
                anyhow::anyhow!("captions_url needs captions_secret_file (the recogniser's secret)")
            })?;
            anyhow::ensure!(
                url.starts_with("ws://") || url.starts_with("wss://"),
                "captions_url must start with ws:// or wss:// (got {url})"
            );
            return Ok(Some(Recogniser::Remote { url, secret }));
        }
        let dir = install::captions_dir(data_dir);
        if !install::is_installed(&dir) {
            return Ok(None);
        }
        let bin = match bin.or_else(install::default_binary) {
            Some(bin) => bin,
            None => {
                tracing::warn!(
                    "a captions model is installed but the menkai-captions program was not found next to menkai: captions are off (set MENKAI_CAPTIONS_BIN)"
                );
                return Ok(None);
            }
        };
        Ok(Some(Recogniser::Local {
            bin,
            dir,
            workers: workers.max(1),
        }))
    }
}

/// Where a stream's captions go.
#[derive(Debug, Clone)]
struct Speaker {
    visit_id: String,
    peer_id: String,
    lang: String,
}

/// What the link sends to the recogniser.
#[derive(Debug)]
enum Outgoing {
    Text(ToRecogniser),
    Audio(Vec<u8>),
}

/// Audio frames waiting for the link: about 3 s of ten speakers; beyond that the
/// recogniser is behind or away, and audio is dropped rather than queued.
const QUEUE: usize = 300;

/// The server's handle on captions; cheap to clone.
#[derive(Clone)]
pub struct Captions {
    speakers: Arc<Mutex<HashMap<u64, Speaker>>>,
    /// The process id of the recogniser started here, while it runs (for operators'
    /// diagnostics and the fault tests).
    pid: Arc<std::sync::atomic::AtomicU32>,
    outgoing: mpsc::Sender<Outgoing>,
    metrics: crate::metrics::Metrics,
}

impl Captions {
    /// Starts the link to `recogniser`; results go to `hub`.
    pub fn start(
        recogniser: Recogniser,
        hub: Arc<Hub>,
        metrics: crate::metrics::Metrics,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (outgoing, rx) = mpsc::channel(QUEUE);
        let captions = Self {
            speakers: Arc::default(),
            pid: Arc::default(),
            outgoing,
            metrics,
        };
        let task = tokio::spawn(link::run(recogniser, captions.clone(), hub, rx, stop));
        (captions, task)
    }

    fn speakers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Speaker>> {
        self.speakers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A family member on socket `stream` starts speaking for captions.
    pub fn open(&self, stream: u64, visit_id: String, peer_id: String, lang: &str) {
        let lang = crate::captions::lang(lang).to_owned();
        self.speakers().insert(
            stream,
            Speaker {
                visit_id,
                peer_id,
                lang: lang.clone(),
            },
        );
        let _ = self
            .outgoing
            .try_send(Outgoing::Text(ToRecogniser::Open { stream, lang }));
    }

    /// Paused, or the socket is gone.
    pub fn close(&self, stream: u64) {
        if self.speakers().remove(&stream).is_some() {
            let _ = self
                .outgoing
                .try_send(Outgoing::Text(ToRecogniser::Close { stream }));
        }
    }

    /// Audio from socket `stream` (16 kHz mono PCM, little-endian), if it is open.
    /// Returns false when the frame was not taken (not open, or the recogniser is
    /// behind).
    pub fn audio(&self, stream: u64, pcm: &[u8]) -> bool {
        if !self.speakers().contains_key(&stream) {
            return false;
        }
        let taken = self
            .outgoing
            .try_send(Outgoing::Audio(audio_frame(stream, pcm)))
            .is_ok();
        if !taken {
            self.metrics.captions.audio_dropped.inc();
        }
        taken
    }

    /// The recogniser's process id, when this server started it and it runs.
    pub fn recogniser_pid(&self) -> Option<u32> {
        Some(self.pid.load(std::sync::atomic::Ordering::Relaxed)).filter(|p| *p != 0)
    }

    fn speaker(&self, stream: u64) -> Option<Speaker> {
        self.speakers().get(&stream).cloned()
    }

    /// Every open stream (to open again on a restarted recogniser).
    fn open_streams(&self) -> Vec<(u64, String)> {
        self.speakers()
            .iter()
            .map(|(stream, s)| (*stream, s.lang.clone()))
            .collect()
    }
}

/// The two languages captions know; anything else is heard as Japanese.
fn lang(code: &str) -> &'static str {
    if code == "en" { "en" } else { "ja" }
}
