//! The worker node's link to its coordinator: dial, register, then relay offers to the MeltRunner and its reports
//! back, for as long as the worker runs.
//!
//! The link outlives connections. When the coordinator goes away, the render goes on; the link dials again with
//! backoff, registers with the job it still holds, and sends what waited meanwhile. A `Verified` or `Finished`
//! report is kept until the coordinator answers it, and sent again after a reconnection.

mod unconfirmed;

use crate::runner::{CancelRender, CommitDecision, CurrentRender, MeltRunner, Offer};
use actix::Addr;
use distencode_wire::connection::{self, ConnectionError};
use distencode_wire::message::{CoordinatorToWorker, Registration, WorkerToCoordinator};
use distencode_wire::Role;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use unconfirmed::Unconfirmed;

/// How a worker reaches its coordinator.
#[derive(Clone)]
pub struct LinkConfig {
    /// `HOST:PORT`.
    pub coordinator: String,
    pub tls: Arc<rustls::ClientConfig>,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    pub melt_version: String,
    pub services: Vec<String>,
    pub encoders: distencode_mlt::Encoders,
    /// This machine's CPU count, announced at registration.
    pub cpus: u32,
}

/// The longest wait between two dials.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Runs the link forever (until the process ends). Fails only if the coordinator refuses this worker for good.
pub async fn run_link(
    config: LinkConfig,
    runner: Addr<MeltRunner>,
    mut events: mpsc::Receiver<WorkerToCoordinator>,
) -> Result<(), String> {
    let mut backoff = Duration::from_millis(200);
    let mut unacknowledged = Unconfirmed::default();
    let mut registered_once = false;
    let instance = new_instance();
    loop {
        let mut registered = false;
        let result = session(&config, instance, &runner, &mut events, &mut unacknowledged, &mut registered).await;
        if registered {
            // That session got as far as registering: the next dial starts from the shortest wait again.
            backoff = Duration::from_millis(200);
            registered_once = true;
        }
        match result {
            Ok(()) => return Ok(()),
            // Before the first registration a refusal is a configuration error: say so and stop. Later it may be
            // a coordinator restarting mid-handshake: keep trying.
            Err(SessionEnd::Refused(reason)) if !registered_once => return Err(reason),
            Err(SessionEnd::Refused(reason) | SessionEnd::NameTaken(reason)) => {
                tracing::error!(coordinator = %config.coordinator, "{reason}; dialling again in {backoff:?}");
            }
            Err(SessionEnd::Failed(e)) => {
                tracing::warn!(coordinator = %config.coordinator, "{e}; dialling again in {backoff:?}");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum SessionEnd {
    /// The coordinator will not have this worker (a certificate or version problem): stop.
    Refused(String),
    /// The connection failed or ended: dial again.
    Failed(String),
    /// Another process is connected under this worker's name: dial again, to take over once it is gone (a
    /// machine that restarted after a crash, whose old connection the coordinator has not yet given up on), and
    /// say so loudly meanwhile (two machines sharing one name).
    NameTaken(String),
}

/// A worker process's [`Registration::instance`], drawn once when it starts: random, so no two share one.
pub fn new_instance() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

async fn session(
    config: &LinkConfig,
    instance: u64,
    runner: &Addr<MeltRunner>,
    events: &mut mpsc::Receiver<WorkerToCoordinator>,
    unacknowledged: &mut Unconfirmed,
    registered: &mut bool,
) -> Result<(), SessionEnd> {
    let (mut conn, _) =
        connection::dial(&config.coordinator, config.tls.clone(), Role::Worker).await.map_err(|e| match e {
            ConnectionError::Handshake { .. } | ConnectionError::Refused(_) => SessionEnd::Refused(e.to_string()),
            e => SessionEnd::Failed(e.to_string()),
        })?;
    let reported = unacknowledged.reported_attempt();
    let current = runner.send(CurrentRender).await.ok().flatten().or(reported);
    let registration = Registration {
        melt_version: config.melt_version.clone(),
        services: config.services.clone(),
        video_encoders: config.encoders.video.clone(),
        audio_encoders: config.encoders.audio.clone(),
        cpus: config.cpus,
        current,
        instance,
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
    for message in unacknowledged.logs.iter().chain(unacknowledged.report.iter()) {
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
    let mut heartbeat = tokio::time::interval(config.heartbeat_interval);
    let mut replies = mpsc::channel::<WorkerToCoordinator>(16);
    // Reset by every message from the coordinator; when it fires, the coordinator has been silent too long.
    let silence = tokio::time::sleep(timeout);
    tokio::pin!(silence);
    loop {
        tokio::select! {
            event = events.recv(), if unacknowledged.has_room() => {
                let Some(event) = event else { return Ok(()) };
                unacknowledged.keep(&event);
                send!(&event);
            }
            reply = replies.1.recv() => {
                if let Some(reply) = reply {
                    send!(&reply);
                }
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
                    CoordinatorToWorker::Offer(job) => {
                        // Validation takes a moment (files, services); answer when it is done, without blocking this loop.
                        let (runner, reply) = (runner.clone(), replies.0.clone());
                        actix_rt::spawn(async move {
                            if let Ok(answer) = runner.send(Offer(job)).await {
                                let _ = reply.send(answer).await;
                            }
                        });
                    }
                    CoordinatorToWorker::Cancel { job, attempt } => runner.do_send(CancelRender { job, attempt }),
                    // `Verified` stays unconfirmed until `Finished` replaces it: should the link drop between the
                    // rename and the report, the worker still registers as holding the attempt.
                    CoordinatorToWorker::Commit { job, attempt, go } => runner.do_send(CommitDecision { job, attempt, go }),
                    CoordinatorToWorker::FinishedAck { job, attempt, accepted } => {
                        if !accepted {
                            tracing::warn!(%job, attempt, "the coordinator refused this worker's result (the job had moved on)");
                        }
                        unacknowledged.report_answered(job, attempt);
                    }
                    CoordinatorToWorker::LogAck { job, attempt, seq } => unacknowledged.log_acknowledged(job, attempt, seq),
                    CoordinatorToWorker::Heartbeat | CoordinatorToWorker::Registered => {}
                    CoordinatorToWorker::Refused(reason) => return Err(SessionEnd::Refused(reason)),
                    CoordinatorToWorker::NameTaken(reason) => return Err(SessionEnd::NameTaken(reason)),
                }
            }
        }
    }
}
