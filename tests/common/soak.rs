//! What the soak tests share: many tiny jobs submitted at once, and the check that every one of them succeeded
//! exactly once (one success recorded, one render put in place, counted in the workers' own logs), whole, with no
//! partial file left and no job recorded twice.

use super::{probe, projects, Cluster};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Frames of each soak job.
pub const FRAMES: u64 = 5;

/// Submits `count` tiny jobs of one project in `dir`, each to its own output; their ids and outputs.
pub fn submit_tiny_jobs(cluster: &Cluster, dir: &Path, count: usize) -> Vec<(u64, PathBuf)> {
    let project = projects::tiny(dir, "template.mlt", FRAMES);
    (0..count)
        .map(|i| {
            let output = dir.join(format!("out-{i:03}.mp4"));
            (cluster.submit(&project, &["--output", output.to_str().unwrap()]), output)
        })
        .collect()
}

/// How many jobs of the cluster are not in a final state.
pub fn unfinished(cluster: &Cluster) -> usize {
    let list = cluster.json(&["job", "list", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .filter(|j| !matches!(j["state"].as_str(), Some("succeeded" | "failed" | "cancelled")))
        .count()
}

/// Waits (at most `limit` in all) for every job of `ids` and checks that each succeeded exactly once, whole, that
/// only committed attempts of the workers `w1..=workers` put a file in place, that no partial file is left in
/// `dir` and that the cluster recorded these jobs and no other.
pub fn assert_each_succeeded_once(
    cluster: &Cluster,
    ids: &[(u64, PathBuf)],
    dir: &Path,
    workers: usize,
    limit: Duration,
) {
    let start = std::time::Instant::now();
    for (id, output) in ids {
        let job = cluster.wait_final(*id, limit.saturating_sub(start.elapsed()).max(Duration::from_secs(30)));
        assert_eq!(job["state"], "succeeded", "{job}");
        let successes = job["attempts"].as_array().unwrap().iter().filter(|a| a["outcome"] == "succeeded").count();
        assert_eq!(successes, 1, "exactly one success recorded: {job}");
        assert_eq!(job["output"], output.to_str().unwrap());
        assert_eq!(probe(output).video_frames, FRAMES, "{} is whole", output.display());
    }
    // Read the logs once every job has ended: the succeeded attempt put its file in place exactly once, and only
    // attempts the coordinator committed put a file in place at all. (A worker killed after putting the file in
    // place, before its report was acknowledged, loses that attempt: the next one renders the job again and
    // replaces the file with its own.)
    let logs: String = (1..=workers).map(|i| cluster.worker_log(&format!("w{i}"))).collect();
    for (id, _) in ids {
        let job = cluster.job(*id);
        for attempt in job["attempts"].as_array().unwrap() {
            let number = attempt["number"].as_u64().unwrap();
            let renames = logs.matches(&format!("render in place job={id} attempt={number} ")).count();
            if attempt["outcome"] == "succeeded" {
                assert_eq!(renames, 1, "job {id} attempt {number} was put in place {renames} times: {job}");
            } else {
                assert!(renames <= 1, "job {id} attempt {number} was put in place {renames} times: {job}");
                assert!(renames == 0 || !attempt["committed_at"].is_null(), "uncommitted attempt in place: {job}");
            }
        }
    }
    let partials = super::partial_files(dir);
    assert!(partials.is_empty(), "no partial file left: {partials:?}");
    let list = cluster.json(&["job", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), ids.len(), "every job recorded, none twice, no other");
}
