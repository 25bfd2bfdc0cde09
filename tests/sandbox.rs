//! melt and ffmpeg jobs cannot read the worker's certificates even when nothing else stops them (Landlock,
//! `actors/src/runner/sandbox.rs`). The checks refuse every project and ffmpeg input that names the key
//! (`tests/hostile_projects.rs`); here the worker's melt itself tries, as a melt that a project got past the checks
//! would: a wrapper around the real melt reads the worker's key first and says in the job's log whether it could.
//! The render still succeeds, so confinement leaves melt working. Skipped where the kernel has no Landlock.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// A melt that, when it renders, first tries to read `key`, and says in its output whether it could.
fn melt_that_reads(dir: &Path, key: &Path) -> std::path::PathBuf {
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *list*) ;;\n  *-progress2*)\n    if cat '{key}' >/dev/null; then echo 'wrapper: the key was READ'; \
         else echo 'wrapper: the key could not be read'; fi ;;\nesac\nexec melt \"$@\"\n",
        key = key.display()
    );
    let path = dir.join("melt-that-reads");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_melt_that_tries_to_read_the_workers_key_is_refused_by_the_kernel_and_still_renders() {
    if let Err(reason) = distencode_actors::runner::sandbox::status() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the sandbox test, but {reason}");
        eprintln!("skipped: {reason}");
        return;
    }
    let mut cluster = Cluster::start(0);
    cluster.issue("worker", "w1");
    let key = cluster.certs.join("w1.key");
    let melt = melt_that_reads(cluster.dir.path(), &key);
    cluster.start_worker_with("w1", &["--melt", melt.to_str().unwrap()]);
    cluster.wait_for_workers(1);
    assert!(std::fs::read(&key).is_ok_and(|k| !k.is_empty()), "the key is there, and readable for the worker");

    let project = projects::color_and_tone(cluster.dir.path(), "boxed.mlt", 25);
    let id = cluster.submit(&project, &[]);
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(probe(&cluster.dir.path().join("boxed.mp4")).video_frames, 25);
    let log = stdout(&cluster.cli(&["job", "logs", &id.to_string()]));
    assert!(log.contains("wrapper: the key could not be read"), "{log}");
    assert!(log.contains("Permission denied"), "{log}");
    assert!(!log.contains("the key was READ"), "{log}");
    assert!(cluster.worker_log("w1").contains("run under Landlock"), "{}", cluster.worker_log("w1"));
}
