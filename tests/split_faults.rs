//! Faults during a split render, with real processes and real melt: a chunk's worker killed with SIGKILL, a chunk's
//! melt that stops answering, a coordinator killed and restarted while chunks render, and a cancel. The other
//! tasks keep their work, and nothing of the split is left behind.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(240);
/// 20.2 s of 640x360 noise at 25 fps: two chunks of at least 10 s on multiples of the 12-frame GOP.
const FRAMES: u64 = 504;

fn tasks(job: &Value) -> Vec<Value> {
    job["tasks"].as_array().cloned().unwrap_or_default()
}

/// The workers rendering the job's chunks, once `count` of them run.
fn wait_for_running_chunks(cluster: &Cluster, id: u64, count: usize) -> Vec<String> {
    let mut workers = Vec::new();
    cluster.wait_until(Duration::from_secs(90), "the chunks to run", || {
        let job = cluster.job(id);
        workers = tasks(&job)
            .iter()
            .filter(|t| t["kind"] == "chunk" && t["state"] == "running")
            .filter_map(|t| t["worker"].as_str().map(str::to_string))
            .collect();
        workers.len() == count
    });
    workers
}

/// The hidden files a split of `output`'s job `id` writes beside it (chunks, the audio pass, their partial folders).
fn split_files(output: &Path, id: u64) -> Vec<String> {
    let name = output.file_name().unwrap().to_string_lossy();
    let prefix = format!(".{name}.job{id}.");
    let dir = output.parent().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(&prefix))
        .collect()
}

#[test]
fn killing_a_chunks_worker_moves_that_chunk_to_another_while_the_other_keeps_its_work() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(3, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let output = dir.join("long.mp4");
    let id = cluster.submit(&projects::slow(&dir, "long.mlt", FRAMES), &["--split", "2"]);
    let running = wait_for_running_chunks(&cluster, id, 2);
    let victim = running[1].clone();
    cluster.kill_worker(&victim);

    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    let chunks: Vec<Value> = tasks(&job).into_iter().filter(|t| t["kind"] == "chunk").collect();
    assert_eq!(chunks.len(), 2, "{job}");
    let attempts: Vec<u64> = chunks.iter().map(|t| t["attempts"].as_u64().unwrap()).collect();
    let moved = chunks.iter().find(|t| t["attempts"] == 2).expect("the killed worker's chunk ran twice");
    assert_eq!(attempts.iter().filter(|&&a| a == 1).count(), 1, "the other chunk kept its work: {job}");
    assert_ne!(moved["worker"], victim.as_str(), "{job}");
    assert_eq!(probe(&output).video_frames, FRAMES);
    cluster.wait_until(Duration::from_secs(20), "the chunk files to go", || split_files(&output, id).is_empty());
    assert!(melt_processes(&format!(".long.mp4.job{id}.")).is_empty(), "no melt of the split is left");
}

#[test]
fn cancelling_a_split_job_stops_every_task_and_leaves_no_chunk_file() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path().to_path_buf();
    let output = dir.join("stopped.mp4");
    let id = cluster.submit(&projects::slow(&dir, "stopped.mlt", FRAMES), &["--split", "2"]);
    wait_for_running_chunks(&cluster, id, 2);
    ok(&cluster.cli(&["job", "cancel", &id.to_string()]));

    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "cancelled", "{job}");
    let all = tasks(&job);
    assert!(all.iter().filter(|t| t["kind"] == "chunk").all(|t| t["state"] == "cancelled"), "{job}");
    // The audio pass is quick: it may have ended before the cancel.
    assert!(all.iter().all(|t| t["state"] == "cancelled" || t["state"] == "succeeded"), "{job}");
    cluster.wait_until(Duration::from_secs(30), "the split's melts to end", || {
        melt_processes(&format!(".stopped.mp4.job{id}.")).is_empty()
    });
    cluster.wait_until(Duration::from_secs(30), "the chunk files to go", || split_files(&output, id).is_empty());
    assert!(!output.exists(), "a cancelled job leaves no output");
}

#[test]
fn a_stalled_chunk_is_killed_as_stalled_and_rerun_while_the_other_keeps_its_work() {
    let _one_at_a_time = serial();
    let mut flags = FAST_FAILURE_DETECTION.to_vec();
    // Short for a test: a stopped melt uses no CPU, while one flushing x264's last frames does (and is not stalled).
    flags.extend(["--stall-timeout", "8"]);
    let cluster = Cluster::start_with(3, &flags);
    let dir = cluster.dir.path().to_path_buf();
    let output = dir.join("stall.mp4");
    let id = cluster.submit(&projects::slow(&dir, "stall.mlt", FRAMES), &["--split", "2"]);
    wait_for_running_chunks(&cluster, id, 2);
    // Stopped before it renders, melt could not be told from one that lost MLT's start race (whose worker starts it
    // again within the attempt): wait until the second chunk's melt reports progress.
    let second =
        tasks(&cluster.job(id)).iter().filter(|t| t["kind"] == "chunk").nth(1).unwrap()["job"].as_u64().unwrap();
    cluster.wait_until(Duration::from_secs(90), "the second chunk to report progress", || {
        cluster.job(second)["progress"].as_f64().is_some_and(|p| p > 0.0)
    });
    let pid = melt_pid_of(&format!(".stall.mp4.job{id}.chunk1"));
    let stopped = std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap();
    assert!(stopped.success());

    let job = cluster.wait_final(id, LIMIT);
    let chunk = |n: usize| cluster.job(tasks(&job)[n]["job"].as_u64().unwrap());
    assert_eq!(job["state"], "succeeded", "{job}\n{}\n{}", chunk(0), chunk(1));
    let chunks: Vec<Value> = tasks(&job).into_iter().filter(|t| t["kind"] == "chunk").collect();
    assert_eq!(chunks.iter().map(|t| t["attempts"].as_u64()).collect::<Vec<_>>(), [Some(1), Some(2)], "{job}");
    let stalled = cluster.job(chunks[1]["job"].as_u64().unwrap());
    let first = &stalled["attempts"][0];
    let worker = first["worker"].as_str().unwrap();
    assert_eq!(first["outcome"], format!("worker {worker}: melt stalled: no output for 8s"), "{stalled}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the stalled melt was killed");
    assert_eq!(probe(&output).video_frames, FRAMES);
    cluster.wait_until(Duration::from_secs(20), "the chunk files to go", || split_files(&output, id).is_empty());
}

#[test]
fn a_coordinator_killed_and_restarted_mid_split_loses_nothing() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let output = dir.join("restart.mp4");
    let id = cluster.submit(&projects::slow(&dir, "restart.mlt", FRAMES), &["--split", "2"]);
    wait_for_running_chunks(&cluster, id, 2);
    let planned: Vec<(Value, Value, Value, Value)> = tasks(&cluster.job(id))
        .iter()
        .map(|t| (t["job"].clone(), t["kind"].clone(), t["first"].clone(), t["last"].clone()))
        .collect();
    cluster.kill_coordinator();
    cluster.restart_coordinator();

    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    let after: Vec<(Value, Value, Value, Value)> = tasks(&job)
        .iter()
        .map(|t| (t["job"].clone(), t["kind"].clone(), t["first"].clone(), t["last"].clone()))
        .collect();
    assert_eq!(after[..planned.len()], planned, "the same tasks, as stored before the restart");
    assert_eq!(after.last().map(|t| t.1.clone()), Some(Value::from("join")), "then the join: {job}");
    assert!(tasks(&job).iter().all(|t| t["state"] == "succeeded"), "{job}");
    assert_eq!(probe(&output).video_frames, FRAMES);
    assert_eq!(job["facts"]["frames"], FRAMES);
    cluster.wait_until(Duration::from_secs(20), "the chunk files to go", || split_files(&output, id).is_empty());
}
