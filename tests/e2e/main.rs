//! End-to-end tests: each starts the real server (in this process on port 0, or the
//! real binary as a child process) with a fresh data directory, and talks to it the
//! way people and programs do. `support/` holds the harness; every other file is
//! scenarios.

mod support;

mod api;
mod auth;
mod bench_join;
mod bench_turn;
mod booking;
mod browser;
mod browsers;
mod calls;
mod captions;
mod captions_load;
mod care;
mod check;
mod deadlines;
mod doors;
mod durability;
mod hardening;
mod health;
mod https;
pub mod invitations;
mod kiosk;
mod kiosk_trust;
mod load_calls;
mod messages;
mod names;
mod netns;
mod protocol;
mod relay;
mod rust_peer;
mod signaling;
mod soak;
mod turn;
