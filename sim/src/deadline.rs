//! Waits bounded in real time. Under tokio's paused clock a `tokio::time::timeout` fires only when the test moves
//! the clock, so a coordinator that never answers would hang the test; these bounds run on a thread's real clock
//! instead, and end the wait with an error that names what did not come.

use anyhow::{bail, Result};
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// How long a simulated peer waits for one answer before it gives up (real time; answers take milliseconds).
pub const REPLY_LIMIT: Duration = Duration::from_secs(10);

/// `work`, or an error naming `what` if it has not finished within `limit` of real time.
pub async fn within<F: Future>(limit: Duration, what: &str, work: F) -> Result<F::Output> {
    let (cancel, cancelled) = mpsc::channel::<()>();
    let (fire, fired) = tokio::sync::oneshot::channel::<()>();
    // The thread ends as soon as `cancel` is dropped (the work finished first) or the limit passes.
    std::thread::spawn(move || {
        if cancelled.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            let _ = fire.send(());
        }
    });
    tokio::select! {
        output = work => {
            drop(cancel);
            Ok(output)
        }
        _ = fired => bail!("{what}: nothing within {limit:?}"),
    }
}
