//! `distencode node --config FILE` with the example files of `config/`: a coordinator and a worker started from them
//! render a job; flags and environment variables override the files; a broken file stops the node with one line.
//! The files are the examples with their paths replaced by a temporary folder's, so the examples stay true.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const COORDINATOR_EXAMPLE: &str = include_str!("../config/coordinator.toml");
const WORKER_EXAMPLE: &str = include_str!("../config/worker.toml");

/// Replaces each `(from, to)` in `text`, failing if an example no longer holds `from`.
fn replaced(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in pairs {
        assert!(out.contains(from), "the example file no longer holds {from:?}");
        out = out.replace(from, to);
    }
    out
}

/// A folder with a CA and certificates for the example files' nodes (`coordinator`, `render1`, `render2`) and a
/// client `alice`.
struct Site {
    dir: tempfile::TempDir,
    nodes: Vec<Child>,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = dir.path().join("certs");
        let certs = certs.to_str().unwrap();
        ok(&distencode(&["certs", "init", "--dir", certs]));
        for (role, name) in
            [("coordinator", "coordinator"), ("worker", "render1"), ("worker", "render2"), ("client", "alice")]
        {
            ok(&distencode(&["certs", "issue", "--dir", certs, "--role", role, "--name", name]));
        }
        Site { dir, nodes: Vec::new() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The example file with this site's folders in place of `/etc/distencode/certs`, `/var/lib/distencode` and
    /// (a worker's media and output roots) `/srv/renders`.
    fn config(&self, example: &str, name: &str, more: &[(&str, &str)]) -> PathBuf {
        let certs = self.path("certs");
        let state = self.path("state");
        let site = self.dir.path().to_str().unwrap();
        let mut pairs =
            vec![("/etc/distencode/certs", certs.to_str().unwrap()), ("/var/lib/distencode", state.to_str().unwrap())];
        if example.contains("/srv/renders") {
            pairs.push(("/srv/renders", site));
        }
        pairs.extend_from_slice(more);
        let path = self.path(name);
        std::fs::write(&path, replaced(example, &pairs)).unwrap();
        path
    }

    /// Starts `distencode node ARGS` with `env`; its log goes to LOG.log in the folder.
    fn node(&mut self, log: &str, args: &[&str], env: &[(&str, &str)]) -> &mut Child {
        let log = std::fs::File::create(self.path(&format!("{log}.log"))).unwrap();
        let child = Command::new(BIN)
            .arg("node")
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start a node");
        self.nodes.push(child);
        self.nodes.last_mut().unwrap()
    }

    /// Starts a coordinator and returns the address it printed.
    fn coordinator(&mut self, args: &[&str], env: &[(&str, &str)]) -> String {
        let child = self.node("coordinator", args, env);
        let line = first_line(child, Duration::from_secs(30));
        let addr = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        assert!(
            line.starts_with("distencode coordinator coordinator listening on 127.0.0.1:"),
            "coordinator did not start: {line:?}\n{}",
            self.log("coordinator")
        );
        addr
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    /// A client command as `alice`.
    fn cli(&self, addr: &str, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .env("DISTENCODE_COORDINATOR", addr)
            .env("DISTENCODE_CERTS", self.path("certs"))
            .env("DISTENCODE_NAME", "alice")
            .stdin(Stdio::null())
            .output()
            .expect("run distencode")
    }

    /// Waits (at most 60 s) until a worker of that name is idle.
    fn wait_for_worker(&self, addr: &str, name: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let output = self.cli(addr, &["worker", "list", "--json"]);
            let workers: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
            let idle = workers.as_array().into_iter().flatten().any(|w| w["name"] == name && w["state"] == "idle");
            if idle {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "worker {name} did not register within 60 s\ncoordinator log:\n{}\nworker log:\n{}",
            self.log("coordinator"),
            self.log("worker")
        );
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first line a child prints, or a panic after `limit`.
fn first_line(child: &mut Child, limit: Duration) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("no line from the node within {limit:?}"))
}

#[test]
fn a_coordinator_and_a_worker_from_the_example_files_render_a_job() {
    let mut site = Site::new();
    let coordinator = site.config(
        COORDINATOR_EXAMPLE,
        "coordinator.toml",
        &[("0.0.0.0:7878", "127.0.0.1:0"), ("0.0.0.0:8443", "127.0.0.1:0")],
    );
    let addr = site.coordinator(&["--config", coordinator.to_str().unwrap()], &[]);
    let worker = site.config(WORKER_EXAMPLE, "worker.toml", &[("coordinator.example.net:7878", &addr)]);
    site.node("worker", &["--config", worker.to_str().unwrap()], &[]);
    site.wait_for_worker(&addr, "render1");
    assert!(site.path("state/coordinator").is_dir(), "data_dir comes from the file");

    let project = projects::color_and_tone(site.dir.path(), "from-config.mlt", 25);
    let output = site.cli(&addr, &["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&output);
    assert!(stdout(&output).contains("accepted by worker render1"), "{}", stdout(&output));
    assert_eq!(probe(&site.path("from-config.mp4")).video_frames, 25);
}

#[test]
fn flags_and_environment_variables_override_the_files() {
    let mut site = Site::new();
    let coordinator = site.config(
        COORDINATOR_EXAMPLE,
        "coordinator.toml",
        &[("0.0.0.0:7878", "127.0.0.1:9"), ("0.0.0.0:8443", "127.0.0.1:0")],
    );
    let config = coordinator.to_str().unwrap();
    // The file says port 9, the environment says port 10, the flag says any free port: the flag wins.
    let addr =
        site.coordinator(&["--config", config, "--listen", "127.0.0.1:0"], &[("DISTENCODE_LISTEN", "127.0.0.1:10")]);
    assert!(!addr.ends_with(":9") && !addr.ends_with(":10"), "{addr}");

    // The file names render1 and a coordinator nobody listens on; the flag and the environment put both right.
    let worker = site.config(WORKER_EXAMPLE, "worker.toml", &[("coordinator.example.net:7878", "127.0.0.1:9")]);
    site.node(
        "worker",
        &["--config", worker.to_str().unwrap(), "--name", "render2"],
        &[("DISTENCODE_COORDINATOR", &addr)],
    );
    site.wait_for_worker(&addr, "render2");
    let output = site.cli(&addr, &["worker", "list", "--json"]);
    let workers: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(workers.as_array().map(Vec::len), Some(1), "{workers}");
}

#[test]
fn a_broken_file_stops_the_node_with_one_line_naming_file_and_key() {
    let site = Site::new();
    let broken =
        site.config(WORKER_EXAMPLE, "worker.toml", &[("heartbeat_timeout = 6.0", "heartbeat_timeout = \"ten\"")]);
    let output = distencode(&["node", "--config", broken.to_str().unwrap()]);
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim_end(),
        format!("distencode: {}: key heartbeat_timeout: expected a number, found \"ten\"", broken.display())
    );

    let senseless =
        site.config(WORKER_EXAMPLE, "senseless.toml", &[("heartbeat_timeout = 6.0", "heartbeat_timeout = 1.5")]);
    let output = distencode(&["node", "--config", senseless.to_str().unwrap()]);
    assert!(!output.status.success());
    let file = senseless.display();
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "distencode: {file}: heartbeat_timeout: must be longer than the heartbeat interval (2 s, {file}: \
             heartbeat_interval)"
        )
    );

    // A web port already taken stops the coordinator with one line, before it takes any connection.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("127.0.0.1:{}", taken.local_addr().unwrap().port());
    let pairs = [("0.0.0.0:7878", "127.0.0.1:0"), ("0.0.0.0:8443", port.as_str())];
    let busy = site.config(COORDINATOR_EXAMPLE, "busy-web.toml", &pairs);
    let output = distencode(&["node", "--config", busy.to_str().unwrap()]);
    assert!(!output.status.success());
    let line = stderr(&output);
    let line = line.lines().last().unwrap_or_default();
    assert!(line.starts_with(&format!("distencode: cannot listen on {port} for the web interface: ")), "{line}");

    let unknown = site.path("unknown.toml");
    std::fs::write(&unknown, "role = \"worker\"\nthreads = 4\n").unwrap();
    let output = distencode(&["node", "--config", unknown.to_str().unwrap()]);
    assert!(!output.status.success());
    let line = stderr(&output);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains(&format!("{}: key threads: unknown key", unknown.display())), "{line}");
}
