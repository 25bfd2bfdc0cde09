//! The job state machine: which changes are allowed from which state, and what each does to the record.
//!
//! ```text
//!            submit
//!              │
//!              ▼         offer           accepted
//!   ┌────▶  queued ──────────────▶ offered ────────▶ running ──succeed──▶ succeeded
//!   │         │  ▲   declined/lost    │   │              │
//!   │         │  └────────────────────┘   │              ├──fail/lost (attempts left)──▶ queued
//!   │         │  abandon                  │              └──fail (no attempts left)────▶ failed
//!   │         ▼                           ▼
//!   │   failed / cancelled ◀──cancel── (queued, offered, running until committed)
//!   └──retry──┘
//! ```
//!
//! Every change names the attempt it is about; a change for an attempt that is no longer the live one (a late
//! result from a worker the job was taken from) is refused as stale and changes nothing.

use distencode_wire::job::{Attempt, AttemptOutcome, JobId, JobRecord, JobState, RenderFacts, TaskView};

/// A requested change to one job.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Queued → offered: opens a new attempt on `worker`.
    Offer { worker: String },
    /// Offered → running: the worker accepted.
    Start { attempt: u32 },
    /// Offered → queued (`requeue`) or failed: the worker turned it down.
    Decline { attempt: u32, reason: String, requeue: bool },
    /// Offered or running → running, committed: the worker was told to put its verified file in place, so the job
    /// is finishing and can no longer be cancelled.
    Commit { attempt: u32 },
    /// Running → succeeded, with the verified facts.
    Succeed { attempt: u32, facts: RenderFacts },
    /// Offered or running → queued (`requeue`) or failed.
    Fail { attempt: u32, reason: String, requeue: bool, blames_worker: bool },
    /// Queued → failed: no worker can take it; the reason lists why.
    Abandon { reason: String },
    /// Queued, offered or running → cancelled.
    Cancel { reason: String },
    /// Failed or cancelled → queued, keeping the history of attempts (a split job's tasks are planned again).
    Retry,
    /// A split job, queued → running: its tasks (jobs of their own) render it.
    Split { tasks: Vec<TaskView> },
    /// A split job that is not split after all (`reason` says why), stays queued and renders in one piece.
    RefuseSplit { reason: String },
    /// A split job's tasks as they now stand (running → running).
    Tasks { tasks: Vec<TaskView> },
    /// A split job whose join succeeded, running → succeeded, with the joined file's facts.
    Joined { tasks: Vec<TaskView>, facts: RenderFacts },
    /// A split job one of whose tasks failed for good, running → failed.
    TaskFailed { tasks: Vec<TaskView>, reason: String },
    /// A split job cancelled (queued or running → cancelled), with its tasks as they end.
    CancelSplit { tasks: Vec<TaskView>, reason: String },
    /// A new priority for a job not yet final (its place in the queue follows it).
    Priority { priority: i32 },
}

/// Why a change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("job is {state}: cannot {action}")]
    NotAllowed { state: JobState, action: &'static str },
    #[error("stale report for attempt {attempt}: the job's live attempt is {live}")]
    Stale { attempt: u32, live: String },
    #[error("job {id} is already finishing: its file is being put in place")]
    Finishing { id: JobId },
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::Offer { .. } => "offer it to a worker",
            Change::Start { .. } => "start it",
            Change::Commit { .. } => "commit it",
            Change::Decline { .. } => "decline it",
            Change::Succeed { .. } => "record a success",
            Change::Fail { .. } => "record a failure",
            Change::Abandon { .. } => "abandon it",
            Change::Cancel { .. } => "cancel it",
            Change::Retry => "retry it",
            Change::Split { .. } => "split it",
            Change::RefuseSplit { .. } => "render it in one piece",
            Change::Tasks { .. } => "record its tasks",
            Change::Joined { .. } => "record its join",
            Change::TaskFailed { .. } => "record a failed task",
            Change::CancelSplit { .. } => "cancel it",
            Change::Priority { .. } => "change its priority",
        }
    }

    fn allowed_from(&self, state: JobState) -> bool {
        use JobState::*;
        match self {
            Change::Offer { .. } | Change::Abandon { .. } => state == Queued,
            Change::Start { .. } | Change::Decline { .. } => state == Offered,
            Change::Succeed { .. } => state == Running,
            Change::Commit { .. } => matches!(state, Offered | Running),
            Change::Fail { .. } => matches!(state, Offered | Running),
            Change::Cancel { .. } => matches!(state, Queued | Offered | Running),
            Change::Retry => matches!(state, Failed | Cancelled),
            Change::Split { .. } | Change::RefuseSplit { .. } => state == Queued,
            Change::Tasks { .. } | Change::Joined { .. } | Change::TaskFailed { .. } => state == Running,
            Change::CancelSplit { .. } => matches!(state, Queued | Running),
            Change::Priority { .. } => !state.is_final(),
        }
    }

    /// Changes only a split job (one not refused) may take.
    fn only_split(&self) -> bool {
        matches!(
            self,
            Change::Split { .. }
                | Change::RefuseSplit { .. }
                | Change::Tasks { .. }
                | Change::Joined { .. }
                | Change::TaskFailed { .. }
                | Change::CancelSplit { .. }
        )
    }

    fn attempt(&self) -> Option<u32> {
        match self {
            Change::Start { attempt }
            | Change::Commit { attempt }
            | Change::Decline { attempt, .. }
            | Change::Succeed { attempt, .. }
            | Change::Fail { attempt, .. } => Some(*attempt),
            _ => None,
        }
    }
}

/// Applies `change` to `record` at time `now` (unix ms), or refuses it and leaves the record as it was.
pub fn apply(record: &mut JobRecord, change: Change, now: u64) -> Result<(), TransitionError> {
    // Starting the attempt that already runs changes nothing and is no error: a worker's `Accepted` and, after a
    // reconnection, its `Verified` may both start the same attempt.
    if let Change::Start { attempt } = change {
        if record.state == JobState::Running && record.current_attempt().is_some_and(|a| a.number == attempt) {
            return Ok(());
        }
    }
    // A worker that sends `Verified` again (after a reconnection) commits the attempt already committed.
    if let Change::Commit { attempt } = change {
        let live = record.current_attempt();
        if record.state == JobState::Running && live.is_some_and(|a| a.number == attempt && a.committed_at.is_some()) {
            return Ok(());
        }
    }
    // Once committed, the file is being renamed into place: a cancel could no longer stop it.
    if let Change::Cancel { .. } = change {
        if record.current_attempt().is_some_and(|a| a.committed_at.is_some()) {
            return Err(TransitionError::Finishing { id: record.id });
        }
    }
    if !change.allowed_from(record.state) || (change.only_split() && !record.is_split()) {
        return Err(TransitionError::NotAllowed { state: record.state, action: change.action() });
    }
    // A split job renders through its tasks: it is never offered itself, and no worker's report is about it.
    if record.is_split() && matches!(change, Change::Offer { .. } | Change::Abandon { .. }) {
        return Err(TransitionError::NotAllowed { state: record.state, action: change.action() });
    }
    if let Some(attempt) = change.attempt() {
        let live = record.current_attempt().map(|a| a.number);
        if live != Some(attempt) {
            let live = live.map_or_else(|| "none".to_string(), |n| n.to_string());
            return Err(TransitionError::Stale { attempt, live });
        }
    }
    match change {
        Change::Offer { worker } => {
            let number = record.attempts.last().map_or(1, |a| a.number + 1);
            record.attempts.push(Attempt {
                number,
                worker: worker.clone(),
                offered_at: now,
                started_at: None,
                ended_at: None,
                committed_at: None,
                outcome: None,
                blames_worker: false,
            });
            record.worker = Some(worker);
            record.state = JobState::Offered;
        }
        Change::Start { .. } => {
            live_attempt(record).started_at = Some(now);
            record.state = JobState::Running;
        }
        Change::Commit { .. } => {
            let attempt = live_attempt(record);
            // An attempt still offered (its `Accepted` was lost with a connection) is started: the render ran.
            attempt.started_at.get_or_insert(now);
            attempt.committed_at = Some(now);
            record.state = JobState::Running;
        }
        Change::Decline { reason, requeue, .. } => {
            end_attempt(record, now, AttemptOutcome::Declined { reason: reason.clone() }, true);
            finish_or_requeue(record, requeue, reason, now);
        }
        Change::Succeed { facts, .. } => {
            end_attempt(record, now, AttemptOutcome::Succeeded, false);
            record.facts = Some(facts);
            record.error = None;
            record.progress = None;
            record.state = JobState::Succeeded;
            record.finished_at = Some(now);
        }
        Change::Fail { reason, requeue, blames_worker, .. } => {
            end_attempt(record, now, AttemptOutcome::Failed { reason: reason.clone() }, blames_worker);
            finish_or_requeue(record, requeue, reason, now);
        }
        Change::Abandon { reason } => {
            record.error = Some(reason);
            record.state = JobState::Failed;
            record.finished_at = Some(now);
        }
        Change::Cancel { reason } => {
            if record.current_attempt().is_some() {
                end_attempt(record, now, AttemptOutcome::Cancelled { reason: reason.clone() }, false);
            }
            record.error = Some(reason);
            record.progress = None;
            record.state = JobState::Cancelled;
            record.finished_at = Some(now);
        }
        Change::Retry => {
            record.retried_at = record.attempts.len();
            record.error = None;
            record.finished_at = None;
            record.facts = None;
            // A retry is a fresh start: workers that failed it before may take it again.
            for attempt in &mut record.attempts {
                attempt.blames_worker = false;
            }
            record.tasks.clear();
            record.progress = None;
            record.state = JobState::Queued;
        }
        Change::Split { tasks } => {
            record.tasks = tasks;
            record.state = JobState::Running;
        }
        Change::RefuseSplit { reason } => {
            if let Some(split) = record.split.as_mut() {
                split.refused = Some(reason);
            }
        }
        Change::Tasks { tasks } => record.tasks = tasks,
        Change::Joined { tasks, facts } => {
            record.tasks = tasks;
            record.facts = Some(facts);
            record.error = None;
            record.progress = None;
            record.state = JobState::Succeeded;
            record.finished_at = Some(now);
        }
        Change::TaskFailed { tasks, reason } => end_split(record, tasks, reason, JobState::Failed, now),
        Change::CancelSplit { tasks, reason } => end_split(record, tasks, reason, JobState::Cancelled, now),
        Change::Priority { priority } => record.priority = priority,
    }
    Ok(())
}

/// A split job ends without its file: its tasks as they end, and why.
fn end_split(record: &mut JobRecord, tasks: Vec<TaskView>, reason: String, state: JobState, now: u64) {
    record.tasks = tasks;
    record.error = Some(reason);
    record.progress = None;
    record.state = state;
    record.finished_at = Some(now);
}

fn live_attempt(record: &mut JobRecord) -> &mut Attempt {
    record.attempts.last_mut().expect("a live attempt was checked before")
}

fn end_attempt(record: &mut JobRecord, now: u64, outcome: AttemptOutcome, blames_worker: bool) {
    let attempt = live_attempt(record);
    attempt.ended_at = Some(now);
    attempt.outcome = Some(outcome);
    attempt.blames_worker = blames_worker;
    record.progress = None;
}

fn finish_or_requeue(record: &mut JobRecord, requeue: bool, reason: String, now: u64) {
    if requeue {
        record.state = JobState::Queued;
    } else {
        record.error = Some(if record.attempts.len() > 1 { every_attempt(record) } else { reason });
        record.state = JobState::Failed;
        record.finished_at = Some(now);
    }
}

/// `failed after 3 attempts: #1 on w1: ...; #2 on w2: ...`: the final error of a job tried more than once.
fn every_attempt(record: &JobRecord) -> String {
    let attempts: Vec<String> = record
        .attempts
        .iter()
        .map(|a| match &a.outcome {
            Some(outcome) => format!("#{} on {}: {outcome}", a.number, a.worker),
            None => format!("#{} on {}: no outcome", a.number, a.worker),
        })
        .collect();
    format!("failed after {} attempts: {}", record.attempts.len(), attempts.join("; "))
}

#[cfg(test)]
mod tests;
