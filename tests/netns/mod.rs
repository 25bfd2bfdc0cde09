//! A test network of separate hosts: one Linux network namespace per host, each with its own address in a private
//! subnet, joined by veth pairs to a bridge that lives in a namespace of its own. Nothing touches the machine's own
//! network; everything made is removed when the [`Lab`] is dropped, also when a test fails. Needs root and iproute2;
//! where they are missing, [`Lab::new`] says why and the test is skipped (under CI it fails instead).
//!
//! A test crate uses it with `mod common; mod netns;`: [`nodes`] starts `distencode` nodes on the hosts.
#![allow(dead_code)]

pub mod nodes;

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Labs made by this process, for unique names and subnets.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// `ip netns add`/`del` from parallel tests, one at a time (the first one sets up /run/netns).
static NETNS: Mutex<()> = Mutex::new(());

/// One host of the lab.
#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    pub addr: Ipv4Addr,
    /// A file bind-mounted over /etc/hosts for the commands run there.
    hosts_file: Option<PathBuf>,
}

/// Hosts in namespaces on one bridge, the processes started on them, and a folder every host sees (the namespaces
/// share the file system, as machines share a network mount).
pub struct Lab {
    /// `de-<pid>-<n>`: the prefix of every namespace this lab makes.
    pub id: String,
    pub dir: tempfile::TempDir,
    subnet: u8,
    switch: String,
    hosts: Vec<Host>,
    /// Namespaces made, deleted on drop.
    made: Vec<String>,
    /// Processes started, killed on drop: (label, child).
    children: Vec<(String, Child)>,
}

impl Lab {
    /// A lab with one host per name, at 10.211.N.10, .11, ... in name order; `None` (after saying why on stderr)
    /// where namespaces cannot be made here.
    pub fn new(test: &str, names: &[&str]) -> Option<Lab> {
        if let Some(reason) = unavailable() {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: CI must run the network namespace tests, but {reason}");
            }
            // Straight to the file descriptor: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
            return None;
        }
        sweep_stale();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = format!("de-{}-{n}", std::process::id());
        let mut lab = Lab {
            switch: format!("{id}-sw"),
            id,
            dir: tempfile::tempdir().expect("tempdir"),
            subnet: (n % 250 + 1) as u8,
            hosts: Vec::new(),
            made: Vec::new(),
            children: Vec::new(),
        };
        // From here on a panic drops `lab`, which removes whatever was made.
        let switch = lab.switch.clone();
        lab.add_namespace(&switch);
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        for (i, name) in names.iter().enumerate() {
            assert!(name.len() <= 12, "host name {name} too long for an interface name");
            let ns = format!("{}-{name}", lab.id);
            lab.add_namespace(&ns);
            let port = format!("v-{name}");
            ip(&["-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            ip(&["-n", &switch, "link", "set", &port, "master", "br0", "up"]);
            let addr = Ipv4Addr::new(10, 211, lab.subnet, 10 + i as u8);
            ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            lab.hosts.push(Host { name: name.to_string(), ns, addr, hosts_file: None });
        }
        Some(lab)
    }

    fn add_namespace(&mut self, ns: &str) {
        let _one = NETNS.lock().unwrap_or_else(|e| e.into_inner());
        ip(&["netns", "add", ns]);
        self.made.push(ns.to_string());
    }

    pub fn host(&self, name: &str) -> &Host {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no host {name} in the lab"))
    }

    pub fn addr(&self, name: &str) -> Ipv4Addr {
        self.host(name).addr
    }

    /// Gives a host a further address `10.211.N.last` and returns it.
    pub fn add_address(&self, name: &str, last: u8) -> Ipv4Addr {
        let addr = Ipv4Addr::new(10, 211, self.subnet, last);
        ip(&["-n", &self.host(name).ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        addr
    }

    /// What /etc/hosts says on that host from now on: localhost plus `entries` (address, host name).
    pub fn set_hosts(&mut self, name: &str, entries: &[(Ipv4Addr, &str)]) {
        let mut text = String::from("127.0.0.1 localhost\n::1 localhost\n");
        for (addr, host_name) in entries {
            text.push_str(&format!("{addr} {host_name}\n"));
        }
        let path = self.dir.path().join(format!("hosts-{name}"));
        std::fs::write(&path, text).expect("write a hosts file");
        let host = self.hosts.iter_mut().find(|h| h.name == name).expect("a host of the lab");
        host.hosts_file = Some(path);
    }

    /// A command that runs `program` on that host: in its network namespace and, if it has a hosts file, in a
    /// private mount namespace where that file is /etc/hosts.
    pub fn command(&self, name: &str, program: impl AsRef<Path>) -> Command {
        let host = self.host(name);
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &host.ns]);
        if let Some(hosts) = &host.hosts_file {
            command
                .args(["unshare", "--mount", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
                .arg(hosts);
        }
        command.arg(program.as_ref()).stdin(Stdio::null());
        command
    }

    /// Runs a command on that host and waits for it.
    pub fn run(&self, name: &str, program: impl AsRef<Path>, args: &[&str]) -> Output {
        let mut command = self.command(name, program);
        command.args(args);
        output_within(command, Duration::from_secs(60))
    }

    /// Keeps a started process, to be killed when the lab is dropped.
    pub fn keep(&mut self, label: &str, child: Child) -> &mut Child {
        self.children.push((label.to_string(), child));
        &mut self.children.last_mut().expect("just pushed").1
    }

    /// The kept process of that label.
    pub fn child(&mut self, label: &str) -> &mut Child {
        self.children
            .iter_mut()
            .find(|(l, _)| l == label)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("no process {label}"))
    }

    /// Unplugs (`false`) or plugs back (`true`) a host's cable: its port on the bridge goes down or up.
    pub fn link(&self, name: &str, up: bool) {
        let port = format!("v-{}", self.host(name).name);
        ip(&["-n", &self.switch, "link", "set", &port, if up { "up" } else { "down" }]);
    }
}

impl Lab {
    /// Kills the processes started here and every process still running in one of the lab's namespaces: a child
    /// such as `runuser` leaves its own child running when it is killed.
    pub fn kill_all(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.made {
            kill_namespace_processes(ns);
        }
    }
}

/// SIGKILL to every process in that network namespace.
fn kill_namespace_processes(ns: &str) {
    if let Ok(output) = Command::new("ip").args(["netns", "pids", ns]).stderr(Stdio::null()).output() {
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).stderr(Stdio::null()).status();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.kill_all();
        let _one = NETNS.lock().unwrap_or_else(|e| e.into_inner());
        for ns in self.made.iter().rev() {
            let deleted = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
            if !deleted.is_ok_and(|s| s.success()) {
                let _ = writeln!(std::io::stderr(), "could not delete network namespace {ns}");
            }
        }
    }
}

/// Runs `ip ARGS`, panicking with its error if it fails.
pub fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).stdin(Stdio::null()).output().expect("run ip");
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// Waits (at most `limit`) for a child to exit; `None` if it is still running.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Runs a command to its end and collects its output; kills it and fails the test if it takes longer than `limit`.
pub fn output_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start a command");
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = collect(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = collect(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let Some(status) = wait_exit(&mut child, limit) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{command:?} did not end within {limit:?}");
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Why network namespaces cannot be made here, if they cannot.
fn unavailable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("network namespaces are Linux only".into());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Some(format!("not root (effective uid {euid}); network namespaces need root"));
    }
    let runs = |program: &str, arg: &str| {
        Command::new(program).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    if !runs("ip", "-V") {
        return Some("there is no `ip` command (install iproute2)".into());
    }
    if !runs("unshare", "--version") {
        return Some("there is no `unshare` command (install util-linux)".into());
    }
    let probe = format!("de-{}-probe", std::process::id());
    let _one = NETNS.lock().unwrap_or_else(|e| e.into_inner());
    let made = Command::new("ip").args(["netns", "add", &probe]).output();
    match made {
        Ok(output) if output.status.success() => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).status();
            None
        }
        Ok(output) => Some(format!("`ip netns add` failed: {}", String::from_utf8_lossy(&output.stderr).trim())),
        Err(e) => Some(format!("`ip netns add` could not run: {e}")),
    }
}

/// Removes namespaces left by earlier test processes that died before they could clean up (`de-<pid>-...` whose
/// process is gone), and the processes still running in them.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    let _one = NETNS.lock().unwrap_or_else(|e| e.into_inner());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("de-").and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if pid == std::process::id().to_string() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        kill_namespace_processes(&name);
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
    }
}
