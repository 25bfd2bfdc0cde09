//! What the worker has sent that the coordinator has not confirmed yet: log batches until a `LogAck` covers them,
//! and the last `Verified` or `Finished` report until it is answered. All of it is sent again after a reconnection,
//! logs first, so the coordinator never misses a line or an outcome because a connection dropped.

use distencode_wire::job::JobId;
use distencode_wire::message::WorkerToCoordinator;

/// Log text kept for the coordinator until it is acknowledged; past this the render waits (back-pressure).
const MAX_UNACKNOWLEDGED_LOG_BYTES: usize = 64 * 1024 * 1024;

/// What the coordinator has not confirmed yet, sent again after each reconnection.
#[derive(Default)]
pub(super) struct Unconfirmed {
    /// Log batches in the order they were made.
    pub(super) logs: std::collections::VecDeque<WorkerToCoordinator>,
    log_bytes: usize,
    /// The last `Verified` or `Finished` report, until answered.
    pub(super) report: Option<WorkerToCoordinator>,
}

impl Unconfirmed {
    /// Remembers an outgoing message that needs an answer.
    pub(super) fn keep(&mut self, message: &WorkerToCoordinator) {
        match message {
            WorkerToCoordinator::Log { text, .. } => {
                self.log_bytes += text.len();
                self.logs.push_back(message.clone());
            }
            WorkerToCoordinator::Verified { .. } | WorkerToCoordinator::Finished { .. } => {
                self.report = Some(message.clone())
            }
            _ => {}
        }
    }

    /// Forgets batch `seq` of that attempt: each stored batch is acknowledged on its own, so one the coordinator
    /// failed to store stays until it is sent again.
    pub(super) fn log_acknowledged(&mut self, job: JobId, attempt: u32, seq: u64) {
        self.logs.retain(|m| match m {
            WorkerToCoordinator::Log { job: j, attempt: a, seq: s, text }
                if *j == job && *a == attempt && *s == seq =>
            {
                self.log_bytes -= text.len();
                false
            }
            _ => true,
        });
    }

    /// Forgets the report about that attempt once answered.
    pub(super) fn report_answered(&mut self, job: JobId, attempt: u32) {
        let matches = match &self.report {
            Some(WorkerToCoordinator::Verified { job: j, attempt: a, .. })
            | Some(WorkerToCoordinator::Finished { job: j, attempt: a, .. }) => *j == job && *a == attempt,
            _ => false,
        };
        if matches {
            self.report = None;
        }
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

    pub(super) fn has_room(&self) -> bool {
        self.log_bytes < MAX_UNACKNOWLEDGED_LOG_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::message::Outcome;

    fn log(job: u64, attempt: u32, seq: u64, text: &str) -> WorkerToCoordinator {
        WorkerToCoordinator::Log { job: JobId(job), attempt, seq, text: text.into() }
    }

    #[test]
    fn acknowledged_batches_are_forgotten_others_kept_in_order() {
        let mut unconfirmed = Unconfirmed::default();
        for seq in 0..4 {
            unconfirmed.keep(&log(1, 1, seq, "abcd"));
        }
        unconfirmed.keep(&log(2, 1, 0, "other job"));
        // Batch 1 was not stored (a store error): acknowledging 0 and 2 keeps it for sending again.
        unconfirmed.log_acknowledged(JobId(1), 1, 0);
        unconfirmed.log_acknowledged(JobId(1), 1, 2);
        let left: Vec<_> = unconfirmed.logs.iter().cloned().collect();
        assert_eq!(left, [log(1, 1, 1, "abcd"), log(1, 1, 3, "abcd"), log(2, 1, 0, "other job")]);
        assert_eq!(unconfirmed.log_bytes, 4 + 4 + 9);
        unconfirmed.log_acknowledged(JobId(1), 2, 99);
        assert_eq!(unconfirmed.logs.len(), 3, "another attempt's acknowledgement changes nothing");
    }

    #[test]
    fn a_report_stays_until_answered_for_its_own_attempt() {
        let mut unconfirmed = Unconfirmed::default();
        let finished = WorkerToCoordinator::Finished { job: JobId(3), attempt: 2, outcome: Outcome::Cancelled };
        unconfirmed.keep(&finished);
        assert_eq!(unconfirmed.reported_attempt(), Some((JobId(3), 2)));
        unconfirmed.report_answered(JobId(3), 1);
        assert!(unconfirmed.report.is_some());
        unconfirmed.report_answered(JobId(3), 2);
        assert!(unconfirmed.report.is_none());
    }

    #[test]
    fn room_runs_out_at_the_limit() {
        let mut unconfirmed = Unconfirmed::default();
        assert!(unconfirmed.has_room());
        unconfirmed.keep(&log(1, 1, 0, &"x".repeat(MAX_UNACKNOWLEDGED_LOG_BYTES)));
        assert!(!unconfirmed.has_room());
    }
}
