//! WorkerRegistry: who is in the pool, how to reach each worker, and what each is doing.
//!
//! Each connected worker has an outbox (the sending end of a bounded channel drained by its connection task), and
//! [`SendTo`] is the one way the Coordinator reaches it. The
//! registry is the only place that decides which worker takes which job: [`Claim`] picks an idle worker and marks it
//! busy in one step, so two dispatches can never pick the same worker. When a worker disconnects, its job stays with
//! it for a grace period (it may be reconnecting and still rendering); after that it is lost and the Coordinator is
//! told, so the job goes back to the queue.

mod capabilities;
mod explain;
mod forget;
mod messages;
mod reservations;
mod revoked;
mod state;
pub mod waiting;

pub use messages::*;
pub use reservations::{Drain, Reserve, Unreserve};
pub use revoked::Revoked;
pub use state::WorkerState;

use crate::error::{Answer, RequestError};
use crate::events::{FarmEvent, FarmEvents};
use crate::store::stored::webhook::Event;
use crate::store::{Enqueue, JobStore};
use actix::{Actor, Addr, AsyncContext, Context, Handler, Recipient};
use capabilities::{has_all, lacks, Announced, AnnouncedSets, PoolCapabilities};
use distencode_wire::job::now_ms;
use distencode_wire::message::{CoordinatorToWorker, Registration, Reservation, WorkerView};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One worker as the registry knows it.
struct WorkerEntry {
    /// What it can render with: its services and encoders (shared with the workers that announced the same).
    announced: Arc<Announced>,
    /// Identifies the connection; a message about an older connection of the same name is ignored.
    connection: u64,
    /// The way to the worker's connection task; `None` while it is disconnected.
    outbox: Option<mpsc::Sender<CoordinatorToWorker>>,
    state: WorkerState,
    /// What it announced, less the lists kept in `announced`.
    registration: Registration,
    last_seen: u64,
    /// Failed renders in a row; reset by a success.
    recent_failures: u32,
}

/// Sets a worker's state. (The metrics' workers by state are counted from [`WorkerRegistry::views`] when they are
/// read, so they name the states `worker list` shows: reserved, draining and leaving too.)
fn set_state(entry: &mut WorkerEntry, state: WorkerState) {
    entry.state = state;
}

/// A worker seen this lately (milliseconds) still counts as part of the pool when deciding that no worker can
/// take a job.
const RECENTLY_SEEN_MS: u64 = 60_000;

/// Failed renders in a row after which a worker is shown as suspect.
pub const SUSPECT_AFTER_FAILURES: u32 = 3;

/// The actor.
pub struct WorkerRegistry {
    workers: BTreeMap<String, WorkerEntry>,
    /// Workers held for a person (durable through the JobStore), whether connected or not.
    reservations: BTreeMap<String, Reservation>,
    /// Workers that finish what they have and take nothing more.
    draining: BTreeSet<String>,
    /// Workers shutting down: they finish what they hold and go; forgotten when they register again.
    leaving: BTreeSet<String>,
    /// How many connected workers have each capability.
    pool: PoolCapabilities,
    /// The distinct capability sets workers announced.
    announced_sets: AnnouncedSets,
    /// Told when a worker becomes available or is lost.
    events: Recipient<WorkerEvent>,
    /// Where reservations are kept.
    store: Addr<JobStore>,
    /// How long a disconnected worker keeps its job before it is declared lost.
    grace: Duration,
    next_connection: u64,
    /// Followers of the farm's changes: told of each worker's change.
    farm: FarmEvents,
}

impl WorkerRegistry {
    pub fn new(events: Recipient<WorkerEvent>, store: Addr<JobStore>, grace: Duration) -> Self {
        Self {
            workers: BTreeMap::new(),
            reservations: BTreeMap::new(),
            draining: BTreeSet::new(),
            leaving: BTreeSet::new(),
            pool: PoolCapabilities::default(),
            announced_sets: AnnouncedSets::default(),
            events,
            store,
            grace,
            next_connection: 1,
            farm: FarmEvents::new(),
        }
    }

    /// Tells the farm's followers through `farm` (the Coordinator's) instead of a channel of its own.
    pub fn with_farm_events(mut self, farm: FarmEvents) -> Self {
        self.farm = farm;
        self
    }

    /// A worker's state, reservation or drain changed.
    fn changed(&self, name: &str) {
        self.farm.send(FarmEvent::Worker { name: name.to_string() });
    }

    /// Writes `event`'s deliveries to the farm-wide webhooks, with the worker as `worker list --json` shows it.
    fn tell_webhooks(&self, event: Event, name: &str) {
        let body = serde_json::to_string(&self.view(name)).unwrap_or_default();
        self.store.do_send(Enqueue { event, body, only: None });
    }

    /// Whether the worker is in the pool (not reserved, not draining, not leaving).
    fn in_pool(&self, name: &str) -> bool {
        !self.reservations.contains_key(name) && !self.draining.contains(name) && !self.leaving.contains(name)
    }

    /// The worker's connection is gone: it no longer counts in the pool's capabilities.
    fn unplug(&mut self, name: &str) {
        let Some(entry) = self.workers.get_mut(name) else {
            return;
        };
        if entry.outbox.take().is_some() {
            self.pool.remove(&entry.announced.has);
        }
    }

    fn declare_lost(&mut self, name: &str) {
        self.unplug(name);
        let Some(entry) = self.workers.get_mut(name) else {
            return;
        };
        let job = entry.state.job();
        set_state(entry, WorkerState::Lost);
        tracing::warn!(worker = name, ?job, "worker lost");
        self.changed(name);
        self.tell_webhooks(Event::WorkerLost, name);
        if let Some((job, attempt)) = job {
            self.events.do_send(WorkerEvent::Lost { worker: name.to_string(), job, attempt });
        }
    }
}

impl Actor for WorkerRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.load_reservations(ctx);
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.expire_reservations(ctx));
    }
}

impl Handler<Connect> for WorkerRegistry {
    type Result = Result<u64, NameTaken>;

    fn handle(&mut self, msg: Connect, _: &mut Self::Context) -> Self::Result {
        if let Some(connected) = self.workers.get(&msg.name).filter(|w| w.outbox.is_some()) {
            if connected.registration.instance != msg.registration.instance {
                // Two machines with one name (a copied certificate, a cloned disk) would otherwise take the name
                // from each other at every reconnection, and lose each other's jobs each time.
                tracing::warn!(worker = %msg.name, "turned away a second worker process with the name of a connected one");
                return Err(NameTaken(format!(
                    "another worker process is connected as {}; each worker needs a name and certificate of its own",
                    msg.name
                )));
            }
        }
        // A worker that shut down and started again is back in the pool.
        self.leaving.remove(&msg.name);
        let connection = self.next_connection;
        self.next_connection += 1;
        let now = now_ms();
        let claimed = msg.registration.current;
        let previous = self.workers.remove(&msg.name);
        // A worker that restarts keeps its record of failures: a broken machine stays suspect.
        let recent_failures = previous.as_ref().map_or(0, |p| p.recent_failures);
        if let Some(previous) = previous {
            if let Some((job, attempt)) = previous.state.job().filter(|held| Some(*held) != claimed) {
                // It came back without the attempt it had: that attempt is lost.
                self.events.do_send(WorkerEvent::Lost { worker: msg.name.clone(), job, attempt });
            }
            if previous.outbox.is_some() {
                self.pool.remove(&previous.announced.has);
                tracing::info!(worker = %msg.name, "worker reconnected; its older connection is dropped");
            }
        }
        let mut state = WorkerState::Idle;
        if let Some((job, attempt)) = claimed {
            // It holds an attempt: the Coordinator decides whether that still counts (and starts it if its
            // acceptance was lost with the old connection).
            state = WorkerState::Busy { job, attempt };
            self.events.do_send(WorkerEvent::Resumed { worker: msg.name.clone(), job, attempt });
        }
        let mut registration = msg.registration;
        registration.fingerprint = std::mem::take(&mut registration.fingerprint).capped();
        let announced = self.announced_sets.share(&mut registration);
        tracing::info!(worker = %msg.name, melt = %registration.melt_version, services = announced.services.len(), "worker registered");
        let idle = state == WorkerState::Idle && self.in_pool(&msg.name);
        self.pool.add(&announced.has);
        let name = msg.name;
        self.workers.insert(
            name.clone(),
            WorkerEntry {
                announced,
                connection,
                outbox: Some(msg.outbox),
                state,
                registration,
                last_seen: now,
                recent_failures,
            },
        );
        self.changed(&name);
        if idle {
            self.events.do_send(WorkerEvent::Available);
        }
        Ok(connection)
    }
}

impl Handler<Disconnect> for WorkerRegistry {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, ctx: &mut Self::Context) {
        let Some(entry) = self.workers.get_mut(&msg.name) else {
            return;
        };
        if entry.connection != msg.connection {
            return;
        }
        let holds_job = entry.state.job().is_some();
        if !holds_job {
            set_state(entry, WorkerState::Lost);
        }
        self.unplug(&msg.name);
        self.changed(&msg.name);
        if !holds_job {
            return;
        }
        tracing::warn!(worker = %msg.name, grace = ?self.grace, "busy worker disconnected; waiting for it to come back");
        let connection = msg.connection;
        ctx.run_later(self.grace, move |act, _| {
            let still_gone = act.workers.get(&msg.name).is_some_and(|e| e.connection == connection);
            if still_gone {
                act.declare_lost(&msg.name);
            }
        });
    }
}

impl Handler<Claim> for WorkerRegistry {
    type Result = ClaimResult;

    fn handle(&mut self, msg: Claim, _: &mut Self::Context) -> ClaimResult {
        // The idle workers of the pool, found once: when the queue is deep, most claims find none and end here.
        let mut idle: Vec<&String> = self
            .workers
            .iter()
            .filter(|(name, e)| e.state == WorkerState::Idle && e.outbox.is_some() && self.in_pool(name))
            .map(|(name, _)| name)
            .collect();
        let mut pairs = Vec::new();
        for candidate in &msg.candidates {
            if idle.is_empty() || pairs.len() == msg.at_most {
                break;
            }
            let fits = |name: &&String| {
                let worker = &self.workers[*name];
                !candidate.excluded.contains(*name)
                    && has_all(&worker.announced.has, &candidate.keys)
                    && candidate.like.as_deref().is_none_or(|stack| *stack == worker.registration.fingerprint)
            };
            if let Some(index) = idle.iter().position(fits) {
                pairs.push((candidate.job, candidate.attempt, idle.remove(index).clone()));
            }
        }
        let idle_left = idle.len();
        let mut claimed = Vec::with_capacity(pairs.len());
        for (job, attempt, name) in pairs {
            let entry = self.workers.get_mut(&name).expect("picked from the registry's own workers");
            set_state(entry, WorkerState::Busy { job, attempt });
            self.farm.send(FarmEvent::Worker { name: name.clone() });
            claimed.push((job, name));
        }
        let pool = msg.with_pool.then(|| self.recently_seen());
        ClaimResult { claimed, pool, idle_left }
    }
}

impl WorkerRegistry {
    /// The pool a job must have been turned down by before it fails: the workers connected now, and those gone so
    /// lately that they are probably restarting.
    fn recently_seen(&self) -> Vec<String> {
        let now = now_ms();
        self.workers
            .iter()
            .filter(|(_, e)| e.outbox.is_some() || now.saturating_sub(e.last_seen) < RECENTLY_SEEN_MS)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl Handler<Release> for WorkerRegistry {
    type Result = ();

    fn handle(&mut self, msg: Release, _: &mut Self::Context) {
        let Some(entry) = self.workers.get_mut(&msg.name) else {
            return;
        };
        if entry.state.job() != Some((msg.job, msg.attempt)) {
            return;
        }
        match msg.rendered {
            Some(true) => entry.recent_failures = 0,
            Some(false) => entry.recent_failures += 1,
            None => {}
        }
        let became_suspect = msg.rendered == Some(false) && entry.recent_failures == SUSPECT_AFTER_FAILURES;
        let state = if entry.outbox.is_some() { WorkerState::Idle } else { WorkerState::Lost };
        set_state(entry, state);
        self.changed(&msg.name);
        if became_suspect {
            self.tell_webhooks(Event::WorkerSuspect, &msg.name);
        }
        // No `WorkerEvent::Available`: the Coordinator dispatches after each release it sends.
    }
}

impl Handler<CheckNeeds> for WorkerRegistry {
    type Result = Answer<()>;

    fn handle(&mut self, CheckNeeds(needs): CheckNeeds, _: &mut Self::Context) -> Self::Result {
        let keys = needs.keys();
        if self.pool.connected() == 0 || self.pool.all_have(&keys) {
            return Ok(());
        }
        let connected = self.workers.iter().filter(|(_, e)| e.outbox.is_some());
        if !self.pool.none_has_one_of(&keys) && connected.clone().any(|(_, e)| has_all(&e.announced.has, &keys)) {
            return Ok(());
        }
        let each: Vec<String> =
            connected.map(|(name, e)| format!("{name} lacks {}", lacks(&e.announced.has, &keys).join(", "))).collect();
        Err(RequestError::NoWorkerCanRender(each))
    }
}

impl Handler<Touch> for WorkerRegistry {
    type Result = ();

    fn handle(&mut self, msg: Touch, _: &mut Self::Context) {
        if let Some(entry) = self.workers.get_mut(&msg.0) {
            entry.last_seen = now_ms();
        }
    }
}

impl Handler<Leave> for WorkerRegistry {
    type Result = ();

    fn handle(&mut self, Leave(name): Leave, _: &mut Self::Context) {
        if self.workers.get(&name).is_some_and(|e| e.outbox.is_some()) {
            tracing::info!(worker = %name, "worker is shutting down; it takes no new job");
            self.changed(&name);
            self.leaving.insert(name);
        }
    }
}

impl Handler<SendTo> for WorkerRegistry {
    type Result = bool;

    fn handle(&mut self, msg: SendTo, _: &mut Self::Context) -> bool {
        let Some(entry) = self.workers.get(&msg.name) else {
            return false;
        };
        if let CoordinatorToWorker::Offer(job) = &msg.message {
            if entry.state.job() != Some((job.id, job.attempt)) {
                return false;
            }
        }
        entry.outbox.as_ref().is_some_and(|outbox| outbox.try_send(msg.message).is_ok())
    }
}

impl Handler<HoldsJob> for WorkerRegistry {
    type Result = bool;

    fn handle(&mut self, msg: HoldsJob, _: &mut Self::Context) -> bool {
        self.workers.get(&msg.worker).is_some_and(|e| e.state.job() == Some((msg.job, msg.attempt)))
    }
}

impl Handler<StackOf> for WorkerRegistry {
    type Result = Option<distencode_wire::message::Fingerprint>;

    fn handle(&mut self, StackOf(name): StackOf, _: &mut Self::Context) -> Self::Result {
        self.workers.get(&name).map(|e| e.registration.fingerprint.clone())
    }
}

impl Handler<ListWorkers> for WorkerRegistry {
    type Result = Vec<WorkerView>;

    fn handle(&mut self, _: ListWorkers, _: &mut Self::Context) -> Vec<WorkerView> {
        self.views()
    }
}

impl WorkerRegistry {
    /// Every worker known since this coordinator started, and every reserved one.
    pub(crate) fn views(&self) -> Vec<WorkerView> {
        let mut names: BTreeSet<&String> = self.workers.keys().collect();
        names.extend(self.reservations.keys());
        names.into_iter().map(|name| self.view(name)).collect()
    }

    fn view(&self, name: &str) -> WorkerView {
        let entry = self.workers.get(name);
        let reservation = self.reservations.get(name);
        let draining = self.draining.contains(name);
        let state = match entry {
            None => "lost",
            Some(e) if e.outbox.is_none() => "lost",
            Some(_) if self.leaving.contains(name) => "leaving",
            Some(e) if draining => {
                let _ = e;
                "draining"
            }
            Some(e) if e.state.job().is_some() => "busy",
            Some(_) if reservation.is_some() => "reserved",
            Some(_) => "idle",
        };
        let failures = entry.map_or(0, |e| e.recent_failures);
        WorkerView {
            name: name.to_string(),
            state: state.to_string(),
            current_job: entry.and_then(|e| e.state.job()).map(|(job, _)| job),
            melt_version: entry.map(|e| e.registration.melt_version.clone()).unwrap_or_default(),
            services: entry.map_or(0, |e| e.announced.services.len()),
            service_names: entry.map(|e| e.announced.services.clone()).unwrap_or_default(),
            video_encoders: entry.map(|e| e.announced.video_encoders.clone()).unwrap_or_default(),
            audio_encoders: entry.map(|e| e.announced.audio_encoders.clone()).unwrap_or_default(),
            cpus: entry.map_or(0, |e| e.registration.cpus),
            last_seen: entry.map_or(0, |e| e.last_seen),
            recent_failures: failures,
            suspect: failures >= SUSPECT_AFTER_FAILURES,
            reserved_by: reservation.map(|r| r.person.clone()),
            reserved_until: reservation.and_then(|r| r.until),
            draining,
            fingerprint: entry.map(|e| e.registration.fingerprint.clone()).unwrap_or_default(),
        }
    }
}
