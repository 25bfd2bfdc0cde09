//! Each doctor check against the real thing: this machine's melt, ffprobe and fontconfig, melts that lack Qt (a
//! wrapper that removes `DISPLAY`, a module folder without the Qt module), real certificates, folders and stores.

use super::checks::{certificate, disk, read_write, user_and_groups};
use super::worker::{font_list_hash, qt};
use super::*;
use distencode_wire::pki::{init_ca, issue, IssueOptions};
use distencode_wire::Role;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A shell script standing in for melt: `body` runs with the real melt's arguments.
fn wrapper(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("melt");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn settings(argv: &[&str]) -> crate::node_settings::NodeSettings {
    use clap::Parser;
    let mut full = vec!["distencode", "doctor"];
    full.extend_from_slice(argv);
    match crate::cli::Cli::try_parse_from(full).unwrap().command {
        crate::cli::Command::Doctor(args) => args.node.settings,
        other => panic!("{other:?}"),
    }
}

fn cluster() -> tempfile::TempDir {
    let certs = tempfile::tempdir().unwrap();
    init_ca(certs.path()).unwrap();
    issue(certs.path(), &IssueOptions::new(Role::Worker, "render1")).unwrap();
    issue(certs.path(), &IssueOptions::new(Role::Coordinator, "coordinator")).unwrap();
    certs
}

#[test]
fn a_worker_with_this_machines_melt_passes_every_render_stack_check() {
    let certs = cluster();
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let c = certs.path().to_str().unwrap();
    let w = work.path().to_str().unwrap();
    let settings = settings(&["--role", "worker", "--certs", c, "--name", "render1", "--work-dir", w]);
    let checks = runtime().block_on(worker::checks(&settings, &[root.path().to_path_buf()]));
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "melt",
            "ffmpeg",
            "ffprobe",
            "qt",
            "frei0r",
            "fonts",
            "work_dir",
            "root",
            "disk",
            "certificate",
            "sandbox",
            "coordinator"
        ],
        "{checks:?}"
    );
    let link = find(&checks, "coordinator");
    assert_eq!(link.status, Status::Warn, "no coordinator was given: {link:?}");
    for name in ["melt", "ffmpeg", "ffprobe", "qt", "frei0r", "fonts", "work_dir", "root", "certificate"] {
        assert_eq!(find(&checks, name).status, Status::Ok, "{:?}", find(&checks, name));
    }
    assert!(find(&checks, "melt").detail.starts_with("7."), "{:?}", find(&checks, "melt"));
    assert_eq!(find(&checks, "qt").detail, "melt drew a qtext frame offscreen: Qt titles render");
    let frei0r = &find(&checks, "frei0r").detail;
    assert!(frei0r.contains(" frei0r services, frei0r-plugins "), "{frei0r}");
    assert!(find(&checks, "fonts").detail.contains(" fonts, list hash "), "{checks:?}");
    assert!(find(&checks, "disk").detail.contains(" GiB free in "), "{checks:?}");
    // Nothing of the doctor's is left in the folders it checked (melt may leave its own temporary files).
    let left = |dir: &Path| -> Vec<String> {
        let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
        names.filter(|n| n.starts_with(".distencode-doctor")).collect()
    };
    assert_eq!(left(work.path()), Vec::<String>::new());
    assert_eq!(left(root.path()), Vec::<String>::new());
    let json: serde_json::Value = serde_json::to_value(&checks).unwrap();
    assert_eq!(json[0]["name"], "melt");
    assert_eq!(json[0]["status"], "ok");
    assert!(json[0]["detail"].is_string());
    assert!(text(&checks).starts_with("ok    melt: 7."), "{}", text(&checks));
}

#[test]
fn a_melt_run_without_display_fails_the_qt_check_naming_display() {
    let bin = tempfile::tempdir().unwrap();
    let melt = wrapper(bin.path(), "exec env -u DISPLAY melt \"$@\"");
    let check = runtime().block_on(qt(&melt, bin.path()));
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert!(check.detail.starts_with("melt drew no qtext frame ("), "{check:?}");
    assert!(check.detail.ends_with("MLT's Qt module needs DISPLAY set (the worker sets DISPLAY=:0 when it is unset; a wrapper or unit that removes it breaks every title)"), "{check:?}");
}

#[test]
fn a_melt_without_the_qt_module_fails_the_qt_check_naming_the_module() {
    let modules = Path::new("/usr/lib/x86_64-linux-gnu/mlt-7");
    let bin = tempfile::tempdir().unwrap();
    let repository = bin.path().join("modules");
    std::fs::create_dir(&repository).unwrap();
    for entry in std::fs::read_dir(modules).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "libmltqt.so" {
            std::os::unix::fs::symlink(entry.path(), repository.join(entry.file_name())).unwrap();
        }
    }
    let melt = wrapper(bin.path(), &format!("MLT_REPOSITORY={} exec melt \"$@\"", repository.display()));
    let check = runtime().block_on(qt(&melt, bin.path()));
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert!(check.detail.contains("melt has no Qt module (libmltqt.so, in the libmlt7 package)"), "{check:?}");
}

#[test]
fn a_missing_melt_fails_naming_the_setting() {
    let checks = runtime().block_on(worker::checks(
        &settings(&["--role", "worker", "--melt", "/nonexistent/melt", "--work-dir", "/tmp"]),
        &[],
    ));
    let melt = find(&checks, "melt");
    assert_eq!(melt.status, Status::Fail);
    assert!(melt.detail.starts_with("melt: /nonexistent/melt --version: cannot run: "), "{melt:?}");
    assert!(melt.detail.ends_with("; install it (apt-get install melt) or set melt in worker.toml"), "{melt:?}");
    let cert = find(&checks, "certificate");
    assert_eq!(cert.detail, "no --certs DIR and --name NAME (or certs and name in the --config file)");
}

#[test]
fn the_font_list_hash_ignores_order_and_sees_one_font_more() {
    let a = font_list_hash("DejaVu Sans:style=Book\nLiberation Serif:style=Bold\n");
    let b = font_list_hash("Liberation Serif:style=Bold\n\nDejaVu Sans:style=Book\n");
    let c = font_list_hash("Liberation Serif:style=Bold\nDejaVu Sans:style=Book\nNoto Sans:style=Regular\n");
    assert_eq!(a, b);
    assert_eq!(a.0, 2);
    assert_eq!(c.0, 3);
    assert_ne!(a.1, c.1);
    // FNV-1a of "a\n": fixed, so two machines and two releases agree.
    assert_eq!(font_list_hash("a").1, 0x089b_dc07_b544_e7b2);
}

#[test]
fn folders_that_cannot_be_read_or_written_fail_naming_the_user() {
    let who = user_and_groups();
    assert!(who.starts_with("user "), "{who}");
    assert!(who.contains(" (uid ") && who.contains("), groups "), "{who}");
    let check = read_write("root", Path::new("/nonexistent/renders"), "FIX");
    assert_eq!(check.status, Status::Fail);
    assert!(check.detail.starts_with(&format!("/nonexistent/renders cannot be read as {who}: ")), "{check:?}");
    assert!(check.detail.ends_with("; FIX"), "{check:?}");
    // Even root cannot make a file in /proc.
    let check = read_write("root", Path::new("/proc"), "FIX");
    assert_eq!(check.status, Status::Fail);
    assert!(check.detail.starts_with(&format!("/proc cannot be written as {who}: ")), "{check:?}");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_write("root", dir.path(), "FIX").status, Status::Ok);
    assert_eq!(disk("disk", Path::new("/nonexistent")).status, Status::Fail);
}

#[test]
fn certificates_expiring_soon_warn_and_of_the_wrong_role_fail() {
    let certs = cluster();
    let dir = certs.path();
    let ok = certificate(Some(dir), Some("render1"), Role::Worker);
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert!(ok.detail.contains("(worker render1) signed by ") && ok.detail.contains(", valid until "), "{ok:?}");
    let wrong = certificate(Some(dir), Some("coordinator"), Role::Worker);
    assert_eq!(wrong.status, Status::Fail);
    assert!(wrong.detail.ends_with("; issue one with --role worker on the machine that keeps the CA"), "{wrong:?}");
    let mut soon = IssueOptions::new(Role::Worker, "render2");
    soon.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    issue(dir, &soon).unwrap();
    let warn = certificate(Some(dir), Some("render2"), Role::Worker);
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert!(warn.detail.contains(" expires in 9 days, on "), "{warn:?}");
    let missing = certificate(Some(dir), Some("render3"), Role::Worker);
    assert_eq!(missing.status, Status::Fail);
    assert!(missing.detail.contains("--role worker --name render3"), "{missing:?}");
}

#[test]
fn a_coordinator_checks_its_address_data_dir_schema_and_certificate() {
    let certs = cluster();
    let data = tempfile::tempdir().unwrap();
    let (c, d) = (certs.path().to_str().unwrap(), data.path().to_str().unwrap());
    let role = ["--role", "coordinator", "--certs", c, "--name", "coordinator"];
    let base = [&role[..], &["--data-dir", d]].concat();
    let checks = coordinator::checks(&settings(&base));
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["listen", "data_dir", "schema", "disk", "certificate"]);
    for name in ["listen", "data_dir", "schema", "certificate"] {
        assert_eq!(find(&checks, name).status, Status::Ok, "{checks:?}");
    }
    assert!(find(&checks, "schema").detail.starts_with("no store yet in "), "{checks:?}");
    // A store the coordinator made: this version's schema.
    drop(distencode_actors::store::JobStore::open(data.path()).unwrap());
    let schema = distencode_actors::store::stored::SCHEMA;
    let checks = coordinator::checks(&settings(&base));
    assert_eq!(find(&checks, "schema").detail, format!("store schema {schema}, this version's"));
    std::fs::write(data.path().join("schema-version"), "99\n").unwrap();
    let checks = coordinator::checks(&settings(&base));
    let newer = find(&checks, "schema");
    assert_eq!(newer.status, Status::Fail);
    assert_eq!(
        newer.detail,
        format!("store schema 99 is newer than this version's ({schema}): install the newer distencode")
    );
    let mut no_port = role.to_vec();
    no_port.extend(["--listen", "0.0.0.0", "--data-dir", "/nonexistent/data"]);
    let checks = coordinator::checks(&settings(&no_port));
    assert_eq!(find(&checks, "listen").status, Status::Fail);
    assert_eq!(
        find(&checks, "data_dir").detail,
        "/nonexistent/data does not exist: install -d -o distencode -g distencode -m 0750 /nonexistent/data"
    );
    let wrong_role = certificate(Some(certs.path()), Some("render1"), Role::Coordinator);
    assert_eq!(wrong_role.status, Status::Fail);
}

#[test]
fn the_clock_check_says_which_way_and_how_far_and_warns_then_fails_past_its_limits() {
    use distencode_wire::connection::ClockReading;
    // Sent at 1,000,000, answered 40 ms later: the coordinator's time is compared with 1,000,020.
    let reading = |coordinator_ms| ClockReading { coordinator_ms, sent_ms: 1_000_000, received_ms: 1_000_040 };
    let close = link::clock("c:7878", &reading(1_000_030));
    assert_eq!(close.status, Status::Ok);
    assert_eq!(close.detail, "this clock is 10 ms behind the coordinator's (c:7878; round trip 40 ms)");
    let ahead = link::clock("c:7878", &reading(1_000_020 - 5_000));
    assert_eq!(ahead.status, Status::Warn);
    assert!(ahead.detail.starts_with("this clock is 5000 ms ahead of the coordinator's"), "{ahead:?}");
    assert!(ahead.detail.ends_with("apt-get install systemd-timesyncd (or chrony)"), "{ahead:?}");
    let far = link::clock("c:7878", &reading(1_000_020 + 120_000));
    assert_eq!(far.status, Status::Fail);
    assert!(far.detail.starts_with("this clock is 120000 ms behind"), "{far:?}");
}

#[test]
fn a_coordinator_s_web_certificate_is_checked_and_one_whose_key_does_not_match_fails() {
    let certs = cluster();
    let c = certs.path().to_str().unwrap();
    let base = ["--role", "coordinator", "--certs", c, "--name", "coordinator"];
    let off = runtime().block_on(web::checks(&settings(&base), &[]));
    assert_eq!((off[0].name.as_str(), off[0].status), ("web", Status::Ok));
    assert_eq!(off[0].detail, "off (no web_listen): nothing to check");

    let on = [&base[..], &["--web-listen", "127.0.0.1:0"]].concat();
    let served = runtime().block_on(web::checks(&settings(&on), &[]));
    assert_eq!(served[0].status, Status::Ok, "{served:?}");
    assert!(served[0].detail.starts_with("serves https on 127.0.0.1:0 with "), "{served:?}");
    assert!(served[0].detail.ends_with(" days)"), "{served:?}");

    let cert = certs.path().join("coordinator.pem");
    let other_key = certs.path().join("render1.key");
    let (cert, key) = (cert.to_str().unwrap(), other_key.to_str().unwrap());
    let mismatched = [&on[..], &["--web-cert", cert, "--web-key", key]].concat();
    let refused = runtime().block_on(web::checks(&settings(&mismatched), &[]));
    assert_eq!(refused[0].status, Status::Fail, "{refused:?}");
    assert!(refused[0].detail.ends_with(": the web interface would not start"), "{refused:?}");
}
