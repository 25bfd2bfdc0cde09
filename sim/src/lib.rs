//! Simulated workers and clients that speak the real protocol through `distencode_wire`, so a coordinator can be
//! driven far harder than real melt processes could, and tested message by message, with no second implementation of
//! the protocol. The benchmarks (`distencode bench`) and the coordinator's in-process tests share them.
//!
//! A simulated worker dials with its own certificate (`connection::dial`, `Hello`), sends `Register`, answers each
//! `Offer` with `Accepted` and `Verified`, waits for `Commit { go: true }`, sends `Finished` with a success, and
//! heartbeats like a real worker; with [`Plan::redial`] it dials again after a lost connection with the real worker's
//! backoff and jitter (`distencode_wire::redial`). Between `Accepted` and `Verified` it streams the job's log as `Log` batches (a
//! window of unacknowledged bytes, as the real worker keeps): by default one short batch, as melt always prints a
//! few lines. That batch is also what keeps `Verified` behind the coordinator's durable `Start`, because the
//! coordinator stores it (after the `Start`) before it reads on (see [`Plan::verify_at_once`]). A simulated client
//! submits `JobSpec`s whose paths need not exist (the coordinator never opens them). Every moment that matters is
//! stamped in a shared [`Recorder`].
//!
//! The tests drive [`ScriptedWorker`] and [`ScriptedClient`] instead: one message at a time, so a test decides what
//! the worker answers and when, and sees exactly what the coordinator says.
//!
//! Files: this one (the shared [`Recorder`] and the simulated client), [`worker`] (the simulated worker), [`peer`]
//! (the scripted worker and client), [`certs`] (a throwaway CA and certificates), [`deadline`] (waits bounded in
//! real time, also under tokio's paused clock).

use anyhow::{bail, Result};
use distencode_wire::connection::{self, ClientStream, Connection};
use distencode_wire::job::{JobId, JobSpec};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::{tls, Role};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod certs;
mod deadline;
mod peer;
mod worker;

pub use certs::{Pki, COORDINATOR};
pub use deadline::{within, REPLY_LIMIT};
pub use peer::{ScriptedClient, ScriptedWorker};
pub use worker::{facts, instance, registration, start_workers, stop_workers, wait_registered, Plan};

/// Services every simulated job uses; every simulated worker has them.
pub const JOB_SERVICES: [&str; 3] = ["color", "tone", "mix"];

/// Where the coordinator is, and the certs dir holding every simulated node's certificate.
pub struct Target {
    pub addr: String,
    pub certs: PathBuf,
}

/// The moments of one job, as seen by the load generator.
#[derive(Clone, Copy, Default, Debug)]
pub struct JobTimes {
    pub submit_sent: Option<Instant>,
    pub submit_acked: Option<Instant>,
    pub offered: Option<Instant>,
    pub verified_sent: Option<Instant>,
    pub finished_sent: Option<Instant>,
    pub finished_acked: Option<Instant>,
}

/// A simulated worker dialling its coordinator, or registered by it.
#[derive(Clone, Debug)]
pub struct WorkerDial {
    pub worker: String,
    pub at: Instant,
    /// `Registered` came back (else: a dial began).
    pub registered: bool,
}

/// Everything the simulated nodes saw, shared between them.
pub struct Recorder {
    jobs: Mutex<HashMap<JobId, JobTimes>>,
    /// Jobs whose `Finished` was acknowledged as accepted (recorded as succeeded).
    finished: watch::Sender<usize>,
    /// Registrations of simulated workers (more than one per worker when they redial).
    pub registered: AtomicUsize,
    /// Each simulated worker's dials and registrations: which worker, and when (see [`Recorder::dials`]).
    dials: Mutex<Vec<WorkerDial>>,
    /// Submits acknowledged.
    pub submitted: AtomicUsize,
    pub cancelled: AtomicUsize,
    /// Renders the coordinator answered with `Commit { go: false }` (thrown away, the job requeued or failed).
    pub discarded: AtomicUsize,
    /// (bytes, first batch sent → last batch acknowledged) per job that streamed logs.
    pub log_streams: Mutex<Vec<(u64, Duration)>>,
    pub errors: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            jobs: Mutex::new(HashMap::new()),
            finished: watch::channel(0).0,
            registered: AtomicUsize::new(0),
            dials: Mutex::new(Vec::new()),
            submitted: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            discarded: AtomicUsize::new(0),
            log_streams: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        })
    }

    fn stamp(&self, job: JobId, set: impl FnOnce(&mut JobTimes)) {
        set(self.jobs.lock().expect("recorder").entry(job).or_default());
    }

    pub(crate) fn note_dial(&self, worker: &str) {
        let at = Instant::now();
        self.dials.lock().expect("recorder").push(WorkerDial { worker: worker.to_string(), at, registered: false });
    }

    pub(crate) fn note_registered(&self, worker: &str) {
        let at = Instant::now();
        self.registered.fetch_add(1, Ordering::SeqCst);
        self.dials.lock().expect("recorder").push(WorkerDial { worker: worker.to_string(), at, registered: true });
    }

    /// Every dial and registration of a simulated worker since `since`, in the order they happened.
    pub fn dials(&self, since: Instant) -> Vec<WorkerDial> {
        let dials = self.dials.lock().expect("recorder");
        dials.iter().filter(|d| d.at >= since).cloned().collect()
    }

    pub fn finished(&self) -> usize {
        *self.finished.borrow()
    }

    /// Waits until at least `count` jobs are recorded as succeeded; false after `limit`.
    pub async fn wait_finished(&self, count: usize, limit: Duration) -> bool {
        let mut rx = self.finished.subscribe();
        let reached = tokio::time::timeout(limit, rx.wait_for(|&n| n >= count)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Every job seen, in id order.
    pub fn ids(&self) -> Vec<JobId> {
        let mut ids: Vec<JobId> = self.jobs.lock().expect("recorder").keys().copied().collect();
        ids.sort();
        ids
    }

    /// The moments of job `id`, if any was seen.
    pub fn job(&self, id: JobId) -> Option<JobTimes> {
        self.jobs.lock().expect("recorder").get(&id).copied()
    }

    pub fn times(&self) -> Vec<JobTimes> {
        self.jobs.lock().expect("recorder").values().copied().collect()
    }

    pub fn error(&self, text: String) {
        self.errors.lock().expect("recorder").push(text);
    }

    /// The first error any simulated node met, if any.
    pub fn first_error(&self) -> Option<String> {
        let errors = self.errors.lock().expect("recorder");
        errors.first().map(|e| format!("{e} ({} errors in all)", errors.len()))
    }
}

/// A job whose files do not exist: the coordinator records and dispatches it without opening them.
pub fn spec(client: usize, n: usize) -> JobSpec {
    JobSpec {
        services: JOB_SERVICES.iter().map(|s| s.to_string()).collect(),
        ..JobSpec::new(
            format!("/nonexistent/distencode-bench/c{client}/job{n}.mlt"),
            format!("/nonexistent/distencode-bench/c{client}/job{n}.mp4"),
        )
    }
}

/// Dials as the client `name`.
pub async fn dial_client(target: &Target, name: &str) -> Result<Connection<ClientStream>> {
    let config = tls::client_config(&target.certs, name)?;
    let (conn, _) = connection::dial(&target.addr, config, Role::Client).await?;
    Ok(conn)
}

/// One request, one reply.
pub async fn call(conn: &mut Connection<ClientStream>, request: &ClientRequest) -> Result<ClientReply> {
    conn.send(request).await?;
    match conn.recv::<ClientReply>().await? {
        Some(ClientReply::Error(text)) => bail!("the coordinator refused: {text}"),
        Some(reply) => Ok(reply),
        None => bail!("the coordinator closed the connection"),
    }
}

/// How a simulated client submits.
#[derive(Clone, Copy)]
pub enum Pace {
    /// One request in flight, as fast as the coordinator answers.
    Flat,
    /// Each job only once the previous one is recorded as succeeded (nothing queues: pure latency).
    OneAtATime,
    /// One request in flight, but only while fewer than this many jobs (of all clients) are submitted and not yet
    /// succeeded: keeps the coordinator's queue short.
    Bounded(usize),
}

/// A simulated client `name` (number `index`) submitting `count` jobs.
pub async fn client(
    target: Arc<Target>,
    name: String,
    index: usize,
    count: usize,
    pace: Pace,
    recorder: Arc<Recorder>,
) -> Result<()> {
    let mut conn = dial_client(&target, &name).await?;
    for n in 0..count {
        if let Pace::Bounded(limit) = pace {
            let mut finished = recorder.finished.subscribe();
            let open = |done: &usize| recorder.submitted.load(Ordering::SeqCst).saturating_sub(*done) < limit.max(1);
            if finished.wait_for(open).await.is_err() {
                bail!("the recorder went away");
            }
        }
        let sent = Instant::now();
        let before = recorder.finished();
        let reply = call(&mut conn, &ClientRequest::Submit(spec(index, n))).await?;
        let acked = Instant::now();
        let ClientReply::Job(record) = reply else {
            bail!("unexpected answer to Submit: {reply:?}");
        };
        recorder.stamp(record.id, |t| {
            t.submit_sent = Some(sent);
            t.submit_acked = Some(acked);
        });
        recorder.submitted.fetch_add(1, Ordering::SeqCst);
        if let Pace::OneAtATime = pace {
            if !recorder.wait_finished(before + 1, Duration::from_secs(30)).await {
                bail!("job {} was not recorded as succeeded within 30 s", record.id);
            }
        }
    }
    let _ = conn.close().await;
    Ok(())
}
