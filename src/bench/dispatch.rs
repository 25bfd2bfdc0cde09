//! `bench dispatch`: how long the coordinator takes to put a job on a worker, and to record it done.
//!
//! One client submits jobs one at a time (the next once the previous is recorded as succeeded, so nothing queues and
//! each figure is latency, not throughput) to a real coordinator over mutual TLS, every transition durable.
//! Simulated workers answer at once, so melt's start-up and the worker's own checks are not in the figures:
//! (a) submit acknowledged at the client → offer received by a worker;
//! (b) worker sends `Finished` → `FinishedAck` (sent only once the success is durable) received.
//! Each simulated render logs one short batch and waits for its `LogAck` before `Verified`, as a real one would;
//! `--verify-at-once` leaves that out and counts the renders the coordinator then discards.

use super::args::DispatchArgs;
use super::load::{self, Pace, Plan, Recorder};
use super::report::{Report, Row};
use super::sim::SimFarm;
use super::stats::{ms, percentile};
use anyhow::{bail, Result};
use std::time::Instant;

/// Jobs run first and left out of the figures (connections, caches and the store warm up).
const WARM_UP: usize = 10;

pub async fn run(args: &DispatchArgs) -> Result<Report> {
    if args.verify_at_once {
        return verify_at_once(args).await;
    }
    let mut report = Report::new("dispatch");
    let farm = SimFarm::start("dispatch", args.workers.max(1), 1, &args.common).await?;
    let recorder = Recorder::new();
    let workers = farm.start_workers(Plan::default(), &recorder).await?;
    let started = Instant::now();
    load::client(
        farm.target.clone(),
        farm.clients[0].clone(),
        0,
        args.jobs + WARM_UP,
        Pace::OneAtATime,
        recorder.clone(),
    )
    .await?;
    let elapsed = started.elapsed();
    let stats = farm.coordinator_stats();
    workers.stop().await;
    if let Some(e) = recorder.first_error() {
        bail!("{e}");
    }

    let mut times = recorder.times();
    times.sort_by_key(|t| t.submit_sent);
    let times = &times[WARM_UP.min(times.len())..];
    let span = |from: fn(&load::JobTimes) -> Option<Instant>, to: fn(&load::JobTimes) -> Option<Instant>| {
        times.iter().filter_map(|t| Some(ms(to(t)?.saturating_duration_since(from(t)?)))).collect::<Vec<f64>>()
    };
    let offer = span(|t| t.submit_acked, |t| t.offered);
    let finish = span(|t| t.finished_sent, |t| t.finished_acked);
    let verified = span(|t| t.verified_sent, |t| t.finished_acked);
    let submit = span(|t| t.submit_sent, |t| t.submit_acked);
    let whole = span(|t| t.submit_sent, |t| t.finished_acked);
    if offer.len() < args.jobs || finish.len() < args.jobs {
        bail!(
            "only {} of {} jobs were measured end to end ({} offers, {} times)",
            finish.len(),
            args.jobs,
            offer.len(),
            times.len()
        );
    }
    let row = |report: &mut Report, name: &str, samples: &[f64], targets: Option<(f64, f64)>| {
        let p50 = percentile(samples, 50.0).unwrap_or(f64::NAN);
        let p99 = percentile(samples, 99.0).unwrap_or(f64::NAN);
        let (r50, r99) = (Row::new(format!("{name} p50"), p50, "ms"), Row::new(format!("{name} p99"), p99, "ms"));
        match targets {
            Some((t50, t99)) => {
                report.row(r50.at_most(t50));
                report.row(r99.at_most(t99));
            }
            None => {
                report.row(r50);
                report.row(r99);
            }
        }
    };
    row(&mut report, "(a) submit acked -> offer at worker", &offer, Some((5.0, 25.0)));
    row(&mut report, "(b) Finished sent -> recorded succeeded", &finish, Some((5.0, 25.0)));
    row(&mut report, "Verified sent -> recorded succeeded", &verified, None);
    row(&mut report, "submit round trip (durable create)", &submit, None);
    row(&mut report, "whole job, submit -> succeeded", &whole, None);
    report.row(Row::new("jobs measured", offer.len() as f64, "jobs"));
    report.row(Row::new("coordinator CPU per job", stats.cpu_seconds * 1000.0 / (args.jobs + WARM_UP) as f64, "ms"));
    report.row(Row::new("wall time", elapsed.as_secs_f64(), "s"));
    report.note(format!(
        "{} simulated workers, one job at a time, {WARM_UP} warm-up jobs left out; melt start-up and the worker's \
         own project checks are not in (a)/(b)",
        args.workers.max(1)
    ));
    Ok(report)
}

/// The diagnostic: jobs one at a time (a pause between), `Verified` sent right after `Accepted`; how many renders
/// were thrown away.
async fn verify_at_once(args: &DispatchArgs) -> Result<Report> {
    let mut report = Report::new("dispatch --verify-at-once");
    let farm = SimFarm::start("dispatch", args.workers.max(1), 1, &args.common).await?;
    let recorder = Recorder::new();
    let plan = Plan { verify_at_once: true, ..Plan::default() };
    let workers = farm.start_workers(plan, &recorder).await?;
    let mut conn = load::dial_client(&farm.target, &farm.clients[0]).await?;
    for n in 0..args.jobs {
        load::call(&mut conn, &distencode_wire::message::ClientRequest::Submit(load::spec(0, n))).await?;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = conn.close().await;
    workers.stop().await;
    let discarded = recorder.discarded.load(std::sync::atomic::Ordering::SeqCst);
    report.row(Row::new("jobs submitted", args.jobs as f64, "jobs"));
    report.row(Row::new("recorded as succeeded", recorder.finished() as f64, "jobs"));
    report.row(Row::new("renders discarded (Commit go=false)", discarded as f64, "renders"));
    report.note("Verified sent right after Accepted: the coordinator checks it before its own Start is durable");
    Ok(report)
}
