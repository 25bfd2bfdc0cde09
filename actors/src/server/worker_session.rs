//! One worker's connection on the coordinator: registration, then messages both ways until it ends.
//!
//! The writer half drains the worker's outbox (offers, cancellations, acknowledgements), everything waiting in one
//! write, and sends a heartbeat when idle; the reader half takes heartbeats and `Leaving` to the WorkerRegistry and relays every
//! other message to the Coordinator, awaiting each, so a flood of log lines slows the worker instead of filling
//! memory. A worker silent for longer than the heartbeat timeout is disconnected. When the coordinator stops, the
//! reader stops between two messages and the writer sends what is waiting, then closes the connection cleanly.
//! When the worker's certificate is revoked, the connection is dropped at once and the worker is lost.

use super::ServerContext;
use crate::coordinator::FromWorker;
use crate::registry::{Connect, Disconnect, Leave, NameTaken, Revoked, Touch};
use distencode_wire::connection::{Connection, ServerStream};
use distencode_wire::message::{CoordinatorToWorker, WorkerToCoordinator};
use tokio::sync::{mpsc, oneshot, watch};

/// Messages waiting for one worker's connection; the registry's `try_send` fails past this.
const OUTBOX_CAPACITY: usize = 256;

pub(super) async fn run(
    mut conn: Connection<ServerStream>,
    worker: String,
    context: ServerContext,
    mut shutdown: watch::Receiver<bool>,
    revoked: impl std::future::Future<Output = ()>,
) {
    let registration = match tokio::time::timeout(context.heartbeat_timeout, conn.recv()).await {
        Ok(Ok(Some(WorkerToCoordinator::Register(registration)))) => registration,
        Ok(Ok(Some(other))) => {
            tracing::warn!(%worker, "refused worker: expected Register first, got {other:?}");
            return;
        }
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            tracing::warn!(%worker, "worker connection ended before registering: {e}");
            return;
        }
        Err(_) => {
            tracing::warn!(%worker, "worker did not register within {:?}", context.heartbeat_timeout);
            return;
        }
    };
    let (outbox, mut inbox) = mpsc::channel::<CoordinatorToWorker>(OUTBOX_CAPACITY);
    let replies = outbox.clone();
    let connection = match context.registry.send(Connect { name: worker.clone(), registration, outbox }).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(NameTaken(reason))) => {
            let _ = conn.send(&CoordinatorToWorker::NameTaken(reason)).await;
            return;
        }
        Err(_) => return,
    };
    if conn.send(&CoordinatorToWorker::Registered).await.is_err() {
        context.registry.do_send(Disconnect { name: worker, connection });
        return;
    }
    let (mut reader, mut writer) = conn.split();
    let interval = context.heartbeat_interval;
    // The reader stopped for a shutdown: the writer sends what is waiting (the answer to the last report) and closes.
    let (stop_writing, mut stopped_reading) = oneshot::channel::<()>();
    let timeout = context.heartbeat_timeout;
    let write = async move {
        loop {
            let waited = tokio::select! {
                biased;
                _ = &mut stopped_reading => {
                    while let Ok(message) = inbox.try_recv() {
                        if writer.feed(&message).await.is_err() {
                            return;
                        }
                    }
                    let _ = tokio::time::timeout(timeout, writer.close()).await;
                    return;
                }
                waited = tokio::time::timeout(interval, inbox.recv()) => waited,
            };
            let message = match waited {
                Ok(Some(message)) => message,
                Ok(None) => return, // the registry dropped our outbox: replaced by a newer connection
                Err(_) => CoordinatorToWorker::Heartbeat,
            };
            if writer.feed(&message).await.is_err() {
                return;
            }
            // Whatever else is waiting goes in the same write (a `LogAck` and the `Commit` right behind it).
            for _ in 1..OUTBOX_CAPACITY {
                let Ok(message) = inbox.try_recv() else { break };
                if writer.feed(&message).await.is_err() {
                    return;
                }
            }
            if writer.flush().await.is_err() {
                return;
            }
        }
    };
    let (coordinator, registry) = (context.coordinator.clone(), context.registry.clone());
    let name = worker.clone();
    let read = async move {
        loop {
            let received = tokio::select! {
                received = tokio::time::timeout(timeout, reader.recv::<WorkerToCoordinator>()) => received,
                // The coordinator stops: between two messages, so every report read has been answered.
                _ = shutdown.wait_for(|stop| *stop) => {
                    let _ = stop_writing.send(());
                    return std::future::pending().await;
                }
            };
            match received {
                // Heartbeats go straight to the registry (awaited, so a flood of them waits too).
                Ok(Ok(Some(WorkerToCoordinator::Heartbeat))) => {
                    if registry.send(Touch(name.clone())).await.is_err() {
                        return;
                    }
                }
                Ok(Ok(Some(WorkerToCoordinator::Leaving))) => {
                    if registry.send(Leave(name.clone())).await.is_err() {
                        return;
                    }
                }
                Ok(Ok(Some(message))) => match coordinator.send(FromWorker { worker: name.clone(), message }).await {
                    // Never wait for room here: this reader must keep reading, or a worker blocked writing to us
                    // and a writer of ours blocked writing to it would wait for each other for ever. A worker
                    // that leaves this many answers unread is not reading at all.
                    Ok(Some(reply)) => {
                        if replies.try_send(reply).is_err() {
                            return tracing::warn!(worker = %name, "the worker stopped reading; dropping its connection");
                        }
                    }
                    Ok(None) => {}
                    Err(_) => return,
                },
                Ok(Ok(None)) => return tracing::info!(worker = %name, "worker closed its connection"),
                Ok(Err(e)) => return tracing::warn!(worker = %name, "worker connection failed: {e}"),
                Err(_) => return tracing::warn!(worker = %name, "no word from the worker for {timeout:?}"),
            }
        }
    };
    tokio::select! {
        _ = write => {},
        _ = read => {},
        _ = revoked => {
            tracing::warn!(%worker, "disconnected worker {worker:?}: its certificate was revoked");
            return context.registry.do_send(Revoked { name: worker, connection });
        }
    }
    context.registry.do_send(Disconnect { name: worker, connection });
}
