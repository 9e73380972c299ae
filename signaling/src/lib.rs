//! Menkai: video visits for care homes.
//!
//! Domain modules (`facility`, `residents`, `devices`, `staff`, `visits`,
//! `invitations`, `tokens`) are plain types and pure functions; `storage` keeps them in
//! SQLite; `web` is the HTTP surface, thin handlers over both. `error` is where errors
//! become responses. See docs/ARCHITECTURE.md for the map.
#![forbid(unsafe_code)]

pub mod captions;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod devices;
pub mod error;
pub mod facility;
pub mod files;
pub mod i18n;
pub mod invitations;
pub mod messages;
pub mod metrics;
pub mod net;
pub mod passwords;
pub mod rate;
pub mod residents;
pub mod scheduler;
pub mod server;
pub mod signaling;
pub mod staff;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod tokens;
pub mod turn;
pub mod validation;
pub mod visits;
pub mod web;
