//! The MeltRunner's side of the link: what a render says to the coordinator, each kind on its own path.
//!
//! Log batches and progress share one bounded queue: a full queue makes the render wait for room (log) or skips the
//! report (progress), so melt's output is slowed down rather than buffered. `Verified` and `Finished` go on a
//! queue of their own, so they never wait behind log text and are never dropped: a worker renders one job at a
//! time, and each render makes at most one of each, so [`REPORT_QUEUE`] can never fill. A success's poster frame
//! follows its `Finished` on that queue. `Verified` is a request:
//! [`LinkHandle::verified`] returns the coordinator's `Commit`. The link ([`super::run_link`]) matches every answer
//! with its request.

use distencode_wire::job::{JobId, Progress, RenderFacts};
use distencode_wire::message::{Outcome, WorkerToCoordinator};
use distencode_wire::thumbnail::Thumbnail;
use tokio::sync::{mpsc, oneshot};

/// Log batches and progress reports waiting between the MeltRunner and the link: at most this many batches of
/// 64 KiB (16 MiB); progress beyond it is skipped, log batches wait (back-pressure on melt's output).
const STREAM_QUEUE: usize = 256;

/// `Verified`, `Finished` and `Poster` reports waiting for the link. One render makes at most one of each and a new
/// render only starts on an offer, which comes after the link has read the first two: three would do; four leave
/// room (a poster that finds the queue full waits for room).
const REPORT_QUEUE: usize = 4;

/// A render's report that needs an answer.
pub(super) enum Report {
    /// The render is verified; `commit` gets the coordinator's `Commit { go }`.
    Verified { job: JobId, attempt: u32, facts: RenderFacts, commit: oneshot::Sender<bool> },
    /// How the render ended; answered by `FinishedAck`.
    Finished { job: JobId, attempt: u32, outcome: Outcome },
    /// A success's poster frame, after its `Finished`; unanswered, and not kept for a reconnection.
    Poster { job: JobId, attempt: u32, thumbnail: Thumbnail },
}

/// Cloneable; held by the MeltRunner and each render.
#[derive(Clone)]
pub struct LinkHandle {
    /// Log batches and progress, in order.
    stream: mpsc::Sender<WorkerToCoordinator>,
    /// `Verified` and `Finished`.
    reports: mpsc::Sender<Report>,
}

/// The link's receiving ends of a [`LinkHandle`].
pub struct LinkInbox {
    pub(super) stream: mpsc::Receiver<WorkerToCoordinator>,
    pub(super) reports: mpsc::Receiver<Report>,
}

impl LinkHandle {
    /// A handle for the runner and the inbox for [`super::run_link`].
    pub fn new() -> (Self, LinkInbox) {
        let (stream, stream_rx) = mpsc::channel(STREAM_QUEUE);
        let (reports, reports_rx) = mpsc::channel(REPORT_QUEUE);
        (Self { stream, reports }, LinkInbox { stream: stream_rx, reports: reports_rx })
    }

    /// Sends a log batch once there is room (the render waits meanwhile). The link keeps it until its `LogAck`.
    pub async fn log(&self, job: JobId, attempt: u32, seq: u64, text: String) {
        let _ = self.stream.send(WorkerToCoordinator::Log { job, attempt, seq, text }).await;
    }

    /// Sends a progress report, or skips it when the queue is full (the next one says more anyway).
    pub fn progress(&self, job: JobId, attempt: u32, progress: Progress) {
        let _ = self.stream.try_send(WorkerToCoordinator::Progress { job, attempt, progress });
    }

    /// Asks whether the verified render may be renamed into place: the coordinator's `Commit { go }`, waited for
    /// across reconnections; `false` if the link is gone.
    pub async fn verified(&self, job: JobId, attempt: u32, facts: RenderFacts) -> bool {
        let (commit, answer) = oneshot::channel();
        if self.reports.send(Report::Verified { job, attempt, facts, commit }).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Reports how a render ended. The link keeps the report until its `FinishedAck`, across reconnections.
    pub fn finished(&self, job: JobId, attempt: u32, outcome: Outcome) {
        if let Err(e) = self.reports.try_send(Report::Finished { job, attempt, outcome }) {
            // Cannot happen (see REPORT_QUEUE); should it, the coordinator learns of the end when it loses the
            // job (the worker registers without it).
            tracing::error!(%job, attempt, "the outcome could not be queued for the coordinator: {e}");
        }
    }

    /// Sends a success's poster frame, behind its `Finished` (same queue, so never before it).
    pub async fn poster(&self, job: JobId, attempt: u32, thumbnail: Thumbnail) {
        let _ = self.reports.send(Report::Poster { job, attempt, thumbnail }).await;
    }
}
