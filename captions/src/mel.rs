//! Whisper's input: the log-mel spectrogram of 16 kHz audio (25 ms windows every 10 ms,
//! Slaney mel filters, log10 clamped to 8 below the peak), as OpenAI's `whisper`
//! computes it, so the models hear what they were trained on.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

use menkai_protocol::captions::SAMPLE_RATE;

const N_FFT: usize = 400;
const HOP: usize = 160;
/// Whisper's window is 30 s; shorter audio is padded with silence.
pub const MAX_FRAMES: usize = 3000;

/// Mel filters and an FFT plan, made once per model.
pub struct MelSpectrogram {
    n_mels: usize,
    filters: Vec<Vec<f32>>,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

/// The Slaney mel scale (librosa's default): linear below 1 kHz, logarithmic above.
fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= 1000.0 {
        min_log_mel + (f / 1000.0).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        1000.0 * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// Triangular filters, area-normalised (librosa `norm="slaney"`).
fn filters(n_mels: usize) -> Vec<Vec<f32>> {
    let n_freq = N_FFT / 2 + 1;
    let rate = f64::from(SAMPLE_RATE);
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(rate / 2.0));
    let points: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|m| {
            let (l, c, r) = (points[m], points[m + 1], points[m + 2]);
            let norm = 2.0 / (r - l);
            (0..n_freq)
                .map(|k| {
                    let f = k as f64 * rate / N_FFT as f64;
                    let rising = (f - l) / (c - l);
                    let falling = (r - f) / (r - c);
                    (rising.min(falling).max(0.0) * norm) as f32
                })
                .collect()
        })
        .collect()
}

impl MelSpectrogram {
    pub fn new(n_mels: usize) -> Self {
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / N_FFT as f32).cos())
            .collect();
        Self {
            n_mels,
            filters: filters(n_mels),
            window,
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
        }
    }

    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames worth giving the model for this much audio: the audio and five seconds of
    /// silence after it, at most 30 s. Whisper was trained on 30 s windows; with less
    /// than a few seconds of quiet after the speech it tends to say it again and again
    /// (measured on the test set: 1 s of quiet, Japanese CER 51 %; 3 s, 13 %; 5 s,
    /// 10 %; 10 s, 10 % at twice the cost). Rounded up to whole seconds, so the model
    /// sees a few shapes only: CTranslate2 keeps buffers per shape, and a shape per
    /// utterance length made the recogniser's memory creep.
    pub fn frames_for(samples: usize) -> usize {
        (samples / HOP + 500)
            .div_ceil(100)
            .saturating_mul(100)
            .min(MAX_FRAMES)
    }

    /// `[n_mels × frames]`, row-major, normalised as Whisper expects.
    pub fn compute(&self, samples: &[f32], frames: usize) -> Vec<f32> {
        // Centred frames: reflect-pad half a window on both sides (torch.stft).
        let pad = N_FFT / 2;
        let at = |i: usize| samples.get(i).copied().unwrap_or(0.0);
        let mut x = Vec::with_capacity(samples.len() + 2 * pad);
        x.extend((1..=pad).rev().map(at));
        x.extend_from_slice(samples);
        x.extend((0..pad).map(|i| at(samples.len().saturating_sub(2 + i))));

        let audio_frames = (samples.len() / HOP).min(frames);
        let mut mel = vec![-10.0f32; self.n_mels * frames];
        let mut buf = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut power = vec![0.0f32; N_FFT / 2 + 1];
        for t in 0..audio_frames {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = Complex::new(
                    x.get(t * HOP + i).copied().unwrap_or(0.0) * self.window[i],
                    0.0,
                );
            }
            self.fft.process(&mut buf);
            for (p, c) in power.iter_mut().zip(&buf) {
                *p = c.norm_sqr();
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let energy: f32 = filter.iter().zip(&power).map(|(w, p)| w * p).sum();
                mel[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        let peak = mel.iter().copied().fold(f32::MIN, f32::max);
        for v in &mut mel {
            *v = (v.max(peak - 8.0) + 4.0) / 4.0;
        }
        mel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_cover_the_band_and_a_tone_lands_in_its_own_mel_band() {
        let mel = MelSpectrogram::new(80);
        assert!(mel.filters.iter().all(|f| f.iter().any(|w| *w > 0.0)));
        // A 1 kHz tone: the loudest band is the one whose filter peaks nearest 1 kHz.
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin() * 0.5)
            .collect();
        let frames = MelSpectrogram::frames_for(tone.len());
        assert_eq!(frames, 600);
        assert_eq!(MelSpectrogram::frames_for(16_160), 700, "whole seconds");
        assert_eq!(MelSpectrogram::frames_for(16_000 * 40), MAX_FRAMES);
        let spec = mel.compute(&tone, frames);
        let band_energy = |m: usize| spec[m * frames + 50];
        let loudest = (0..80).max_by(|a, b| band_energy(*a).total_cmp(&band_energy(*b)));
        let k = 1000 * N_FFT / 16_000; // the FFT bin of 1 kHz
        let nearest = (0..80).max_by(|a, b| mel.filters[*a][k].total_cmp(&mel.filters[*b][k]));
        assert_eq!(loudest, nearest);
        // The padding after the audio is the quietest value there is.
        assert!(spec[frames - 1] <= spec[50]);
    }
}
