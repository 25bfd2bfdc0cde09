//! What workers report, and what losing or regaining a worker does to its job.
//!
//! A report counts only from the worker that holds the job's live attempt: anything else (a late result from a
//! worker the job was taken from, or a worker speaking of another's job) changes nothing. Answers the worker waits
//! for (`LogAck`, `Commit`, `FinishedAck`) go back as the reply to the report, on the path its connection task
//! awaits, so they cannot be dropped by a full outbox.

use super::log_budget::Admit;
use super::{Coordinator, FromWorker};
use crate::registry::SendTo;
use crate::store::{AppendLog, Change, StoreError};
use actix::prelude::*;
use distencode_wire::job::{AttemptOutcome, JobId, JobRecord, JobState};
use distencode_wire::message::{CoordinatorToWorker, Outcome, RejectionCause, WorkerToCoordinator};
use distencode_wire::thumbnail::Thumbnail;

type Reply = Option<CoordinatorToWorker>;

impl Handler<FromWorker> for Coordinator {
    type Result = ResponseActFuture<Self, Reply>;

    fn handle(&mut self, msg: FromWorker, ctx: &mut Self::Context) -> Self::Result {
        let FromWorker { worker, message } = msg;
        let reply = match message {
            WorkerToCoordinator::Log { job, attempt, seq, text } => return self.log(worker, job, attempt, seq, text),
            WorkerToCoordinator::Finished { job, attempt, outcome } => {
                return self.finished(worker, job, attempt, outcome)
            }
            WorkerToCoordinator::Poster { job, attempt, thumbnail } => {
                return self.poster(worker, job, attempt, thumbnail)
            }
            WorkerToCoordinator::Accepted { job, attempt } => {
                self.accepted(worker, job, attempt, ctx);
                None
            }
            WorkerToCoordinator::Rejected { job, attempt, cause, reason } => {
                self.rejected(worker, job, attempt, cause, reason, ctx);
                None
            }
            WorkerToCoordinator::Progress { job, attempt, progress } => {
                let progress = progress.in_range();
                if self.holds(&worker, job, attempt) {
                    if let Some(record) = self.active.get_mut(&job) {
                        self.farm.send(crate::events::FarmEvent::Progress { id: job, percent: progress.percent });
                        record.progress = Some(progress);
                        let record = record.clone();
                        if let Some(sender) = self.watchers.get(&job) {
                            let _ = sender.send(record.clone());
                        }
                        self.task_changed(&record);
                    }
                }
                None
            }
            WorkerToCoordinator::Verified { job, attempt, facts } => {
                tracing::info!(job = %job, attempt, worker = %worker, frames = facts.frames, "verified render");
                return self.verified(worker, job, attempt);
            }
            // The connection task takes these itself (registration; heartbeats and `Leaving` go to the registry).
            WorkerToCoordinator::Heartbeat | WorkerToCoordinator::Leaving | WorkerToCoordinator::Register(_) => None,
        };
        Box::pin(async move { reply }.into_actor(self))
    }
}

impl Coordinator {
    /// Whether `worker` holds the live attempt `attempt` of `job`.
    pub(super) fn holds(&self, worker: &str, job: JobId, attempt: u32) -> bool {
        self.active
            .get(&job)
            .and_then(|r| r.current_attempt())
            .is_some_and(|a| a.number == attempt && a.worker == worker)
    }

    /// Stores a log batch (awaited by the worker's connection task, so a worker that logs faster than the store
    /// writes is slowed down, not buffered) and acknowledges it once stored. Only the live attempt the worker holds
    /// logs: a batch for any other (another worker's, an ended attempt, a final job, a job that does not exist yet
    /// and would otherwise show it once created) is acknowledged, so the worker forgets it, and dropped. Past
    /// `--max-log-bytes` for the attempt, one line says the log was cut, and the rest is dropped likewise.
    fn log(
        &mut self,
        worker: String,
        job: JobId,
        attempt: u32,
        seq: u64,
        text: String,
    ) -> ResponseActFuture<Self, Reply> {
        let ack = Some(CoordinatorToWorker::LogAck { job, attempt, seq });
        if !self.holds(&worker, job, attempt) {
            tracing::warn!(job = %job, attempt, worker = %worker, "log batch refused: not an attempt this worker holds");
            return Box::pin(async move { ack }.into_actor(self));
        }
        let text = match self.log_budgets.admit(job, attempt, seq, text) {
            Admit::Store(text) => text,
            Admit::Cut(line) => {
                tracing::warn!(job = %job, attempt, worker = %worker, "log cut: the attempt reached --max-log-bytes");
                line
            }
            Admit::Drop => return Box::pin(async move { ack }.into_actor(self)),
        };
        let append = self.store.send(AppendLog { id: job, attempt, seq, text });
        Box::pin(append.into_actor(self).map(move |result, act, _| match result {
            Ok(Ok(())) => {
                if let Some(signal) = act.log_signals.get(&job) {
                    signal.send_modify(|n| *n += 1);
                }
                ack
            }
            Ok(Err(e)) => {
                tracing::warn!(job = %job, "log not stored: {e}");
                None
            }
            Err(_) => None,
        }))
    }

    /// May the verified render be renamed into place? Only if this worker holds the live attempt, and only once the
    /// commit is recorded (an attempt still `offered`, its `Accepted` lost with a connection, is started by it).
    fn verified(&mut self, worker: String, job: JobId, attempt: u32) -> ResponseActFuture<Self, Reply> {
        let commit = move |go| Some(CoordinatorToWorker::Commit { job, attempt, go });
        let state = self.active.get(&job).map(|r| r.state);
        if !self.holds(&worker, job, attempt) || state.is_none() {
            return Box::pin(async move { commit(false) }.into_actor(self));
        }
        if !matches!(state, Some(JobState::Offered | JobState::Running)) {
            return Box::pin(async move { commit(false) }.into_actor(self));
        }
        // The commit is on disk before the worker is told to go: from then on a cancel is refused (the file is
        // being put in place), and a cancel that came first makes this change refused, so the answer is no.
        let committed = self.store.send(crate::store::ApplyChange { id: job, change: Change::Commit { attempt } });
        Box::pin(committed.into_actor(self).map(move |result, act, _| match result {
            Ok(Ok(record)) => {
                act.update(record);
                commit(true)
            }
            _ => commit(false),
        }))
    }

    fn accepted(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        if !self.holds(&worker, job, attempt) {
            // Not this worker's job any more (cancelled, or given to another): stop its render.
            self.registry.do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job, attempt } });
            return;
        }
        tracing::info!(job = %job, attempt, worker = %worker, "accepted");
        self.change(job, Change::Start { attempt }, ctx, move |result, act, _| {
            if result.is_err() {
                act.registry.do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job, attempt } });
            }
        });
    }

    fn rejected(
        &mut self,
        worker: String,
        job: JobId,
        attempt: u32,
        cause: RejectionCause,
        reason: String,
        ctx: &mut Context<Self>,
    ) {
        if !self.holds(&worker, job, attempt) {
            self.release(worker, job, attempt, None, ctx);
            return;
        }
        tracing::info!(job = %job, attempt, worker = %worker, ?cause, "rejected: {reason}");
        let requeue = cause == RejectionCause::Worker;
        self.change(job, Change::Decline { attempt, reason, requeue }, ctx, move |_, act, ctx| {
            act.release(worker, job, attempt, None, ctx);
        });
    }

    /// Records how a render ended; the reply tells the worker whether its report counted.
    fn finished(
        &mut self,
        worker: String,
        job: JobId,
        attempt: u32,
        outcome: Outcome,
    ) -> ResponseActFuture<Self, Reply> {
        let ack = move |accepted| Some(CoordinatorToWorker::FinishedAck { job, attempt, accepted });
        if !self.holds(&worker, job, attempt) {
            return Box::pin(actix::fut::ready(()).map(move |(), act: &mut Self, ctx| {
                act.release(worker, job, attempt, None, ctx);
                ack(false)
            }));
        }
        let (change, rendered) = match outcome {
            Outcome::Succeeded(facts) => (Change::Succeed { attempt, facts }, Some(true)),
            Outcome::Failed { reason, log_tail } => {
                tracing::info!(job = %job, attempt, worker = %worker, "render failed: {reason}\n{log_tail}");
                let requeue = self.may_requeue_after(job, Some(attempt));
                let reason = format!("worker {worker}: {reason}");
                (Change::Fail { attempt, reason, requeue, blames_worker: true }, Some(false))
            }
            Outcome::Cancelled => {
                let reason = format!("worker {worker} stopped the render");
                (Change::Fail { attempt, reason, requeue: true, blames_worker: false }, None)
            }
        };
        let apply = self.store.send(crate::store::ApplyChange { id: job, change });
        Box::pin(apply.into_actor(self).map(move |result, act, ctx| {
            let result = result.unwrap_or(Err(StoreError::Gone));
            let accepted = match result {
                Ok(record) => {
                    tracing::info!(job = %job, attempt, worker = %worker, state = %record.state, "finished");
                    act.update(record);
                    true
                }
                Err(e) => {
                    tracing::warn!(job = %job, "{e}");
                    false
                }
            };
            act.release(worker, job, attempt, rendered, ctx);
            ack(accepted)
        }))
    }

    /// Stores a success's poster frame, which its worker sends after the success was recorded. Taken only from
    /// the worker of that attempt, and kept only while that success stands (`JobStore::attach_poster`); the
    /// worker awaits no answer.
    fn poster(
        &mut self,
        worker: String,
        job: JobId,
        attempt: u32,
        thumbnail: Thumbnail,
    ) -> ResponseActFuture<Self, Reply> {
        let attach = self.store.send(crate::store::AttachPoster { id: job, attempt, worker, thumbnail });
        Box::pin(
            async move {
                match attach.await.unwrap_or(Err(StoreError::Gone)) {
                    Ok(true) => tracing::debug!(job = %job, attempt, "poster frame stored"),
                    Ok(false) => {
                        tracing::info!(job = %job, attempt, "poster frame of a result that does not count: dropped")
                    }
                    Err(e) => tracing::warn!(job = %job, "poster frame not stored: {e}"),
                }
                None
            }
            .into_actor(self),
        )
    }

    pub(super) fn worker_lost(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        if !self.holds(&worker, job, attempt) {
            return;
        }
        // Lost before the render started: while it checked the project, perhaps because of it.
        let checking = self.active.get(&job).is_some_and(|r| r.state == JobState::Offered);
        let (requeue, reason) = if checking {
            let lost = self.active.get(&job).map_or(0, lost_while_checking) + 1;
            let requeue = self.may_requeue(job) && lost < self.config.max_attempts;
            let mut reason = format!("worker {worker} {LOST_WHILE_CHECKING}");
            if lost >= self.config.max_attempts {
                reason
                    .push_str(&format!(": {lost} workers were lost while checking it; the project may crash workers"));
            }
            (requeue, reason)
        } else {
            (self.may_requeue(job), format!("worker {worker} was lost"))
        };
        self.change(job, Change::Fail { attempt, reason, requeue, blames_worker: false }, ctx, |_, act, ctx| {
            act.dispatch(ctx)
        });
    }

    /// A worker was reserved at once: its job goes back to the queue and its render is stopped.
    pub(super) fn worker_reclaimed(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        if !self.holds(&worker, job, attempt) {
            return;
        }
        let reason = format!("worker {worker} was reserved");
        self.change(
            job,
            Change::Fail { attempt, reason, requeue: true, blames_worker: false },
            ctx,
            move |_, act, ctx| {
                act.registry.do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job, attempt } });
                act.dispatch(ctx);
            },
        );
    }

    /// A worker registered while holding an attempt: keep it if that attempt is still the job's live one (and
    /// start it, if its `Accepted` was lost with the old connection); otherwise stop that render.
    pub(super) fn worker_resumed(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        if !self.holds(&worker, job, attempt) {
            self.registry.do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job, attempt } });
            return;
        }
        tracing::info!(job = %job, attempt, worker = %worker, "worker came back with its job");
        if self.active.get(&job).is_some_and(|r| r.state == JobState::Offered) {
            self.accepted(worker, job, attempt, ctx);
        }
    }
}

/// How an attempt ends whose worker was lost while it checked the project, before the render started.
pub(super) const LOST_WHILE_CHECKING: &str = "was lost while checking the project";

/// Attempts since the last retry whose worker was lost while checking the project. A project that crashes the
/// worker reading it (a parser bug, a melt that aborts) would otherwise be offered for ever and take every worker
/// down: these count towards `--max-attempts` like renders that started.
pub(super) fn lost_while_checking(record: &JobRecord) -> u32 {
    let lost = record.attempts.iter().skip(record.retried_at).filter(|a| {
        a.started_at.is_none()
            && matches!(&a.outcome, Some(AttemptOutcome::Failed { reason }) if reason.contains(LOST_WHILE_CHECKING))
    });
    lost.count() as u32
}
