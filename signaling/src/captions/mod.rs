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

/// A family member whose audio is being recognised.
#[derive(Debug, Clone)]
struct Speaker {
    /// Their signaling socket.
    conn: u64,
    visit_id: String,
    peer_id: String,
    lang: String,
    /// Added to the recogniser's utterance numbers: a speaker's `seq` keeps growing
    /// across pauses and recogniser restarts (each gets a fresh recogniser stream,
    /// whose numbers start at 1), so the devices never mix two utterances up.
    floor: u64,
}

/// Who speaks on which recogniser stream. Plain data; [`Captions`] holds it behind a
/// mutex.
#[derive(Debug, Default)]
struct Speakers {
    by_stream: HashMap<u64, Speaker>,
    by_conn: HashMap<u64, u64>,
    /// The last `seq` sent for each socket still connected.
    last_seq: HashMap<u64, u64>,
    next_stream: u64,
}

impl Speakers {
    /// Opens a stream for `conn`; `None` when it is open already in that language.
    fn open(
        &mut self,
        conn: u64,
        visit_id: String,
        peer_id: String,
        lang: &str,
    ) -> Option<(u64, Option<u64>)> {
        let replaced = match self.by_conn.get(&conn) {
            Some(stream) if self.by_stream.get(stream).is_some_and(|s| s.lang == lang) => {
                return None;
            }
            Some(stream) => Some(*stream),
            None => None,
        };
        if let Some(old) = replaced {
            self.by_stream.remove(&old);
        }
        self.next_stream += 1;
        let stream = self.next_stream;
        let floor = self.last_seq.get(&conn).copied().unwrap_or(0);
        self.by_stream.insert(
            stream,
            Speaker {
                conn,
                visit_id,
                peer_id,
                lang: lang.to_owned(),
                floor,
            },
        );
        self.by_conn.insert(conn, stream);
        Some((stream, replaced))
    }

    /// Stops `conn`'s stream, returning it.
    fn close(&mut self, conn: u64) -> Option<u64> {
        let stream = self.by_conn.remove(&conn)?;
        self.by_stream.remove(&stream);
        Some(stream)
    }

    /// A result of `stream` as the devices get it: the speaker and its `seq`.
    fn deliver(&mut self, stream: u64, seq: u64) -> Option<(Speaker, u64)> {
        let speaker = self.by_stream.get(&stream)?.clone();
        let seq = speaker.floor + seq;
        let last = self.last_seq.entry(speaker.conn).or_default();
        *last = (*last).max(seq);
        Some((speaker, seq))
    }

    /// After a restart of the recogniser: every speaker on a fresh stream.
    fn renumber(&mut self) -> Vec<(u64, String)> {
        let speakers: Vec<Speaker> = self.by_stream.drain().map(|(_, s)| s).collect();
        self.by_conn.clear();
        speakers
            .into_iter()
            .filter_map(|s| {
                let lang = s.lang.clone();
                self.open(s.conn, s.visit_id, s.peer_id, &lang)
                    .map(|(stream, _)| (stream, lang))
            })
            .collect()
    }
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
    speakers: Arc<Mutex<Speakers>>,
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

    fn speakers(&self) -> std::sync::MutexGuard<'_, Speakers> {
        self.speakers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tell(&self, frame: ToRecogniser) {
        let _ = self.outgoing.try_send(Outgoing::Text(frame));
    }

    /// The family member on socket `conn` starts (or resumes) speaking for captions.
    pub fn open(&self, conn: u64, visit_id: String, peer_id: String, lang: &str) {
        let lang = crate::captions::lang(lang);
        let opened = self.speakers().open(conn, visit_id, peer_id, lang);
        if let Some((stream, replaced)) = opened {
            if let Some(old) = replaced {
                self.tell(ToRecogniser::Close { stream: old });
            }
            self.tell(ToRecogniser::Open {
                stream,
                lang: lang.to_owned(),
            });
        }
    }

    /// They paused captions: what they were saying is dropped.
    pub fn close(&self, conn: u64) {
        let closed = self.speakers().close(conn);
        if let Some(stream) = closed {
            self.tell(ToRecogniser::Close { stream });
        }
    }

    /// Their socket is gone.
    pub fn gone(&self, conn: u64) {
        self.close(conn);
        self.speakers().last_seq.remove(&conn);
    }

    /// Audio from socket `conn` (16 kHz mono PCM, little-endian), if its captions are
    /// open. Returns false when the frame was not taken (not open, or the recogniser
    /// is away or behind).
    pub fn audio(&self, conn: u64, pcm: &[u8]) -> bool {
        let Some(stream) = self.speakers().by_conn.get(&conn).copied() else {
            return false;
        };
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

    /// Where a result of `stream` goes, and its `seq` for the devices.
    fn deliver(&self, stream: u64, seq: u64) -> Option<(Speaker, u64)> {
        self.speakers().deliver(stream, seq)
    }

    /// Every speaker on a fresh stream, to open on a (re)started recogniser.
    fn reopen_all(&self) -> Vec<(u64, String)> {
        self.speakers().renumber()
    }
}

/// The two languages captions know; anything else is heard as Japanese.
fn lang(code: &str) -> &'static str {
    if code == "en" { "en" } else { "ja" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speaker_s_utterance_numbers_keep_growing_across_pauses_and_restarts() {
        let mut speakers = Speakers::default();
        let (first, _) = speakers.open(7, "v".into(), "p".into(), "ja").unwrap();
        assert!(
            speakers.open(7, "v".into(), "p".into(), "ja").is_none(),
            "open already"
        );
        assert_eq!(speakers.deliver(first, 1).map(|(_, seq)| seq), Some(1));
        assert_eq!(
            speakers.deliver(first, 2).map(|(s, seq)| (s.peer_id, seq)),
            Some(("p".into(), 2))
        );
        // Paused, resumed: a new stream, numbered on from 2.
        assert_eq!(speakers.close(7), Some(first));
        assert!(
            speakers.deliver(first, 3).is_none(),
            "a closed stream's results go nowhere"
        );
        let (second, _) = speakers.open(7, "v".into(), "p".into(), "ja").unwrap();
        assert_ne!(second, first);
        assert_eq!(speakers.deliver(second, 1).map(|(_, seq)| seq), Some(3));
        // The recogniser restarted: fresh streams, numbers go on.
        let reopened = speakers.renumber();
        assert_eq!(reopened.len(), 1);
        assert_eq!(
            speakers.deliver(reopened[0].0, 1).map(|(_, seq)| seq),
            Some(4)
        );
        // Another language: the stream is replaced.
        let (third, replaced) = speakers.open(7, "v".into(), "p".into(), "en").unwrap();
        assert_eq!(replaced, Some(reopened[0].0));
        assert!(speakers.deliver(third, 1).is_some());
    }
}
