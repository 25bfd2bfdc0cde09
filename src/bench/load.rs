//! The load generator: simulated workers and clients that speak the real protocol through `distencode_wire`, so a
//! coordinator can be driven far harder than real melt processes could, with no second implementation of the protocol.
//!
//! A simulated worker dials with its own certificate (`connection::dial`, `Hello`), sends `Register`, answers each
//! `Offer` with `Accepted` and `Verified`, waits for `Commit { go: true }`, sends `Finished` with a success, and
//! heartbeats like a real worker. Between `Accepted` and `Verified` it streams the job's log as `Log` batches (a
//! window of unacknowledged bytes, as the real worker keeps): by default one short batch, as melt always prints a
//! few lines. That batch is also what keeps `Verified` behind the coordinator's durable `Start`, because the
//! coordinator stores it (after the `Start`) before it reads on (see [`Plan::verify_at_once`]). A simulated client
//! submits `JobSpec`s whose paths need not exist (the coordinator never opens them). Every moment that matters is
//! stamped in a shared [`Recorder`].

use anyhow::{anyhow, bail, Context, Result};
use distencode_wire::connection::{self, ClientStream, Connection};
use distencode_wire::job::{Encoding, JobId, JobSpec, MeltLog, RenderFacts};
use distencode_wire::message::{
    ClientReply, ClientRequest, CoordinatorToWorker, Outcome, Registration, WorkerToCoordinator,
};
use distencode_wire::{tls, Role};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

/// Services every simulated job uses; every simulated worker has them.
const JOB_SERVICES: [&str; 3] = ["color", "tone", "mix"];
/// A real melt registers hundreds of services and encoders; the simulated workers register as many (made-up names),
/// so the coordinator holds what it would hold for real workers.
const EXTRA_SERVICES: usize = 400;
const EXTRA_ENCODERS: usize = 80;
/// How often a simulated worker heartbeats (the nodes' default).
const HEARTBEAT: Duration = Duration::from_secs(2);
/// Log bytes a worker may have sent without a `LogAck` (the real worker allows 64 MiB).
const LOG_WINDOW: u64 = 64 * 1024 * 1024;
/// A log batch: 64 KiB of lines.
pub const LOG_BATCH: usize = 64 * 1024;

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

/// Everything the simulated nodes saw, shared between them.
pub struct Recorder {
    jobs: Mutex<HashMap<JobId, JobTimes>>,
    /// Jobs whose `Finished` was acknowledged as accepted (recorded as succeeded).
    finished: watch::Sender<usize>,
    pub registered: AtomicUsize,
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

/// What a simulated worker does with each job it is offered.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Log bytes to stream (in batches of at most [`LOG_BATCH`]) before reporting the render verified.
    pub log_bytes: u64,
    /// Send `Verified` right after `Accepted`, without any log. A diagnostic: the coordinator then often answers
    /// `Commit { go: false }`, because it checks `Verified` against its in-memory state while the `Start` that
    /// `Accepted` caused is still on its way through the store.
    pub verify_at_once: bool,
}

/// What melt prints at least (its banner and the consumer's start), about 200 bytes.
pub const SHORT_LOG: u64 = 200;

impl Default for Plan {
    fn default() -> Self {
        Self { log_bytes: SHORT_LOG, verify_at_once: false }
    }
}

fn registration() -> Registration {
    let mut services: Vec<String> = JOB_SERVICES.iter().map(|s| s.to_string()).collect();
    services.extend((0..EXTRA_SERVICES).map(|i| format!("bench.service{i:03}")));
    let mut video: Vec<String> = vec!["libx264".into()];
    video.extend((0..EXTRA_ENCODERS / 2).map(|i| format!("bench_video{i:02}")));
    let mut audio: Vec<String> = vec!["aac".into()];
    audio.extend((0..EXTRA_ENCODERS / 2).map(|i| format!("bench_audio{i:02}")));
    Registration {
        melt_version: "bench (simulated)".into(),
        services,
        video_encoders: video,
        audio_encoders: audio,
        cpus: 1,
        current: None,
    }
}

/// What the simulated render "made".
fn facts() -> RenderFacts {
    RenderFacts {
        frames: 25,
        duration_seconds: 1.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1,
    }
}

/// A job whose files do not exist: the coordinator records and dispatches it without opening them.
pub fn spec(client: usize, n: usize) -> JobSpec {
    JobSpec {
        project: format!("/nonexistent/distencode-bench/c{client}/job{n}.mlt"),
        output: format!("/nonexistent/distencode-bench/c{client}/job{n}.mp4"),
        encoding: Encoding::default(),
        priority: 0,
        melt_log: MeltLog::Normal,
        services: JOB_SERVICES.iter().map(|s| s.to_string()).collect(),
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

/// A simulated worker `name`, until `stop` turns true. Dials while holding a permit of `gate` (so a thousand
/// workers do not all handshake at once).
pub async fn worker(
    target: Arc<Target>,
    name: String,
    plan: Plan,
    recorder: Arc<Recorder>,
    gate: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let conn = {
        let _permit = gate.acquire().await?;
        let config = tls::client_config(&target.certs, &name)?;
        let (mut conn, _) =
            connection::dial(&target.addr, config, Role::Worker).await.with_context(|| format!("worker {name}"))?;
        conn.send(&WorkerToCoordinator::Register(registration())).await?;
        match conn.expect::<CoordinatorToWorker>().await? {
            CoordinatorToWorker::Registered => {}
            other => bail!("worker {name}: unexpected answer to Register: {other:?}"),
        }
        conn
    };
    recorder.registered.fetch_add(1, Ordering::SeqCst);
    let (mut reader, mut writer) = conn.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WorkerToCoordinator>();
    let write = async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => writer.send(&message).await?,
                    None => return Ok::<(), anyhow::Error>(()),
                },
                _ = heartbeat.tick() => writer.send(&WorkerToCoordinator::Heartbeat).await?,
            }
        }
    };
    let mut acks: HashMap<(JobId, u32), watch::Sender<Option<u64>>> = HashMap::new();
    let mut committed: std::collections::HashSet<(JobId, u32)> = std::collections::HashSet::new();
    let read = async {
        loop {
            let Some(message) = reader.recv::<CoordinatorToWorker>().await? else {
                bail!("the coordinator closed the connection");
            };
            let send = |m: WorkerToCoordinator| tx.send(m).map_err(|_| anyhow!("writer gone"));
            match message {
                CoordinatorToWorker::Offer(job) => {
                    let (id, attempt) = (job.id, job.attempt);
                    recorder.stamp(id, |t| t.offered = Some(Instant::now()));
                    send(WorkerToCoordinator::Accepted { job: id, attempt })?;
                    if plan.verify_at_once {
                        recorder.stamp(id, |t| t.verified_sent = Some(Instant::now()));
                        send(WorkerToCoordinator::Verified { job: id, attempt, facts: facts() })?;
                    } else {
                        let (ack_tx, ack_rx) = watch::channel(None);
                        acks.insert((id, attempt), ack_tx);
                        tokio::spawn(stream_log(id, attempt, plan.log_bytes, ack_rx, tx.clone(), recorder.clone()));
                    }
                }
                CoordinatorToWorker::LogAck { job, attempt, seq } => {
                    if let Some(ack) = acks.get(&(job, attempt)) {
                        ack.send_replace(Some(seq));
                    }
                }
                CoordinatorToWorker::Commit { job, attempt, go } => {
                    acks.remove(&(job, attempt));
                    let outcome = if go {
                        committed.insert((job, attempt));
                        Outcome::Succeeded(facts())
                    } else {
                        recorder.discarded.fetch_add(1, Ordering::SeqCst);
                        Outcome::Failed {
                            reason: "result discarded: the job had moved on".into(),
                            log_tail: String::new(),
                        }
                    };
                    recorder.stamp(job, |t| t.finished_sent = Some(Instant::now()));
                    send(WorkerToCoordinator::Finished { job, attempt, outcome })?;
                }
                CoordinatorToWorker::FinishedAck { job, attempt, accepted } => {
                    let succeeded = committed.remove(&(job, attempt));
                    if accepted && succeeded {
                        recorder.stamp(job, |t| t.finished_acked = Some(Instant::now()));
                        recorder.finished.send_modify(|n| *n += 1);
                    } else {
                        recorder.error(format!("worker {name}: the coordinator refused the result of job {job}"));
                    }
                }
                CoordinatorToWorker::Cancel { job, attempt } => {
                    recorder.cancelled.fetch_add(1, Ordering::SeqCst);
                    acks.remove(&(job, attempt));
                    send(WorkerToCoordinator::Finished { job, attempt, outcome: Outcome::Cancelled })?;
                }
                CoordinatorToWorker::Refused(reason) => bail!("worker {name} refused: {reason}"),
                CoordinatorToWorker::Heartbeat | CoordinatorToWorker::Registered => {}
            }
        }
    };
    let result = tokio::select! {
        r = write => r,
        r = read => r,
        _ = stop.wait_for(|&s| s) => Ok(()),
    };
    // An error after the benchmark asked to stop (the coordinator was killed first) is no error.
    if *stop.borrow() {
        return Ok(());
    }
    result
}

/// Streams `bytes` of log lines for one attempt in [`LOG_BATCH`] batches, within the window, then reports the
/// render verified; notes how long the log took from the first batch sent to the last acknowledged (stored durably).
async fn stream_log(
    job: JobId,
    attempt: u32,
    bytes: u64,
    mut acked: watch::Receiver<Option<u64>>,
    tx: mpsc::UnboundedSender<WorkerToCoordinator>,
    recorder: Arc<Recorder>,
) {
    let batches = bytes.div_ceil(LOG_BATCH as u64).max(1);
    let window = (LOG_WINDOW / LOG_BATCH as u64).max(1);
    let full = log_batch(job);
    let started = Instant::now();
    let mut sent = 0u64;
    for seq in 0..batches {
        let size = (bytes - sent).clamp(1, LOG_BATCH as u64) as usize;
        let mut text = full[..size - 1].to_string();
        text.push('\n');
        sent += size as u64;
        // Batch `seq` may go once batch `seq - window` is acknowledged.
        let ready = acked.wait_for(|a| seq < window || a.is_some_and(|a| a + window >= seq)).await;
        if ready.is_err() {
            return; // committed or cancelled meanwhile: the job is over
        }
        drop(ready);
        let message = WorkerToCoordinator::Log { job, attempt, seq, text };
        if tx.send(message).is_err() {
            return;
        }
    }
    // Like the real worker: `Verified` right behind the last batch, without waiting for its `LogAck`. The
    // coordinator handles one worker's messages in order, so it is read once every batch is stored.
    recorder.stamp(job, |t| t.verified_sent = Some(Instant::now()));
    let _ = tx.send(WorkerToCoordinator::Verified { job, attempt, facts: facts() });
    if acked.wait_for(|a| *a == Some(batches - 1)).await.is_ok() {
        let took = started.elapsed();
        recorder.log_streams.lock().expect("recorder").push((sent, took));
    }
}

/// 64 KiB of melt-like lines.
fn log_batch(job: JobId) -> String {
    let mut text = String::with_capacity(LOG_BATCH);
    let mut frame = 0u64;
    while text.len() < LOG_BATCH - 128 {
        text.push_str(&format!(
            "[producer avformat] job {job} frame {frame:08}: decoded video 1920x1080 yuv420p, audio 48000 Hz stereo\n"
        ));
        frame += 1;
    }
    while text.len() < LOG_BATCH - 1 {
        text.push('.');
    }
    text.push('\n');
    text
}

/// Starts `names.len()` simulated workers; returns their tasks and the switch that stops them.
pub fn start_workers(
    target: &Arc<Target>,
    names: &[String],
    plan: Plan,
    recorder: &Arc<Recorder>,
) -> (Vec<tokio::task::JoinHandle<Result<()>>>, watch::Sender<bool>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(32));
    let tasks = names
        .iter()
        .map(|name| {
            let (target, recorder) = (target.clone(), recorder.clone());
            let (gate, stop) = (gate.clone(), stop_rx.clone());
            let name = name.clone();
            tokio::spawn(async move {
                let result = worker(target, name.clone(), plan, recorder.clone(), gate, stop).await;
                if let Err(e) = &result {
                    recorder.error(format!("worker {name}: {e:#}"));
                }
                result
            })
        })
        .collect();
    (tasks, stop_tx)
}

/// Waits until `count` simulated workers are registered (or one failed), for at most `limit`.
pub async fn wait_registered(recorder: &Recorder, count: usize, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(e) = recorder.first_error() {
            bail!("{e}");
        }
        if recorder.registered.load(Ordering::SeqCst) >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} simulated workers registered within {limit:?}",
                recorder.registered.load(Ordering::SeqCst)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops simulated workers and waits for their tasks.
pub async fn stop_workers(tasks: Vec<tokio::task::JoinHandle<Result<()>>>, stop: watch::Sender<bool>) {
    let _ = stop.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
}
