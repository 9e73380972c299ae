//! Between the server and its recogniser (`menkai-captions`, docs/PROTOCOL.md
//! "Captions"): one WebSocket the server opens, with the recogniser's secret as a bearer
//! token. Text frames are JSON, tagged by `type`; audio goes in binary frames.
//!
//! A binary frame is one stream's audio: the stream id (8 bytes, big-endian), then
//! 16 kHz mono 16-bit little-endian PCM, at most [`MAX_AUDIO_SAMPLES`] samples.

pub mod score;

use serde::{Deserialize, Serialize};

/// The sample rate of all audio Menkai recognises.
pub const SAMPLE_RATE: u32 = 16_000;
/// At most 100 ms of audio per frame (from pages and to the recogniser alike).
pub const MAX_AUDIO_SAMPLES: usize = 1_600;
/// The smallest frame a page may send: 20 ms.
pub const MIN_AUDIO_SAMPLES: usize = 320;

/// Server → recogniser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ToRecogniser {
    /// A speaker starts (or comes back from a pause); `lang` is "ja" or "en".
    Open { stream: u64, lang: String },
    /// The speaker paused captions or left: whatever was being said is dropped.
    Close { stream: u64 },
}

/// Recogniser → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromRecogniser {
    /// First frame on a connection: what it runs.
    Ready { model: String, workers: usize },
    /// What a stream's speaker said: `seq` numbers the utterance (the partials and the
    /// final of one utterance share it); `final` ends it.
    Text {
        stream: u64,
        seq: u64,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
    },
    /// Counters since the recogniser started, every two seconds.
    Stats(Stats),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub utterances: u64,
    pub finals: u64,
    pub partials: u64,
    /// Partials not recognised because a newer one of the same speaker came, or it
    /// waited too long (the recogniser is behind).
    pub partials_dropped: u64,
    /// Utterances heard as speech whose text came out empty (noise, a cough).
    pub empty: u64,
    /// Recognition work in seconds, all jobs.
    pub recognition_seconds: f64,
    pub jobs: u64,
    /// Jobs waiting now.
    pub queue: u64,
}

/// Splits a binary audio frame into its stream and samples; `None` if malformed.
pub fn read_audio(frame: &[u8]) -> Option<(u64, Vec<i16>)> {
    let (head, pcm) = frame.split_first_chunk::<8>()?;
    if pcm.len() % 2 != 0 || pcm.len() / 2 > MAX_AUDIO_SAMPLES {
        return None;
    }
    let samples = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Some((u64::from_be_bytes(*head), samples))
}

/// A binary audio frame for `stream` (PCM bytes as a page sent them).
pub fn audio_frame(stream: u64, pcm_le: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + pcm_le.len());
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(pcm_le);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_frames_round_trip_and_bounds_hold() {
        let pcm: Vec<u8> = [1i16, -2, 300]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let frame = audio_frame(7, &pcm);
        assert_eq!(read_audio(&frame), Some((7, vec![1, -2, 300])));
        assert_eq!(read_audio(&frame[..frame.len() - 1]), None, "odd byte");
        assert_eq!(read_audio(&[0; 7]), None, "short header");
        let big = audio_frame(1, &vec![0; 2 * (MAX_AUDIO_SAMPLES + 1)]);
        assert_eq!(read_audio(&big), None, "over 100 ms");
    }

    #[test]
    fn frames_read_as_documented() {
        let text: FromRecogniser = serde_json::from_str(
            r#"{"type":"text","stream":3,"seq":1,"text":"こんにちは","final":true}"#,
        )
        .unwrap();
        assert_eq!(
            text,
            FromRecogniser::Text {
                stream: 3,
                seq: 1,
                text: "こんにちは".into(),
                is_final: true
            }
        );
        assert_eq!(
            serde_json::to_string(&ToRecogniser::Open {
                stream: 3,
                lang: "ja".into()
            })
            .unwrap(),
            r#"{"type":"open","stream":3,"lang":"ja"}"#
        );
    }
}
