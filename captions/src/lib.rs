//! Menkai's recogniser (`menkai-captions`): live captions of what a family says, for a
//! resident who hears poorly, recognised on the care home's own machine.
//!
//! It runs as its own process, started and watched by `menkai serve` (or on a second
//! machine for a larger home): Whisper's native code never shares a process with the
//! signaling server, and a crash here never drops a call.
//!
//! - `segment` — one speaker's audio into utterances (voice activity, pauses, 8 s cap)
//! - `mel`, `engine` — Whisper's input features and the model (CTranslate2, int8)
//! - `pool` — the queue between speakers and worker threads (finals first, stale
//!   partials dropped, one partial per speaker)
//! - `service` — the WebSocket the server connects to

pub mod engine;
pub mod mel;
pub mod pool;
pub mod segment;
pub mod service;

/// Compares secrets in time independent of where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    !expected.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
