//! Cutting one speaker's audio into utterances: voice activity per 16 ms frame
//! (earshot), a short pre-roll so the first syllable is not clipped, an end after a
//! pause, and a hard cut at 8 s. While someone speaks it asks for a partial result every
//! half second of new speech; at each end, for the final one.
//!
//! Plain state, audio in, [`Cut`]s out: no threads, no clock (time is samples).

use std::sync::Arc;

use earshot::Detector;

/// earshot's frame: 256 samples, 16 ms at 16 kHz.
const FRAME: usize = 256;
const RATE: usize = 16_000;
/// A frame with a score from here on is speech.
const VOICE_SCORE: f32 = 0.5;
/// Kept before the first voiced frame.
const PRE_ROLL: usize = RATE * 3 / 10;
/// This much quiet ends an utterance (Japanese and English alike pause longer between
/// sentences than inside them).
const END_AFTER_QUIET: usize = RATE * 45 / 100;
/// The quiet kept at the end of an utterance.
const TAIL: usize = RATE / 5;
/// Longest utterance: a speaker who never pauses still gets a caption every 8 s.
pub const MAX_UTTERANCE: usize = RATE * 8;
/// New speech between partial results.
const PARTIAL_EVERY: usize = RATE / 2;
/// Less voiced audio than this is a cough, a clatter or a breath: no caption.
const MIN_VOICED: usize = RATE / 4;

/// What the segmenter asks for.
#[derive(Debug, Clone)]
pub struct Cut {
    /// The utterance's number in this stream, from 1.
    pub seq: u64,
    pub samples: Arc<[f32]>,
    pub is_final: bool,
}

pub struct Segmenter {
    detector: Box<Detector>,
    /// Samples not yet a whole frame.
    pending: Vec<i16>,
    /// Recent audio while nobody speaks (the pre-roll), or the utterance so far.
    audio: Vec<f32>,
    speaking: bool,
    quiet_run: usize,
    voiced: usize,
    since_partial: usize,
    seq: u64,
}

impl Default for Segmenter {
    fn default() -> Self {
        Self {
            detector: Detector::default_boxed(),
            pending: Vec::with_capacity(FRAME),
            audio: Vec::new(),
            speaking: false,
            quiet_run: 0,
            voiced: 0,
            since_partial: 0,
            seq: 0,
        }
    }
}

impl Segmenter {
    /// Feeds audio; returns what should be recognised now.
    pub fn push(&mut self, samples: &[i16]) -> Vec<Cut> {
        let mut cuts = vec![];
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / FRAME * FRAME;
        let frames: Vec<i16> = self.pending.drain(..whole).collect();
        for frame in frames.chunks_exact(FRAME) {
            cuts.extend(self.frame(frame));
        }
        cuts
    }

    fn frame(&mut self, frame: &[i16]) -> Option<Cut> {
        let voice = self.detector.predict_i16(frame) >= VOICE_SCORE;
        self.audio
            .extend(frame.iter().map(|s| f32::from(*s) / 32768.0));
        if !self.speaking {
            if voice {
                self.speaking = true;
                self.seq += 1;
                self.voiced = FRAME;
                self.quiet_run = 0;
                self.since_partial = 0;
            } else if self.audio.len() > PRE_ROLL {
                self.audio.drain(..self.audio.len() - PRE_ROLL);
            }
            return None;
        }
        self.since_partial += FRAME;
        if voice {
            self.voiced += FRAME;
            self.quiet_run = 0;
        } else {
            self.quiet_run += FRAME;
        }
        if self.quiet_run >= END_AFTER_QUIET || self.audio.len() >= MAX_UTTERANCE {
            return self.end();
        }
        if self.since_partial >= PARTIAL_EVERY && self.quiet_run == 0 && self.voiced >= MIN_VOICED {
            self.since_partial = 0;
            return Some(Cut {
                seq: self.seq,
                samples: self.audio.as_slice().into(),
                is_final: false,
            });
        }
        None
    }

    /// The utterance is over: its final cut (unless it was too little speech).
    fn end(&mut self) -> Option<Cut> {
        let keep = self.audio.len() - self.quiet_run.saturating_sub(TAIL).min(self.audio.len());
        let samples: Arc<[f32]> = self.audio[..keep].into();
        let enough = self.voiced >= MIN_VOICED;
        self.speaking = false;
        self.quiet_run = 0;
        self.audio.clear();
        // A cut in the middle of speech (8 s reached) goes straight on as the next
        // utterance; the detector keeps its state.
        enough.then_some(Cut {
            seq: self.seq,
            samples,
            is_final: true,
        })
    }

    /// Whether an utterance is under way (the speaker paused captions mid-sentence).
    pub fn speaking(&self) -> bool {
        self.speaking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silence(ms: usize) -> Vec<i16> {
        vec![0; RATE * ms / 1000]
    }

    #[test]
    fn silence_and_a_steady_tone_are_not_speech() {
        let mut s = Segmenter::default();
        assert!(s.push(&silence(10_000)).is_empty());
        let hum: Vec<i16> = (0..RATE * 5)
            .map(|i| {
                ((2.0 * std::f32::consts::PI * 50.0 * i as f32 / RATE as f32).sin() * 3000.0) as i16
            })
            .collect();
        assert!(s.push(&hum).is_empty());
        assert!(!s.speaking());
    }
}
