//! Whatever dies, and whenever, every job ends exactly once in a final state, with a whole file or a clear reason.
//! Real processes, killed with SIGKILL; real melt.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn attempts(job: &Value) -> Vec<Value> {
    job["attempts"].as_array().cloned().unwrap_or_default()
}

fn successes(job: &Value) -> usize {
    attempts(job).iter().filter(|a| a["outcome"] == "succeeded").count()
}

#[test]
fn killing_the_rendering_worker_moves_the_job_to_another() {
    let mut cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::slow(&dir, "slow.mlt", 200);
    let id = cluster.submit(&project, &[]);
    let running = cluster.wait_running(id);
    let first = running["worker"].as_str().unwrap().to_string();
    cluster.kill_worker(&first);

    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_ne!(job["worker"], first.as_str(), "another worker finished it");
    assert_eq!(successes(&job), 1, "exactly one success: {job}");
    let first_attempt = &attempts(&job)[0];
    assert_eq!(first_attempt["worker"], first.as_str());
    assert_eq!(first_attempt["outcome"], format!("worker {first} was lost"));
    assert_eq!(probe(&dir.join("slow.mp4")).video_frames, 200);
    assert!(
        melt_processes(&format!("job{id}-1.partial")).is_empty(),
        "the dead worker's melt died with it"
    );
}

#[test]
fn killing_the_coordinator_mid_render_loses_nothing() {
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let running_id = cluster.submit(&projects::slow(&dir, "first.mlt", 150), &[]);
    let queued_id = cluster.submit(&projects::tiny(&dir, "second.mlt", 10), &[]);
    cluster.wait_running(running_id);
    cluster.kill_coordinator();
    std::thread::sleep(Duration::from_millis(500));
    cluster.restart_coordinator();

    let first = cluster.wait_final(running_id, LIMIT);
    assert_eq!(first["state"], "succeeded", "{first}");
    assert_eq!(
        attempts(&first).len(),
        1,
        "the worker's result was taken once, from the same attempt: {first}"
    );
    assert_eq!(successes(&first), 1);
    assert_eq!(probe(&dir.join("first.mp4")).video_frames, 150);
    let second = cluster.wait_final(queued_id, LIMIT);
    assert_eq!(
        second["state"], "succeeded",
        "the queued job was dispatched after the restart: {second}"
    );
    assert_eq!(probe(&dir.join("second.mp4")).video_frames, 10);
}

#[test]
fn cancelling_a_running_job_kills_melt_and_leaves_no_file() {
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "cancel me.mlt", 400), &[]);
    cluster.wait_running(id);
    let partial = format!("job{id}-1.partial");
    assert!(!melt_processes(&partial).is_empty(), "melt runs before the cancel");
    let output = cluster.cli(&["job", "cancel", &id.to_string()]);
    ok(&output);
    assert_eq!(
        stdout(&output).trim(),
        format!("job {id} cancelled: cancelled by alice")
    );
    cluster.wait_until(Duration::from_secs(20), "melt to be gone", || {
        melt_processes(&partial).is_empty()
    });
    let job = cluster.job(id);
    assert_eq!(job["state"], "cancelled");
    cluster.wait_until(Duration::from_secs(20), "the worker to be idle again", || {
        cluster.worker("w1")["state"] == "idle"
    });
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("cancel me") && name.contains("mp4"))
        .filter(|name| !name.ends_with(".log"))
        .collect();
    assert!(left.is_empty(), "no output or partial file: {left:?}");

    // A cancelled job can be retried and then renders.
    ok(&cluster.cli(&["job", "retry", &id.to_string()]));
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(probe(&dir.join("cancel me.mp4")).video_frames, 400);
}

#[test]
fn a_render_that_always_fails_is_tried_on_each_worker_then_fails_with_every_reason() {
    let cluster = Cluster::start_with(3, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::tiny(&dir, "bad codec.mlt", 10);
    let id = cluster.submit(&project, &["--vcodec", "no_such_encoder"]);
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.starts_with("failed after 3 attempts: #1 on w"), "{error}");
    assert_eq!(
        error.matches("no_such_encoder unrecognised - ignoring").count(),
        3,
        "{error}"
    );
    let workers: std::collections::BTreeSet<_> = attempts(&job).iter().map(|a| a["worker"].to_string()).collect();
    assert_eq!(workers.len(), 3, "each attempt on another worker: {job}");
    assert!(!dir.join("bad codec.mp4").exists());
}

#[test]
fn a_worker_that_fails_job_after_job_is_marked_suspect() {
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    for i in 0..3 {
        let id = cluster.submit(
            &projects::tiny(&dir, &format!("f{i}.mlt"), 5),
            &["--acodec", "no_such_audio"],
        );
        assert_eq!(cluster.wait_final(id, LIMIT)["state"], "failed");
    }
    let worker = cluster.worker("w1");
    assert_eq!(worker["recent_failures"], 3, "{worker}");
    assert_eq!(worker["suspect"], true, "{worker}");
    let id = cluster.submit(&projects::tiny(&dir, "good.mlt", 5), &[]);
    assert_eq!(cluster.wait_final(id, LIMIT)["state"], "succeeded");
    assert_eq!(cluster.worker("w1")["suspect"], false, "a success clears it");
}
