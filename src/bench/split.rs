//! `bench split`: what splitting a project across workers buys, with each worker (and its melt) pinned to a core of
//! its own so that two workers on this 2-core machine stand for two machines.
//!
//! One run renders the same project three ways, one after the other, through a real coordinator and real workers:
//! unsplit on one worker, split in two on that one worker (the cost of splitting: two melt start-ups, the audio pass
//! and the join), and split in two on two workers. Workers are started under `taskset -c N`, which melt inherits.

use super::args::SplitArgs;
use super::cluster::{CoordinatorSpec, Node, Pki, Scratch};
use super::load::{self, Target};
use super::report::{Report, Row};
use anyhow::{anyhow, bail, Context, Result};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::Role;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The client identity `job submit` runs as.
const CLIENT: &str = "bench";

pub async fn run(args: &SplitArgs) -> Result<Report> {
    let mut report = Report::new("split");
    let (width, height) = args.size.split_once('x').ok_or_else(|| anyhow!("--size {}: give WxH", args.size))?;
    let (width, height): (u32, u32) = (width.parse()?, height.parse()?);
    let scratch = Scratch::new("split")?;
    let pki = Pki::new(scratch.path())?;
    for name in ["w1", "w2"] {
        pki.issue(Role::Worker, name)?;
    }
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
    let target = Target { addr: coordinator.addr.clone(), certs: pki.dir.clone() };
    let worker = |name: &str, core: usize| {
        let work = scratch.path().join(format!("work-{name}"));
        Node::worker_pinned(&pki.dir, name, &coordinator.addr, &work, &args.melt, scratch.path().join(name), Some(core))
    };
    let project = super::projects::noise_and_tone_sized(scratch.path(), "split.mlt", args.frames, width, height)?;
    let outputs = scratch.path().to_path_buf();
    let submit = |output: &str, split: Option<u32>| {
        let output = outputs.join(output);
        let (addr, certs, project) = (coordinator.addr.clone(), pki.dir.clone(), project.clone());
        async move { submit(&addr, &certs, &project, &output, split).await }
    };

    let mut w1 = worker("w1", 0)?;
    wait_for_idle(&target, 1, &mut w1).await?;
    let unsplit = submit("unsplit.mp4", None).await?;
    eprintln!("  … unsplit on 1 worker: {:.2} s", unsplit.as_secs_f64());
    let split_one = submit("split-one.mp4", Some(2)).await?;
    eprintln!("  … split in 2 on 1 worker: {:.2} s", split_one.as_secs_f64());
    let mut w2 = worker("w2", 1)?;
    wait_for_idle(&target, 2, &mut w2).await?;
    let split_two = submit("split-two.mp4", Some(2)).await?;
    eprintln!("  … split in 2 on 2 workers: {:.2} s", split_two.as_secs_f64());

    let s = |d: Duration| d.as_secs_f64();
    report.row(Row::new("unsplit, 1 pinned worker", s(unsplit), "s"));
    report.row(Row::new("split in 2, 1 pinned worker", s(split_one), "s"));
    report
        .row(Row::new("  cost of splitting (split / unsplit, 1 worker)", s(split_one) / s(unsplit), "x").at_most(1.05));
    report.row(Row::new("split in 2, 2 pinned workers", s(split_two), "s"));
    report.row(Row::new("  speed-up (unsplit on 1 / split on 2)", s(unsplit) / s(split_two), "x").at_least(1.8));
    report.note(format!(
        "{} frames of {width}x{height} noise + tone at 25 fps, libx264 + aac; each worker and its melt pinned to one \
         core (taskset); times are job submit --wait, client start to exit",
        args.frames
    ));
    drop((w1, w2, coordinator));
    Ok(report)
}

/// Waits (60 s at most) until `count` workers are registered and idle.
async fn wait_for_idle(target: &Target, count: usize, newest: &mut Node) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        newest.check_alive()?;
        let mut conn = load::dial_client(target, CLIENT).await?;
        let reply = load::call(&mut conn, &ClientRequest::WorkerList).await?;
        let _ = conn.close().await;
        if matches!(&reply, ClientReply::Workers(w) if w.iter().filter(|w| w.state == "idle").count() >= count) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{count} workers were not idle within 60 s; the newest one's log:\n{}", newest.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `job submit --wait` of `project` into `output` (`--split N` when asked); the wall time of the client.
async fn submit(addr: &str, certs: &Path, project: &Path, output: &Path, split: Option<u32>) -> Result<Duration> {
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new(exe);
    command.args(["job", "submit", "--wait"]).arg(project).arg("--output").arg(output);
    if let Some(chunks) = split {
        command.args(["--split", &chunks.to_string()]);
    }
    command.args(["--coordinator", addr, "--name", CLIENT]).arg("--certs").arg(certs);
    let started = Instant::now();
    let out = command.stdin(Stdio::null()).kill_on_drop(true).output().await.context("running job submit")?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!("job submit --wait failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(took)
}
