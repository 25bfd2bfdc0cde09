//! The Coordinator: the farm's one decision maker.
//!
//! It keeps the queue and every unfinished job in memory, asks the [`JobStore`] to make each change durable before
//! acting on it, asks the [`WorkerRegistry`] for a worker when a job can run, and pushes the offer down that worker's
//! open connection at once. Reports from workers and requests from clients arrive as messages from their connection
//! tasks. Long steps (a store write, a claim) are chained as actor futures, so the actor's thread never blocks.
//!
//! Files: [`dispatch`] (queue → worker), [`reports`] (what workers say), [`requests`] (what clients ask),
//! [`waiting`] (why a queued job waits).

pub mod audit;
mod dispatch;
pub mod log_budget;
mod messages;
pub mod path_rules;
mod reports;
mod requests;
mod retention;
mod split;
mod waiting;

pub use messages::*;

use crate::auth::Users;
use crate::events::{FarmEvent, FarmEvents};
use crate::metrics::Metrics;
use crate::registry::{WorkerEvent, WorkerRegistry};
use crate::store::{ApplyChange, Change, JobStore, ListJobs, StoreError};
use actix::prelude::*;
use distencode_wire::job::{JobId, JobRecord, JobState};
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Settings of a coordinator.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// Renders a job may start before it fails for good.
    pub max_attempts: u32,
    /// How long a disconnected worker (or, after a restart, a running job's worker) has to come back.
    pub grace: Duration,
    /// Bytes of melt's output stored per attempt; see [`log_budget`].
    pub max_log_bytes: u64,
    /// Where the Coordinator and its WorkerRegistry count what happens: the store's ([`JobStore::metrics`]), so
    /// that one set covers the node (the default is a set of its own, seen by nobody).
    pub metrics: Metrics,
    /// Who is an admin, how certificates map to users, the users' priority ceiling.
    pub users: Arc<Users>,
    /// `--keep-finished`: finished jobs older than this are deleted with their logs (checked at start and every
    /// [`RETENTION_EVERY`]); `None` keeps them until `job delete` or `job prune`.
    pub keep_finished: Option<Duration>,
    /// `audit_keep`: audit entries older than this are deleted (checked at start and every [`RETENTION_EVERY`]).
    pub audit_keep: Duration,
    /// `[[path_map]]`: the rules each offer carries for the worker it goes to.
    pub path_rules: Arc<path_rules::PathRules>,
}

/// How often finished jobs past `--keep-finished` are looked for.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            grace: Duration::from_secs(10),
            max_log_bytes: log_budget::DEFAULT_MAX_LOG_BYTES,
            metrics: Metrics::default(),
            users: Arc::default(),
            keep_finished: None,
            audit_keep: audit::DEFAULT_AUDIT_KEEP,
            path_rules: Arc::default(),
        }
    }
}

/// How long a final job's revision is remembered (replies to store changes arrive within milliseconds).
const RECENTLY_FINAL: Duration = Duration::from_secs(60);

/// Queue order: higher priority first, then lower (older) id.
type QueueKey = (Reverse<i32>, JobId);

/// The actor.
pub struct Coordinator {
    store: Addr<JobStore>,
    registry: Addr<WorkerRegistry>,
    config: CoordinatorConfig,
    /// Jobs waiting for a worker, in the order they will be offered.
    queue: BTreeSet<QueueKey>,
    /// Every job not in a final state, as last made durable (plus live progress).
    active: HashMap<JobId, JobRecord>,
    /// Followers of a job (`job watch`, `submit --wait`); dropped once the job is final.
    watchers: HashMap<JobId, watch::Sender<JobRecord>>,
    /// Jobs that became final lately, with their last revision: a late reply about them is recognised as older.
    /// Entries are forgotten after [`RECENTLY_FINAL`].
    recently_final: HashMap<JobId, (u64, std::time::Instant)>,
    /// Log bytes stored per live attempt, against `config.max_log_bytes`.
    log_budgets: log_budget::LogBudgets,
    /// Followers of a job's log: bumped at each stored batch; dropped once the job is final.
    log_signals: HashMap<JobId, watch::Sender<u64>>,
    /// Jobs some worker has turned down that are queued again: the ones that may have to be abandoned.
    turned_down: BTreeSet<JobId>,
    /// What a claim needs of each queued job.
    queued_parts: HashMap<JobId, dispatch::QueuedParts>,
    /// Idle workers of the pool as the last claim left them, plus those that became idle since (a hint: it only
    /// decides how many candidates a claim carries).
    idle_hint: usize,
    /// When each queued job was (last) queued, for the dispatch latency of the metrics.
    queued_since: HashMap<JobId, std::time::Instant>,
    /// Jobs claimed for a worker whose offer is not recorded yet: no other claim may take them.
    offering: HashSet<JobId>,
    /// A claim is on its way: one claim at a time, so no worker or job is claimed twice.
    dispatching: bool,
    /// Dispatch was asked for while a claim was in flight: look again when it lands.
    dispatch_again: bool,
    /// This actor's own address, for the steps of a split job that follow a task's change.
    me: Option<actix::WeakAddr<Coordinator>>,
    /// Tasks whose split job no longer lists them or no longer runs: cancelled at the next step of a split.
    orphans: BTreeSet<JobId>,
    /// Why each failed task of a running split job failed, for the job's error.
    task_errors: HashMap<JobId, String>,
    /// Split jobs being moved on (one step at a time each), and those to look at again after that step.
    advancing: HashSet<JobId>,
    advance_again: HashSet<JobId>,
    /// Followers of the farm's changes (the web interface's event streams).
    farm: FarmEvents,
    /// Outputs of submits not answered yet: a second submit naming one is refused (submits interleave).
    submitting_outputs: HashSet<String>,
}

impl Coordinator {
    /// Starts the Coordinator and its WorkerRegistry around an already started JobStore.
    pub fn start(store: Addr<JobStore>, config: CoordinatorConfig) -> (Addr<Coordinator>, Addr<WorkerRegistry>) {
        let mut registry_addr = None;
        let log_budgets = log_budget::LogBudgets::new(config.max_log_bytes);
        let farm = FarmEvents::new();
        let coordinator = Coordinator::create(|ctx| {
            let registry = WorkerRegistry::new(ctx.address().recipient(), store.clone(), config.grace)
                .with_farm_events(farm.clone())
                .start();
            registry_addr = Some(registry.clone());
            Coordinator {
                store,
                registry,
                config,
                queue: BTreeSet::new(),
                active: HashMap::new(),
                watchers: HashMap::new(),
                log_signals: HashMap::new(),
                log_budgets,
                recently_final: HashMap::new(),
                turned_down: BTreeSet::new(),
                queued_parts: HashMap::new(),
                queued_since: HashMap::new(),
                idle_hint: 0,
                offering: HashSet::new(),
                dispatching: false,
                dispatch_again: false,
                me: Some(ctx.address().downgrade()),
                orphans: BTreeSet::new(),
                task_errors: HashMap::new(),
                advancing: HashSet::new(),
                advance_again: HashSet::new(),
                farm,
                submitting_outputs: HashSet::new(),
            }
        });
        let registry = registry_addr.expect("Coordinator::create runs its closure before returning");
        (coordinator, registry)
    }

    /// Takes a record the store has just made durable into the in-memory view: queue, active set, watchers.
    fn update(&mut self, record: JobRecord) {
        // Replies to store changes may be handled out of order: never let an older version replace a newer one.
        let newer_known =
            self.active.get(&record.id).map(|r| r.revision).or(self.recently_final.get(&record.id).map(|f| f.0));
        if newer_known.is_some_and(|revision| revision > record.revision) {
            return;
        }
        self.count(&record);
        let key = (Reverse(record.priority), record.id);
        // A new priority moves the job in the queue: its old place goes.
        if let Some(old) = self.active.get(&record.id).filter(|old| old.priority != record.priority) {
            self.queue.remove(&(Reverse(old.priority), record.id));
        }
        // A split job renders through its tasks and is never queued itself.
        if record.state == JobState::Queued && !record.is_split() {
            self.queue.insert(key);
            self.queued_parts.insert(record.id, dispatch::QueuedParts::of(&record));
        } else {
            self.queue.remove(&key);
            self.queued_parts.remove(&record.id);
        }
        self.config.metrics.set_queue_length(self.queue.len());
        if record.state == JobState::Queued && record.attempts.iter().any(|a| a.blames_worker) {
            self.turned_down.insert(record.id);
        } else {
            self.turned_down.remove(&record.id);
        }
        if let Some(sender) = self.watchers.get(&record.id) {
            // A job still queued keeps the reason its followers were last told, until the next look.
            let mut shown = record.clone();
            if shown.state == JobState::Queued {
                shown.waiting = sender.borrow().waiting.clone();
            }
            let _ = sender.send(shown);
        }
        if record.task.is_some() {
            self.task_changed(&record);
        }
        self.farm.send(FarmEvent::Job { id: record.id, state: record.state });
        if record.state.is_final() {
            for task in &record.tasks {
                self.task_errors.remove(&task.job);
            }
            self.recently_final.insert(record.id, (record.revision, std::time::Instant::now()));
            self.active.remove(&record.id);
            self.watchers.remove(&record.id);
            self.log_signals.remove(&record.id);
            self.log_budgets.forget(record.id);
        } else {
            self.recently_final.remove(&record.id);
            self.active.insert(record.id, record);
        }
    }

    /// Counts what a record about to be taken in says happened: its state's change, how long it waited in the
    /// queue if it was just offered, and the render if it just succeeded.
    /// Deleted jobs: nothing of them is kept here either.
    fn forget(&mut self, deleted: &[JobId]) {
        for id in deleted {
            self.recently_final.remove(id);
            self.task_errors.remove(id);
        }
    }

    fn count(&mut self, record: &JobRecord) {
        let metrics = &self.config.metrics;
        let before = self.active.get(&record.id).map(|r| r.state);
        metrics.job_state(before, record.state);
        if record.state == JobState::Queued {
            self.queued_since.entry(record.id).or_insert_with(std::time::Instant::now);
        } else if let Some(since) = self.queued_since.remove(&record.id) {
            if record.state == JobState::Offered {
                metrics.dispatched(since.elapsed());
            }
        }
        if record.state == JobState::Succeeded && before.is_some_and(|s| !s.is_final()) {
            let attempt = record.attempts.last();
            let (started, ended) = (attempt.and_then(|a| a.started_at), attempt.and_then(|a| a.ended_at));
            let took = Duration::from_millis(ended.unwrap_or(0).saturating_sub(started.unwrap_or(0)));
            metrics.rendered(took, record.facts.as_ref().map_or(0, |f| f.frames));
        }
    }

    /// Makes one change durable, then applies it in memory; `then` runs with the outcome.
    fn change<F>(&mut self, id: JobId, change: Change, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(Result<JobRecord, StoreError>, &mut Self, &mut Context<Self>) + 'static,
    {
        self.store
            .send(ApplyChange { id, change })
            .into_actor(self)
            .map(move |result, act, ctx| {
                let result = result.unwrap_or(Err(StoreError::Gone));
                match &result {
                    Ok(record) => act.update(record.clone()),
                    Err(e) => tracing::warn!(job = %id, "{e}"),
                }
                then(result, act, ctx)
            })
            .spawn(ctx);
    }

    /// Whether the job may be rendered again after this attempt ended.
    fn may_requeue(&self, id: JobId) -> bool {
        self.may_requeue_after(id, None)
    }

    /// As [`Coordinator::may_requeue`]; attempt `rendered` (one whose worker reported how its render ended) counts
    /// as started even while its start is still on its way through the store.
    fn may_requeue_after(&self, id: JobId, rendered: Option<u32>) -> bool {
        // Attempts made before the last retry do not count: a retried job gets its full number of attempts again.
        let started = self.active.get(&id).map_or(0, |r| {
            let attempts = r.attempts.iter().skip(r.retried_at);
            attempts.filter(|a| a.started_at.is_some() || Some(a.number) == rendered).count()
        });
        (started as u32) < self.config.max_attempts
    }

    /// After a restart: reload unfinished jobs, requeue those whose workers do not come back in time.
    fn recover(&mut self, ctx: &mut Context<Self>) {
        self.store
            .send(ListJobs { unfinished_only: true })
            .into_actor(self)
            .map(|result, act, ctx| {
                let jobs = match result.unwrap_or(Err(StoreError::Gone)) {
                    Ok(jobs) => jobs,
                    Err(e) => {
                        tracing::error!("cannot recover jobs: {e}");
                        return;
                    }
                };
                tracing::info!(jobs = jobs.len(), "recovered unfinished jobs");
                for record in jobs {
                    if let Some(attempt) = record.current_attempt() {
                        let (worker, number) = (attempt.worker.clone(), attempt.number);
                        act.await_worker_after_restart(record.id, worker, number, ctx);
                    }
                    act.update(record);
                }
                act.recover_splits(ctx);
                act.dispatch(ctx);
            })
            .wait(ctx);
    }

    fn await_worker_after_restart(&mut self, id: JobId, worker: String, attempt: u32, ctx: &mut Context<Self>) {
        ctx.run_later(self.config.grace, move |act, ctx| {
            let registry = act.registry.clone();
            registry
                .send(crate::registry::HoldsJob { worker: worker.clone(), job: id, attempt })
                .into_actor(act)
                .map(move |held, act, ctx| {
                    if held.unwrap_or(false) {
                        return;
                    }
                    let requeue = act.may_requeue(id);
                    let reason = format!("worker {worker} did not come back after the coordinator restarted");
                    act.change(
                        id,
                        Change::Fail { attempt, reason, requeue, blames_worker: false },
                        ctx,
                        |_, act, ctx| act.dispatch(ctx),
                    );
                })
                .spawn(ctx);
        });
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.recover(ctx);
        ctx.run_interval(RECENTLY_FINAL, |act, _| {
            act.recently_final.retain(|_, (_, at)| at.elapsed() < RECENTLY_FINAL)
        });
        ctx.run_interval(waiting::FOLLOWED_WAIT_REFRESH, |act, ctx| act.refresh_followed_waits(ctx));
        if let Some(keep) = self.config.keep_finished {
            retention::start(keep, ctx);
        }
        audit::start_retention(self.config.audit_keep, ctx, self.store.clone());
    }
}

impl Handler<WorkerEvent> for Coordinator {
    type Result = ();

    fn handle(&mut self, event: WorkerEvent, ctx: &mut Self::Context) {
        match event {
            WorkerEvent::Available => {
                self.idle_hint += 1;
                self.dispatch(ctx)
            }
            WorkerEvent::Lost { worker, job, attempt } => self.worker_lost(worker, job, attempt, ctx),
            WorkerEvent::Resumed { worker, job, attempt } => self.worker_resumed(worker, job, attempt, ctx),
            WorkerEvent::Reclaimed { worker, job, attempt } => self.worker_reclaimed(worker, job, attempt, ctx),
        }
    }
}
