//! Dispatch: from the head of the queue to an idle worker's open connection, with no polling.
//!
//! One claim is in flight at a time. The registry picks the first queued job some idle worker may take and marks
//! that worker busy; the offer is made durable (queued → offered); only then is it pushed to the worker. A job that
//! every connected worker has turned down fails with each worker's reason.

use super::Coordinator;
use crate::registry::{Candidate, Claim, ClaimResult, Needs, Release};
use crate::store::Change;
use actix::prelude::*;
use distencode_wire::job::{JobId, JobRecord, MeltJob};
use distencode_wire::message::CoordinatorToWorker;
use std::collections::HashSet;

/// How many queued jobs one claim considers (a job no idle worker may take does not block those behind it).
const CANDIDATES_PER_CLAIM: usize = 256;

impl Coordinator {
    /// Offers queued jobs to idle workers until one of the two runs out.
    pub(super) fn dispatch(&mut self, ctx: &mut Context<Self>) {
        if self.dispatching {
            self.dispatch_again = true;
            return;
        }
        self.dispatch_again = false;
        if self.queue.is_empty() {
            return;
        }
        let candidates: Vec<Candidate> = self
            .queue
            .iter()
            .take(CANDIDATES_PER_CLAIM)
            .filter_map(|(_, id)| self.active.get(id))
            .map(|record| Candidate {
                job: record.id,
                attempt: record.attempts.last().map_or(1, |a| a.number + 1),
                excluded: blamed_workers(record),
                needs: needs(record),
            })
            .collect();
        self.dispatching = true;
        self.registry
            .send(Claim { candidates })
            .into_actor(self)
            .map(|result, act, ctx| match result {
                Ok(result) => act.claimed(result, ctx),
                Err(e) => {
                    act.dispatching = false;
                    tracing::error!("worker registry unreachable: {e}");
                }
            })
            .spawn(ctx);
    }

    fn claimed(&mut self, result: ClaimResult, ctx: &mut Context<Self>) {
        let ClaimResult { claimed, connected } = result;
        self.abandon_unwanted(&connected, claimed.as_ref().map(|c| c.0), ctx);
        let Some((id, worker, outbox)) = claimed else {
            self.dispatching = false;
            if self.dispatch_again {
                self.dispatch(ctx);
            }
            return;
        };
        self.change(id, Change::Offer { worker: worker.clone() }, ctx, move |result, act, ctx| {
            act.dispatching = false;
            match result {
                Ok(record) => {
                    let attempt = record.attempts.last().map_or(1, |a| a.number);
                    let offer = MeltJob { id, attempt, spec: record.spec() };
                    tracing::info!(job = %id, attempt, worker = %worker, "offered");
                    if outbox.try_send(CoordinatorToWorker::Offer(offer)).is_err() {
                        let reason = format!("worker {worker} could not be reached");
                        act.registry.do_send(Release { name: worker, job: id, attempt, rendered: None });
                        act.change(
                            id,
                            Change::Fail { attempt, reason, requeue: true, blames_worker: false },
                            ctx,
                            |_, _, _| {},
                        );
                    }
                    act.dispatch(ctx);
                }
                Err(_) => {
                    // The offer was not recorded: the attempt the worker was claimed for is the next one.
                    let attempt = act.active.get(&id).map_or(1, |r| r.attempts.last().map_or(1, |a| a.number + 1));
                    act.registry.do_send(Release { name: worker, job: id, attempt, rendered: None });
                    if act.dispatch_again {
                        act.dispatch(ctx);
                    }
                }
            }
        });
    }

    /// Fails queued jobs that every connected worker has turned down (each worker's reason listed).
    fn abandon_unwanted(&mut self, connected: &[String], claimed: Option<JobId>, ctx: &mut Context<Self>) {
        if connected.is_empty() {
            return;
        }
        let unwanted: Vec<(JobId, String)> = self
            .queue
            .iter()
            .filter(|(_, id)| Some(*id) != claimed)
            .filter_map(|(_, id)| self.active.get(id))
            .filter(|record| {
                let blamed = blamed_workers(record);
                connected.iter().all(|w| blamed.contains(w))
            })
            .map(|record| (record.id, no_worker_can_take(record)))
            .collect();
        for (id, reason) in unwanted {
            self.change(id, Change::Abandon { reason }, ctx, |_, _, _| {});
        }
    }
}

/// What a worker must have to render the job.
pub(super) fn needs(record: &JobRecord) -> Needs {
    Needs {
        services: record.services.clone(),
        video_encoder: record.encoding.vcodec.clone(),
        audio_encoder: record.encoding.acodec.clone(),
    }
}

/// Workers that rejected or failed this job since it was last (re)submitted.
fn blamed_workers(record: &JobRecord) -> HashSet<String> {
    record.attempts.iter().filter(|a| a.blames_worker).map(|a| a.worker.clone()).collect()
}

/// The failure message when no worker can take a job: every attempt's worker and reason.
pub(super) fn no_worker_can_take(record: &JobRecord) -> String {
    let reasons: Vec<String> = record
        .attempts
        .iter()
        .filter(|a| a.blames_worker)
        .map(|a| format!("{}: {}", a.worker, a.outcome.as_deref().unwrap_or("no reason given")))
        .collect();
    format!("no worker can render it: {}", reasons.join("; "))
}
