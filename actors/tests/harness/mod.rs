//! The in-process harness: a whole coordinator (JobStore on a temporary folder, Coordinator, WorkerRegistry and the
//! mutual-TLS server on 127.0.0.1) inside the test process, driven only through its public start functions and the
//! wire protocol, by scripted workers and clients (`distencode_sim`) with certificates made in-process.
//!
//! The coordinator runs on a thread of its own, in its own actix System, with tokio's clock paused and automatic
//! advancing switched off: its heartbeats, grace periods and stall timeouts move only when a test calls
//! [`Farm::advance`]. (A paused clock would otherwise jump to the next timer whenever the coordinator waits for the
//! store's thread or for a socket, and fire timeouts no test asked for; a blocking task held open for the
//! coordinator's lifetime keeps tokio from doing that.) The test itself runs on an ordinary runtime: every wait of
//! a scripted peer is bounded in real time, so a coordinator that never answers fails the test instead of hanging
//! it. Heartbeats and the client idle timeout are set far beyond anything a test advances, so advancing a grace
//! period never drops a connection by accident.
//!
//! Restarting ([`Farm::restart`]) stops that System (every connection closes, as when the process dies), and
//! starts a new coordinator on the same data folder and address.

#![allow(dead_code)] // each test file uses a part of it

use actix::SyncArbiter;
use distencode_actors::coordinator::{Coordinator, CoordinatorConfig};
use distencode_actors::metrics::Metrics;
use distencode_actors::server::{self, ConnectionLimits, ServerContext};
use distencode_actors::store::{JobStore, StoreError, WriteFault};
use distencode_sim::{within, Pki, ScriptedClient, ScriptedWorker, Target, REPLY_LIMIT};
use distencode_wire::job::{JobId, JobRecord, JobSpec, JobState, MeltJob};
use distencode_wire::message::{ClientRequest, CoordinatorToWorker, WorkerToCoordinator, WorkerView};
use distencode_wire::{tls, Role};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Workers with certificates in every farm.
pub const WORKERS: [&str; 3] = ["w1", "w2", "w3"];
/// The client with a certificate in every farm: an admin.
pub const CLIENT: &str = "alice";
/// A second client with a certificate in every farm: a plain user.
pub const USER: &str = "bob";
/// The grace period of a farm's coordinator.
pub const GRACE: Duration = Duration::from_secs(30);
/// A little more than the grace period: enough for its timer, whatever the clock's rounding.
pub const PAST_GRACE: Duration = GRACE.saturating_add(Duration::from_secs(1));
/// Heartbeats: far beyond any time a test advances.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(48 * 3600);
/// A test's client stays connected however far the clock moves.
const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a restarted coordinator waits for the old one to release the database (real time).
const REOPEN_LIMIT: Duration = Duration::from_secs(10);
/// How often a test looks again while waiting for a state only a request shows, and how many times at most.
const POLL_EVERY: Duration = Duration::from_millis(2);
const POLLS: usize = 2_500;

/// What the test asks of the coordinator's thread.
enum Control {
    /// Move the paused clock on, then answer.
    Advance(Duration, oneshot::Sender<()>),
}

/// A running coordinator: its thread, and the way to its clock. Dropping `control` stops it.
struct Node {
    control: mpsc::UnboundedSender<Control>,
    thread: std::thread::JoinHandle<()>,
    fault: WriteFault,
    /// The running coordinator's metrics.
    metrics: Metrics,
}

/// A coordinator in this process, with certificates for [`WORKERS`] and [`CLIENT`].
pub struct Farm {
    pub target: Target,
    config: CoordinatorConfig,
    data: PathBuf,
    node: Option<Node>,
    /// Certificates and data; removed last.
    _dir: tempfile::TempDir,
}

impl Farm {
    /// A coordinator with `max_attempts` and [`GRACE`], on a fresh store.
    pub async fn start(max_attempts: u32) -> Farm {
        Self::start_with(max_attempts, |_| {}).await
    }

    /// As [`Farm::start`], with a store `fill` writes to first (made durable before the coordinator opens it).
    pub async fn start_with(max_attempts: u32, fill: impl FnOnce(&JobStore)) -> Farm {
        Self::start_configured(max_attempts, fill, |_| {}).await
    }

    /// As [`Farm::start_with`], with the coordinator's settings changed by `configure` first.
    pub async fn start_configured(
        max_attempts: u32,
        fill: impl FnOnce(&JobStore),
        configure: impl FnOnce(&mut CoordinatorConfig),
    ) -> Farm {
        let dir = tempfile::tempdir().expect("temporary folder");
        let pki = Pki::new(dir.path()).expect("CA");
        let names: Vec<String> = WORKERS.iter().map(|w| w.to_string()).collect();
        pki.issue_many(Role::Worker, &names).expect("worker certificates");
        pki.issue(Role::Client, CLIENT).expect("client certificate");
        pki.issue(Role::Client, USER).expect("client certificate");
        let data = dir.path().join("data");
        {
            let store = open_store(&data);
            fill(&store);
            store.flush().expect("flush");
        }
        // The test client runs the farm: it is an admin (the ownership rules have tests of their own).
        let users = distencode_actors::auth::Users { admins: [CLIENT.to_string()].into(), ..Default::default() };
        let mut config =
            CoordinatorConfig { max_attempts, grace: GRACE, users: users.into(), ..CoordinatorConfig::default() };
        configure(&mut config);
        let target = Target { addr: "127.0.0.1:0".into(), certs: pki.dir.clone() };
        let mut farm = Farm { target, config, data, node: None, _dir: dir };
        farm.boot().await;
        farm
    }

    /// Starts a coordinator on the farm's data and address (a free port the first time), and waits until it has
    /// recovered its jobs: it answers requests only after that.
    async fn boot(&mut self) {
        let store = open_store(&self.data);
        let fault = store.write_fault();
        let tls = tls::server_config(&self.target.certs, distencode_sim::COORDINATOR).expect("coordinator TLS");
        let listener = std::net::TcpListener::bind(&self.target.addr).expect("listen on 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking listener");
        self.target.addr = listener.local_addr().expect("local address").to_string();
        let (control, commands) = mpsc::unbounded_channel();
        let mut config = self.config.clone();
        config.metrics = store.metrics();
        let metrics = store.metrics();
        let thread = std::thread::Builder::new()
            .name("coordinator".into())
            .spawn(move || run_coordinator(store, listener, tls, config, commands))
            .expect("coordinator thread");
        self.node = Some(Node { control, thread, fault, metrics });
        let mut client = self.client().await;
        client.list_pages().await.expect("the coordinator answers after recovering");
    }

    /// The running coordinator's metrics.
    pub fn metrics(&self) -> Metrics {
        self.node.as_ref().expect("a running coordinator").metrics.clone()
    }

    /// Stops the coordinator (every connection closes, as when its process dies) and starts another on the same
    /// data and address.
    pub async fn restart(&mut self) {
        self.stop();
        self.boot().await;
    }

    fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            drop(node.control);
            node.thread.join().expect("the coordinator's thread ended cleanly");
        }
    }

    /// The poster frame the store holds for `id`, read with the coordinator stopped, which then starts again
    /// (every connection closes, as after [`Farm::restart`]).
    pub async fn stored_thumbnail(&mut self, id: JobId) -> Option<Vec<u8>> {
        self.stop();
        let found = open_store(&self.data).thumbnail(id).expect("the poster frame reads");
        self.boot().await;
        found
    }

    /// Moves the coordinator's clock on by `by`, and waits until it has.
    pub async fn advance(&self, by: Duration) {
        let (done, advanced) = oneshot::channel();
        let node = self.node.as_ref().expect("a running coordinator");
        node.control.send(Control::Advance(by, done)).expect("the coordinator's thread runs");
        within(REPLY_LIMIT, "advancing the coordinator's clock", advanced).await.unwrap().unwrap();
    }

    /// Makes the store's next write fail (see [`WriteFault`]).
    pub fn fail_next_write(&self) {
        self.node.as_ref().expect("a running coordinator").fault.fail_next_write();
    }

    /// Connects and registers `name` as a simulated worker (the services of [`distencode_sim::spec`]'s jobs).
    pub async fn worker(&self, name: &str) -> ScriptedWorker {
        let registration = distencode_sim::registration(distencode_sim::instance());
        ScriptedWorker::connect(&self.target, name, registration).await.expect("worker registers")
    }

    /// Connects `name` again as a worker process still rendering `job` (it registers holding that attempt).
    pub async fn worker_holding(&self, name: &str, job: &MeltJob) -> ScriptedWorker {
        let mut registration = distencode_sim::registration(distencode_sim::instance());
        registration.current = Some((job.id, job.attempt));
        ScriptedWorker::connect(&self.target, name, registration).await.expect("worker registers")
    }

    /// Closes `worker`'s connection and waits until the coordinator has seen it go.
    pub async fn disconnect(&self, client: &mut ScriptedClient, worker: ScriptedWorker) {
        let name = worker.name.clone();
        worker.close().await;
        self.wait_worker(client, &name, "lost").await;
    }

    /// The running job `id` whose worker is gone: still running until the grace period has passed, then offered to
    /// `worker` as attempt 2, which renders it. Its record then, the first attempt ended as `lost`.
    pub async fn moves_after_grace(
        &self,
        client: &mut ScriptedClient,
        worker: &mut ScriptedWorker,
        id: JobId,
        lost: &str,
    ) -> JobRecord {
        assert_eq!(client.status(id).await.expect("status").state, JobState::Running);
        self.advance(PAST_GRACE).await;
        let moved = offer(worker).await;
        assert_eq!((moved.id, moved.attempt), (id, 2));
        worker.render(&moved).await.expect("rendered");
        let record = client.status(id).await.expect("status");
        assert_eq!(record.state, JobState::Succeeded);
        assert_eq!(record.attempts[0].outcome.as_ref().map(ToString::to_string).as_deref(), Some(lost));
        record
    }

    /// Connects a client as [`CLIENT`].
    pub async fn client(&self) -> ScriptedClient {
        ScriptedClient::connect(&self.target, CLIENT).await.expect("client connects")
    }

    /// Connects a client as `name` ([`CLIENT`] or [`USER`]).
    pub async fn client_as(&self, name: &str) -> ScriptedClient {
        ScriptedClient::connect(&self.target, name).await.expect("client connects")
    }

    /// Asks `worker list` until `worker` is in `state`; its view. Bounded in count and time.
    pub async fn wait_worker(&self, client: &mut ScriptedClient, worker: &str, state: &str) -> WorkerView {
        let mut seen = None;
        for _ in 0..POLLS {
            let workers = client.workers(ClientRequest::WorkerList).await.expect("worker list");
            seen = workers.into_iter().find(|w| w.name == worker);
            if let Some(view) = seen.as_ref().filter(|w| w.state == state) {
                return view.clone();
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        let last = seen.map(|w| (w.state, w.current_job, w.reserved_by, w.draining));
        panic!("worker {worker} never became {state}; last seen as (state, job, reserved by, draining) {last:?}");
    }
}

/// Asks `list` until `done` holds for the job list, at most [`POLLS`] times; returns the last list.
pub async fn wait_list(client: &mut ScriptedClient, what: &str, done: impl Fn(&[JobRecord]) -> bool) -> Vec<JobRecord> {
    let mut jobs = Vec::new();
    for _ in 0..POLLS {
        jobs = client.list_pages().await.expect("job list").into_iter().flatten().collect();
        if done(&jobs) {
            return jobs;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    panic!("{what} never happened; the jobs are {:?}", jobs.iter().map(|j| (j.id, j.state)).collect::<Vec<_>>());
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The coordinator's thread: the same actors and server `distencode node --role coordinator` starts, under a
/// paused clock that only [`Control::Advance`] moves; it ends when the farm drops its control channel.
fn run_coordinator(
    store: JobStore,
    listener: std::net::TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    config: CoordinatorConfig,
    mut commands: mpsc::UnboundedReceiver<Control>,
) {
    actix_rt::System::new().block_on(async move {
        tokio::time::pause();
        // While a blocking task runs, tokio does not advance a paused clock by itself; this one runs until the
        // coordinator stops (its sender is dropped with this future).
        let (_hold, held) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || held.recv());
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let store = SyncArbiter::start(1, move || store.clone());
        let users = config.users.clone();
        let (coordinator, registry) = Coordinator::start(store, config);
        let context = ServerContext {
            users,
            coordinator,
            registry,
            heartbeat_interval: HEARTBEAT_INTERVAL,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
            limits: ConnectionLimits { client_idle_timeout: CLIENT_IDLE_TIMEOUT, ..ConnectionLimits::default() },
            // No CRL here: nothing is ever revoked.
            revoked: tokio::sync::watch::channel(Default::default()).1,
            expiries: Default::default(),
            presets: Default::default(),
        };
        let serve = server::serve(listener, tls, context);
        tokio::pin!(serve);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Control::Advance(by, done)) => {
                        tokio::time::advance(by).await;
                        let _ = done.send(());
                    }
                    None => break,
                },
                result = &mut serve => panic!("the coordinator stopped serving: {result:?}"),
            }
        }
    });
}

/// Opens the store in `dir`, waiting (bounded) while a coordinator stopped a moment ago still holds it.
fn open_store(dir: &Path) -> JobStore {
    let deadline = std::time::Instant::now() + REOPEN_LIMIT;
    loop {
        match JobStore::open(dir) {
            Ok(store) => return store,
            Err(StoreError::Db(_)) if std::time::Instant::now() < deadline => std::thread::sleep(POLL_EVERY),
            Err(e) => panic!("cannot open the store in {}: {e}", dir.display()),
        }
    }
}

/// A job for the simulated workers with `priority`; `n` tells jobs apart.
pub fn job(n: usize, priority: i32) -> JobSpec {
    JobSpec { priority, ..distencode_sim::spec(0, n) }
}

/// The next offer `worker` gets.
pub async fn offer(worker: &mut ScriptedWorker) -> MeltJob {
    worker.offer().await.expect("an offer")
}

/// Waits for the coordinator's heartbeat and answers it; returns once the coordinator has read the answer (a log
/// batch for job 0, which no job ever is, sent behind it has been acknowledged), so the clock may move on.
pub async fn answer_heartbeat(worker: &mut ScriptedWorker) {
    let heard = worker.next_any().await.expect("a message");
    assert_eq!(heard, CoordinatorToWorker::Heartbeat, "worker {}", worker.name);
    worker.send(WorkerToCoordinator::Heartbeat).await.expect("heartbeat sent");
    let ping = WorkerToCoordinator::Log { job: JobId(0), attempt: 0, seq: 0, text: String::new() };
    worker.send(ping).await.expect("ping sent");
    let ack = CoordinatorToWorker::LogAck { job: JobId(0), attempt: 0, seq: 0 };
    assert_eq!(worker.next().await.expect("the ping's answer"), ack, "worker {}", worker.name);
}

/// Takes `worker`'s next offer and starts rendering it: accepted, and a first log batch `text` stored (so the
/// start is recorded too).
pub async fn running(worker: &mut ScriptedWorker, text: &str) -> MeltJob {
    let job = offer(worker).await;
    worker.accept(&job).await.expect("accepted");
    match worker.log(&job, 0, text).await.expect("a LogAck") {
        CoordinatorToWorker::LogAck { .. } => job,
        other => panic!("expected the LogAck of job {}, got {other:?}", job.id),
    }
}
