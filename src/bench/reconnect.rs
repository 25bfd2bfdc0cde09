//! `bench recovery --reconnect`: a coordinator killed with kill -9 while N simulated workers are connected, and
//! started again on the same data and address. The workers redial as the real worker does (full jitter under a
//! doubling ceiling, `distencode_wire::redial`), so this measures what a farm sees after a coordinator restart: how
//! soon every worker is registered again, how soon a job submitted right after the restart is offered to one, and
//! how the workers' dials spread (in lockstep, all of them would land in the same few milliseconds).

use super::args::RecoveryArgs;
use super::load::{self, Pace, Plan, Recorder, WorkerDial};
use super::report::{Report, Row};
use super::sim::SimFarm;
use super::stats::{median, ms, percentile};
use anyhow::{bail, Result};
use distencode_wire::job::JobId;
use distencode_wire::message::{ClientReply, ClientRequest};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long one restart may take until every worker is back and the job offered.
const RESTART_LIMIT: Duration = Duration::from_secs(120);
/// How often the benchmark looks at the recorder while it waits.
const LOOK_EVERY: Duration = Duration::from_millis(5);
/// The step in which dials are counted for [`Restart::busiest_step`].
const STEP: Duration = Duration::from_millis(10);

/// What one restart measured, each from the moment the old coordinator was killed.
struct Restart {
    listening: Duration,
    all_registered: Duration,
    job_offered: Duration,
    /// Each worker's first dial after the loss, in ms.
    first_dials: Vec<f64>,
    /// Each worker's registration with the new coordinator, in ms.
    registrations: Vec<f64>,
    /// Dials of all workers until every one was registered.
    dials: usize,
    /// The most first dials that fell in one [`STEP`].
    busiest_step: usize,
}

pub async fn run(args: &RecoveryArgs) -> Result<Report> {
    let mut report = Report::new("recovery");
    let workers = args.workers.max(1);
    let mut farm = SimFarm::start("reconnect", workers, 1, &args.common).await?;
    let recorder = Recorder::new();
    let plan = Plan { redial: true, ..Plan::default() };
    let connect_started = Instant::now();
    let running = farm.start_workers(plan, &recorder).await?;
    let connected = connect_started.elapsed();
    if args.jobs > 0 {
        // The workers have rendered before the coordinator goes away, and the store holds their jobs.
        let (target, name) = (farm.target.clone(), farm.clients[0].clone());
        load::client(target, name, 0, args.jobs, Pace::Bounded(1000), recorder.clone()).await?;
        if !recorder.wait_finished(args.jobs, Duration::from_secs(args.common.time_limit)).await {
            bail!("only {} of {} jobs succeeded before the first restart", recorder.finished(), args.jobs);
        }
    }
    let mut restarts = Vec::new();
    for n in 0..args.restarts.max(1) {
        restarts.push(restart(&mut farm, &recorder, workers, n).await?);
    }
    running.stop().await;
    if let Some(e) = recorder.first_error() {
        bail!("{e}");
    }

    let secs = |pick: fn(&Restart) -> Duration| {
        let values: Vec<f64> = restarts.iter().map(|r| ms(pick(r))).collect();
        median(&values).unwrap_or(f64::NAN) / 1000.0
    };
    let pooled = |pick: fn(&Restart) -> &Vec<f64>| restarts.iter().flat_map(|r| pick(r).iter().copied()).collect();
    let first_dials: Vec<f64> = pooled(|r| &r.first_dials);
    let registrations: Vec<f64> = pooled(|r| &r.registrations);
    let at = |samples: &[f64], p| percentile(samples, p).unwrap_or(f64::NAN);
    report.row(Row::new(
        format!("kill -> all {workers} workers registered again (median)"),
        secs(|r| r.all_registered),
        "s",
    ));
    report.row(Row::new(
        "kill -> first job submitted after the restart offered (median)",
        secs(|r| r.job_offered),
        "s",
    ));
    report.row(Row::new("kill -> restarted coordinator listening (median)", secs(|r| r.listening), "s"));
    for p in [10.0, 50.0, 90.0, 100.0] {
        report.row(Row::new(format!("kill -> a worker's first redial, p{p}"), at(&first_dials, p), "ms"));
    }
    for p in [10.0, 50.0, 90.0, 100.0] {
        report.row(Row::new(format!("kill -> a worker registered again, p{p}"), at(&registrations, p), "ms"));
    }
    let busiest = restarts.iter().map(|r| r.busiest_step).max().unwrap_or(0);
    report.row(Row::new(
        format!("most first redials in one {} ms step (lockstep: all {workers})", STEP.as_millis()),
        busiest as f64,
        "dials",
    ));
    let dials: usize = restarts.iter().map(|r| r.dials).sum();
    report.row(Row::new(
        "dials per worker per restart (mean)",
        dials as f64 / (workers * restarts.len()) as f64,
        "dials",
    ));
    report.row(Row::new(format!("connecting all {workers} workers at the start"), connected.as_secs_f64(), "s"));
    report.note(format!(
        "{} restarts (kill -9, start on the same data and address) with {workers} simulated workers connected, \
         idle, after {} jobs; each redials with the worker's backoff (first wait drawn in 0-{} ms, the ceiling \
         doubling to {} s); the generator dials at most 32 at a time",
        restarts.len(),
        args.jobs,
        distencode_wire::redial::MIN_WAIT.as_millis(),
        distencode_wire::redial::MAX_WAIT.as_secs()
    ));
    Ok(report)
}

/// Kills the coordinator, starts it again, submits one job as soon as it answers, and waits until every worker is
/// registered again and the job was offered.
async fn restart(farm: &mut SimFarm, recorder: &Recorder, workers: usize, n: usize) -> Result<Restart> {
    let lost = Instant::now();
    farm.kill_coordinator();
    farm.restart_coordinator().await?;
    let listening = lost.elapsed();
    let job = submit(farm, n).await?;
    let deadline = lost + RESTART_LIMIT;
    let (registered, offered) = loop {
        let dials = recorder.dials(lost);
        let registered = firsts(&dials, lost, true);
        let offered = recorder.job(job).and_then(|t| t.offered);
        if registered.len() >= workers {
            if let Some(offered) = offered {
                break (registered, offered);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "restart {n}: {} of {workers} workers registered again, job {job} {} within {RESTART_LIMIT:?}",
                registered.len(),
                if offered.is_some() { "offered" } else { "not offered" }
            );
        }
        if let Some(e) = recorder.first_error() {
            bail!("{e}");
        }
        tokio::time::sleep(LOOK_EVERY).await;
    };
    let dials = recorder.dials(lost);
    let all_registered = registered.values().copied().max().unwrap_or_default();
    let first_dials = firsts(&dials, lost, false);
    let until = lost + all_registered;
    let mut per_step: HashMap<u128, usize> = HashMap::new();
    for at in first_dials.values() {
        *per_step.entry(at.as_millis() / STEP.as_millis()).or_default() += 1;
    }
    Ok(Restart {
        listening,
        all_registered,
        job_offered: offered.saturating_duration_since(lost),
        first_dials: first_dials.values().map(|d| ms(*d)).collect(),
        registrations: registered.values().map(|d| ms(*d)).collect(),
        dials: dials.iter().filter(|d| !d.registered && d.at <= until).count(),
        busiest_step: per_step.values().copied().max().unwrap_or(0),
    })
}

/// Each worker's first dial (or registration, with `registered`) in `dials`, as time since `since`.
fn firsts(dials: &[WorkerDial], since: Instant, registered: bool) -> HashMap<String, Duration> {
    let mut firsts = HashMap::new();
    for dial in dials.iter().filter(|d| d.registered == registered) {
        firsts.entry(dial.worker.clone()).or_insert_with(|| dial.at.saturating_duration_since(since));
    }
    firsts
}

/// Submits job `n` of the second client's series as soon as the restarted coordinator answers.
async fn submit(farm: &SimFarm, n: usize) -> Result<JobId> {
    let mut conn = load::dial_client(&farm.target, &farm.clients[0]).await?;
    let reply = load::call(&mut conn, &ClientRequest::Submit(load::spec(1, n))).await?;
    let _ = conn.close().await;
    match reply {
        ClientReply::Job(record) => Ok(record.id),
        other => bail!("unexpected answer to Submit: {other:?}"),
    }
}
