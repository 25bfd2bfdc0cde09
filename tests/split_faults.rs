//! Faults during a split render, with real processes and real melt: a chunk's worker killed with SIGKILL, and a
//! cancel while chunks render. The other tasks keep their work, and nothing of the split is left behind.

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
