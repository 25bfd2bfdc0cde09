//! Dispatch: from the head of the queue to idle workers' open connections, with no polling.
//!
//! One claim is in flight at a time: the registry pairs queued jobs with idle workers that may take them and marks
//! those workers busy, in one step. Each offer is then made durable (queued → offered) and only then pushed to its
//! worker; offers of one claim are written together, so the store commits them in one flush. Jobs claimed but not
//! yet recorded as offered are kept out of the next claim, which may start at once. A job that every worker of the
//! pool has turned down fails with each worker's reason.

use super::Coordinator;
use crate::registry::{Candidate, Claim, ClaimResult, Needs, Release, SendTo};
use crate::store::Change;
use actix::prelude::*;
use distencode_wire::job::{JobId, JobRecord, MeltJob};
use distencode_wire::message::{CoordinatorToWorker, Fingerprint};
use std::collections::HashSet;
use std::sync::Arc;

/// How many queued jobs one claim considers, and how many it may pair (a job no idle worker may take does not
/// block those behind it).
const CANDIDATES_PER_CLAIM: usize = 256;

/// How many a claim considers when the last claim left no worker idle and none has become idle since: with a deep
/// queue, most dispatches (one per submit) are such, and need not copy 256 candidates each.
const CANDIDATES_WHEN_NONE_IDLE: usize = 8;

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
        // With no worker known to be idle, a few candidates still go (in case an idle worker was missed).
        let how_many = if self.idle_hint == 0 { CANDIDATES_WHEN_NONE_IDLE } else { CANDIDATES_PER_CLAIM };
        let candidates: Vec<Candidate> = self
            .queue
            .iter()
            .filter(|(_, id)| !self.offering.contains(id))
            .take(how_many)
            .filter_map(|(_, id)| Some((self.active.get(id)?, self.queued_parts.get(id)?)))
            .map(|(record, parts)| Candidate {
                job: record.id,
                attempt: record.attempts.last().map_or(1, |a| a.number + 1),
                excluded: parts.excluded.clone(),
                keys: parts.keys.clone(),
                like: parts.like.clone(),
            })
            .collect();
        let with_pool = !self.turned_down.is_empty();
        if candidates.is_empty() && !with_pool {
            return;
        }
        self.dispatching = true;
        self.registry
            .send(Claim { candidates, at_most: CANDIDATES_PER_CLAIM, with_pool })
            .into_actor(self)
            .map(|result, act, ctx| {
                act.dispatching = false;
                match result {
                    Ok(result) => act.claimed(result, ctx),
                    Err(e) => tracing::error!("worker registry unreachable: {e}"),
                }
            })
            .spawn(ctx);
    }

    fn claimed(&mut self, result: ClaimResult, ctx: &mut Context<Self>) {
        let ClaimResult { claimed, pool, idle_left } = result;
        self.idle_hint = idle_left;
        self.offering.extend(claimed.iter().map(|(id, _)| *id));
        if let Some(pool) = pool {
            self.abandon_unwanted(&pool, ctx);
        }
        // More idle workers may be left for the jobs behind these; a claim that pairs nothing, or leaves no idle
        // worker, ends the round (a worker that becomes free starts the next one).
        let again = self.dispatch_again || (!claimed.is_empty() && idle_left > 0);
        for (id, worker) in claimed {
            self.offer(id, worker, ctx);
        }
        if again {
            self.dispatch(ctx);
        }
    }

    /// Records the offer of `id` to `worker`, then sends it.
    fn offer(&mut self, id: JobId, worker: String, ctx: &mut Context<Self>) {
        self.change(id, Change::Offer { worker: worker.clone() }, ctx, move |result, act, ctx| {
            act.offering.remove(&id);
            match result {
                Ok(record) => {
                    let attempt = record.attempts.last().map_or(1, |a| a.number);
                    let path_map = act.config.path_rules.for_worker(&worker);
                    let offer = MeltJob { id, attempt, spec: record.spec(), path_map };
                    tracing::info!(job = %id, attempt, worker = %worker, "offered");
                    let send = SendTo { name: worker.clone(), message: CoordinatorToWorker::Offer(Box::new(offer)) };
                    act.registry
                        .send(send)
                        .into_actor(act)
                        .map(move |sent, act, ctx| act.sent(id, attempt, worker, sent.unwrap_or(false), ctx))
                        .spawn(ctx);
                }
                Err(_) => {
                    // The offer was not recorded: the attempt the worker was claimed for is the next one.
                    let attempt = act.active.get(&id).map_or(1, |r| r.attempts.last().map_or(1, |a| a.number + 1));
                    act.release(worker, id, attempt, None, ctx);
                }
            }
        });
    }

    /// After an offer went out: one that did not reach its worker ends its attempt, and the job is queued again.
    fn sent(&mut self, id: JobId, attempt: u32, worker: String, delivered: bool, ctx: &mut Context<Self>) {
        if delivered {
            return;
        }
        let reason = format!("worker {worker} could not be reached");
        self.registry.do_send(Release { name: worker, job: id, attempt, rendered: None });
        self.change(id, Change::Fail { attempt, reason, requeue: true, blames_worker: false }, ctx, |_, act, ctx| {
            act.dispatch(ctx)
        });
    }

    /// Tells the WorkerRegistry that `worker` is done with `job`, then dispatches: the worker may be free now, and
    /// the registry, which the release reaches before the claim, does not call back to say so.
    pub(super) fn release(
        &mut self,
        worker: String,
        job: JobId,
        attempt: u32,
        rendered: Option<bool>,
        ctx: &mut Context<Self>,
    ) {
        self.registry.do_send(Release { name: worker, job, attempt, rendered });
        self.idle_hint += 1;
        self.dispatch(ctx);
    }

    /// Fails queued jobs that every worker of the pool has turned down (each worker's reason listed). Only jobs
    /// some worker turned down are looked at.
    fn abandon_unwanted(&mut self, pool: &[String], ctx: &mut Context<Self>) {
        if pool.is_empty() {
            return;
        }
        let unwanted: Vec<(JobId, String)> = self
            .turned_down
            .iter()
            .filter(|id| !self.offering.contains(id))
            .filter_map(|id| self.active.get(id))
            .filter(|record| {
                let blamed = blamed_workers(record);
                pool.iter().all(|w| blamed.contains(w))
            })
            .map(|record| (record.id, no_worker_can_take(record)))
            .collect();
        for (id, reason) in unwanted {
            self.change(id, Change::Abandon { reason }, ctx, |_, _, _| {});
        }
    }
}

/// What a claim needs of a queued job, made once each time it is queued.
pub(super) struct QueuedParts {
    keys: Arc<[String]>,
    excluded: Arc<HashSet<String>>,
    like: Option<Arc<Fingerprint>>,
}

impl QueuedParts {
    pub(super) fn of(record: &JobRecord) -> Self {
        let needs = Needs::of(&record.services, &record.encoding);
        let like = record.like.as_ref().map(|like| Arc::new(like.fingerprint.clone()));
        Self { keys: needs.keys().into(), excluded: Arc::new(blamed_workers(record)), like }
    }
}

/// Workers that rejected or failed this job since it was last (re)submitted.
pub(super) fn blamed_workers(record: &JobRecord) -> HashSet<String> {
    record.attempts.iter().filter(|a| a.blames_worker).map(|a| a.worker.clone()).collect()
}

/// The failure message when no worker can take a job: every attempt's worker and reason.
pub(super) fn no_worker_can_take(record: &JobRecord) -> String {
    let reasons: Vec<String> = record
        .attempts
        .iter()
        .filter(|a| a.blames_worker)
        .map(|a| match &a.outcome {
            Some(outcome) => format!("{}: {outcome}", a.worker),
            None => format!("{}: no reason given", a.worker),
        })
        .collect();
    format!("no worker can render it: {}", reasons.join("; "))
}
