//! docs/deploy.md, followed as written. The Debian package of this very build (scripts/package --debug) is
//! installed on this machine; four network namespaces stand in for the guide's machines: the coordinator, render1,
//! render2 and a workstation. Each machine sees its own copy of what the package put into /etc/distencode and
//! /var/lib/distencode, its own /etc/hosts and /etc/systemd/system, and one shared folder as /srv/renders, the
//! guide's NFS export. Every code block the guide marks `on=...` (see `tests/guide`) is run on the machine it names,
//! as root or as the editor `alice`: the package install, the workers' packages, the certificates (the admin's
//! `scp`/`ssh` carry them into the machines), the shared group recipe, the settings, the nodes started by hand as the
//! service user, the firewall loaded into the coordinator's namespace, `worker list`, the check project rendered
//! through the farm from the workstation, and `doctor` on every node. The render is checked with ffprobe, and its
//! file's group and mode show the group recipe at work.
//!
//! The lab's machines share one /etc/passwd and /etc/group, so an `on=every` block runs once. What a test cannot
//! do (systemd's `systemctl`, an NFS mount, another machine's `scp`) is left in unmarked blocks or stood in for as
//! said above. Needs root, network namespaces and the package; it installs it, and removes it, the group `renders`
//! and the user `alice` when it ends. Skipped with the reason elsewhere (under CI it fails instead).

mod common;
mod guide;
mod netns;

use common::package::{package_or_skip, skip};
use common::{probe, probe_streams, stderr, stdout};
use guide::{marked_blocks, Block};
use netns::{output_within, Lab};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MACHINES: &[&str] = &["coordinator", "render1", "render2", "workstation"];
const WORKERS: &[&str] = &["render1", "render2"];
/// The worker the guide's examples name; a block for every worker runs on each with its own name in its place.
const EXAMPLE_WORKER: &str = "render1";
/// The machines the admin hands certificates to (the workstation's editor gets hers by hand, as the guide says).
const CERTIFIED: &[&str] = &["coordinator", "render1", "render2"];
const EDITOR: &str = "alice";
const SHARED_GROUP: &str = "renders";
/// The longest one block may take (`job submit --wait` of the check project included).
const BLOCK_LIMIT: Duration = Duration::from_secs(240);

#[test]
fn the_deploy_guide_sets_up_a_farm_that_renders_its_check_project() {
    let test = "the_deploy_guide_sets_up_a_farm_that_renders_its_check_project";
    let Some(lab) = Lab::new(test, MACHINES) else {
        return;
    };
    let Some(package) = package_or_skip(test) else {
        return;
    };
    if let Some(reason) = machine_not_ours() {
        skip(test, &reason);
        return;
    }
    let guide_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy.md");
    let guide = std::fs::read_to_string(&guide_path).expect("read docs/deploy.md");
    let blocks = marked_blocks(&guide);
    let mut farm = Farm::new(lab, package);
    for block in &blocks {
        farm.run(block);
    }
    for kind in ["package", "admin", "every", "once", "coordinator", "worker", "workstation"] {
        assert!(blocks.iter().any(|b| b.on == kind), "docs/deploy.md has no block marked on={kind}");
    }
    assert!(farm.rendered_check, "docs/deploy.md's check project was never submitted");
    farm.check_the_render();
    farm.check_the_firewall();
}

/// A lab machine set up by the guide, and what the test must undo.
struct Farm {
    lab: Lab,
    package: PathBuf,
    /// `machine NAME COMMAND...` runs a command on a lab machine (a script written by [`Farm::new`]).
    machine: PathBuf,
    /// The admin's workstation: where the CA is made.
    admin: PathBuf,
    installed: bool,
    /// Whether the package's postinst made the `distencode` user (it was not there before).
    made_service_user: bool,
    made_editor: bool,
    editor_has_certificate: bool,
    /// The workstation's `export` lines so far: a later block runs in the same shell session.
    exports: String,
    rendered_check: bool,
}

impl Farm {
    fn new(lab: Lab, package: PathBuf) -> Farm {
        let admin = lab.dir.path().join("admin");
        std::fs::create_dir_all(&admin).expect("the admin's folder");
        std::fs::create_dir_all(lab.dir.path().join("renders")).expect("the shared folder");
        let machine = lab.dir.path().join("machine");
        let prefix = lab.host("coordinator").ns.trim_end_matches("coordinator").to_string();
        std::fs::write(&machine, machine_script(&prefix, &lab.dir.path().join("machines"))).expect("the script");
        chmod(&machine, 0o755);
        let mut farm = Farm {
            lab,
            package,
            machine,
            admin,
            installed: false,
            made_service_user: !host("id", &["distencode"]).status.success(),
            made_editor: false,
            editor_has_certificate: false,
            exports: String::new(),
            rendered_check: false,
        };
        // The editor has an account on her workstation before any farm exists.
        must(host("useradd", &["--create-home", "--user-group", "--shell", "/bin/bash", EDITOR]), "useradd alice");
        farm.made_editor = true;
        farm
    }

    fn run(&mut self, block: &Block) {
        let place = format!("docs/deploy.md:{} (on={})", block.line, block.on);
        match block.on.as_str() {
            "package" => self.install(block, &place),
            "admin" if block.option("each") == Some("machine") => {
                for name in CERTIFIED {
                    let text = block.text.replace(EXAMPLE_WORKER, name);
                    let output = self.admin_shell(&text);
                    self.expect_success(&place, &text, &output);
                }
            }
            "admin" => {
                let output = self.admin_shell(&block.text);
                self.expect_success(&place, &block.text, &output);
            }
            // One /etc/group for all the lab's machines: "every machine" is done once.
            "every" | "once" => self.on_machine(block, "coordinator", &block.text, &place),
            "coordinator" => self.on_machine(block, "coordinator", &block.text, &place),
            "worker" => {
                for name in WORKERS {
                    let text = block.text.replace(EXAMPLE_WORKER, name);
                    self.on_machine(block, name, &text, &place);
                }
            }
            "workstation" => self.on_machine(block, "workstation", &block.text, &place),
            other => panic!("{place}: on={other} names no machine of this test ({MACHINES:?}, admin, every, once)"),
        }
    }

    /// The package block, run here (the lab's machines share this machine's /usr), in a folder that holds the
    /// package under the name the guide gives; then each machine gets its own copy of what it installed.
    fn install(&mut self, block: &Block, place: &str) {
        let downloads = self.lab.dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("a downloads folder");
        let name = self.package.file_name().expect("a file name").to_string_lossy().into_owned();
        assert!(
            block.text.contains(&format!("./{name}")),
            "{place} installs another file than scripts/package makes ({name}):\n{}",
            block.text
        );
        std::fs::copy(&self.package, downloads.join(&name)).expect("copy the package");
        let mut command = Command::new("bash");
        command.args(["-euo", "pipefail", "-c", &block.text]).current_dir(&downloads);
        command.env("DEBIAN_FRONTEND", "noninteractive");
        self.installed = true;
        let output = output_within(command, BLOCK_LIMIT);
        self.expect_success(place, &block.text, &output);
        // The units it installed, as systemd reads them (no systemd runs here: `verify` loads them on its own).
        let units =
            ["/lib/systemd/system/distencode-coordinator.service", "/lib/systemd/system/distencode-worker.service"];
        let verified = host("systemd-analyze", &["verify", units[0], units[1]]);
        assert!(
            verified.status.success() && stderr(&verified).trim().is_empty(),
            "systemd-analyze verify finds fault with the units:\n{}",
            stderr(&verified)
        );
        for name in MACHINES {
            let root = self.lab.dir.path().join("machines").join(name);
            std::fs::create_dir_all(root.join("systemd-system")).expect("a machine's folder");
            must(host("cp", &["-a", "/etc/distencode", path(&root.join("etc-distencode"))]), "copy /etc/distencode");
            must(
                host("cp", &["-a", "/var/lib/distencode", path(&root.join("var-lib-distencode"))]),
                "copy /var/lib/distencode",
            );
            std::fs::write(root.join("nftables.conf"), "").expect("an empty firewall");
            let coordinator = self.lab.addr("coordinator");
            let mut hosts = format!("127.0.0.1 localhost {name}\n::1 localhost\n");
            hosts.push_str(&format!("{coordinator} coordinator.example.net coordinator\n"));
            for worker in WORKERS {
                hosts.push_str(&format!("{} {worker}.example.net {worker}\n", self.lab.addr(worker)));
            }
            std::fs::write(root.join("hosts"), hosts).expect("a hosts file");
        }
    }

    /// A shell on the admin's workstation (this machine, outside the lab), where `scp` and `ssh` reach the lab's
    /// machines by their host names.
    fn admin_shell(&self, text: &str) -> Output {
        let prelude = r#"
scp() {
    local target=${!#} host
    host=${target#*@}; host=${host%%:*}; host=${host%%.*}
    "$MACHINE" "$host" cp "${@:1:$#-1}" "${target#*:}"
}
ssh() {
    local host=${1#*@}; host=${host%%.*}; shift
    "$MACHINE" "$host" bash -euo pipefail -c "$*"
}
"#;
        let mut command = Command::new("bash");
        command.args(["-euo", "pipefail", "-c", &format!("{prelude}\n{text}")]);
        command.current_dir(&self.admin).env("MACHINE", &self.machine);
        output_within(command, BLOCK_LIMIT)
    }

    /// A block on one machine: as root, or as the user its `as=` names; kept running if it is a `service`.
    fn on_machine(&mut self, block: &Block, name: &str, text: &str, place: &str) {
        if block.lang == "nft" {
            let file = block.option("file").unwrap_or_else(|| panic!("{place}: an nft block names no file="));
            assert_eq!(file, "/etc/nftables.conf", "{place}: the machines have their own /etc/nftables.conf only");
            let root = self.lab.dir.path().join("machines").join(name);
            std::fs::write(root.join("nftables.conf"), text).expect("write the firewall");
            // What `nft -f /etc/nftables.conf` after it does at boot (systemd's nftables.service).
            let output = self.machine_command(name, "nft -f /etc/nftables.conf", None);
            self.expect_success(place, text, &output_within(output, BLOCK_LIMIT));
            return;
        }
        let user = block.option("as");
        if user == Some(EDITOR) {
            self.give_the_editor_her_certificate();
        }
        let mut text = text.to_string();
        if name == "workstation" {
            text = format!("{}{text}", self.exports);
            for line in block.text.lines().filter(|l| l.starts_with("export ")) {
                self.exports.push_str(line);
                self.exports.push('\n');
            }
        }
        if block.has("service") {
            let log = self.lab.dir.path().join("logs").join(format!("{name}.log"));
            std::fs::create_dir_all(log.parent().expect("a folder")).expect("a log folder");
            let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("open a log");
            let mut command = self.machine_command(name, &text, user);
            command.stdout(file.try_clone().expect("a log")).stderr(file);
            let child = command.spawn().expect("start a node");
            self.lab.keep(name, child);
            return;
        }
        if text.contains("distencode worker list") {
            return self.wait_for_idle_workers(name, &text, user, place);
        }
        let output = output_within(self.machine_command(name, &text, user), BLOCK_LIMIT);
        self.expect_success(place, &text, &output);
        if text.contains("distencode job submit") {
            self.rendered_check = true;
            let promise = promised_line(&text).unwrap_or_else(|| panic!("{place}: say what the submit ends with"));
            assert!(
                stdout(&output).contains(&promise),
                "{place} promises {promise:?}, but the submit printed:\n{}\n{}",
                stdout(&output),
                stderr(&output)
            );
        }
        if text.contains("distencode doctor") {
            let report = stdout(&output);
            // Free disk space is this machine's, not the guide's: a warning there is no disagreement.
            let failed: Vec<&str> =
                report.lines().filter(|l| !l.starts_with("ok") && !l.starts_with("warn  disk:")).collect();
            assert!(
                failed.is_empty() && report.lines().count() >= 4,
                "{place}: doctor on {name} is not all ok:\n{report}"
            );
        }
    }

    /// `worker list` again until both workers are idle, as the guide says they should be.
    fn wait_for_idle_workers(&self, name: &str, text: &str, user: Option<&str>, place: &str) {
        let start = Instant::now();
        loop {
            let output = output_within(self.machine_command(name, text, user), BLOCK_LIMIT);
            let listed = stdout(&output);
            let idle = |worker: &str| {
                listed.lines().any(|l| l.split_whitespace().take(2).eq([worker, "idle"].iter().copied()))
            };
            if output.status.success() && WORKERS.iter().all(|w| idle(w)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{place}: the workers are not both idle after 60 s:\n{listed}\n{}\n{}",
                stderr(&output),
                self.lab.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `bash -c TEXT` on a machine, as root or as `user` (with that user's home).
    fn machine_command(&self, name: &str, text: &str, user: Option<&str>) -> Command {
        let mut command = Command::new(&self.machine);
        command.arg(name);
        if let Some(user) = user {
            command.args(["runuser", "-u", user, "--", "env", &format!("HOME=/home/{user}")]);
        }
        command.args(["bash", "-euo", "pipefail", "-c", text]).current_dir("/").stdin(Stdio::null());
        command
    }

    /// The guide's "a workstation with the client certificate (ca.pem, alice.pem, alice.key in
    /// ~/.config/distencode/certs)": copied from the admin's CA folder, as the admin would hand them over.
    fn give_the_editor_her_certificate(&mut self) {
        if self.editor_has_certificate {
            return;
        }
        let ca = self.admin.join("farm-ca");
        let certs = format!("/home/{EDITOR}/.config/distencode/certs");
        must(host("install", &["-d", "-o", EDITOR, "-g", EDITOR, "-m", "0700", &certs]), "the editor's folder");
        for (file, mode) in [("ca.pem", "0644"), ("alice.pem", "0644"), ("alice.key", "0600")] {
            let from = ca.join(file);
            must(host("install", &["-o", EDITOR, "-g", EDITOR, "-m", mode, path(&from), &certs]), "a certificate");
        }
        self.editor_has_certificate = true;
    }

    fn expect_success(&self, place: &str, text: &str, output: &Output) {
        assert!(
            output.status.success(),
            "{place} failed ({}):\n{text}\n--- stdout:\n{}\n--- stderr:\n{}\n{}",
            output.status,
            stdout(output),
            stderr(output),
            self.lab.logs()
        );
    }

    /// The check project's render, as an editor would look at it: HD 720p, 50 frames, a tone that is heard; written
    /// by a worker into the editor's folder, in the shared group and writable for it (the guide's recipe).
    fn check_the_render(&self) {
        let rendered = self.lab.dir.path().join("renders/check/check.mp4");
        let facts = probe(&rendered);
        assert_eq!(facts.video_frames, 50, "{facts:?}");
        assert_eq!(facts.audio_codec.as_deref(), Some("aac"), "{facts:?}");
        let streams = probe_streams(&rendered);
        let video = streams.iter().find(|s| s["codec_type"] == "video").expect("a video stream");
        assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(1280), Some(720)), "{video}");
        let loudest = loudest_db(&rendered);
        assert!(loudest > -20.0, "the check project's tone is silent: loudest {loudest} dB");
        let meta = std::fs::metadata(&rendered).expect("the render");
        let group = group_id(SHARED_GROUP).expect("the shared group");
        assert_eq!(meta.gid(), group, "the render is not in the group {SHARED_GROUP}");
        assert_ne!(meta.mode() & 0o020, 0, "the render is not writable for its group: mode {:o}", meta.mode());
        assert_ne!(meta.uid(), 0, "the render was written by root, not the service user");
    }
}

impl Farm {
    /// The guide's firewall is what the coordinator's namespace now has, and its web port answers through it.
    fn check_the_firewall(&self) {
        let listed = self.machine_command("coordinator", "nft list chain inet filter input", None);
        let listed = output_within(listed, BLOCK_LIMIT);
        assert!(stdout(&listed).contains("policy drop") && stdout(&listed).contains("7878"), "{}", stdout(&listed));
        let ca = self.admin.join("farm-ca/ca.pem");
        let probe = format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 --cacert {} https://coordinator.example.net:8443/",
            path(&ca)
        );
        let answered = output_within(self.machine_command("workstation", &probe, None), BLOCK_LIMIT);
        let status = stdout(&answered);
        assert!(
            status.starts_with('2') || status.starts_with('3'),
            "the web port did not answer through the guide's firewall: {status:?} {}",
            stderr(&answered)
        );
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.lab.kill_all();
        if self.installed {
            let _ = host("dpkg", &["--purge", "distencode"]);
            let _ = host("rm", &["-rf", "/var/lib/distencode", "/etc/distencode"]);
        }
        if self.made_editor {
            let _ = host("userdel", &["--remove", EDITOR]);
        }
        if self.installed && self.made_service_user {
            let _ = host("userdel", &["distencode"]);
            let _ = host("groupdel", &["distencode"]);
        }
        let _ = host("groupdel", &[SHARED_GROUP]);
    }
}

/// The script behind `machine NAME COMMAND...`: the command in that machine's network namespace and a private
/// mount namespace where the machine's own folders are mounted over the package's, and the shared folder is
/// /srv/renders.
fn machine_script(namespace_prefix: &str, machines: &Path) -> String {
    format!(
        r#"#!/bin/bash
# machine NAME COMMAND...: runs COMMAND on the lab machine NAME.
set -euo pipefail
name=$1
shift
exec ip netns exec "{namespace_prefix}$name" unshare --mount --propagation private /bin/bash -c '
set -e
m=$1
shift
mount --bind "$m/etc-distencode" /etc/distencode
mount --bind "$m/var-lib-distencode" /var/lib/distencode
mount --bind "$m/systemd-system" /etc/systemd/system
mount --bind "$m/hosts" /etc/hosts
if [ -e /etc/nftables.conf ]; then mount --bind "$m/nftables.conf" /etc/nftables.conf; fi
mount -t tmpfs -o mode=0755 lab-srv /srv
mkdir /srv/renders
mount --bind "$m/../../renders" /srv/renders
exec "$@"' machine "{machines}/$name" "$@"
"#,
        machines = machines.display()
    )
}

/// Why this machine must not be changed by the test: a real installation, or the test's users already there.
fn machine_not_ours() -> Option<String> {
    let status = host("dpkg-query", &["-W", "-f", "${Status}", "distencode"]);
    if stdout(&status).contains("ok installed") {
        return Some("distencode is installed here; the test installs and removes its own build".into());
    }
    for folder in ["/etc/distencode", "/var/lib/distencode"] {
        if Path::new(folder).exists() {
            return Some(format!("{folder} exists here (a distencode set up by hand?); the test would remove it"));
        }
    }
    if stdout(&host("getent", &["group", "2000"])).contains(':') {
        return Some("gid 2000, the guide's shared group, is taken here".into());
    }
    if group_id(SHARED_GROUP).is_some() {
        return Some(format!(
            "the group {SHARED_GROUP} exists here (left by a run that died? groupdel {SHARED_GROUP})"
        ));
    }
    if host("id", &[EDITOR]).status.success() {
        return Some(format!("the user {EDITOR} exists here (left by a run that died? userdel -r {EDITOR})"));
    }
    None
}

/// What a submit block's comment says it ends with: `# ends with "TEXT ..."` gives `TEXT` (before the ellipsis).
fn promised_line(text: &str) -> Option<String> {
    let quoted = text.split("ends with \"").nth(1)?;
    let promise = quoted.split("...").next()?.trim_end_matches('"');
    Some(promise.to_string())
}

/// The loudest sample of a file's audio, in dB (ffmpeg's volumedetect).
fn loudest_db(file: &Path) -> f64 {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i", path(file), "-af", "volumedetect", "-vn", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let report = String::from_utf8_lossy(&output.stderr);
    report
        .lines()
        .find_map(|l| l.split("max_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no max_volume from ffmpeg:\n{report}"))
}

fn group_id(name: &str) -> Option<u32> {
    let output = host("getent", &["group", name]);
    stdout(&output).split(':').nth(2)?.trim().parse().ok()
}

/// A command on this machine, outside the lab.
fn host(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn must(output: Output, what: &str) {
    assert!(output.status.success(), "{what}: {}{}", stdout(&output), stderr(&output));
}

fn chmod(file: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn a_promise_is_read_from_the_submit_comment() {
    let text = "distencode job submit x.mlt --wait   # ends with \"succeeded: /srv/x.mp4 (50 frames, ...)\"\n";
    assert_eq!(promised_line(text).as_deref(), Some("succeeded: /srv/x.mp4 (50 frames, "));
}
