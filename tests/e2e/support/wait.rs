//! Waiting on conditions instead of sleeping: a test waits for what it needs (a line
//! printed, a page state, the server having caught up) and no longer, and fails
//! saying what never happened.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is asked.
const POLL: Duration = Duration::from_millis(50);

/// Asks `check` until it gives a value; fails with `what` after `within`.
pub async fn until<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "never happened within {within:?}: {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Reads `read` until two readings in a row agree (the server has caught up with what
/// was sent: counters stopped moving); the settled reading. Fails after `within`.
pub async fn settled<T, F, Fut>(within: Duration, what: &str, mut read: F) -> T
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = Instant::now() + within;
    let mut last = read().await;
    loop {
        tokio::time::sleep(POLL).await;
        let next = read().await;
        if next == last {
            return next;
        }
        assert!(
            Instant::now() < deadline,
            "never settled within {within:?}: {what} (last {next:?})"
        );
        last = next;
    }
}
