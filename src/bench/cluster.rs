//! What every benchmark sets up and tears down: a scratch folder, a throwaway CA with certificates made through
//! `distencode_wire::pki`, and real `distencode node` processes (this very binary) on 127.0.0.1.
//!
//! Each of these owns what it started: dropping a [`Scratch`] removes the folder, dropping a [`Node`] kills the process
//! (SIGKILL) and reaps it, so a benchmark that fails half-way, panics or is interrupted leaves nothing behind.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A folder under the system's temp dir (`TMPDIR`), removed when dropped.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("distencode-bench-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // For looking at the nodes' logs afterwards.
        if std::env::var_os("DISTENCODE_BENCH_KEEP").is_some() {
            eprintln!("kept {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub use distencode_sim::Pki;

/// A `distencode node` process, killed (SIGKILL) and reaped when dropped.
pub struct Node {
    child: Option<Child>,
    pub pid: u32,
    /// HOST:PORT a coordinator listens on (empty for a worker).
    pub addr: String,
    /// Its stderr (the node's log).
    pub log: PathBuf,
    /// From spawn to the coordinator's "listening" line.
    pub listening_after: Duration,
}

/// How to start a coordinator.
pub struct CoordinatorSpec<'a> {
    pub certs: &'a Path,
    pub data_dir: &'a Path,
    pub log: PathBuf,
    /// `DISTENCODE_LOG` for it.
    pub log_filter: &'a str,
    /// Where to listen (`127.0.0.1:0` for any port).
    pub listen: &'a str,
    /// Further flags (e.g. `--web-listen 127.0.0.1:PORT`).
    pub extra: &'a [&'a str],
}

impl Node {
    /// Starts a coordinator and waits (at most 60 s) for the line that says where it listens.
    pub async fn coordinator(spec: &CoordinatorSpec<'_>) -> Result<Self> {
        let exe = std::env::current_exe().context("finding this program")?;
        let log = std::fs::File::create(&spec.log)?;
        let started = Instant::now();
        let mut child = Command::new(exe)
            .args(["node", "--role", "coordinator", "--name", "coord", "--listen", spec.listen])
            .arg("--data-dir")
            .arg(spec.data_dir)
            .arg("--certs")
            .arg(spec.certs)
            .args(spec.extra)
            .env("DISTENCODE_LOG", spec.log_filter)
            .env_remove("DISTENCODE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting the coordinator")?;
        let stdout = child.stdout.take().expect("piped");
        let pid = child.id();
        let mut node = Node {
            child: Some(child),
            pid,
            addr: String::new(),
            log: spec.log.clone(),
            listening_after: Duration::ZERO,
        };
        // The read ends by itself when the process dies (and `node` kills it if we stop waiting).
        let read = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            line
        });
        let line = match tokio::time::timeout(Duration::from_secs(60), read).await {
            Ok(Ok(line)) => line,
            _ => String::new(),
        };
        node.listening_after = started.elapsed();
        let addr = line.trim().rsplit(' ').next().unwrap_or_default();
        if !addr.starts_with("127.0.0.1:") {
            bail!("the coordinator did not start (it said {line:?}); its log:\n{}", node.log_tail());
        }
        node.addr = addr.to_string();
        Ok(node)
    }

    /// Starts a real worker (real melt) named `name` against `coordinator`.
    pub fn worker(
        certs: &Path,
        name: &str,
        coordinator: &str,
        work_dir: &Path,
        melt: &str,
        log: PathBuf,
    ) -> Result<Self> {
        Self::worker_pinned(certs, name, coordinator, work_dir, melt, log, None)
    }

    /// [`Node::worker`], pinned to CPU `core` when one is given (`taskset -c`, which melt inherits): one machine's
    /// worth of CPU.
    pub fn worker_pinned(
        certs: &Path,
        name: &str,
        coordinator: &str,
        work_dir: &Path,
        melt: &str,
        log: PathBuf,
        core: Option<usize>,
    ) -> Result<Self> {
        let exe = std::env::current_exe().context("finding this program")?;
        let file = std::fs::File::create(&log)?;
        let mut command = match core {
            Some(core) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &core.to_string()]).arg(exe);
                taskset
            }
            None => Command::new(exe),
        };
        let child = command
            .args(["node", "--role", "worker", "--name", name, "--coordinator", coordinator, "--melt", melt])
            .arg("--work-dir")
            .arg(work_dir)
            .arg("--certs")
            .arg(certs)
            .env("DISTENCODE_LOG", "info")
            .env_remove("DISTENCODE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .context("starting a worker (pinned ones under util-linux's taskset)")?;
        Ok(Node { pid: child.id(), child: Some(child), addr: String::new(), log, listening_after: Duration::ZERO })
    }

    /// kill -9 and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Fails if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("node {} exited ({status}); its log:\n{}", self.pid, self.log_tail());
            }
        }
        Ok(())
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub fn stats(&self) -> ProcStats {
        ProcStats::of(self.pid)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What `/proc` says about a process: peak and current resident memory, CPU time used.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcStats {
    pub peak_rss_mb: f64,
    pub rss_mb: f64,
    pub cpu_seconds: f64,
}

impl ProcStats {
    pub fn of(pid: u32) -> Self {
        Self::read(&format!("/proc/{pid}"))
    }

    pub fn this_process() -> Self {
        Self::read("/proc/self")
    }

    /// CPU seconds of the threads of process `pid`, most first: `main` (the actix System's thread, where every
    /// actor but the store runs), `unnamed` (threads that kept the process's name: the JobStore's SyncArbiter), and
    /// named ones with their numbers dropped (`sled-io-3` counts as `sled-io`).
    pub fn threads(pid: u32) -> Vec<(String, f64)> {
        let mut by_name: std::collections::BTreeMap<String, f64> = Default::default();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        let process = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        for task in tasks.flatten() {
            let dir = task.path().display().to_string();
            let comm = std::fs::read_to_string(format!("{dir}/comm")).unwrap_or_default();
            let name = if task.file_name().to_string_lossy() == pid.to_string() {
                "main".to_string()
            } else if comm == process {
                "unnamed".to_string()
            } else {
                comm.trim().trim_end_matches(|c: char| c.is_ascii_digit() || c == '-').to_string()
            };
            *by_name.entry(name).or_default() += Self::read(&dir).cpu_seconds;
        }
        let mut threads: Vec<(String, f64)> = by_name.into_iter().collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        threads
    }

    fn read(dir: &str) -> Self {
        let status = std::fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
        // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are 14, 15.
        let ticks: f64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum()
            })
            .unwrap_or(0.0);
        Self {
            peak_rss_mb: kb("VmHWM:") / 1024.0,
            rss_mb: kb("VmRSS:") / 1024.0,
            // USER_HZ is 100 on every Linux this runs on.
            cpu_seconds: ticks / 100.0,
        }
    }
}
