//! Logs, and the stop signal.
//!
//! Logs go to stderr, filtered by `RUST_LOG` (default `info`). Request spans carry the
//! route pattern (`/v/{token}`), never the concrete path: visit links are secrets.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The STUN codec warns once per malformed datagram, and rustls once per broken
    // handshake: anyone can send those as fast as they like, from forged addresses.
    // The relay and the server count them instead (`metrics::Refusals`). An operator
    // who names these crates in RUST_LOG gets what they asked for.
    let asked = std::env::var("RUST_LOG").unwrap_or_default();
    for noisy in [
        "stun_types",
        "stun_proto",
        "turn_types",
        "rustls",
        "tokio_rustls",
    ] {
        if !asked.contains(noisy)
            && let Ok(directive) = format!("{noisy}=error").parse()
        {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM (see `menkai-shutdown`).
pub use menkai_shutdown::signal as shutdown_signal;
