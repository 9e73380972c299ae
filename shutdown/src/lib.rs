//! The stop signal every Menkai program waits for: Ctrl-C, or SIGTERM (`systemctl stop`,
//! a logout). One copy for the server and the kiosk, which both must stop gracefully
//! (finish requests, close the browser) rather than die mid-write.

#![forbid(unsafe_code)]

use std::future::Future;

/// Completes on Ctrl-C or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first
/// polled: a signal that comes while the program is still starting must stop it
/// gracefully too, not kill it with the default action.
pub fn signal() -> impl Future<Output = ()> {
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

#[cfg(all(test, unix))]
mod tests {
    #[tokio::test]
    async fn a_sigterm_to_this_process_completes_the_signal() {
        let stop = super::signal();
        std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("kill runs");
        tokio::time::timeout(std::time::Duration::from_secs(5), stop)
            .await
            .expect("stopped, not killed");
    }
}
