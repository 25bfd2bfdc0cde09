//! SIGTERM with real processes: a worker drains (finishes and reports its render, takes nothing new, exits 0); a
//! second SIGTERM gives the render up (melt killed, the job rendered by another worker); a coordinator closes its
//! connections cleanly, keeps every change, and exits 0.

mod common;

use common::{melt_processes, partial_of, probe, projects, serial, Cluster, FAST_FAILURE_DETECTION};
use std::time::Duration;

/// Long enough for any render here on a loaded machine.
const LIMIT: Duration = Duration::from_secs(300);

/// Submits a slow render of `frames` frames as `name`.mlt and waits until melt renders it; its job id, output and
/// partial file.
fn rendering(cluster: &Cluster, name: &str, frames: u64) -> (u64, std::path::PathBuf, String) {
    let dir = cluster.dir.path();
    let id = cluster.submit(&projects::slow(dir, &format!("{name}.mlt"), frames), &[]);
    cluster.wait_running(id);
    let output = dir.join(format!("{name}.mp4"));
    let partial = partial_of(&output, id, 1);
    assert!(!melt_processes(&partial).is_empty(), "melt renders before the SIGTERM");
    (id, output, partial)
}

#[test]
fn a_worker_told_to_stop_finishes_its_render_takes_nothing_new_and_exits_0() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let (id, output, partial) = rendering(&cluster, "drain", 100);
    cluster.terminate(Some("w1"));
    cluster
        .wait_until(Duration::from_secs(30), "the worker to be leaving", || cluster.worker("w1")["state"] == "leaving");
    // Submitted while it drains: nobody takes it.
    let second = cluster.submit(&projects::tiny(&dir, "after.mlt", 10), &[]);

    let status = cluster.wait_exit(Some("w1"), LIMIT);
    assert_eq!(status.code(), Some(0), "worker log:\n{}", cluster.worker_log("w1"));
    let job = cluster.job(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "rendered once: {job}");
    assert_eq!(probe(&output).video_frames, 100);
    let second = cluster.job(second);
    assert_eq!(second["state"], "queued", "{second}");
    assert!(second["attempts"].as_array().unwrap().is_empty(), "never offered to the leaving worker: {second}");
    assert!(melt_processes(&partial).is_empty(), "no melt left");
    assert!(cluster.worker_log("w1").contains("SIGTERM: finishing the render in progress"));
}

#[test]
fn a_second_sigterm_gives_the_render_up_and_another_worker_renders_it() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let (id, output, partial) = rendering(&cluster, "give up", 150);
    // A second worker arrives only now, so the job started on w1.
    cluster.issue("worker", "w2");
    cluster.start_worker("w2");
    cluster.terminate(Some("w1"));
    cluster
        .wait_until(Duration::from_secs(30), "the worker to be leaving", || cluster.worker("w1")["state"] == "leaving");
    cluster.terminate(Some("w1"));
    let status = cluster.wait_exit(Some("w1"), Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "worker log:\n{}", cluster.worker_log("w1"));
    assert!(melt_processes(&partial).is_empty(), "the first worker's melt was killed");

    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    let attempts = job["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["worker"], "w1");
    assert_eq!(attempts[0]["outcome"], "worker w1 stopped the render", "{job}");
    assert_eq!(job["worker"], "w2", "{job}");
    assert_eq!(probe(&output).video_frames, 150);
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("give up") && name.contains(".partial."))
        .collect();
    assert!(left.is_empty(), "no partial file left: {left:?}");
}

#[test]
fn a_worker_gives_its_render_up_when_the_shutdown_timeout_passes() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(0, FAST_FAILURE_DETECTION);
    cluster.issue("worker", "w1");
    cluster.start_worker_with("w1", &["--shutdown-timeout", "1"]);
    cluster.wait_for_workers(1);
    let (id, _, partial) = rendering(&cluster, "timeout", 400);
    cluster.terminate(Some("w1"));
    let status = cluster.wait_exit(Some("w1"), Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "worker log:\n{}", cluster.worker_log("w1"));
    assert!(melt_processes(&partial).is_empty(), "melt was killed");
    let job = cluster.job(id);
    assert_eq!(job["state"], "queued", "back in the queue for another worker: {job}");
    assert_eq!(job["attempts"][0]["outcome"], "worker w1 stopped the render", "{job}");
    assert!(cluster.worker_log("w1").contains("did not finish within the shutdown timeout"));
}

#[test]
fn a_coordinator_told_to_stop_closes_cleanly_keeps_everything_and_exits_0() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let done = cluster.submit(&projects::tiny(&dir, "done.mlt", 10), &[]);
    let job = cluster.wait_final(done, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    cluster.terminate(None);
    let status = cluster.wait_exit(None, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "coordinator log:\n{}", cluster.coordinator_log());
    let log = cluster.coordinator_log();
    assert!(log.contains("coordinator stopped"), "{log}");
    // The worker saw a clean end (close_notify), not a broken connection.
    cluster.wait_until(Duration::from_secs(10), "the worker to notice", || {
        cluster.worker_log("w1").contains("the coordinator closed the connection")
    });

    cluster.restart_coordinator();
    cluster.wait_for_workers(1);
    let job = cluster.job(done);
    assert_eq!(job["state"], "succeeded", "kept across the stop: {job}");
    let again = cluster.submit(&projects::tiny(&dir, "again.mlt", 10), &[]);
    assert_eq!(cluster.wait_final(again, LIMIT)["state"], "succeeded");
}

#[test]
fn a_sigterm_as_soon_as_the_coordinator_says_it_listens_stops_it_cleanly() {
    // A supervisor may stop it the moment its first line is out: SIGTERM is caught from then on, not left to kill
    // it until its serving loop first runs.
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    for _ in 0..10 {
        cluster.terminate(None);
        let status = cluster.wait_exit(None, Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "coordinator log:\n{}", cluster.coordinator_log());
        cluster.restart_coordinator();
    }
}
