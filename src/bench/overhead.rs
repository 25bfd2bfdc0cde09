//! `bench overhead`: what the farm adds to a render, against the same render by bare melt on the same machine.
//!
//! A real coordinator and one real worker (real melt, real ffprobe) run on 127.0.0.1. Each run renders the same
//! project twice, once by `melt` directly (the worker's own command line) and once by `distencode job submit --wait`
//! (a separate client process, as a user would run it), alternating which goes first so that drift in what else the
//! machine does falls on both. A long render (~10–15 s) gives the ratio farm/bare; a batch of short renders gives the
//! milliseconds the farm adds per job. The job records of the long renders split the difference into steps.

use super::args::OverheadArgs;
use super::cluster::{CoordinatorSpec, Node, Pki, Scratch};
use super::load::{self, Target};
use super::projects;
use super::report::{Report, Row};
use super::stats::{median, ms};
use anyhow::{anyhow, bail, Context, Result};
use distencode_wire::job::{JobId, JobRecord};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::Role;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// The client identity `job submit` runs as.
const CLIENT: &str = "bench";

/// Everything one overhead run needs; the nodes are killed before the scratch folder goes.
struct Setup {
    _worker: Node,
    coordinator: Node,
    target: Target,
    melt: String,
    scratch: Scratch,
}

pub async fn run(args: &OverheadArgs) -> Result<Report> {
    let mut report = Report::new("overhead");
    let setup = start(args).await?;
    let dir = setup.scratch.path().join("projects");
    std::fs::create_dir_all(&dir)?;
    let long = projects::noise_and_tone(&dir, "long.mlt", args.long_frames)?;
    let short = projects::color_and_tone(&dir, "short.mlt", args.short_frames)?;

    let (mut bare, mut farm, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    // farm/bare per pair, by which went first: the first of a pair runs measurably slower here, so the two orders
    // are kept apart and combined with equal weight.
    let (mut bare_first, mut farm_first) = (Vec::new(), Vec::new());
    let (mut short_bare, mut short_farm, mut probes) = (Vec::new(), Vec::new(), Vec::new());
    let mut posters = Vec::new();
    let mut steps: Vec<[f64; 5]> = Vec::new();
    let batch = args.batch.max(1);
    for run in 0..args.runs.max(1) {
        // Alternate which goes first.
        let (bare_out, farm_out) = (dir.join("bare.mp4"), dir.join("farm.mp4"));
        let (b, (f, _)) = if run % 2 == 0 {
            let b = bare_melt(&setup, &long, &bare_out).await?;
            (b, farm_submit(&setup, &long, &farm_out).await?)
        } else {
            let f = farm_submit(&setup, &long, &farm_out).await?;
            (bare_melt(&setup, &long, &bare_out).await?, f)
        };
        remove_output(&bare_out);
        bare.push(b.as_secs_f64());
        farm.push(f.0.as_secs_f64());
        let ratio = f.0.as_secs_f64() / b.as_secs_f64();
        if run % 2 == 0 {
            bare_first.push(ratio);
        } else {
            farm_first.push(ratio);
        }

        let (mut bare_batch, mut farm_batch) = (Duration::ZERO, Duration::ZERO);
        for i in 0..batch {
            let (bare_out, farm_out) = (dir.join(format!("bare{i}.mp4")), dir.join(format!("farm{i}.mp4")));
            let (b, (f, record)) = if (run + i) % 2 == 0 {
                let b = bare_melt(&setup, &short, &bare_out).await?;
                (b, farm_submit(&setup, &short, &farm_out).await?)
            } else {
                let f = farm_submit(&setup, &short, &farm_out).await?;
                (bare_melt(&setup, &short, &bare_out).await?, f)
            };
            probes.push(ms(probe(&bare_out).await?));
            posters.push(ms(poster(&bare_out, &dir).await?));
            remove_output(&bare_out);
            bare_batch += b;
            farm_batch += f.0;
            short_bare.push(ms(b));
            short_farm.push(ms(f.0));
            steps.push(split(&record, f.1, f.2));
        }
        extra.push((farm_batch.as_secs_f64() - bare_batch.as_secs_f64()) * 1000.0 / batch as f64);
        eprintln!(
            "  … run {}: bare {:.2} s, farm {:.2} s; batch: {:+.0} ms per job",
            run + 1,
            b.as_secs_f64(),
            f.0.as_secs_f64(),
            extra[extra.len() - 1]
        );
    }
    let m = |v: &[f64]| median(v).unwrap_or(f64::NAN);
    report.row(Row::new("long render, bare melt (median)", m(&bare), "s"));
    report.row(Row::new("long render, job submit --wait (median)", m(&farm), "s"));
    let ratio = match (median(&bare_first), median(&farm_first)) {
        (Some(a), Some(b)) => (a * b).sqrt(),
        (Some(a), None) => a,
        _ => f64::NAN,
    };
    report.row(Row::new("ratio farm/bare (both orders weighed equally)", ratio, "x").at_most(1.03));
    report.row(Row::new("  ratio when bare melt ran first (median)", m(&bare_first), "x"));
    report.row(Row::new("  ratio when the farm ran first (median)", m(&farm_first), "x"));
    report.row(
        Row::new(format!("batch of {batch} short renders: extra per job (median)"), m(&extra), "ms").at_most(20.0),
    );
    report.row(Row::new("short render, bare melt (median)", m(&short_bare), "ms"));
    report.row(Row::new("short render, job submit --wait (median)", m(&short_farm), "ms"));
    let names = [
        "client start -> submitted",
        "submitted -> offered",
        "offered -> accepted (worker checks the project)",
        "accepted (melt starts) -> recorded succeeded",
        "recorded succeeded -> client exits",
    ];
    for (i, name) in names.iter().enumerate() {
        let values: Vec<f64> = steps.iter().map(|s| s[i]).collect();
        report.row(Row::new(format!("short render step: {name}"), m(&values), "ms"));
    }
    report.row(Row::new(
        "ffprobe of a short render (what the worker ran before reading MP4 in process)",
        m(&probes),
        "ms",
    ));
    report.row(Row::new("poster frame of a short render, as the worker makes it (ffmpeg)", m(&posters), "ms"));
    report.note(format!(
        "{} runs; long = {} frames of 640x360 noise + tone, short = {} frames of 320x240 colour + tone, libx264+aac",
        args.runs.max(1),
        args.long_frames,
        args.short_frames
    ));
    drop(setup);
    Ok(report)
}

async fn start(args: &OverheadArgs) -> Result<Setup> {
    let scratch = Scratch::new("overhead")?;
    let pki = Pki::new(scratch.path())?;
    pki.issue(Role::Worker, "w1")?;
    pki.issue(Role::Client, CLIENT)?;
    let coordinator = Node::coordinator(&CoordinatorSpec {
        certs: &pki.dir,
        data_dir: &scratch.path().join("coordinator-data"),
        log: scratch.path().join("coordinator.log"),
        log_filter: &args.common.coordinator_log,
        listen: "127.0.0.1:0",
        extra: &[],
    })
    .await?;
    let mut worker = Node::worker(
        &pki.dir,
        "w1",
        &coordinator.addr,
        &scratch.path().join("work-w1"),
        &args.melt,
        scratch.path().join("worker.log"),
    )?;
    let target = Target { addr: coordinator.addr.clone(), certs: pki.dir.clone() };
    // Wait until the worker is registered and idle.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        worker.check_alive()?;
        let mut conn = load::dial_client(&target, CLIENT).await?;
        let reply = load::call(&mut conn, &ClientRequest::WorkerList).await?;
        let _ = conn.close().await;
        if matches!(&reply, ClientReply::Workers(w) if w.iter().any(|w| w.state == "idle")) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the worker did not register within 60 s; its log:\n{}", worker.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Setup { _worker: worker, coordinator, target, melt: args.melt.clone(), scratch })
}

/// Renders `project` into `output` with melt itself, as the worker would run it; the wall time.
async fn bare_melt(setup: &Setup, project: &Path, output: &Path) -> Result<Duration> {
    let started = Instant::now();
    let status = tokio::process::Command::new(&setup.melt)
        .current_dir(project.parent().unwrap_or(Path::new("/")))
        .arg("-progress2")
        .arg(project)
        .arg("-consumer")
        .arg(format!("avformat:{}", output.display()))
        .args(["vcodec=libx264", "acodec=aac"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .with_context(|| format!("running {}", setup.melt))?;
    let took = started.elapsed();
    if !status.success() {
        bail!("melt failed ({status}) on {}", project.display());
    }
    Ok(took)
}

/// Probes a render the way the worker's verification does; how long ffprobe took.
async fn probe(file: &Path) -> Result<Duration> {
    let started = Instant::now();
    let status = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name,nb_frames:format=duration,size"])
        .args(["-of", "json"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .context("running ffprobe")?;
    if !status.success() {
        bail!("ffprobe failed on {}", file.display());
    }
    Ok(started.elapsed())
}

/// Makes the poster frame of a render as the worker does, in `dir`; how long ffmpeg took.
async fn poster(file: &Path, dir: &Path) -> Result<Duration> {
    let started = Instant::now();
    let made = distencode_actors::runner::thumbnail::make(Path::new("ffmpeg"), dir, &[], file, 1.0, JobId(0), 0).await;
    made.map_err(|e| anyhow!("no poster frame of {}: {e}", file.display()))?;
    Ok(started.elapsed())
}

/// Renders `project` through the farm with `job submit --wait`; the wall time, the job's record, and the wall-clock
/// moments the client started and exited (to place the record's timestamps).
async fn farm_submit(
    setup: &Setup,
    project: &Path,
    output: &Path,
) -> Result<((Duration, SystemTime, SystemTime), JobRecord)> {
    let exe = std::env::current_exe()?;
    let (started, wall_start) = (Instant::now(), SystemTime::now());
    let out = tokio::process::Command::new(exe)
        .args(["job", "submit", "--wait", "--json"])
        .arg(project)
        .arg("--output")
        .arg(output)
        .args(["--coordinator", &setup.coordinator.addr, "--name", CLIENT])
        .arg("--certs")
        .arg(&setup.target.certs)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    let took = started.elapsed();
    let wall_end = SystemTime::now();
    if !out.status.success() {
        bail!("job submit --wait failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?.get("id")?.as_u64())
        .ok_or_else(|| anyhow!("job submit --json printed no job: {stdout}"))?;
    remove_output(output);
    let mut conn = load::dial_client(&setup.target, CLIENT).await?;
    let reply = load::call(&mut conn, &ClientRequest::Status(JobId(id))).await?;
    let _ = conn.close().await;
    let ClientReply::Job(record) = reply else {
        bail!("unexpected answer to Status: {reply:?}");
    };
    Ok(((took, wall_start, wall_end), record))
}

/// The steps of a farm render in ms: client start → submitted → offered → accepted → ended → client exit (the
/// record's times are wall-clock milliseconds).
fn split(record: &JobRecord, start: SystemTime, end: SystemTime) -> [f64; 5] {
    let unix_ms = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let attempt = record.attempts.last();
    let offered = attempt.map_or(0, |a| a.offered_at);
    let started = attempt.and_then(|a| a.started_at).unwrap_or(offered);
    let ended = attempt.and_then(|a| a.ended_at).unwrap_or(started);
    let d = |a: u64, b: u64| b.saturating_sub(a) as f64;
    [
        d(unix_ms(start), record.submitted_at),
        d(record.submitted_at, offered),
        d(offered, started),
        d(started, ended),
        d(ended, unix_ms(end)),
    ]
}

/// Removes a render and the log the worker leaves beside it.
fn remove_output(output: &Path) {
    let _ = std::fs::remove_file(output);
    let mut log: PathBuf = output.to_path_buf().into_os_string().into();
    log.as_mut_os_string().push(".log");
    let _ = std::fs::remove_file(log);
}
