//! The command line: every subcommand and flag, as clap reads them. Nothing here does any work.

pub use crate::bench::BenchCommand;
use clap::{Args, Parser, Subcommand, ValueEnum};
use distencode_actors::server::admission;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "distencode",
    version,
    about = "A render farm for MLT projects: melt renders spread over a pool of machines."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a coordinator or a worker.
    Node(NodeArgs),
    /// Submit and follow render jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Look at the pool's workers.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Make the cluster's CA and node certificates.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Measure the farm on this machine: overhead, dispatch, scale, recovery, logs (docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Coordinator,
    Worker,
}

/// Where a networked command finds the coordinator and its own identity.
#[derive(Args, Debug, Clone)]
pub struct Connect {
    /// The coordinator's HOST:PORT.
    #[arg(long, env = "DISTENCODE_COORDINATOR", global = true)]
    pub coordinator: Option<String>,
    /// Folder with ca.pem and this node's NAME.pem and NAME.key.
    #[arg(long, env = "DISTENCODE_CERTS", global = true)]
    pub certs: Option<PathBuf>,
    /// This node's name: its certificate is CERTS/NAME.pem.
    #[arg(long, env = "DISTENCODE_NAME", global = true)]
    pub name: Option<String>,
}

/// Every flag here can also be set in the `--config` file (key = the flag's name with `_`) and in the environment
/// (`DISTENCODE_` + the key in capitals). Flags win over the environment, which wins over the file.
#[derive(Args, Debug)]
pub struct NodeArgs {
    /// A TOML file with any of these settings (see config/coordinator.toml and config/worker.toml).
    #[arg(long, env = "DISTENCODE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// coordinator or worker.
    #[arg(long, value_enum, env = "DISTENCODE_ROLE")]
    pub role: Option<NodeRole>,
    /// Coordinator: the HOST:PORT to listen on.
    #[arg(long, env = "DISTENCODE_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Coordinator: where the job store lives.
    #[arg(long, env = "DISTENCODE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Worker: a folder for its own files.
    #[arg(long, env = "DISTENCODE_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Worker: the melt to run.
    #[arg(long, env = "DISTENCODE_MELT", default_value = "melt")]
    pub melt: PathBuf,
    /// Worker: the ffprobe that verifies results.
    #[arg(long, env = "DISTENCODE_FFPROBE", default_value = "ffprobe")]
    pub ffprobe: PathBuf,
    /// Seconds between heartbeats.
    #[arg(long, env = "DISTENCODE_HEARTBEAT_INTERVAL", default_value_t = 2.0)]
    pub heartbeat_interval: f64,
    /// Seconds of silence after which a peer counts as gone.
    #[arg(long, env = "DISTENCODE_HEARTBEAT_TIMEOUT", default_value_t = 6.0)]
    pub heartbeat_timeout: f64,
    /// Coordinator: seconds a disconnected busy worker has to come back before its job is requeued.
    #[arg(long, env = "DISTENCODE_GRACE", default_value_t = 8.0)]
    pub grace: f64,
    /// Coordinator: renders a job may start before it fails for good.
    #[arg(long, env = "DISTENCODE_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Coordinator: connections open at once, all peers together; past it new ones are closed at once.
    #[arg(long, env = "DISTENCODE_MAX_CONNECTIONS", default_value_t = admission::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Coordinator: connections open at once under one certificate (one role and node name).
    #[arg(long, env = "DISTENCODE_MAX_CONNECTIONS_PER_NODE", default_value_t = admission::MAX_CONNECTIONS_PER_NODE)]
    pub max_connections_per_node: usize,
    /// Coordinator: seconds a client connection may stay open without a request.
    #[arg(long, env = "DISTENCODE_CLIENT_IDLE_TIMEOUT", default_value_t = admission::CLIENT_IDLE_TIMEOUT.as_secs_f64())]
    pub client_idle_timeout: f64,
    /// Worker: seconds without any output from melt before the render is killed as stalled.
    #[arg(long, env = "DISTENCODE_STALL_TIMEOUT", default_value_t = 120.0)]
    pub stall_timeout: f64,
    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Subcommand, Debug)]
pub enum JobCommand {
    /// Send a project to the farm.
    Submit {
        /// The .mlt project.
        project: PathBuf,
        #[command(flatten)]
        options: SubmitOptions,
        #[command(flatten)]
        connect: Connect,
    },
    /// One job's state.
    Status {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Every job.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// melt's whole output for a job.
    Logs {
        id: String,
        /// Go on printing new lines as they arrive, until the job ends.
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Follow a job until it ends.
    Watch {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Stop a job.
    Cancel {
        id: String,
        #[command(flatten)]
        connect: Connect,
    },
    /// Queue a failed or cancelled job again.
    Retry {
        id: String,
        #[command(flatten)]
        connect: Connect,
    },
}

/// How a submitted job is to be rendered, and how `submit` reports it.
#[derive(Args, Debug)]
pub struct SubmitOptions {
    /// Where the MP4 goes (default: beside the project, same name, .mp4).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Wait for the end; exit 0 only if the file is in place.
    #[arg(long)]
    pub wait: bool,
    /// Print the job as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Higher runs first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Video encoder.
    #[arg(long, default_value = "libx264")]
    pub vcodec: String,
    /// Audio encoder.
    #[arg(long, default_value = "aac")]
    pub acodec: String,
    /// A further melt consumer property KEY=VALUE (repeatable), e.g. crf=20.
    #[arg(long = "consumer-arg", value_name = "KEY=VALUE")]
    pub consumer_args: Vec<String>,
    /// How much melt writes to the job's log.
    #[arg(long, value_enum, default_value = "normal")]
    pub melt_log: MeltLogArg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MeltLogArg {
    Normal,
    Verbose,
    Debug,
}

#[derive(Subcommand, Debug)]
pub enum WorkerCommand {
    /// Every worker and what it does.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Take a worker out of the pool for a person who wants to work at it by hand.
    Reserve {
        /// The worker's name.
        worker: String,
        /// Who holds it.
        #[arg(long = "for", value_name = "PERSON")]
        person: String,
        /// When the reservation ends by itself: an RFC 3339 time (2026-11-25T18:00:00Z) or a span (90m, 2h, 1d).
        #[arg(long)]
        until: Option<String>,
        /// Take it at once, sending its current job back to the queue.
        #[arg(long)]
        now: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Put a reserved or draining worker back in the pool.
    Release {
        worker: String,
        #[command(flatten)]
        connect: Connect,
    },
    /// Let a worker finish its current job and take nothing more.
    Drain {
        worker: String,
        #[command(flatten)]
        connect: Connect,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Create the cluster's CA: DIR/ca.pem and DIR/ca.key.
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue a node certificate signed by the CA in DIR: DIR/NAME.pem and DIR/NAME.key.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, value_parser = ["coordinator", "worker", "client"])]
        role: String,
        #[arg(long)]
        name: String,
        /// A host name or IP address the certificate names (repeatable).
        #[arg(long = "san")]
        sans: Vec<String>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
        /// Start of validity, days from now (negative for the past; for testing expiry).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, hide = true)]
        start_days: i64,
    },
}
