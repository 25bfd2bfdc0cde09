//! One connection to the coordinator: dial, register, send again what is unanswered, then relay both ways until
//! the connection ends, or until a worker that shuts down has nothing left to do.

use super::{Link, Stage};
use crate::runner::{CancelRender, CurrentRender};
use distencode_wire::connection::{self, ConnectionError};
use distencode_wire::message::{CoordinatorToWorker, Registration, WorkerToCoordinator};
use distencode_wire::Role;
use futures::StreamExt;

/// Why a connection ended.
pub(super) enum SessionEnd {
    /// The coordinator will not have this worker (a certificate or version problem): stop.
    Refused(String),
    /// The connection failed or ended: dial again.
    Failed(String),
    /// Another process is connected under this worker's name: dial again, to take over once it is gone (a
    /// machine that restarted after a crash, whose old connection the coordinator has not yet given up on), and
    /// say so loudly meanwhile (two machines sharing one name).
    NameTaken(String),
}

/// One connection, to its end. `Ok` when the runner is gone (the worker stops).
pub(super) async fn run(link: &mut Link, registered: &mut bool) -> Result<(), SessionEnd> {
    let config = link.config.clone();
    let (mut conn, _) =
        connection::dial(&config.coordinator, config.tls.clone(), Role::Worker).await.map_err(|e| match e {
            ConnectionError::Handshake { .. } | ConnectionError::Refused(_) => SessionEnd::Refused(e.to_string()),
            e => SessionEnd::Failed(e.to_string()),
        })?;
    let rendering = link.runner.send(CurrentRender).await.ok().flatten();
    // A render that ended just now has cleared the runner and queued its report in the same step: take it, so
    // the registration names the attempt it is about.
    while let Ok(report) = link.inbox.reports.try_recv() {
        link.pending.report(report);
    }
    let registration = Registration {
        melt_version: config.melt_version.clone(),
        services: config.services.clone(),
        video_encoders: config.encoders.video.clone(),
        audio_encoders: config.encoders.audio.clone(),
        cpus: config.cpus,
        current: rendering.or(link.pending.reported_attempt()),
        instance: link.instance,
        fingerprint: config.fingerprint.clone(),
    };
    let failed = |e: ConnectionError| SessionEnd::Failed(e.to_string());
    conn.send(&WorkerToCoordinator::Register(registration)).await.map_err(failed)?;
    match conn.expect::<CoordinatorToWorker>().await.map_err(failed)? {
        CoordinatorToWorker::Registered => {}
        CoordinatorToWorker::Refused(reason) => return Err(SessionEnd::Refused(reason)),
        CoordinatorToWorker::NameTaken(reason) => return Err(SessionEnd::NameTaken(reason)),
        other => return Err(SessionEnd::Failed(format!("unexpected answer to Register: {other:?}"))),
    }
    tracing::info!(coordinator = %config.coordinator, "registered");
    *registered = true;
    for message in link.pending.resend() {
        conn.send(message).await.map_err(failed)?;
    }
    let (mut reader, mut writer) = conn.split();
    let timeout = config.heartbeat_timeout;
    // Every write has the heartbeat timeout too: a coordinator that stops reading is as gone as a silent one.
    macro_rules! send {
        ($message:expr) => {
            match tokio::time::timeout(timeout, writer.send($message)).await {
                Ok(result) => result.map_err(failed)?,
                Err(_) => return Err(SessionEnd::Failed(format!("the coordinator took no message for {timeout:?}"))),
            }
        };
    }
    // Ends the connection cleanly (close_notify) once a shutting-down worker has nothing left to do.
    macro_rules! finish {
        () => {{
            let _ = tokio::time::timeout(timeout, writer.close()).await;
            tracing::info!("nothing left to render or report; leaving");
            return Ok(());
        }};
    }
    let mut told_leaving = false;
    if link.stage() >= Stage::Draining {
        // Registered again while shutting down: this coordinator must know too.
        send!(&WorkerToCoordinator::Leaving);
        told_leaving = true;
        if link.done().await {
            finish!();
        }
    }
    let mut stage_open = true;
    let mut heartbeat = tokio::time::interval(config.heartbeat_interval);
    // Reset by every message from the coordinator; when it fires, the coordinator has been silent too long.
    let silence = tokio::time::sleep(timeout);
    tokio::pin!(silence);
    loop {
        tokio::select! {
            message = link.inbox.stream.recv(), if link.pending.has_room() => {
                let Some(message) = message else { return Ok(()) };
                link.pending.log(&message);
                send!(&message);
            }
            report = link.inbox.reports.recv() => {
                let Some(report) = report else { return Ok(()) };
                let message = link.pending.report(report);
                send!(&message);
            }
            Some(answer) = link.offers.next(), if !link.offers.is_empty() => {
                send!(&answer);
                if link.done().await {
                    finish!();
                }
            }
            changed = link.stage.changed(), if stage_open => {
                if changed.is_err() {
                    stage_open = false;
                    continue;
                }
                let stage = *link.stage.borrow_and_update();
                link.enter(stage).await;
                if stage >= Stage::Draining && !told_leaving {
                    send!(&WorkerToCoordinator::Leaving);
                    told_leaving = true;
                }
                if link.done().await {
                    finish!();
                }
            }
            _ = tokio::time::sleep_until(link.give_up_at.unwrap_or_else(tokio::time::Instant::now)),
                if link.give_up_at.is_some() =>
            {
                tracing::warn!("the coordinator did not take the report of the render given up in time; leaving");
                finish!();
            }
            _ = heartbeat.tick() => send!(&WorkerToCoordinator::Heartbeat),
            _ = &mut silence => {
                return Err(SessionEnd::Failed(format!("no word from the coordinator for {timeout:?}")));
            }
            message = reader.recv::<CoordinatorToWorker>() => {
                let message = match message {
                    Err(e) => return Err(failed(e)),
                    Ok(None) => return Err(SessionEnd::Failed("the coordinator closed the connection".into())),
                    Ok(Some(message)) => message,
                };
                silence.as_mut().reset(tokio::time::Instant::now() + timeout);
                match message {
                    CoordinatorToWorker::LogAck { .. }
                    | CoordinatorToWorker::Commit { .. }
                    | CoordinatorToWorker::FinishedAck { .. } => {
                        link.pending.answer(&message);
                        if link.done().await {
                            finish!();
                        }
                    }
                    CoordinatorToWorker::Offer(job) => {
                        if let Some(answer) = link.offer(*job) {
                            send!(&answer);
                        }
                    }
                    CoordinatorToWorker::Cancel { job, attempt } => {
                        // Awaited, not `do_send`: a flood of cancellations waits for the runner's mailbox.
                        let _ = link.runner.send(CancelRender { job, attempt }).await;
                    }
                    CoordinatorToWorker::Heartbeat | CoordinatorToWorker::Registered => {}
                    CoordinatorToWorker::Refused(reason) => return Err(SessionEnd::Refused(reason)),
                    CoordinatorToWorker::NameTaken(reason) => return Err(SessionEnd::NameTaken(reason)),
                }
            }
        }
    }
}
