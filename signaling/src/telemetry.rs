//! Logs and process signals.
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

/// Completes on Ctrl-C or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first
/// polled: a signal that comes while the server is still starting must stop it
/// gracefully too, not kill it with the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match listeners {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for Ctrl-C or SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
