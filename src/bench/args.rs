//! The flags of `distencode bench ...`. Every size is a flag so that a smoke run (`scripts/bench-smoke`) is small;
//! the defaults are the sizes issue 6 asks for.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// What the farm adds to a render: bare melt against `job submit --wait` with one local worker, alternating.
    Overhead(OverheadArgs),
    /// Dispatch latency: submit acknowledged → offer at a worker, and worker finished → job recorded, p50/p99.
    Dispatch(DispatchArgs),
    /// Control-plane scale: N simulated mutual-TLS workers, M jobs from concurrent clients: jobs/s and peak memory.
    Scale(ScaleArgs),
    /// Recovery: kill -9 a coordinator over a store of M jobs, restart it, time until it serves again.
    Recovery(RecoveryArgs),
    /// Logs: a job streaming ~100 MB of log lines (MB/s), and the coordinator's memory while 100 jobs stream at once.
    Logs(LogsArgs),
    /// Split renders: one project unsplit on 1 worker, split in 2 on 1, split in 2 on 2, each worker pinned to a core.
    Split(SplitArgs),
    /// The web interface with 100,000 jobs in the store: the jobs page p50/p99, and RSS with 200 event streams open.
    Web(WebArgs),
}

/// Flags every benchmark has.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Print the result as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Give up (and stop everything started) after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub time_limit: u64,
    /// The coordinator's log filter (DISTENCODE_LOG); the default is what `distencode node` logs when deployed.
    #[arg(long, default_value = "info,sled=warn")]
    pub coordinator_log: String,
}

#[derive(Args, Debug)]
pub struct OverheadArgs {
    /// Pairs of runs (bare, farm), alternating which goes first.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Frames of the long project (640x360 noise + tone at 25 fps; 500 frames take ~12 s on an idle 2-core machine).
    #[arg(long, default_value_t = 500)]
    pub long_frames: u64,
    /// Renders in the batch of short ones (320x240 colour + tone, 25 frames, ~0.3 s each).
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Frames of each short render.
    #[arg(long, default_value_t = 25)]
    pub short_frames: u64,
    /// The melt to run (bare, and by the worker).
    #[arg(long, default_value = "melt")]
    pub melt: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Frames of the project (noise + tone at 25 fps; 1500 frames are 60 s). Each chunk must be 10 s or more.
    #[arg(long, default_value_t = 1500)]
    pub frames: u64,
    /// Its picture, WxH.
    #[arg(long, default_value = "640x360")]
    pub size: String,
    /// The melt the workers run.
    #[arg(long, default_value = "melt")]
    pub melt: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct DispatchArgs {
    /// Jobs, one at a time (each is submitted once the previous one is recorded as succeeded).
    #[arg(long, default_value_t = 1000)]
    pub jobs: usize,
    /// Simulated workers connected.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Diagnostic: workers send `Verified` right after `Accepted` (no log batch between); counts the renders the
    /// coordinator then throws away (`Commit { go: false }`) instead of measuring latency.
    #[arg(long)]
    pub verify_at_once: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Simulated workers, each its own certificate and mutual-TLS connection.
    #[arg(long, default_value_t = 1000)]
    pub workers: usize,
    /// Jobs submitted in all.
    #[arg(long, default_value_t = 100_000)]
    pub jobs: usize,
    /// Concurrent clients submitting them (one request in flight each).
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Submit only while fewer than this many jobs wait or run (0: as fast as the coordinator acknowledges).
    #[arg(long, default_value_t = 0)]
    pub max_queued: usize,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct RecoveryArgs {
    /// Jobs in the store, made by the scale generator (run to success).
    #[arg(long, default_value_t = 100_000)]
    pub jobs: usize,
    /// Simulated workers that run them.
    #[arg(long, default_value_t = 100)]
    pub workers: usize,
    /// Further jobs left queued in the store (submitted with no worker connected), reloaded at each restart.
    #[arg(long, default_value_t = 0)]
    pub queued: usize,
    /// Restarts measured (kill -9, start, first answer).
    #[arg(long, default_value_t = 5)]
    pub restarts: usize,
    /// Keep the --workers simulated workers connected (redialling as the real worker does) and time until all of
    /// them are registered again and a job submitted after the restart is offered, instead of the store's reload.
    #[arg(long)]
    pub reconnect: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// MB of log text the single streaming job writes.
    #[arg(long, default_value_t = 100)]
    pub mb: u64,
    /// Jobs streaming at once in the memory part.
    #[arg(long, default_value_t = 100)]
    pub streams: usize,
    /// MB each of those jobs writes.
    #[arg(long, default_value_t = 2)]
    pub mb_per_stream: u64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct WebArgs {
    /// Jobs written into the store before the coordinator starts.
    #[arg(long, default_value_t = 100_000)]
    pub jobs: usize,
    /// Requests of each page measured.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Farm event streams held open for the memory and dispatch figures.
    #[arg(long, default_value_t = 200)]
    pub streams: usize,
    /// Progress reports timed on their way to an open job stream.
    #[arg(long, default_value_t = 50)]
    pub progress_reports: usize,
    #[command(flatten)]
    pub common: Common,
}
