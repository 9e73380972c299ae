//! The recogniser's engine: Whisper (any CTranslate2 conversion of it) on the CPU, int8,
//! greedy. One [`Engine`] holds one model with a replica per worker thread; CTranslate2
//! runs each `recognise` on a free replica, so workers never wait for each other.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};

use crate::mel::MelSpectrogram;

/// Above this, Whisper itself thinks there was no speech (it invents text on noise).
const NO_SPEECH_ABOVE: f32 = 0.6;
/// Below this average log-probability per token, the text is not trusted (the same
/// rule as faster-whisper's `log_prob_threshold`).
const LOG_PROB_BELOW: f32 = -1.0;
/// Longest text one utterance (≤ 8 s) can need, in tokens; a loop stops here.
const MAX_TOKENS: usize = 120;

pub struct Engine {
    whisper: Whisper,
    mel: MelSpectrogram,
    bytes: HashMap<char, u8>,
    name: String,
}

/// Languages the pages offer; Whisper is told which one to expect.
pub fn language(lang: &str) -> &'static str {
    if lang.starts_with("en") { "en" } else { "ja" }
}

/// GPT-2's byte-level BPE alphabet: each byte is written as a printable character.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut shifted = 0;
    (0..=255u8)
        .map(|b| {
            let c = if printable(u32::from(b)) {
                u32::from(b)
            } else {
                shifted += 1;
                255 + shifted
            };
            (char::from_u32(c).unwrap_or('\u{FFFD}'), b)
        })
        .collect()
}

/// Token strings → text: special tokens dropped, bytes joined, UTF-8 decoded.
fn detokenize(bytes: &HashMap<char, u8>, tokens: &[String]) -> String {
    let raw: Vec<u8> = tokens
        .iter()
        .filter(|t| !(t.starts_with("<|") && t.ends_with("|>")))
        .flat_map(|t| t.chars().filter_map(|c| bytes.get(&c).copied()))
        .collect();
    String::from_utf8_lossy(&raw).trim().to_owned()
}

impl Engine {
    /// Loads a CTranslate2 Whisper model directory (model.bin, config.json,
    /// vocabulary) with `workers` replicas of one thread each.
    pub fn load(dir: &Path, workers: usize) -> Result<Self> {
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            device_indices: vec![0; workers.max(1)],
            num_threads_per_replica: 1,
            ..Config::default()
        };
        let whisper = Whisper::new(dir, config)
            .with_context(|| format!("loading the Whisper model in {}", dir.display()))?;
        anyhow::ensure!(
            whisper.is_multilingual(),
            "the model in {} knows English only; captions need a multilingual Whisper",
            dir.display()
        );
        let mel = MelSpectrogram::new(whisper.n_mels());
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            whisper,
            mel,
            bytes: byte_decoder(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// What was said in `samples` (16 kHz, -1…1), or `None` if Whisper hears no speech.
    /// `lang`: "ja" or "en"; `None`: Whisper decides which of the two it hears (an
    /// extra pass of the encoder). Returns the text and the language used.
    /// `whole`: the utterance is over (a final): searched more widely (beam 2; a
    /// partial is greedy, and soon replaced).
    pub fn recognise(
        &self,
        samples: &[f32],
        lang: Option<&str>,
        whole: bool,
    ) -> Result<Option<(String, &'static str)>> {
        let beam = if whole { 2 } else { 1 };
        let frames = MelSpectrogram::frames_for(samples.len());
        let mut features = self.mel.compute(samples, frames);
        let view = StorageView::new(&[1, self.mel.n_mels(), frames], &mut features, Device::CPU)?;
        let lang = match lang {
            Some(lang) => language(lang),
            None => self.which_language(&view)?,
        };
        let prompt = vec![vec![
            "<|startoftranscript|>".to_owned(),
            format!("<|{lang}|>"),
            "<|transcribe|>".to_owned(),
            "<|notimestamps|>".to_owned(),
        ]];
        let options = WhisperOptions {
            beam_size: beam,
            max_length: max_tokens(samples.len()),
            return_no_speech_prob: true,
            return_scores: true,
            ..WhisperOptions::default()
        };
        let results = self.whisper.generate(&view, &prompt, &options)?;
        let Some(result) = results.first() else {
            return Ok(None);
        };
        // Noise Whisper turns into a word anyway comes out unsure of itself: speech
        // scores about -0.1 to -0.6 here, words made of noise below -1.
        let unsure = result.scores.first().is_some_and(|s| *s < LOG_PROB_BELOW);
        if result.no_speech_prob > NO_SPEECH_ABOVE || unsure {
            return Ok(None);
        }
        let text = result
            .sequences
            .first()
            .map(|tokens| once(&detokenize(&self.bytes, tokens)).to_owned())
            .unwrap_or_default();
        Ok(has_words(&text).then_some((text, lang)))
    }

    /// Japanese or English, whichever Whisper finds likelier (it ranks all it knows).
    fn which_language(&self, features: &StorageView) -> Result<&'static str> {
        let ranked = self.whisper.detect_language(features)?;
        let first = ranked
            .first()
            .into_iter()
            .flatten()
            .find_map(|d| match d.language.as_str() {
                "<|ja|>" => Some("ja"),
                "<|en|>" => Some("en"),
                _ => None,
            });
        Ok(first.unwrap_or("ja"))
    }
}

/// Tokens worth decoding for this much audio: no one says more than about ten
/// syllables a second, and a model looping on noise stops soon.
fn max_tokens(samples: usize) -> usize {
    (8 + samples * 12 / 16_000).min(MAX_TOKENS)
}

/// Whisper given less than its 30 s window sometimes says the same sentence again and
/// again: keep it once. A text repeats itself when everything after its first
/// `period` characters continues it from the start again, for most of another period.
fn once(text: &str) -> &str {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    for period in 5..n {
        let tail = n - period;
        if tail * 5 < period * 3 {
            break;
        }
        if (period..n).all(|i| chars[i].1 == chars[i - period].1) {
            return text[..chars[period].0].trim_end();
        }
    }
    text
}

/// Whether text has anything but punctuation and spaces.
fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_japanese_and_english() {
        let bytes = byte_decoder();
        assert_eq!(bytes.len(), 256);
        // "こ" is E3 81 93: byte-level characters ã, ģ (0x81 → 0x123), ĵ (0x93 → 0x135).
        let tokens: Vec<String> = ["<|ja|>", "ãģĵ", "Ġhello", "<|endoftext|>"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(detokenize(&bytes, &tokens), "こ hello");
        assert!(!has_words("。、 …"));
        assert_eq!(
            once("お母さん、顔色がいいね。お母さん、顔色がいいね。お母さん"),
            "お母さん、顔色がいいね。"
        );
        assert_eq!(once("ねえねえ、見て"), "ねえねえ、見て");
        assert_eq!(
            once("Are you taking your medicine every day? Are you taking your medicine every day?"),
            "Are you taking your medicine every day?"
        );
        assert_eq!(
            once("Can you dare me clearly? Can you dare me clearl"),
            "Can you dare me clearly?"
        );
        assert!(has_words("はい。"));
    }

    #[test]
    fn pages_languages_choose_whisper_s() {
        assert_eq!(language("en-GB"), "en");
        assert_eq!(language("ja"), "ja");
        assert_eq!(language(""), "ja");
    }
}
