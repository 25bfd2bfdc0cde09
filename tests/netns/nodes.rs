//! `distencode` on the lab's hosts: certificates, a coordinator, workers and client commands, each run in its own
//! host's namespace with `ip netns exec`, and bounded waits on what the client sees.

use super::{output_within, Lab};
use crate::common::{distencode, ok, stdout, BIN};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The port the coordinator listens on (every host has its own addresses, so it is always free).
pub const PORT: u16 = 7878;
/// Short heartbeats, so that a lost link is noticed in seconds.
pub const FAST: &[&str] = &["--heartbeat-interval", "0.5", "--heartbeat-timeout", "3", "--grace", "6"];
/// The client's certificate name.
pub const CLIENT: &str = "alice";
/// The longest a client command may take (`job submit --wait` included).
const CLIENT_LIMIT: Duration = Duration::from_secs(180);

impl Lab {
    pub fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// A CA, the coordinator's certificate (named after its host) naming `sans`, and the client's.
    pub fn make_certs(&self, coordinator: &str, sans: &[&str]) {
        let certs = self.certs();
        ok(&distencode(&["certs", "init", "--dir", certs.to_str().unwrap()]));
        self.issue("coordinator", coordinator, sans);
        self.issue("client", CLIENT, &[]);
    }

    pub fn issue(&self, role: &str, name: &str, sans: &[&str]) {
        let certs = self.certs();
        let mut args = vec!["certs", "issue", "--dir", certs.to_str().unwrap(), "--role", role, "--name", name];
        for san in sans {
            args.extend(["--san", san]);
        }
        ok(&distencode(&args));
    }

    /// Starts the coordinator on that host, listening on every address it has; returns what it printed.
    pub fn start_coordinator(&mut self, host: &str) -> String {
        let mut command = self.command(host, BIN);
        command
            .args(["node", "--role", "coordinator", "--name", host, "--listen", &format!("0.0.0.0:{PORT}")])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("data-{host}")))
            .arg("--certs")
            .arg(self.certs())
            .args(FAST)
            .stdout(Stdio::piped())
            .stderr(self.log_file(host));
        let child = self.keep(host, command.spawn().expect("start the coordinator"));
        let line = first_line(child, Duration::from_secs(30));
        assert!(line.contains("listening on"), "the coordinator did not start: {line:?}\n{}", self.log(host));
        line.trim().to_string()
    }

    /// Issues a worker certificate named after the host and starts a worker there that dials `coordinator`
    /// (`HOST:PORT`).
    pub fn start_worker(&mut self, host: &str, coordinator: &str) {
        self.issue("worker", host, &[]);
        let mut command = self.command(host, BIN);
        command
            .args(["node", "--role", "worker", "--name", host, "--coordinator", coordinator])
            .arg("--work-dir")
            .arg(self.dir.path().join(format!("work-{host}")))
            .arg("--certs")
            .arg(self.certs())
            .args(FAST)
            .stdout(Stdio::null())
            .stderr(self.log_file(host));
        self.keep(host, command.spawn().expect("start a worker"));
    }

    /// Where the nodes' logs go: LABEL.log in a folder of their own.
    fn log_path(&self, label: &str) -> PathBuf {
        self.dir.path().join("logs").join(format!("{label}.log"))
    }

    fn log_file(&self, label: &str) -> std::fs::File {
        let path = self.log_path(label);
        let _ = std::fs::create_dir_all(path.parent().expect("a folder"));
        std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open a log file")
    }

    /// What a node wrote to stderr.
    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.log_path(label)).unwrap_or_default()
    }

    /// Every node's log, for a failure message.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        let folder = self.dir.path().join("logs");
        let mut entries: Vec<_> = std::fs::read_dir(folder).into_iter().flatten().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(label) = name.strip_suffix(".log") {
                text.push_str(&format!("--- {label}:\n{}\n", self.log(label)));
            }
        }
        text
    }

    /// A client command as `alice` on that host, dialling `coordinator`.
    pub fn client(&self, host: &str, coordinator: &str, args: &[&str]) -> Output {
        let mut command = self.command(host, BIN);
        command
            .args(args)
            .env("DISTENCODE_COORDINATOR", coordinator)
            .env("DISTENCODE_CERTS", self.certs())
            .env("DISTENCODE_NAME", CLIENT);
        output_within(command, CLIENT_LIMIT)
    }

    /// A client command that prints JSON.
    pub fn json(&self, host: &str, coordinator: &str, args: &[&str]) -> Value {
        let output = self.client(host, coordinator, args);
        ok(&output);
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&output)))
    }

    /// Polls `check` every 200 ms until it holds, or panics with every log after `limit`.
    pub fn wait_until(&self, limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out after {limit:?} waiting for {what}\n{}", self.logs());
    }

    /// Waits (at most 60 s) until these workers are registered and idle.
    pub fn wait_for_idle(&self, client: &str, coordinator: &str, workers: &[&str]) {
        self.wait_until(Duration::from_secs(60), &format!("workers {workers:?} to be idle"), || {
            let listed = self.json(client, coordinator, &["worker", "list", "--json"]);
            workers.iter().all(|name| state_of(&listed, name) == Some("idle"))
        });
    }

    /// Waits (at most `limit`) until the job is in a final state; returns it.
    pub fn wait_final(&self, client: &str, coordinator: &str, id: u64, limit: Duration) -> Value {
        let mut job = Value::Null;
        self.wait_until(limit, &format!("job {id} to end"), || {
            job = self.json(client, coordinator, &["job", "status", &id.to_string(), "--json"]);
            matches!(job["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
        });
        job
    }
}

/// A worker's state in `worker list --json`.
pub fn state_of<'a>(workers: &'a Value, name: &str) -> Option<&'a str> {
    workers.as_array()?.iter().find(|w| w["name"] == name)?["state"].as_str()
}

/// The first line a child prints, or a panic after `limit`.
pub fn first_line(child: &mut Child, limit: Duration) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("no line within {limit:?}"))
}
