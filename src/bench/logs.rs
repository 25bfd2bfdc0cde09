//! `bench logs`: how fast the coordinator stores a job's log, and how much memory it needs while many jobs log at once.
//!
//! Simulated workers send `WorkerToCoordinator::Log` batches of 64 KiB (what the real worker's log sink sends, up to
//! 64 MiB unacknowledged), which is exactly the coordinator's path for melt's output: relay, store, flush, `LogAck`.
//! Part one: one job streams `--mb` MB; throughput from its first batch sent to its last batch acknowledged, then the
//! same log read back as `job logs` does. Part two, on a fresh coordinator: `--streams` jobs stream at once, and the
//! coordinator's peak RSS (VmHWM) is read.

use super::args::LogsArgs;
use super::load::{self, Pace, Plan, Recorder};
use super::report::{Report, Row};
use super::sim::SimFarm;
use anyhow::{bail, Result};
use distencode_wire::job::JobId;
use distencode_wire::message::{ClientReply, ClientRequest};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(args: &LogsArgs) -> Result<Report> {
    let mut report = Report::new("logs");
    let limit = Duration::from_secs(args.common.time_limit);

    // One job, a big log.
    let farm = SimFarm::start("logs", 1, 1, &args.common).await?;
    let recorder = Recorder::new();
    let plan = Plan { log_bytes: args.mb * 1_000_000, ..Plan::default() };
    let workers = farm.start_workers(plan, &recorder).await?;
    submit(&farm, 1, &recorder, limit).await?;
    let streams = recorder.log_streams.lock().expect("recorder").clone();
    let Some(&(bytes, took)) = streams.first() else {
        bail!("the job streamed no log");
    };
    report.row(Row::new("one job: log stored (MB/s)", bytes as f64 / 1e6 / took.as_secs_f64(), "MB/s"));
    report.row(Row::new("one job: log size", bytes as f64 / 1e6, "MB"));
    let Some(&id) = recorder.ids().first() else {
        bail!("no job was recorded");
    };
    let (read, read_took) = read_back(&farm, id).await?;
    if read != bytes {
        bail!("read back {read} bytes of log, {bytes} were stored");
    }
    report.row(Row::new("one job: log read back (MB/s)", read as f64 / 1e6 / read_took.as_secs_f64(), "MB/s"));
    report.row(Row::new("one job: coordinator peak RSS", farm.coordinator_stats().peak_rss_mb, "MB"));
    workers.stop().await;
    drop(farm);

    // Many jobs at once.
    let farm = SimFarm::start("logs-many", args.streams.max(1), 1, &args.common).await?;
    let recorder = Recorder::new();
    let plan = Plan { log_bytes: args.mb_per_stream * 1_000_000, ..Plan::default() };
    let workers = farm.start_workers(plan, &recorder).await?;
    let idle_rss = farm.coordinator_stats().rss_mb;
    let started = Instant::now();
    submit(&farm, args.streams.max(1), &recorder, limit).await?;
    let elapsed = started.elapsed();
    let stats = farm.coordinator_stats();
    workers.stop().await;
    let total: u64 = recorder.log_streams.lock().expect("recorder").iter().map(|s| s.0).sum();
    let streams = args.streams.max(1);
    report.row(Row::new(format!("{streams} jobs at once: coordinator peak RSS"), stats.peak_rss_mb, "MB"));
    report.row(Row::new(format!("{streams} jobs at once: RSS before they start"), idle_rss, "MB"));
    report.row(Row::new(
        format!("{streams} jobs at once: log stored (MB/s, all)"),
        total as f64 / 1e6 / elapsed.as_secs_f64(),
        "MB/s",
    ));
    report.row(Row::new(
        format!("{streams} jobs at once: coordinator CPU per MB"),
        stats.cpu_seconds * 1000.0 / (total as f64 / 1e6),
        "ms",
    ));
    report.note(format!(
        "64 KiB Log batches from simulated workers (up to 64 MiB unacknowledged each, like the real worker); {} MB in \
         one job, then {streams} jobs of {} MB each on a fresh coordinator",
        args.mb, args.mb_per_stream
    ));
    Ok(report)
}

/// Submits `count` jobs and waits until all are recorded as succeeded.
async fn submit(farm: &SimFarm, count: usize, recorder: &Arc<Recorder>, limit: Duration) -> Result<()> {
    let (target, name) = (farm.target.clone(), farm.clients[0].clone());
    load::client(target, name, 0, count, Pace::Flat, recorder.clone()).await?;
    let done = recorder.wait_finished(count, limit).await;
    if let Some(e) = recorder.first_error() {
        bail!("{e}");
    }
    if !done {
        bail!("only {} of {count} logging jobs ended within {limit:?}", recorder.finished());
    }
    Ok(())
}

/// Reads a job's whole stored log as `job logs` does; its size and how long it took.
async fn read_back(farm: &SimFarm, id: JobId) -> Result<(u64, Duration)> {
    let mut conn = load::dial_client(&farm.target, &farm.clients[0]).await?;
    let started = Instant::now();
    conn.send(&ClientRequest::Logs { id, follow: false }).await?;
    let mut bytes = 0u64;
    loop {
        match conn.recv::<ClientReply>().await? {
            Some(ClientReply::Log(text)) => bytes += text.len() as u64,
            Some(ClientReply::LogEnd) => break,
            Some(other) => bail!("unexpected answer to Logs: {other:?}"),
            None => bail!("the coordinator closed the connection while sending the log"),
        }
    }
    let took = started.elapsed();
    let _ = conn.close().await;
    Ok((bytes, took))
}
