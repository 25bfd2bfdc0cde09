//! melt and ffmpeg jobs cannot read the worker's certificates even when nothing else stops them (Landlock,
//! `actors/src/runner/sandbox.rs`). The checks refuse every project and ffmpeg input that names the key
//! (`tests/hostile_projects.rs`); here the worker's melt itself tries, as a melt that a project got past the checks
//! would: a wrapper around the real melt reads the worker's key first and says in the job's log whether it could.
//! The render still succeeds, so confinement leaves melt working. The ffmpeg that makes a render's poster frame and
//! the one that joins a split render's chunks are confined too: a wrapper ffmpeg tries the key the same way and
//! leaves a note of what it could do. Skipped where the kernel has no Landlock.

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
    write_script(&path, &script);
    path
}

/// An ffmpeg that, when it makes a poster (`-update`) or joins chunks (`concat`), first tries to read `key` and
/// appends to `notes` what it was doing and whether it could.
fn ffmpeg_that_reads(dir: &Path, key: &Path, notes: &Path) -> std::path::PathBuf {
    let script = format!(
        r#"#!/bin/sh
case "$*" in
  *-update*) what=poster ;;
  *concat*) what=join ;;
  *) exec ffmpeg "$@" ;;
esac
if cat '{key}' >/dev/null 2>&1; then echo "$what: the key was READ" >> '{notes}'
else echo "$what: the key could not be read" >> '{notes}'; fi
exec ffmpeg "$@"
"#,
        key = key.display(),
        notes = notes.display()
    );
    let path = dir.join("ffmpeg-that-reads");
    write_script(&path, &script);
    path
}

/// Whether this kernel confines; on CI it must.
fn landlock_here() -> bool {
    match distencode_actors::runner::sandbox::status() {
        Ok(()) => true,
        Err(reason) => {
            assert!(std::env::var_os("CI").is_none(), "CI must run the sandbox test, but {reason}");
            eprintln!("skipped: {reason}");
            false
        }
    }
}

#[test]
fn the_ffmpeg_of_a_poster_and_of_a_join_cannot_read_the_workers_key() {
    if !landlock_here() {
        return;
    }
    let mut cluster = Cluster::start(0);
    cluster.issue("worker", "w1");
    let key = cluster.certs.join("w1.key");
    let notes = cluster.dir.path().join("ffmpeg-notes.txt");
    let ffmpeg = ffmpeg_that_reads(cluster.dir.path(), &key, &notes);
    cluster.start_worker_with("w1", &["--ffmpeg", ffmpeg.to_str().unwrap()]);
    cluster.wait_for_workers(1);

    // Long enough for two chunks (each at least 10 s, on GOP boundaries).
    let project = projects::color_and_tone(cluster.dir.path(), "split.mlt", 600);
    let id = cluster.submit(&project, &["--split", "2"]);
    let job = cluster.wait_final(id, Duration::from_secs(180));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tasks"].as_array().map(Vec::len), Some(4), "two chunks, the audio pass and the join: {job}");
    assert_eq!(probe(&cluster.dir.path().join("split.mp4")).video_frames, 600);
    let read = |what: &str| std::fs::read_to_string(&notes).unwrap_or_default().contains(what);
    cluster.wait_until(Duration::from_secs(30), "the poster's ffmpeg to run", || read("poster:"));
    let notes = std::fs::read_to_string(&notes).unwrap();
    assert!(notes.contains("join: the key could not be read"), "{notes}");
    assert!(notes.contains("poster: the key could not be read"), "{notes}");
    assert!(!notes.contains("READ"), "{notes}");
}

#[test]
fn a_melt_that_tries_to_read_the_workers_key_is_refused_by_the_kernel_and_still_renders() {
    if !landlock_here() {
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
