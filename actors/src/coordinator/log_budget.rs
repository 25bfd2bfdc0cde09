//! How many bytes of melt's output the coordinator stores per attempt.
//!
//! Only the worker holding an attempt may log for it (`reports.rs`), but that worker can still send without end: a
//! made-up flood of batches was acknowledged at 150 MB/s. Each live attempt gets [`DEFAULT_MAX_LOG_BYTES`]
//! (`--max-log-bytes`); the batch that would pass it is replaced by one line saying so, and the rest of the attempt's
//! batches are acknowledged (so the worker forgets them) and dropped. A batch sent again after a reconnection (its
//! `seq` already seen) is not counted twice. The count lives in memory: after a coordinator restart an attempt
//! starts counting again.

use distencode_wire::job::JobId;
use std::collections::HashMap;

/// Log bytes stored per attempt unless `--max-log-bytes` says otherwise: 64 MiB.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;

/// What to do with one batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Store it as it is.
    Store(String),
    /// Store this line in its place: the attempt's log has reached the cap.
    Cut(String),
    /// Acknowledge it without storing it: the cap was reached before.
    Drop,
}

/// The live attempts' counts; one entry per job that is logging.
#[derive(Debug)]
pub struct LogBudgets {
    /// Bytes an attempt may store.
    max: u64,
    /// Per job: the attempt counted, and its count.
    jobs: HashMap<JobId, (u32, Budget)>,
}

#[derive(Debug, Default)]
struct Budget {
    /// Bytes stored for the attempt.
    bytes: u64,
    /// The highest batch number counted.
    last_seq: Option<u64>,
    /// The cap was reached: later batches are dropped.
    cut: bool,
}

impl LogBudgets {
    pub fn new(max: u64) -> Self {
        Self { max, jobs: HashMap::new() }
    }

    /// Decides about batch `seq` of `attempt` of `job` (an attempt the sender holds).
    pub fn admit(&mut self, job: JobId, attempt: u32, seq: u64, text: String) -> Admit {
        let entry = self.jobs.entry(job).or_insert_with(|| (attempt, Budget::default()));
        if entry.0 != attempt {
            *entry = (attempt, Budget::default());
        }
        let budget = &mut entry.1;
        if budget.last_seq.is_some_and(|last| seq <= last) {
            // Sent again: the store keeps the first copy of a batch, so this changes nothing and costs nothing.
            return Admit::Store(text);
        }
        if budget.cut {
            return Admit::Drop;
        }
        budget.last_seq = Some(seq);
        let len = text.len() as u64;
        if budget.bytes.saturating_add(len) > self.max {
            budget.cut = true;
            return Admit::Cut(format!(
                "distencode: this attempt's log reached its limit of {} bytes (--max-log-bytes); the rest of melt's output is not stored\n",
                self.max
            ));
        }
        budget.bytes += len;
        Admit::Store(text)
    }

    /// The job is final: its count goes.
    pub fn forget(&mut self, job: JobId) {
        self.jobs.remove(&job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: JobId = JobId(7);

    #[test]
    fn an_attempt_stores_up_to_the_cap_then_one_line_then_nothing() {
        let mut budgets = LogBudgets::new(10);
        assert_eq!(budgets.admit(JOB, 1, 0, "12345".into()), Admit::Store("12345".into()));
        assert_eq!(budgets.admit(JOB, 1, 1, "67890".into()), Admit::Store("67890".into()), "exactly at the cap");
        let Admit::Cut(line) = budgets.admit(JOB, 1, 2, "x".into()) else { panic!("one byte past the cap") };
        assert_eq!(
            line,
            "distencode: this attempt's log reached its limit of 10 bytes (--max-log-bytes); the rest of melt's output is not stored\n"
        );
        assert_eq!(budgets.admit(JOB, 1, 3, "y".into()), Admit::Drop);
        // The cut batch sent again after a reconnection stays what the store kept (its first copy: the line).
        assert_eq!(budgets.admit(JOB, 1, 2, "x".into()), Admit::Store("x".into()));
        // A new attempt starts from nothing.
        assert_eq!(budgets.admit(JOB, 2, 0, "0123456789".into()), Admit::Store("0123456789".into()));
    }

    #[test]
    fn batches_sent_again_are_not_counted_twice() {
        let mut budgets = LogBudgets::new(10);
        for _ in 0..5 {
            assert_eq!(budgets.admit(JOB, 1, 0, "123456".into()), Admit::Store("123456".into()));
        }
        assert_eq!(budgets.admit(JOB, 1, 1, "1234".into()), Admit::Store("1234".into()));
        budgets.forget(JOB);
        assert!(budgets.jobs.is_empty());
    }
}
