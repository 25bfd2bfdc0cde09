//! The farm's record of its workers, with real processes: a worker whose ffmpeg differs announces another render
//! stack, `job submit --like W` renders on a worker of W's stack, and `worker forget` removes a worker that is gone
//! while refusing one that is connected.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// An ffmpeg that says it is another version and otherwise is this machine's ffmpeg.
fn other_ffmpeg(dir: &Path) -> PathBuf {
    let path = dir.join("ffmpeg-9.9.9");
    let script = "#!/bin/sh\nif [ \"$1\" = \"-version\" ]; then\n  echo 'ffmpeg version 9.9.9-farm Copyright (c) 2000-2026 the FFmpeg developers'\n  exit 0\nfi\nexec ffmpeg \"$@\"\n";
    write_script(&path, script);
    path
}

#[test]
fn a_job_submitted_like_a_worker_renders_on_a_worker_with_that_render_stack() {
    let mut cluster = Cluster::start(1);
    let dir = cluster.dir.path().to_path_buf();
    let ffmpeg = other_ffmpeg(&dir);
    cluster.issue("worker", "w2");
    cluster.start_worker_with("w2", &["--ffmpeg", ffmpeg.to_str().unwrap()]);
    cluster.wait_for_workers(2);
    let (w1, w2) = (cluster.worker("w1"), cluster.worker("w2"));
    assert_eq!(w2["fingerprint"]["ffmpeg"], "9.9.9-farm", "{w2}");
    assert_ne!(w1["fingerprint"]["ffmpeg"], w2["fingerprint"]["ffmpeg"], "{w1}");
    assert_eq!(w1["fingerprint"]["melt"], w2["fingerprint"]["melt"]);

    for (like, name) in [("w2", "like-w2"), ("w1", "like-w1"), ("w2", "again-w2")] {
        let project = projects::tiny(&dir, &format!("{name}.mlt"), 25);
        let id = cluster.submit(&project, &["--like", like]);
        let job = cluster.wait_final(id, LIMIT);
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["worker"], like, "a job like {like} ran elsewhere: {job}");
        assert_eq!(probe(&dir.join(format!("{name}.mp4"))).video_frames, 25);
    }
    let refused =
        cluster.cli(&["job", "submit", projects::tiny(&dir, "nobody.mlt", 25).to_str().unwrap(), "--like", "w9"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("w9"), "{}", stderr(&refused));
}

#[test]
fn a_gone_worker_is_forgotten_and_a_connected_one_is_not() {
    let mut cluster = Cluster::start(2);
    let connected = cluster.cli(&["worker", "forget", "w1"]);
    assert!(!connected.status.success());
    assert_eq!(
        stderr(&connected).trim(),
        "distencode: worker w1 is connected; stop it first (on its machine: systemctl stop distencode-worker), then \
         forget it"
    );
    cluster.kill_worker("w2");
    cluster.wait_until(Duration::from_secs(30), "w2 to be seen gone", || cluster.worker("w2")["state"] == "lost");
    let forgotten = cluster.cli(&["worker", "forget", "w2"]);
    ok(&forgotten);
    assert_eq!(stdout(&forgotten).trim(), "worker w2 forgotten: it is no longer listed, nor reserved or drained");
    let names: Vec<String> = cluster.workers().iter().map(|w| w["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["w1"]);
    let again = cluster.cli(&["worker", "forget", "w2"]);
    assert!(!again.status.success());
    assert_eq!(stderr(&again).trim(), "distencode: no worker w2 is known: nothing to forget");
}
