//! The integration tests' harness: a real cluster of `distencode` processes on 127.0.0.1 with certificates made by
//! `distencode certs`, projects generated from MLT's built-in producers, and ffprobe to look at what came out.
#![allow(dead_code)]

pub mod oidc;
pub mod oidc_farm;
pub mod package;
pub mod projects;
pub mod proxy;
pub mod soak;
pub mod substitute;
pub mod web;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_distencode");

/// Runs `distencode` with `args` and waits for it.
pub fn distencode(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("run distencode")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A coordinator and workers, each a real process, killed when dropped.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub certs: PathBuf,
    /// Holds `certs`: outside /tmp (in /var/tmp, wherever the repository is), as a farm keeps them
    /// (`/etc/distencode/certs`). The sandbox keeps every folder on the way to the certificates closed to files
    /// made after melt starts, and MLT's pixbuf producer writes an inline SVG to /tmp/mlt.XXXXXX whatever TMPDIR
    /// says (docs/security.md).
    _certs_home: tempfile::TempDir,
    pub addr: String,
    coordinator: Option<Child>,
    workers: Vec<(String, Option<Child>)>,
    /// Extra flags for every node (e.g. shorter heartbeats).
    node_flags: Vec<String>,
    /// Extra flags for the coordinator only (e.g. `--web-listen`).
    coordinator_flags: Vec<String>,
    /// What the coordinator printed on stdout after its first line, line by line.
    coordinator_stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Cluster {
    /// A CA, certificates for a coordinator, `workers` workers and a client `alice`, and the nodes running.
    pub fn start(workers: usize) -> Self {
        Self::start_with(workers, &[])
    }

    pub fn start_with(workers: usize, node_flags: &[&str]) -> Self {
        Self::start_full(workers, node_flags, &[])
    }

    /// As [`Cluster::start_with`], with `coordinator_flags` for the coordinator alone.
    pub fn start_full(workers: usize, node_flags: &[&str], coordinator_flags: &[&str]) -> Self {
        // Folders shared with the workers, as docs/deploy.md asks: group-writable, so that `job submit` has no
        // warning about an output folder only its owner can write.
        // SAFETY: umask only changes the mode of files created from now on; it touches no memory.
        unsafe { libc::umask(0o002) };
        let dir = tempfile::tempdir().expect("tempdir");
        let certs_home = tempfile::tempdir_in("/var/tmp").expect("a folder for the certificates in /var/tmp");
        let certs = certs_home.path().join("certs");
        let certs_s = certs.to_str().unwrap();
        ok(&distencode(&["certs", "init", "--dir", certs_s]));
        ok(&distencode(&["certs", "issue", "--dir", certs_s, "--role", "coordinator", "--name", "coord"]));
        ok(&distencode(&["certs", "issue", "--dir", certs_s, "--role", "client", "--name", "alice"]));
        let mut cluster = Cluster {
            dir,
            certs,
            _certs_home: certs_home,
            addr: String::new(),
            coordinator: None,
            workers: Vec::new(),
            node_flags: node_flags.iter().map(|s| s.to_string()).collect(),
            coordinator_flags: coordinator_flags.iter().map(|s| s.to_string()).collect(),
            coordinator_stdout: Default::default(),
        };
        cluster.start_coordinator("127.0.0.1:0");
        for i in 1..=workers {
            let name = format!("w{i}");
            cluster.issue("worker", &name);
            cluster.start_worker(&name);
        }
        cluster.wait_for_workers(workers);
        cluster
    }

    pub fn issue(&self, role: &str, name: &str) {
        ok(&distencode(&["certs", "issue", "--dir", self.certs.to_str().unwrap(), "--role", role, "--name", name]));
    }

    /// Starts (or restarts) the coordinator on `listen` and waits for it to listen.
    pub fn start_coordinator(&mut self, listen: &str) {
        self.start_coordinator_under(listen, &[]);
    }

    /// Starts the coordinator as the last argument of `wrapper` (e.g. `strace -f -o FILE`), as
    /// [`Cluster::start_coordinator`] does.
    pub fn start_coordinator_under(&mut self, listen: &str, wrapper: &[&str]) {
        let data = self.dir.path().join("coordinator-data");
        let log = std::fs::File::create(self.dir.path().join("coordinator.log")).unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .args(["node", "--role", "coordinator", "--listen", listen, "--name", "coord"])
            // The tests' client `alice` runs the farm (tests/users.rs checks what other users may do).
            .args(["--admins", "alice"])
            .arg("--data-dir")
            .arg(&data)
            .arg("--certs")
            .arg(&self.certs)
            .args(&self.node_flags)
            .args(&self.coordinator_flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start coordinator");
        // Its first line says where it listens; read on a thread so a coordinator that never says it fails the test.
        // The lines after it are kept for the tests that read them.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let later = self.coordinator_stdout.clone();
        later.lock().unwrap().clear();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            for line in reader.lines().map_while(Result::ok) {
                later.lock().unwrap().push(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let addr = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        assert!(addr.starts_with("127.0.0.1:"), "coordinator did not start: {line:?}\n{}", self.coordinator_log());
        self.addr = addr;
        self.coordinator = Some(child);
    }

    pub fn start_worker(&mut self, name: &str) {
        self.start_worker_with(name, &[]);
    }

    pub fn start_worker_with(&mut self, name: &str, extra: &[&str]) {
        let addr = self.addr.clone();
        self.start_worker_via(name, &addr, extra);
    }

    /// Starts a worker with extra environment variables (e.g. another `MLT_REPOSITORY`).
    pub fn start_worker_env(&mut self, name: &str, env: &[(&str, &str)]) {
        let addr = self.addr.clone();
        self.start_worker_full(name, &addr, &[], env);
    }

    /// Starts a worker that dials `coordinator` (e.g. a [`proxy::Proxy`] in front of the real one).
    pub fn start_worker_via(&mut self, name: &str, coordinator: &str, extra: &[&str]) {
        self.start_worker_full(name, coordinator, extra, &[]);
    }

    fn start_worker_full(&mut self, name: &str, coordinator: &str, extra: &[&str], env: &[(&str, &str)]) {
        let work = self.dir.path().join(format!("work-{name}"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.worker_log_path(name)).unwrap();
        let child = Command::new(BIN)
            .args(["node", "--role", "worker", "--coordinator", coordinator, "--name", name])
            .arg("--work-dir")
            .arg(&work)
            .arg("--certs")
            .arg(&self.certs)
            .args(&self.node_flags)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start worker");
        self.workers.retain(|(n, _)| n != name);
        self.workers.push((name.to_string(), Some(child)));
    }

    pub fn worker_log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("worker-{name}.log"))
    }

    pub fn coordinator_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("coordinator.log")).unwrap_or_default()
    }

    pub fn worker_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.worker_log_path(name)).unwrap_or_default()
    }

    /// The process id of the coordinator (or of its wrapper).
    pub fn coordinator_pid(&self) -> Option<u32> {
        self.coordinator.as_ref().map(Child::id)
    }

    /// kill -9 the coordinator.
    pub fn kill_coordinator(&mut self) {
        if let Some(mut child) = self.coordinator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// kill -9 a worker.
    pub fn kill_worker(&mut self, name: &str) {
        for (n, child) in &mut self.workers {
            if n == name {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
    }

    /// Whether the coordinator (`None`) or a worker this cluster started is still running (not exited).
    pub fn running(&mut self, worker: Option<&str>) -> bool {
        let child = match worker {
            Some(name) => self.workers.iter_mut().find(|(n, _)| n == name).and_then(|(_, c)| c.as_mut()),
            None => self.coordinator.as_mut(),
        };
        child.is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Sends SIGTERM to the coordinator (`None`) or to a worker.
    pub fn terminate(&self, worker: Option<&str>) {
        let pid = match worker {
            Some(name) => self.worker_pid(name),
            None => self.coordinator.as_ref().expect("a running coordinator").id(),
        };
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits (at most `limit`) for the coordinator (`None`) or a worker to exit; its exit status.
    pub fn wait_exit(&mut self, worker: Option<&str>, limit: Duration) -> std::process::ExitStatus {
        let child = match worker {
            Some(name) => self.workers.iter_mut().find(|(n, _)| n == name).and_then(|(_, c)| c.as_mut()),
            None => self.coordinator.as_mut(),
        };
        let child = child.expect("a running node");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{worker:?} did not exit within {limit:?}
coordinator log:
{}",
            self.coordinator_log()
        );
    }

    /// Runs a client command as `alice` against this cluster.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_as("alice", args)
    }

    pub fn cli_as(&self, name: &str, args: &[&str]) -> Output {
        self.command_as(name, args).output().expect("run distencode")
    }

    /// The command `cli_as` runs, to spawn instead (a follower that goes on while the test does).
    pub fn command_as(&self, name: &str, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("DISTENCODE_COORDINATOR", &self.addr)
            .env("DISTENCODE_CERTS", &self.certs)
            .env("DISTENCODE_NAME", name)
            .stdin(Stdio::null());
        command
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.cli(args);
        ok(&output);
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&output)))
    }

    /// As [`Cluster::json`], as the client certificate `name`.
    pub fn json_as(&self, name: &str, args: &[&str]) -> Value {
        let output = self.cli_as(name, args);
        ok(&output);
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&output)))
    }

    pub fn job(&self, id: u64) -> Value {
        self.json(&["job", "status", &id.to_string(), "--json"])
    }

    /// Waits (at most 60 s) until `count` workers are registered and idle.
    pub fn wait_for_workers(&self, count: usize) {
        self.wait_until(Duration::from_secs(60), "workers to register", || {
            let workers = self.json(&["worker", "list", "--json"]);
            workers.as_array().map_or(0, |w| w.iter().filter(|w| w["state"] == "idle").count()) >= count
        });
    }

    /// Polls `check` every 100 ms until it holds or `limit` passes (then panics with both logs).
    pub fn wait_until(&self, limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out after {limit:?} waiting for {what}\ncoordinator log:\n{}", self.coordinator_log());
    }

    /// Submits a project without waiting; returns the job id.
    pub fn submit(&self, project: &Path, extra: &[&str]) -> u64 {
        let mut args = vec!["job", "submit", project.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let output = self.cli(&args);
        ok(&output);
        let job: Value = serde_json::from_slice(&output.stdout).unwrap();
        job["id"].as_u64().unwrap()
    }

    /// Waits (at most `limit`) until the job is in a final state; returns it.
    pub fn wait_final(&self, id: u64, limit: Duration) -> Value {
        let mut last = Value::Null;
        self.wait_until(limit, &format!("job {id} to end"), || {
            last = self.job(id);
            matches!(last["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
        });
        last
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.workers {
            if let Some(mut c) = child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        self.kill_coordinator();
    }
}

/// Held by tests that time their actions against a running render: one such test at a time per test binary, so
/// that a render's speed does not depend on what the other tests do. A failed test does not poison it.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Short heartbeats and grace, so fault tests do not wait long.
pub const FAST_FAILURE_DETECTION: &[&str] =
    &["--heartbeat-interval", "0.5", "--heartbeat-timeout", "3", "--grace", "6"];

impl Cluster {
    /// The coordinator's address stays; the process is started again over the same data (after a kill).
    pub fn restart_coordinator(&mut self) {
        let addr = self.addr.clone();
        self.start_coordinator(&addr);
    }

    /// As [`Cluster::restart_coordinator`], with `extra` flags for this start only (e.g. `--recover`).
    pub fn restart_coordinator_with(&mut self, extra: &[&str]) {
        let kept = self.coordinator_flags.len();
        self.coordinator_flags.extend(extra.iter().map(|s| s.to_string()));
        self.restart_coordinator();
        self.coordinator_flags.truncate(kept);
    }

    /// Waits until the job runs and melt has reported progress; returns the job.
    pub fn wait_running(&self, id: u64) -> Value {
        let mut job = Value::Null;
        self.wait_until(Duration::from_secs(60), &format!("job {id} to render"), || {
            job = self.job(id);
            job["state"] == "running" && job["progress"].as_f64().is_some_and(|p| p > 0.0)
        });
        job
    }

    /// The process id of a running worker.
    pub fn worker_pid(&self, name: &str) -> u32 {
        self.workers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.as_ref())
            .map(|c| c.id())
            .expect("a running worker")
    }

    pub fn workers(&self) -> Vec<Value> {
        self.json(&["worker", "list", "--json"]).as_array().cloned().unwrap_or_default()
    }

    pub fn worker(&self, name: &str) -> Value {
        self.workers().into_iter().find(|w| w["name"] == name).unwrap_or(Value::Null)
    }
}

/// What identifies one attempt's melt among every test's: the path of its partial file.
pub fn partial_of(output: &Path, id: u64, attempt: u32) -> String {
    let name = output.file_name().unwrap().to_string_lossy();
    output.with_file_name(format!(".{name}.job{id}-{attempt}.partial")).display().to_string()
}

/// The names of the entries of `dir` that `keep` keeps.
pub fn names_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| keep(name))
        .collect()
}

/// The names of the partial files (`.NAME.jobN-A.partial.EXT`) left in `dir`.
pub fn partial_files(dir: &Path) -> Vec<String> {
    names_in(dir, |name| name.contains(".partial."))
}

/// The pid of a melt whose command line holds `needle`.
pub fn melt_pid_of(needle: &str) -> u32 {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&std::fs::read(entry.path().join("cmdline")).unwrap_or_default())
            .replace('\0', " ");
        if cmdline.starts_with("melt ") && cmdline.contains(needle) {
            return pid;
        }
    }
    panic!("no melt renders {needle}");
}

/// Command lines of running melt processes that mention `needle`.
pub fn melt_processes(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if (cmdline.starts_with("melt ") || cmdline.contains("/melt ")) && cmdline.contains(needle) {
            found.push(cmdline);
        }
    }
    found
}

/// Asserts the command succeeded, showing its output otherwise.
pub fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// What ffprobe says of a file: video frames, whether there is audio, duration.
#[derive(Debug, PartialEq)]
pub struct Probe {
    pub video_frames: u64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub duration: f64,
}

pub fn probe(file: &Path) -> Probe {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name,nb_frames:format=duration", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(output.status.success(), "ffprobe {}: {}", file.display(), stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let video = streams.iter().find(|s| s["codec_type"] == "video").expect("a video stream");
    let audio = streams.iter().find(|s| s["codec_type"] == "audio");
    Probe {
        video_frames: video["nb_frames"].as_str().unwrap().parse().unwrap(),
        video_codec: video["codec_name"].as_str().unwrap().to_string(),
        audio_codec: audio.map(|a| a["codec_name"].as_str().unwrap().to_string()),
        duration: json["format"]["duration"].as_str().unwrap().parse().unwrap(),
    }
}

/// The video frames' md5 sums (ffmpeg's framemd5), one per frame.
pub fn video_md5s(file: &Path) -> Vec<String> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg");
    assert!(output.status.success(), "framemd5 of {}: {}", file.display(), stderr(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_string())
        .collect()
}

/// Writes `text` to `path` as an executable script (a wrapper around melt or ffmpeg that a test starts a worker
/// with).
pub fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// Renders `project` with melt directly, exactly as a worker does, into `out`.
pub fn bare_melt(project: &Path, out: &Path) {
    bare_melt_with(project, out, &["vcodec=libx264", "acodec=aac"]);
}

/// Renders `project` with melt directly into `out`, with these consumer properties. Like a worker, it starts melt
/// again (at most three times in all) when melt lost MLT's consumer start race and left the file empty or unmade.
pub fn bare_melt_with(project: &Path, out: &Path, consumer: &[&str]) {
    for _ in 0..3 {
        bare_melt_once(project, out, consumer);
        if out.to_string_lossy().contains('%') || std::fs::metadata(out).is_ok_and(|m| m.len() > 0) {
            return;
        }
    }
}

fn bare_melt_once(project: &Path, out: &Path, consumer: &[&str]) {
    let status = Command::new("melt")
        .arg(project)
        .arg("-consumer")
        .arg(format!("avformat:{}", out.display()))
        .args(consumer)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("DISPLAY", std::env::var("DISPLAY").unwrap_or_else(|_| ":0".into()))
        .current_dir(project.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("melt");
    assert!(status.success());
}

/// What ffprobe says of `file`'s streams (packets counted: the frames of a container that gives no count), each
/// with the file's duration as `format_duration`.
pub fn probe_streams(file: &Path) -> Vec<Value> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .arg("stream=codec_type,codec_name,pix_fmt,width,height,r_frame_rate,nb_read_packets,duration,field_order:format=duration")
        .args(["-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(output.status.success(), "ffprobe {}: {}", file.display(), stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut streams = json["streams"].as_array().cloned().unwrap_or_default();
    for s in &mut streams {
        s["format_duration"] = json["format"]["duration"].clone();
    }
    streams
}

/// The ids `job ffmpeg ... --json` printed, one JSON object a line.
pub fn submitted(output: &std::process::Output) -> Vec<u64> {
    ok(output);
    stdout(output).lines().map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].as_u64().unwrap()).collect()
}
