//! The work queue between the streams and the engine's workers. Finals go before
//! partials (a caption's last word matters more than a preview); each speaker has at
//! most one partial waiting (a newer one replaces it), partials that waited too long are
//! dropped, and waiting partials are served oldest speaker first, so one busy visit
//! never holds another back.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use menkai_protocol::captions::Stats;

use crate::segment::Cut;

/// A partial older than this is no use to anybody: the speaker has moved on.
const PARTIAL_STALE: Duration = Duration::from_millis(1200);

/// Which stream of which connection.
pub type StreamKey = (u64, u64);

/// The language a speaker speaks: the page's as a first guess, then what Whisper
/// heard in their last whole utterance (partials use it; finals ask Whisper again).
#[derive(Debug, Clone)]
pub struct Language(Arc<Mutex<&'static str>>);

impl Language {
    pub fn new(guess: &'static str) -> Self {
        Self(Arc::new(Mutex::new(guess)))
    }

    pub fn get(&self) -> &'static str {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, lang: &'static str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = lang;
    }
}

#[derive(Debug)]
pub struct Job {
    pub stream: StreamKey,
    pub lang: Language,
    pub cut: Cut,
    pub queued: Instant,
}

#[derive(Default)]
struct Queue {
    finals: VecDeque<Job>,
    partials: VecDeque<Job>,
    closed: bool,
    stats: Stats,
}

/// Shared by the connections (which push) and the workers (which take).
#[derive(Clone, Default)]
pub struct Jobs {
    inner: Arc<(Mutex<Queue>, Condvar)>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, job: Job) {
        let mut q = self.lock();
        if job.cut.is_final {
            q.stats.utterances += 1;
            // The utterance is over: its waiting partial is moot.
            let before = q.partials.len();
            q.partials.retain(|p| p.stream != job.stream);
            q.stats.partials_dropped += (before - q.partials.len()) as u64;
            q.finals.push_back(job);
        } else if let Some(waiting) = q.partials.iter_mut().find(|p| p.stream == job.stream) {
            // Keep its place in the line, with the newer audio.
            *waiting = Job {
                queued: waiting.queued,
                ..job
            };
            q.stats.partials_dropped += 1;
        } else {
            q.partials.push_back(job);
        }
        q.stats.queue = (q.finals.len() + q.partials.len()) as u64;
        drop(q);
        self.inner.1.notify_one();
    }

    /// A speaker paused or left: nothing of theirs is recognised any more.
    pub fn forget(&self, stream: StreamKey) {
        let mut q = self.lock();
        q.finals.retain(|j| j.stream != stream);
        q.partials.retain(|j| j.stream != stream);
        q.stats.queue = (q.finals.len() + q.partials.len()) as u64;
    }

    /// The next job, waiting for one; `None` once closed.
    pub fn take(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
            if q.closed {
                return None;
            }
            if let Some(job) = q.finals.pop_front() {
                q.stats.queue = (q.finals.len() + q.partials.len()) as u64;
                return Some(job);
            }
            while let Some(job) = q.partials.pop_front() {
                if job.queued.elapsed() <= PARTIAL_STALE {
                    q.stats.queue = (q.finals.len() + q.partials.len()) as u64;
                    return Some(job);
                }
                q.stats.partials_dropped += 1;
            }
            q.stats.queue = 0;
            q = self.inner.1.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A job is done: what it cost and what it gave.
    pub fn done(&self, is_final: bool, took: Duration, empty: bool) {
        let mut q = self.lock();
        q.stats.jobs += 1;
        q.stats.recognition_seconds += took.as_secs_f64();
        if is_final {
            if empty {
                q.stats.empty += 1;
            } else {
                q.stats.finals += 1;
            }
        } else {
            q.stats.partials += 1;
        }
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.inner.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(stream: u64, seq: u64, is_final: bool) -> Job {
        Job {
            stream: (1, stream),
            lang: Language::new("ja"),
            cut: Cut {
                seq,
                samples: Arc::from(vec![0.0; 10]),
                is_final,
            },
            queued: Instant::now(),
        }
    }

    #[test]
    fn finals_first_one_partial_per_speaker_oldest_speaker_first() {
        let jobs = Jobs::default();
        jobs.push(job(1, 1, false));
        jobs.push(job(2, 1, false));
        jobs.push(job(1, 1, false)); // replaces speaker 1's, keeps its place
        jobs.push(job(3, 4, true));
        let order: Vec<(u64, bool)> = (0..3)
            .map(|_| jobs.take().map(|j| (j.stream.1, j.cut.is_final)).unwrap())
            .collect();
        assert_eq!(order, [(3, true), (1, false), (2, false)]);
        assert_eq!(jobs.stats().partials_dropped, 1);
        assert_eq!(jobs.stats().utterances, 1);
    }

    #[test]
    fn a_final_drops_its_speaker_s_waiting_partial_and_forget_drops_all() {
        let jobs = Jobs::default();
        jobs.push(job(1, 1, false));
        jobs.push(job(1, 1, true));
        jobs.push(job(2, 1, true));
        jobs.forget((1, 2));
        assert_eq!(
            jobs.take().map(|j| (j.stream.1, j.cut.is_final)),
            Some((1, true))
        );
        assert_eq!(jobs.stats().queue, 0);
        jobs.close();
        assert!(jobs.take().is_none());
    }
}
