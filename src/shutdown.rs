//! What SIGTERM does to a node (`systemctl stop`, `kill`).
//!
//! A worker drains on the first SIGTERM: it finishes the render it holds, reports it and exits 0, taking no new
//! offer meanwhile. A second SIGTERM, or `--shutdown-timeout` seconds after the first, gives the render up: melt is
//! killed, the job is reported cancelled and queued again for another worker, and the worker exits 0.
//!
//! A coordinator stops on the first SIGTERM: it takes no new connection, lets each connection answer the message it
//! is serving and close cleanly (TLS close_notify), waits for the store to make every change asked for durable, and
//! exits 0.

use distencode_actors::worker::Stage;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// How long a stopping coordinator waits for its connections to close.
pub const CONNECTIONS_CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Moves a worker's shutdown [`Stage`] forward at each SIGTERM and when the shutdown timeout passes. SIGTERM is
/// caught from this call on, before the future first runs: a node says it started only once a SIGTERM would stop
/// it cleanly rather than kill it.
pub fn worker_signals(stage: watch::Sender<Stage>, timeout: Duration) -> impl std::future::Future<Output = ()> {
    let term = signal(SignalKind::terminate());
    async move {
        match term {
            Ok(term) => worker_stages(term, stage, timeout).await,
            Err(e) => tracing::error!("cannot catch SIGTERM: {e}"),
        }
    }
}

async fn worker_stages(mut term: tokio::signal::unix::Signal, stage: watch::Sender<Stage>, timeout: Duration) {
    term.recv().await;
    tracing::info!(
        timeout = ?timeout,
        "SIGTERM: finishing the render in progress, taking no new job; SIGTERM again to give it up"
    );
    stage.send_replace(Stage::Draining);
    tokio::select! {
        _ = term.recv() => tracing::warn!("SIGTERM again: giving up the render in progress"),
        _ = tokio::time::sleep(timeout) => {
            tracing::warn!("the render did not finish within the shutdown timeout ({timeout:?}): giving it up");
        }
    }
    stage.send_replace(Stage::Abandoning);
    // Further signals change nothing; keep catching them so they do not kill the process mid-report.
    while term.recv().await.is_some() {}
}

/// Resolves at the first SIGTERM (never, if it cannot be caught). SIGTERM is caught from this call on, as in
/// [`worker_signals`].
pub fn terminated() -> impl std::future::Future<Output = ()> {
    let term = signal(SignalKind::terminate());
    async move {
        match term {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot catch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    }
}
