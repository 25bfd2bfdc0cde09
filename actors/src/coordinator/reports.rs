//! What workers report, and what losing or regaining a worker does to its job.

use super::{Coordinator, FromWorker};
use crate::registry::{Release, SendTo, Touch};
use crate::store::{AppendLog, Change};
use actix::prelude::*;
use distencode_wire::job::{JobId, JobState};
use distencode_wire::message::{CoordinatorToWorker, Outcome, RejectionCause, WorkerToCoordinator};

impl Handler<FromWorker> for Coordinator {
    type Result = ResponseActFuture<Self, Option<CoordinatorToWorker>>;

    fn handle(&mut self, msg: FromWorker, ctx: &mut Self::Context) -> Self::Result {
        let FromWorker { worker, message } = msg;
        self.registry.do_send(Touch(worker.clone()));
        match message {
            WorkerToCoordinator::Log {
                job,
                attempt,
                seq,
                text,
            } => {
                // Awaited by the worker's connection task, so a worker that logs faster than the store writes is
                // slowed down, not buffered; acknowledged only once stored.
                let append = self.store.send(AppendLog {
                    id: job,
                    attempt,
                    seq,
                    text,
                });
                return Box::pin(append.into_actor(self).map(move |result, act, _| match result {
                    Ok(Ok(())) => {
                        if let Some(signal) = act.log_signals.get(&job) {
                            signal.send_modify(|n| *n += 1);
                        }
                        Some(CoordinatorToWorker::LogAck { job, attempt, seq })
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(job = %job, "log not stored: {e}");
                        None
                    }
                    Err(_) => None,
                }));
            }
            WorkerToCoordinator::Accepted { job, attempt } => self.accepted(worker, job, attempt, ctx),
            WorkerToCoordinator::Rejected {
                job,
                attempt,
                cause,
                reason,
            } => self.rejected(worker, job, attempt, cause, reason, ctx),
            WorkerToCoordinator::Progress { job, attempt, progress } => {
                if let Some(record) = self.active.get_mut(&job) {
                    if record
                        .current_attempt()
                        .is_some_and(|a| a.number == attempt && a.worker == worker)
                    {
                        record.progress = Some(progress);
                        if let Some(sender) = self.watchers.get(&job) {
                            let _ = sender.send(record.clone());
                        }
                    }
                }
            }
            WorkerToCoordinator::Verified { job, attempt, facts } => {
                let go = self.active.get(&job).is_some_and(|r| {
                    r.state == JobState::Running
                        && r.current_attempt()
                            .is_some_and(|a| a.number == attempt && a.worker == worker)
                });
                tracing::info!(job = %job, attempt, worker = %worker, go, frames = facts.frames, "verified render");
                self.registry.do_send(SendTo {
                    name: worker,
                    message: CoordinatorToWorker::Commit { job, attempt, go },
                });
            }
            WorkerToCoordinator::Finished { job, attempt, outcome } => {
                self.finished(worker, job, attempt, outcome, ctx)
            }
            WorkerToCoordinator::Heartbeat | WorkerToCoordinator::Register(_) => {}
        }
        Box::pin(async { None }.into_actor(self))
    }
}

impl Coordinator {
    fn accepted(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        tracing::info!(job = %job, attempt, worker = %worker, "accepted");
        self.change(job, Change::Start { attempt }, ctx, move |result, act, _| {
            if result.is_err() {
                // Not this worker's job any more (cancelled, or given to another): stop its render.
                act.registry.do_send(SendTo {
                    name: worker,
                    message: CoordinatorToWorker::Cancel { job, attempt },
                });
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
        tracing::info!(job = %job, attempt, worker = %worker, ?cause, "rejected: {reason}");
        let requeue = cause == RejectionCause::Worker;
        self.change(
            job,
            Change::Decline {
                attempt,
                reason,
                requeue,
            },
            ctx,
            move |_, act, ctx| {
                act.registry.do_send(Release {
                    name: worker,
                    job,
                    rendered: None,
                });
                act.dispatch(ctx);
            },
        );
    }

    fn finished(&mut self, worker: String, job: JobId, attempt: u32, outcome: Outcome, ctx: &mut Context<Self>) {
        let (change, rendered) = match outcome {
            Outcome::Succeeded(facts) => (Change::Succeed { attempt, facts }, Some(true)),
            Outcome::Failed { reason, log_tail } => {
                tracing::info!(job = %job, attempt, worker = %worker, "render failed: {reason}\n{log_tail}");
                let requeue = self.may_requeue(job);
                let reason = format!("worker {worker}: {reason}");
                (
                    Change::Fail {
                        attempt,
                        reason,
                        requeue,
                        blames_worker: true,
                    },
                    Some(false),
                )
            }
            Outcome::Cancelled => {
                let reason = format!("worker {worker} stopped the render");
                (
                    Change::Fail {
                        attempt,
                        reason,
                        requeue: true,
                        blames_worker: false,
                    },
                    None,
                )
            }
        };
        self.change(job, change, ctx, move |result, act, ctx| {
            let accepted = result.is_ok();
            if let Ok(record) = &result {
                tracing::info!(job = %job, attempt, worker = %worker, state = %record.state, "finished");
            }
            act.registry.do_send(SendTo {
                name: worker.clone(),
                message: CoordinatorToWorker::FinishedAck { job, attempt, accepted },
            });
            act.registry.do_send(Release {
                name: worker,
                job,
                rendered,
            });
            act.dispatch(ctx);
        });
    }

    pub(super) fn worker_lost(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        let requeue = self.may_requeue(job);
        let reason = format!("worker {worker} was lost");
        self.change(
            job,
            Change::Fail {
                attempt,
                reason,
                requeue,
                blames_worker: false,
            },
            ctx,
            |_, act, ctx| act.dispatch(ctx),
        );
    }

    /// A worker was reserved at once: its job goes back to the queue and its render is stopped.
    pub(super) fn worker_reclaimed(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        let reason = format!("worker {worker} was reserved");
        self.change(
            job,
            Change::Fail {
                attempt,
                reason,
                requeue: true,
                blames_worker: false,
            },
            ctx,
            move |_, act, ctx| {
                act.registry.do_send(SendTo {
                    name: worker,
                    message: CoordinatorToWorker::Cancel { job, attempt },
                });
                act.dispatch(ctx);
            },
        );
    }

    /// A worker registered while rendering an attempt: keep it if that attempt is still the job's live one.
    pub(super) fn worker_resumed(&mut self, worker: String, job: JobId, attempt: u32, ctx: &mut Context<Self>) {
        let live = self
            .active
            .get(&job)
            .and_then(|r| r.current_attempt())
            .is_some_and(|a| a.number == attempt && a.worker == worker);
        if live {
            tracing::info!(job = %job, attempt, worker = %worker, "worker came back with its job");
            return;
        }
        let _ = ctx;
        self.registry.do_send(SendTo {
            name: worker,
            message: CoordinatorToWorker::Cancel { job, attempt },
        });
    }
}
