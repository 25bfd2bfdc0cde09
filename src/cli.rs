//! The command line: every subcommand and flag, as clap reads them. Nothing here does any work.

pub use crate::bench::BenchCommand;
pub use crate::node_settings::NodeSettings;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
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
    /// The audit trail, newest first: who changed what, by which way, when, and what was refused (admins only).
    Audit {
        /// Only this user's entries.
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Print them as one JSON array.
        #[arg(long)]
        json: bool,
        /// Entries at most (up to 1000).
        #[arg(long, value_name = "COUNT", default_value_t = distencode_wire::audit::DEFAULT_AUDIT_ENTRIES)]
        limit: u32,
        #[command(flatten)]
        connect: Connect,
    },
    /// Check this machine as a worker or coordinator: one line per check (ok, warn, fail) with the fix.
    Doctor(DoctorArgs),
    /// Write the farm's check project (two seconds of colour and tone every worker can render).
    CheckProject {
        /// Where to write it.
        #[arg(default_value = "check.mlt")]
        path: PathBuf,
    },
    /// Print the shell completion script: distencode completions bash > /etc/bash_completion.d/distencode.
    Completions {
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Write one man page per subcommand into DIR (the package ships them).
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The built-in export presets, and which of the farm's workers can render each.
    Presets {
        /// Print them as one JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Measure the farm on this machine: overhead, dispatch, scale, recovery, logs (docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Back up a stopped coordinator's data dir, or restore one (docs/operations.md).
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy the data dir of a stopped coordinator (jobs, logs, reservations, drains, the web's keys) into a new
    /// folder, consistently: the store is locked for the copy, so a running coordinator is refused. With
    /// --online, the running coordinator makes the copy on its own machine (admins only).
    Backup {
        /// The coordinator's data dir (without --online).
        #[arg(long, value_name = "DIR", required_unless_present = "online", conflicts_with = "online")]
        data_dir: Option<PathBuf>,
        /// Where the copy goes: a folder that does not exist yet, or an empty one (with --online: an absolute path
        /// on the coordinator's machine).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Ask the running coordinator to make the copy: its store holds every other request for the time it
        /// takes.
        #[arg(long)]
        online: bool,
        #[command(flatten)]
        connect: Connect,
    },
    /// Put a backup in place as a data dir that does not exist yet (or is empty), and check that it opens.
    Restore {
        /// The backup, as `store backup` wrote it.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The coordinator's data dir to make.
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
    },
}

/// Where a networked command finds the coordinator and its own identity. Also part of a node's settings, so the
/// field names are keys of the node's config file.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connect {
    /// This node's name: its certificate is CERTS/NAME.pem.
    #[arg(long, env = "DISTENCODE_NAME", value_name = "NAME", global = true)]
    pub name: Option<String>,
    /// Folder with ca.pem and this node's NAME.pem and NAME.key.
    #[arg(long, env = "DISTENCODE_CERTS", value_name = "DIR", global = true)]
    pub certs: Option<PathBuf>,
    /// The coordinator's HOST:PORT.
    #[arg(long, env = "DISTENCODE_COORDINATOR", value_name = "HOST:PORT", global = true)]
    pub coordinator: Option<String>,
}

/// `distencode node`: the settings, and the file that may hold them.
#[derive(Args, Debug)]
pub struct NodeArgs {
    /// A TOML file with any of these settings (see config/coordinator.toml and config/worker.toml).
    #[arg(long, env = "DISTENCODE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: NodeSettings,
}

/// `distencode doctor`: the node's own settings (so it checks what the node will run with) and what else to check.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Print the checks as a JSON list of {name, status, detail}.
    #[arg(long)]
    pub json: bool,
    /// Worker: a folder of projects, media or outputs it must read and write (repeatable).
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,
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
    /// Run ffmpeg (not melt) on a worker: transcode files, or make proxies of a folder of footage (--each).
    Ffmpeg {
        #[command(flatten)]
        options: FfmpegOptions,
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
    /// Give a job not yet finished a new priority (higher runs first); a queued job moves in the queue.
    Priority {
        id: String,
        #[arg(allow_negative_numbers = true)]
        priority: i32,
        #[command(flatten)]
        connect: Connect,
    },
    /// Delete finished jobs and their logs (all of them or none); their ids are never given again.
    Delete {
        #[arg(required = true, num_args = 1..)]
        ids: Vec<String>,
        #[command(flatten)]
        connect: Connect,
    },
    /// Delete every job that finished longer ago than --older-than, with its log (admins only).
    Prune {
        /// How long ago, e.g. 30d, 12h or "2weeks".
        #[arg(long, value_name = "DURATION", value_parser = parse_age)]
        older_than: std::time::Duration,
        #[command(flatten)]
        connect: Connect,
    },
}

/// A duration such as `30d`, `12h`, `90min` or `2weeks`.
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{text:?} is not a duration such as 30d or 12h: {e}"))
}

/// How a submitted job is to be rendered, and how `submit` reports it.
#[derive(Args, Debug)]
pub struct SubmitOptions {
    /// Where the render goes (default: beside the project, same name, the preset's extension or .mp4). Without
    /// --preset, its extension picks the format (`distencode presets` lists them).
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
    /// An export preset (`distencode presets` lists them); --vcodec, --acodec and --consumer-arg override it.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Video encoder (default: the preset's).
    #[arg(long)]
    pub vcodec: Option<String>,
    /// Audio encoder (default: the preset's).
    #[arg(long)]
    pub acodec: Option<String>,
    /// A further melt consumer property KEY=VALUE (repeatable), e.g. crf=20; it replaces the preset's value.
    #[arg(long = "consumer-arg", value_name = "KEY=VALUE")]
    pub consumer_args: Vec<String>,
    /// How much melt writes to the job's log.
    #[arg(long, value_enum, default_value = "normal")]
    pub melt_log: MeltLogArg,
    /// Render even where a worker lacks some of the project's filters (not producers or transitions): it renders
    /// without them, and the job records which it dropped.
    #[arg(long)]
    pub allow_missing_filters: bool,
    /// Render it on many workers at once (docs/split.md): `auto` splits a long enough project when more than one
    /// worker is free; N asks for N chunks (each at least 10 s).
    #[arg(long, value_name = "auto|N", value_parser = parse_split)]
    pub split: Option<SplitArg>,
    /// Split even a project that uses a filter keeping state across frames (its frames may differ at a chunk's
    /// start).
    #[arg(long, requires = "split")]
    pub split_force: bool,
    /// Replace an existing file at the output, if this farm rendered it (a file it did not render is refused even
    /// so).
    #[arg(long)]
    pub overwrite: bool,
    /// Render only on workers with the render stack (melt, ffmpeg, frei0r, fonts) worker W has now, so that a
    /// re-render matches an earlier one (`worker list` shows each worker's stack).
    #[arg(long, value_name = "W")]
    pub like: Option<String>,
}

/// What `job ffmpeg` runs: its inputs and output (or a batch, one job per file), a preset and extra arguments.
#[derive(Args, Debug)]
pub struct FfmpegOptions {
    /// A file ffmpeg reads (repeatable; the first is the job's main input).
    #[arg(long = "input", value_name = "FILE", conflicts_with = "each")]
    pub inputs: Vec<PathBuf>,
    /// Where the result goes.
    #[arg(long, value_name = "FILE", conflicts_with = "each")]
    pub output: Option<PathBuf>,
    /// One job per file matching PATTERN (`*` and `?` in the file name, e.g. 'footage/*.MOV'), each written to
    /// --output-dir with its own name and the preset's extension.
    #[arg(long, value_name = "PATTERN", requires = "output_dir")]
    pub each: Option<String>,
    /// The folder a batch (--each) writes to.
    #[arg(long, value_name = "DIR", requires = "each")]
    pub output_dir: Option<PathBuf>,
    /// An ffmpeg preset (`distencode presets` lists them, e.g. proxy-540p); ARGS after it override its values.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Higher runs first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Replace an existing file at the output, if this farm made it.
    #[arg(long)]
    pub overwrite: bool,
    /// Wait for the end (of every job of a batch); exit 0 only if every file is in place.
    #[arg(long)]
    pub wait: bool,
    /// Print each job as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Further ffmpeg output options, after `--` (no inputs, outputs, devices or file-reading filters).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `--split auto` or `--split N`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SplitArg {
    Auto,
    Chunks(u32),
}

fn parse_split(text: &str) -> Result<SplitArg, String> {
    if text == "auto" {
        return Ok(SplitArg::Auto);
    }
    match text.parse::<u32>() {
        Ok(n) if n >= 2 => Ok(SplitArg::Chunks(n)),
        _ => Err(format!("{text:?} is neither auto nor a number of chunks (2 or more)")),
    }
}

/// The shells `distencode completions` writes for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
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
        /// Who holds it (default: you; only an admin may reserve for someone else).
        #[arg(long = "for", value_name = "PERSON")]
        person: Option<String>,
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
    /// Forget a worker that is gone for good (admins only): it leaves `worker list`, with its reservation and
    /// drain. A connected worker is refused: stop it first.
    Forget {
        worker: String,
        #[command(flatten)]
        connect: Connect,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Create the cluster's CA: DIR/ca.pem and DIR/ca.key.
    /// Refuses when DIR already has a ca.pem or ca.key (a node's folder, or a cluster's CA) unless --force.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// Replace an existing CA: every certificate the old one issued stops being trusted.
        #[arg(long)]
        force: bool,
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
    /// Every certificate the CA in DIR issued: name, role, serial, expiry, and whether it is revoked.
    List {
        #[arg(long)]
        dir: PathBuf,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a node's certificates: DIR/ca.crl, signed by the CA key, lists them; a coordinator refuses them.
    Revoke {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        name: String,
        /// Only the certificate with this serial (certs list shows it), not every one issued to NAME.
        #[arg(long)]
        serial: Option<String>,
    },
    /// Issue a new key and certificate for a node, with the role and host names of its last one.
    Renew {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        name: String,
        /// Days the new certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
    },
}
