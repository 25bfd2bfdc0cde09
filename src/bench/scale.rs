//! `bench scale`: how many jobs per second one coordinator carries end to end, and how much memory it needs, with
//! N simulated workers on real mutual-TLS connections and M jobs from concurrent clients (every transition durable).
//! [`drive`] is also how `bench recovery` fills a store.

use super::args::ScaleArgs;
use super::cluster::ProcStats;
use super::load::{self, Pace, Plan, Recorder};
use super::report::{Report, Row};
use super::sim::SimFarm;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// What one scale run measured.
pub struct Outcome {
    /// Connecting and registering every simulated worker: wall time, and the coordinator's CPU seconds for it.
    pub connect: (Duration, f64),
    /// From the first submit to the last job recorded as succeeded.
    pub elapsed: Duration,
    /// From the first submit to the last acknowledged one.
    pub submit_elapsed: Duration,
    /// Peak memory; CPU seconds from the first submit on.
    pub coordinator: ProcStats,
    /// CPU seconds per coordinator thread (see [`ProcStats::threads`]) from the first submit on.
    pub threads: Vec<(String, f64)>,
    pub generator: ProcStats,
}

/// Connects the simulated workers, submits `args.jobs` from `args.clients` clients, and waits until every job is
/// recorded as succeeded (or the time limit).
pub async fn drive(farm: &SimFarm, args: &ScaleArgs, recorder: &std::sync::Arc<Recorder>) -> Result<Outcome> {
    let generator_before = ProcStats::this_process();
    let connect_started = Instant::now();
    let workers = farm.start_workers(Plan::default(), recorder).await?;
    let connect = (connect_started.elapsed(), farm.coordinator_stats().cpu_seconds);
    let threads_before = ProcStats::threads(farm.coordinator.pid);
    let limit = Duration::from_secs(args.common.time_limit);
    let started = Instant::now();
    let clients = args.clients.clamp(1, farm.clients.len());
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let count = args.jobs / clients + usize::from(i < args.jobs % clients);
            let (target, name, recorder) = (farm.target.clone(), farm.clients[i].clone(), recorder.clone());
            let pace = match args.max_queued {
                0 => Pace::Flat,
                n => Pace::Bounded(n),
            };
            tokio::spawn(load::client(target, name, i, count, pace, recorder))
        })
        .collect();
    let progress = tokio::spawn(report_progress(recorder.clone(), args.jobs, started));
    for task in tasks {
        task.await??;
    }
    let submit_elapsed = started.elapsed();
    let done = recorder.wait_finished(args.jobs, limit.saturating_sub(started.elapsed())).await;
    let elapsed = started.elapsed();
    progress.abort();
    let mut coordinator = farm.coordinator_stats();
    coordinator.cpu_seconds -= connect.1;
    let threads = ProcStats::threads(farm.coordinator.pid)
        .into_iter()
        .map(|(name, cpu)| {
            let before = threads_before.iter().find(|t| t.0 == name).map_or(0.0, |t| t.1);
            (name, cpu - before)
        })
        .collect();
    workers.stop().await;
    if let Some(e) = recorder.first_error() {
        bail!("{e}");
    }
    if !done {
        bail!(
            "only {} of {} jobs succeeded within {limit:?} ({:.0} jobs/s)",
            recorder.finished(),
            args.jobs,
            recorder.finished() as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(Outcome {
        connect,
        elapsed,
        submit_elapsed,
        coordinator,
        threads,
        generator: ProcStats {
            cpu_seconds: ProcStats::this_process().cpu_seconds - generator_before.cpu_seconds,
            ..ProcStats::this_process()
        },
    })
}

/// A line on stderr every 10 s, so a long run shows it is alive.
async fn report_progress(recorder: std::sync::Arc<Recorder>, total: usize, started: Instant) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let done = recorder.finished();
        eprintln!(
            "  … {done}/{total} jobs succeeded after {:.0} s ({:.0} jobs/s)",
            started.elapsed().as_secs_f64(),
            done as f64 / started.elapsed().as_secs_f64()
        );
    }
}

pub async fn run(args: &ScaleArgs) -> Result<Report> {
    let mut report = Report::new("scale");
    let farm = SimFarm::start("scale", args.workers.max(1), args.clients.max(1), &args.common).await?;
    let recorder = Recorder::new();
    let outcome = drive(&farm, args, &recorder).await?;
    let jobs = args.jobs as f64;
    report.row(
        Row::new("jobs/s end to end (submit -> succeeded)", jobs / outcome.elapsed.as_secs_f64(), "jobs/s")
            .at_least(5000.0),
    );
    report.row(Row::new("coordinator peak RSS (VmHWM)", outcome.coordinator.peak_rss_mb, "MB").at_most(300.0));
    report.row(Row::new("submits/s acknowledged", jobs / outcome.submit_elapsed.as_secs_f64(), "jobs/s"));
    report.row(Row::new("coordinator CPU per job", outcome.coordinator.cpu_seconds * 1000.0 / jobs, "ms"));
    report.row(Row::new(
        "coordinator CPU use (both cores = 200)",
        100.0 * outcome.coordinator.cpu_seconds / outcome.elapsed.as_secs_f64(),
        "% core",
    ));
    for (name, seconds) in outcome.threads.iter().take(4) {
        let share = 100.0 * seconds / outcome.elapsed.as_secs_f64();
        report.row(Row::new(format!("coordinator thread {name:?}: CPU"), share, "% core"));
    }
    let discarded = recorder.discarded.load(std::sync::atomic::Ordering::SeqCst);
    report.row(Row::new("renders discarded (Commit go=false), requeued", discarded as f64, "renders"));
    report.row(Row::new("load generator CPU (connect + run)", outcome.generator.cpu_seconds, "s"));
    report.row(Row::new("workers connected and registered in", outcome.connect.0.as_secs_f64(), "s"));
    report.row(Row::new("coordinator CPU for those handshakes", outcome.connect.1, "s"));
    report.row(Row::new("wall time", outcome.elapsed.as_secs_f64(), "s"));
    let pace = match args.max_queued {
        0 => "as fast as acknowledged".to_string(),
        n => format!("while fewer than {n} are unfinished"),
    };
    report.note(format!(
        "{} simulated workers (own certificate and mutual-TLS connection each), {} jobs from {} clients, one request \
         in flight per client, submitted {pace}; coordinator and load generator share the machine",
        args.workers.max(1),
        args.jobs,
        args.clients.max(1)
    ));
    Ok(report)
}
