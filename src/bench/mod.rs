//! `distencode bench ...`: the benchmarks of issue 6, as a real program of the project (see docs/BENCHMARKS.md).
//!
//! Each benchmark makes its own throwaway CA and certificates, starts this very binary as coordinator (and as worker
//! where real melt is needed), talks to it only on 127.0.0.1, and prints a table (or `--json`). Whatever it starts it
//! stops: nodes are killed and scratch folders removed when their owners drop, which also happens when the time limit
//! passes or on Ctrl-C/SIGTERM (the benchmark's future is dropped). Only a SIGKILL of the benchmark itself leaves its
//! nodes running.
//!
//! Files: `distencode_sim` (simulated workers and clients, used here as `load`), [`cluster`] and [`sim`] (processes,
//! certificates, scratch), one file per benchmark, [`report`] and [`stats`] for the figures.

mod args;
mod cluster;
mod dispatch;
mod logs;
mod overhead;
mod projects;
mod reconnect;
mod recovery;
mod report;
mod scale;
mod sim;
mod split;
mod stats;
mod web;

pub use args::BenchCommand;

/// The simulated workers and clients, shared with the coordinator's tests.
use distencode_sim as load;

use anyhow::{anyhow, bail, Result};
use std::time::Duration;

pub fn run(command: BenchCommand) -> Result<()> {
    let common = match &command {
        BenchCommand::Overhead(a) => &a.common,
        BenchCommand::Dispatch(a) => &a.common,
        BenchCommand::Scale(a) => &a.common,
        BenchCommand::Recovery(a) => &a.common,
        BenchCommand::Logs(a) => &a.common,
        BenchCommand::Split(a) => &a.common,
        BenchCommand::Web(a) => &a.common,
    };
    let (json, limit) = (common.json, Duration::from_secs(common.time_limit.max(1)));
    // One thread for the load generator: the coordinator under test always has the other core.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        let bench = async {
            match &command {
                BenchCommand::Overhead(a) => overhead::run(a).await,
                BenchCommand::Dispatch(a) => dispatch::run(a).await,
                BenchCommand::Scale(a) => scale::run(a).await,
                BenchCommand::Recovery(a) => recovery::run(a).await,
                BenchCommand::Logs(a) => logs::run(a).await,
                BenchCommand::Split(a) => split::run(a).await,
                BenchCommand::Web(a) => web::run(a).await,
            }
        };
        tokio::select! {
            result = tokio::time::timeout(limit, bench) => result.map_err(|_| anyhow!("gave up after --time-limit {limit:?}"))?,
            signal = interrupted() => bail!("stopped by {signal}"),
        }
    })?;
    report.print(json);
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}
