//! The simulated worker: one mutual-TLS connection with its own certificate, speaking the worker's side of the
//! protocol as the real one does (see the parent module), and the helpers that start and stop many of them.

use super::{Recorder, Target, JOB_SERVICES};
use anyhow::{anyhow, bail, Result};
use distencode_wire::job::{JobId, RenderFacts};
use distencode_wire::message::{CoordinatorToWorker, Outcome, Registration, WorkerToCoordinator};
use distencode_wire::redial::Backoff;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

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

/// What a simulated worker does with each job it is offered.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Log bytes to stream (in batches of at most [`LOG_BATCH`]) before reporting the render verified.
    pub log_bytes: u64,
    /// Send `Verified` right after `Accepted`, without any log. A diagnostic: the coordinator then often answers
    /// `Commit { go: false }`, because it checks `Verified` against its in-memory state while the `Start` that
    /// `Accepted` caused is still on its way through the store.
    pub verify_at_once: bool,
    /// Dial again after a lost connection, as the real worker does (see [`worker`]); `bench recovery --reconnect`
    /// times how soon a restarted coordinator has every worker back.
    pub redial: bool,
}

/// What melt prints at least (its banner and the consumer's start), about 200 bytes.
pub const SHORT_LOG: u64 = 200;

impl Default for Plan {
    fn default() -> Self {
        Self { log_bytes: SHORT_LOG, verify_at_once: false, redial: false }
    }
}

/// What a simulated worker registers with; `instance` as in [`Registration::instance`].
pub fn registration(instance: u64) -> Registration {
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
        instance,
        fingerprint: distencode_wire::message::Fingerprint { melt: "bench (simulated)".into(), ..Default::default() },
    }
}

/// What the simulated render "made".
pub fn facts() -> RenderFacts {
    RenderFacts {
        frames: 25,
        duration_seconds: 1.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1,
        dropped_filters: Vec::new(),
        streams: Default::default(),
    }
}

/// A random instance number, drawn for each simulated worker as a worker process draws one when it starts.
pub fn instance() -> u64 {
    use std::hash::BuildHasher;
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    std::collections::hash_map::RandomState::new().hash_one(DRAWN.fetch_add(1, Ordering::Relaxed))
}

/// A simulated worker `name`, until `stop` turns true. Dials while holding a permit of `gate` (so a thousand
/// workers do not all handshake at once). With [`Plan::redial`], a lost connection is dialled again as the real
/// worker does it ([`Backoff::after_session`]: full jitter under a doubling ceiling), and every dial and
/// registration is stamped in the recorder; without it, the first lost connection is the worker's error.
pub async fn worker(
    target: Arc<Target>,
    name: String,
    plan: Plan,
    recorder: Arc<Recorder>,
    gate: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    // Each simulated worker is a process of its own, as a real one is.
    let instance = instance();
    let mut backoff = Backoff::default();
    let mut registered_once = false;
    loop {
        let mut registered = false;
        let result = session(&target, &name, plan, instance, &recorder, &gate, &mut stop, &mut registered).await;
        // An error after the benchmark asked to stop (the coordinator was killed first) is no error.
        if *stop.borrow() {
            return Ok(());
        }
        registered_once |= registered;
        match result {
            Ok(()) => return Ok(()),
            // Before its first registration a worker that cannot register is misconfigured: no redial.
            Err(e) if !plan.redial || !registered_once => return Err(e),
            Err(_) => {}
        }
        let wait = backoff.after_session(registered);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|&s| s) => return Ok(()),
        }
    }
}

/// One connection of the simulated worker: dial, register, then answer the coordinator until the connection ends
/// (an error) or `stop` turns true (`Ok`). `registered` turns true once the coordinator answered `Registered`.
#[allow(clippy::too_many_arguments)] // the worker's settings and its shared counters, passed on for each connection
async fn session(
    target: &Target,
    name: &str,
    plan: Plan,
    instance: u64,
    recorder: &Arc<Recorder>,
    gate: &Semaphore,
    stop: &mut watch::Receiver<bool>,
    registered: &mut bool,
) -> Result<()> {
    let conn = {
        let _permit = gate.acquire().await?;
        recorder.note_dial(name);
        match super::peer::register(target, name, registration(instance)).await? {
            (CoordinatorToWorker::Registered, conn) => conn,
            (other, _) => bail!("worker {name}: unexpected answer to Register: {other:?}"),
        }
    };
    *registered = true;
    recorder.note_registered(name);
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
                    } else if !accepted {
                        recorder.error(format!("worker {name}: the coordinator refused the result of job {job}"));
                    }
                    // Accepted but not a success: a discarded render (counted at its `Commit`), the job requeued.
                }
                CoordinatorToWorker::Cancel { job, attempt } => {
                    recorder.cancelled.fetch_add(1, Ordering::SeqCst);
                    acks.remove(&(job, attempt));
                    send(WorkerToCoordinator::Finished { job, attempt, outcome: Outcome::Cancelled })?;
                }
                CoordinatorToWorker::Refused(reason) | CoordinatorToWorker::NameTaken(reason) => {
                    bail!("worker {name} refused: {reason}")
                }
                CoordinatorToWorker::Heartbeat | CoordinatorToWorker::Registered => {}
            }
        }
    };
    tokio::select! {
        r = write => r,
        r = read => r,
        _ = stop.wait_for(|&s| s) => Ok(()),
    }
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
    let full = log_lines(job, bytes.min(LOG_BATCH as u64) as usize);
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

/// `size` bytes (at least 1) of melt-like lines ending in a newline; only as many as needed, so a short log costs
/// the generator little CPU (it shares the machine with the coordinator it measures).
fn log_lines(job: JobId, size: usize) -> String {
    let size = size.max(1);
    let mut text = String::with_capacity(size + 128);
    let mut frame = 0u64;
    while text.len() + 128 < size {
        text.push_str(&format!(
            "[producer avformat] job {job} frame {frame:08}: decoded video 1920x1080 yuv420p, audio 48000 Hz stereo\n"
        ));
        frame += 1;
    }
    while text.len() + 1 < size {
        text.push('.');
    }
    text.truncate(size - 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_exactly_the_size_asked_and_end_a_line() {
        for size in [1, 2, 127, 128, 129, SHORT_LOG as usize, 4096, LOG_BATCH] {
            let text = log_lines(JobId(7), size);
            assert_eq!(text.len(), size, "size {size}");
            assert!(text.ends_with('\n'), "size {size}");
        }
        assert!(log_lines(JobId(7), LOG_BATCH).starts_with("[producer avformat] job 7 frame 00000000:"));
        assert_eq!(log_lines(JobId(7), 0), "\n");
    }
}
