//! `bench recovery`: how soon a coordinator killed with kill -9 serves again over a big store.
//!
//! The scale generator fills a store with M jobs run to success (plus, with `--queued`, jobs left waiting); then the
//! coordinator is killed and started again on the same data dir and address, several times. Each restart is timed
//! from the new process's spawn to its "listening" line (the store opened), and to its first answer to a
//! `WorkerList` request (which waits behind the reload of every unfinished job, as any request does). With
//! `--reconnect`, [`super::reconnect`] times the workers' return instead.

use super::args::{RecoveryArgs, ScaleArgs};
use super::load::{self, Pace, Recorder};
use super::report::{Report, Row};
use super::scale;
use super::sim::SimFarm;
use super::stats::{median, ms};
use anyhow::{bail, Result};
use distencode_wire::message::{ClientReply, ClientRequest};
use std::path::Path;
use std::time::{Duration, Instant};

pub async fn run(args: &RecoveryArgs) -> Result<Report> {
    if args.reconnect {
        return super::reconnect::run(args).await;
    }
    let mut report = Report::new("recovery");
    let scale_args = ScaleArgs {
        workers: args.workers.max(1),
        jobs: args.jobs,
        clients: 10,
        max_queued: 1000,
        common: args.common.clone(),
    };
    let mut farm = SimFarm::start("recovery", scale_args.workers, scale_args.clients, &args.common).await?;
    let recorder = Recorder::new();
    let built = scale::drive(&farm, &scale_args, &recorder).await?;
    if args.queued > 0 {
        // No worker is connected any more: these stay queued.
        let (target, name) = (farm.target.clone(), farm.clients[0].clone());
        load::client(target, name, 0, args.queued, Pace::Flat, recorder.clone()).await?;
    }
    let store_mb = dir_size(&farm.scratch.path().join("coordinator-data")) as f64 / 1e6;

    let (mut listening, mut serving, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.restarts.max(1) {
        farm.kill_coordinator();
        let started = Instant::now();
        farm.restart_coordinator().await?;
        listening.push(ms(farm.coordinator.listening_after));
        first_answer(&farm).await?;
        serving.push(ms(started.elapsed()));
        rss.push(farm.coordinator_stats().peak_rss_mb);
    }
    let restarts = serving.len();
    report.row(
        Row::new("restart -> first answer (median)", median(&serving).unwrap_or(f64::NAN) / 1000.0, "s").at_most(1.0),
    );
    report.row(Row::new("restart -> first answer (worst)", serving.iter().copied().fold(0.0, f64::max) / 1000.0, "s"));
    report.row(Row::new(
        "restart -> listening, store open (median)",
        median(&listening).unwrap_or(f64::NAN) / 1000.0,
        "s",
    ));
    report.row(Row::new("jobs in the store", (args.jobs + args.queued) as f64, "jobs"));
    report.row(Row::new("of them unfinished (reloaded)", args.queued as f64, "jobs"));
    report.row(Row::new("store size on disk", store_mb, "MB"));
    report.row(Row::new("coordinator peak RSS after restart (median)", median(&rss).unwrap_or(f64::NAN), "MB"));
    report.row(Row::new("store built at", args.jobs as f64 / built.elapsed.as_secs_f64(), "jobs/s"));
    report.note(format!(
        "{restarts} restarts; the store was filled by the scale generator ({} simulated workers, 10 clients, at most 1000 jobs unfinished at a time)",
        scale_args.workers
    ));
    Ok(report)
}

/// Dials as a client and asks for the worker list until answered (at most 60 s).
async fn first_answer(farm: &SimFarm) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = async {
            let mut conn = load::dial_client(&farm.target, &farm.clients[0]).await?;
            let reply = load::call(&mut conn, &ClientRequest::WorkerList).await?;
            let _ = conn.close().await;
            anyhow::Ok(reply)
        };
        match attempt.await {
            Ok(ClientReply::Workers(_)) => return Ok(()),
            Ok(other) => bail!("unexpected answer to WorkerList: {other:?}"),
            Err(e) if Instant::now() > deadline => bail!("the restarted coordinator did not answer within 60 s: {e:#}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Bytes of every file under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
