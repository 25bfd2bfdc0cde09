//! What the worker has asked of the coordinator that is not answered yet, and the one place where answers are
//! matched with their requests: each log batch until its `LogAck`, and the last `Verified` or `Finished` report
//! until its `Commit` or `FinishedAck`. All of it is sent again after a reconnection, logs first, so the
//! coordinator never misses a line or an outcome because a connection dropped.

use super::handle::Report;
use distencode_wire::job::JobId;
use distencode_wire::message::{CoordinatorToWorker, WorkerToCoordinator};
use std::collections::VecDeque;
use tokio::sync::oneshot;

/// Log text kept for the coordinator until it is acknowledged; past this the render waits (back-pressure).
const MAX_UNACKNOWLEDGED_LOG_BYTES: usize = 64 * 1024 * 1024;

/// Requests waiting for their answers.
#[derive(Default)]
pub(super) struct Pending {
    /// Log batches in the order they were made.
    logs: VecDeque<WorkerToCoordinator>,
    /// Text bytes in `logs`.
    log_bytes: usize,
    /// The last `Verified` or `Finished` report. A `Verified` stays after its `Commit` until `Finished` replaces
    /// it: should the link drop between the rename and the report, the worker still registers as holding the
    /// attempt.
    report: Option<WorkerToCoordinator>,
    /// Who waits for the `Commit` answering `report` (the render, between verifying and renaming).
    commit: Option<oneshot::Sender<bool>>,
}

impl Pending {
    /// Keeps a log batch until it is acknowledged.
    pub(super) fn log(&mut self, message: &WorkerToCoordinator) {
        if let WorkerToCoordinator::Log { text, .. } = message {
            self.log_bytes += text.len();
            self.logs.push_back(message.clone());
        }
    }

    /// Keeps a report until it is answered (it replaces the one before); returns the message to send. A poster
    /// frame is only passed on: nothing answers it.
    pub(super) fn report(&mut self, report: Report) -> WorkerToCoordinator {
        let message = match report {
            Report::Verified { job, attempt, facts, commit } => {
                self.commit = Some(commit);
                WorkerToCoordinator::Verified { job, attempt, facts }
            }
            Report::Finished { job, attempt, outcome } => {
                self.commit = None;
                WorkerToCoordinator::Finished { job, attempt, outcome }
            }
            Report::Poster { job, attempt, thumbnail } => {
                return WorkerToCoordinator::Poster { job, attempt, thumbnail };
            }
        };
        self.report = Some(message.clone());
        message
    }

    /// Matches an answer from the coordinator (`LogAck`, `Commit`, `FinishedAck`) with its request; an answer to
    /// nothing pending (a duplicate, another attempt's) changes nothing.
    pub(super) fn answer(&mut self, answer: &CoordinatorToWorker) {
        match *answer {
            // Each stored batch is acknowledged on its own, so one the coordinator failed to store stays until it
            // is sent again.
            CoordinatorToWorker::LogAck { job, attempt, seq } => {
                let bytes = &mut self.log_bytes;
                self.logs.retain(|m| match m {
                    WorkerToCoordinator::Log { job: j, attempt: a, seq: s, text }
                        if (*j, *a, *s) == (job, attempt, seq) =>
                    {
                        *bytes -= text.len();
                        false
                    }
                    _ => true,
                });
            }
            CoordinatorToWorker::Commit { job, attempt, go } => {
                if matches!(self.report, Some(WorkerToCoordinator::Verified { job: j, attempt: a, .. }) if (j, a) == (job, attempt))
                {
                    // Taken once: a `Verified` sent again after a reconnection is answered again, to nobody.
                    if let Some(commit) = self.commit.take() {
                        let _ = commit.send(go);
                    }
                }
            }
            CoordinatorToWorker::FinishedAck { job, attempt, accepted } => {
                if matches!(self.report, Some(WorkerToCoordinator::Finished { job: j, attempt: a, .. }) if (j, a) == (job, attempt))
                {
                    if !accepted {
                        tracing::warn!(%job, attempt, "the coordinator refused this worker's result (the job had moved on)");
                    }
                    self.report = None;
                }
            }
            _ => {}
        }
    }

    /// Everything to send again after registering, in order: log batches, then the report.
    pub(super) fn resend(&self) -> impl Iterator<Item = &WorkerToCoordinator> {
        self.logs.iter().chain(self.report.iter())
    }

    /// The attempt a pending report is about.
    pub(super) fn reported_attempt(&self) -> Option<(JobId, u32)> {
        match &self.report {
            Some(
                WorkerToCoordinator::Verified { job, attempt, .. } | WorkerToCoordinator::Finished { job, attempt, .. },
            ) => Some((*job, *attempt)),
            _ => None,
        }
    }

    /// Whether every request has been answered.
    pub(super) fn is_empty(&self) -> bool {
        self.logs.is_empty() && self.report.is_none()
    }

    /// Whether more log text may be taken.
    pub(super) fn has_room(&self) -> bool {
        self.log_bytes < MAX_UNACKNOWLEDGED_LOG_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::RenderFacts;
    use distencode_wire::message::Outcome;

    fn log(job: u64, attempt: u32, seq: u64, text: &str) -> WorkerToCoordinator {
        WorkerToCoordinator::Log { job: JobId(job), attempt, seq, text: text.into() }
    }

    fn ack(job: u64, attempt: u32, seq: u64) -> CoordinatorToWorker {
        CoordinatorToWorker::LogAck { job: JobId(job), attempt, seq }
    }

    fn facts() -> RenderFacts {
        RenderFacts {
            frames: 25,
            duration_seconds: 1.0,
            video_codec: "h264".into(),
            audio_codec: None,
            size_bytes: 1,
            dropped_filters: Vec::new(),
            streams: Default::default(),
        }
    }

    #[test]
    fn acknowledged_batches_are_forgotten_others_kept_in_order() {
        let mut pending = Pending::default();
        for seq in 0..4 {
            pending.log(&log(1, 1, seq, "abcd"));
        }
        pending.log(&log(2, 1, 0, "other job"));
        // Batch 1 was not stored (a store error): acknowledging 0 and 2 keeps it for sending again.
        pending.answer(&ack(1, 1, 0));
        pending.answer(&ack(1, 1, 2));
        let left: Vec<_> = pending.resend().cloned().collect();
        assert_eq!(left, [log(1, 1, 1, "abcd"), log(1, 1, 3, "abcd"), log(2, 1, 0, "other job")]);
        assert_eq!(pending.log_bytes, 4 + 4 + 9);
        pending.answer(&ack(1, 2, 99));
        assert_eq!(pending.logs.len(), 3, "another attempt's acknowledgement changes nothing");
    }

    #[test]
    fn a_commit_reaches_the_render_once_and_only_for_its_own_attempt() {
        let mut pending = Pending::default();
        let (commit, mut answer) = oneshot::channel();
        let sent = pending.report(Report::Verified { job: JobId(3), attempt: 2, facts: facts(), commit });
        assert_eq!(sent, WorkerToCoordinator::Verified { job: JobId(3), attempt: 2, facts: facts() });
        pending.answer(&CoordinatorToWorker::Commit { job: JobId(3), attempt: 1, go: true });
        assert!(answer.try_recv().is_err(), "another attempt's Commit is not this render's");
        pending.answer(&CoordinatorToWorker::Commit { job: JobId(3), attempt: 2, go: true });
        assert_eq!(answer.try_recv(), Ok(true));
        assert_eq!(pending.reported_attempt(), Some((JobId(3), 2)), "Verified stays until Finished replaces it");
        pending.answer(&CoordinatorToWorker::FinishedAck { job: JobId(3), attempt: 2, accepted: true });
        assert!(pending.report.is_some(), "a FinishedAck does not answer a Verified");
    }

    #[test]
    fn a_report_stays_until_answered_for_its_own_attempt() {
        let mut pending = Pending::default();
        pending.report(Report::Finished { job: JobId(3), attempt: 2, outcome: Outcome::Cancelled });
        assert_eq!(pending.reported_attempt(), Some((JobId(3), 2)));
        pending.answer(&CoordinatorToWorker::FinishedAck { job: JobId(3), attempt: 1, accepted: true });
        assert!(pending.report.is_some());
        pending.answer(&CoordinatorToWorker::FinishedAck { job: JobId(3), attempt: 2, accepted: false });
        assert!(pending.report.is_none());
    }

    #[test]
    fn a_poster_frame_is_passed_on_and_leaves_the_finished_report_waiting_for_its_answer() {
        let mut pending = Pending::default();
        pending.report(Report::Finished { job: JobId(3), attempt: 2, outcome: Outcome::Cancelled });
        let thumbnail = distencode_wire::thumbnail::Thumbnail::new(vec![0xff, 0xd8, 0xff, 0xd9]).unwrap();
        let sent = pending.report(Report::Poster { job: JobId(3), attempt: 2, thumbnail: thumbnail.clone() });
        assert_eq!(sent, WorkerToCoordinator::Poster { job: JobId(3), attempt: 2, thumbnail });
        assert_eq!(pending.reported_attempt(), Some((JobId(3), 2)), "the Finished report still waits");
        assert_eq!(pending.resend().count(), 1, "only the Finished report is sent again after a reconnection");
    }

    #[test]
    fn room_runs_out_at_the_limit() {
        let mut pending = Pending::default();
        pending.log(&log(1, 1, 0, &"x".repeat(MAX_UNACKNOWLEDGED_LOG_BYTES - 1)));
        assert!(pending.has_room());
        pending.log(&log(1, 1, 1, "x"));
        assert!(!pending.has_room());
    }
}
