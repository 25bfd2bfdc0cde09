//! The worker node's link to its coordinator: dial, register, then relay offers to the MeltRunner and its reports
//! back, for as long as the worker runs.
//!
//! Every exchange is a request and its answer, matched in one place ([`pending::Pending`]):
//! - `Offer` → `Accepted` or `Rejected`: the link asks the MeltRunner ([`Offer`]) and sends its typed answer;
//! - `Log` → `LogAck`: each batch is kept until acknowledged;
//! - `Verified` → `Commit`: the render waits in [`LinkHandle::verified`] for the coordinator's decision;
//! - `Finished` → `FinishedAck`: the report is kept until answered.
//!
//! The link outlives connections. When the coordinator goes away, the render goes on; the link dials again with
//! backoff and jitter, registers with the job it still holds, and sends again whatever is unanswered.

mod handle;
mod pending;
mod session;
mod shutdown;

pub use handle::{LinkHandle, LinkInbox};
pub use shutdown::{stages, Stage, GIVE_UP_WAIT};

use crate::runner::{MeltRunner, Offer, OfferAnswer};
use actix::Addr;
use distencode_wire::message::WorkerToCoordinator;
use distencode_wire::redial::{self, Backoff};
use futures::stream::FuturesUnordered;
use pending::Pending;
use session::SessionEnd;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
    /// Its render stack (melt, ffmpeg, frei0r, fonts), announced at registration.
    pub fingerprint: distencode_wire::message::Fingerprint,
}

/// The longest wait between two dials (each wait is drawn at random under a ceiling that doubles up to this; see
/// [`redial`]). A coordinator's grace must be longer, or a worker that was cut off for a while may dial back only
/// after its job was given away; `distencode node` refuses a shorter one.
pub const MAX_BACKOFF: Duration = redial::MAX_WAIT;

/// Offers being checked by the MeltRunner at once; past this an offer is turned down at once as busy (the
/// runner takes one job at a time, so more only come from a coordinator that misbehaves).
const MAX_OFFERS_IN_FLIGHT: usize = 16;

/// An offer's answer on its way from the MeltRunner.
type OfferReply = Pin<Box<dyn Future<Output = WorkerToCoordinator>>>;

/// The link's state, kept across connections.
struct Link {
    config: LinkConfig,
    /// This process's [`distencode_wire::message::Registration::instance`].
    instance: u64,
    runner: Addr<MeltRunner>,
    /// What the runner and its renders send.
    inbox: LinkInbox,
    /// Requests not answered yet.
    pending: Pending,
    /// Offers the MeltRunner is checking; their answers are sent on whichever connection is up then.
    offers: FuturesUnordered<OfferReply>,
    /// Whether the worker is shutting down (see [`shutdown`]).
    stage: watch::Receiver<Stage>,
    /// Once the render is given up: when to stop waiting for the coordinator to take its report.
    give_up_at: Option<tokio::time::Instant>,
}

impl Link {
    /// Asks the MeltRunner about an offer; the answer comes out of `offers`.
    fn offer(&mut self, job: distencode_wire::job::MeltJob) -> Option<WorkerToCoordinator> {
        let (id, attempt) = (job.id, job.attempt);
        if self.offers.len() >= MAX_OFFERS_IN_FLIGHT {
            let reason = format!("busy: {MAX_OFFERS_IN_FLIGHT} offers already being checked");
            return Some(
                OfferAnswer::Rejected { cause: distencode_wire::message::RejectionCause::Worker, reason }
                    .into_message(id, attempt),
            );
        }
        let answer = self.runner.send(Offer(job));
        self.offers.push(Box::pin(async move {
            let answer = answer.await.unwrap_or_else(|_| OfferAnswer::Rejected {
                cause: distencode_wire::message::RejectionCause::Worker,
                reason: "the worker's runner is gone".into(),
            });
            answer.into_message(id, attempt)
        }));
        None
    }
}

/// Runs the link until the runner is gone or, once `stage` says the worker shuts down, until it has nothing left
/// to render or report. Fails only if the coordinator refuses this worker for good.
pub async fn run_link(
    config: LinkConfig,
    runner: Addr<MeltRunner>,
    inbox: LinkInbox,
    stage: watch::Receiver<Stage>,
) -> Result<(), String> {
    let mut link = Link {
        config,
        instance: new_instance(),
        runner,
        inbox,
        pending: Pending::default(),
        offers: FuturesUnordered::new(),
        stage,
        give_up_at: None,
    };
    let mut backoff = Backoff::default();
    let mut registered_once = false;
    loop {
        let mut registered = false;
        let result = session::run(&mut link, &mut registered).await;
        registered_once |= registered;
        let coordinator = &link.config.coordinator;
        // After a session that got as far as registering, from the shortest wait again.
        let wait = backoff.after_session(registered);
        match result {
            Ok(()) => return Ok(()),
            // Before the first registration a refusal is a configuration error: say so and stop. Later it may be
            // a coordinator restarting mid-handshake: keep trying.
            Err(SessionEnd::Refused(reason)) if !registered_once => return Err(reason),
            Err(SessionEnd::Refused(reason) | SessionEnd::NameTaken(reason)) => {
                tracing::error!(%coordinator, "{reason}; dialling again in {wait:?}");
            }
            Err(SessionEnd::Failed(e)) => {
                tracing::warn!(%coordinator, "{e}; dialling again in {wait:?}");
            }
        }
        if link.done().await {
            return Ok(());
        }
        // Shutting down while the coordinator cannot be reached: a render given up is reported if it comes back
        // in time; otherwise its grace period ends with the job queued again.
        if link.give_up_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
            tracing::warn!(coordinator = %link.config.coordinator, "shutting down without reporting the render given up");
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            stage = link.next_stage() => link.enter(stage).await,
        }
    }
}

/// A worker process's [`distencode_wire::message::Registration::instance`], drawn once when it starts: random, so
/// no two share one.
pub fn new_instance() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}
