//! A soak test bounded in time: a few hundred tiny jobs over three workers while workers are killed and restarted
//! at random for as long as jobs remain. At the end every job succeeded exactly once (one success recorded, one
//! render put in place, counted in the workers' own logs) and every file is whole.

mod common;

use common::*;
use std::time::{Duration, Instant};

const JOBS: usize = 200;
/// Kills at most; they stop earlier when every job has ended.
const KILLS: usize = 40;
const LIMIT: Duration = Duration::from_secs(300);

#[test]
fn every_job_succeeds_exactly_once_while_workers_die() {
    let mut flags = FAST_FAILURE_DETECTION.to_vec();
    // melt itself sometimes hangs on a tiny render under load (its consumer thread gone, its main thread waiting
    // for ever); a short stall timeout turns that into a retry elsewhere instead of a two-minute wait.
    flags.extend(["--max-attempts", "50", "--stall-timeout", "10"]);
    let mut cluster = Cluster::start_with(3, &flags);
    let dir = cluster.dir.path().join("soak");
    std::fs::create_dir_all(&dir).unwrap();
    let project = projects::tiny(&dir, "template.mlt", 5);
    let mut ids = Vec::new();
    for i in 0..JOBS {
        let output = dir.join(format!("out-{i:03}.mp4"));
        ids.push((cluster.submit(&project, &["--output", output.to_str().unwrap()]), output));
    }

    // A small deterministic generator: the same run every time, yet no pattern the scheduler could follow.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = Instant::now();
    let unfinished = |cluster: &Cluster| {
        let list = cluster.json(&["job", "list", "--json"]);
        list.as_array()
            .unwrap()
            .iter()
            .filter(|j| !matches!(j["state"].as_str(), Some("succeeded" | "failed" | "cancelled")))
            .count()
    };
    let mut kills = 0;
    while kills < KILLS && unfinished(&cluster) > 0 {
        assert!(start.elapsed() < LIMIT, "the jobs took too long");
        std::thread::sleep(Duration::from_millis(200 + next() % 600));
        let victim = format!("w{}", 1 + next() % 3);
        cluster.kill_worker(&victim);
        std::thread::sleep(Duration::from_millis(next() % 400));
        cluster.start_worker(&victim);
        kills += 1;
    }
    assert!(kills >= 5, "workers died while jobs ran ({kills} kills)");

    for (id, output) in &ids {
        let job = cluster.wait_final(*id, LIMIT.saturating_sub(start.elapsed()).max(Duration::from_secs(30)));
        assert_eq!(job["state"], "succeeded", "{job}");
        let successes = job["attempts"].as_array().unwrap().iter().filter(|a| a["outcome"] == "succeeded").count();
        assert_eq!(successes, 1, "exactly one success recorded: {job}");
        assert_eq!(job["output"], output.to_str().unwrap());
        assert_eq!(probe(output).video_frames, 5, "{} is whole", output.display());
    }
    // Read the logs once every job has ended: the succeeded attempt put its file in place exactly once, and only
    // attempts the coordinator committed put a file in place at all. (A worker killed after putting the file in
    // place, before its report was acknowledged, loses that attempt: the next one renders the job again and
    // replaces the file with its own.)
    let logs: String = (1..=3).map(|i| cluster.worker_log(&format!("w{i}"))).collect();
    for (id, _) in &ids {
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
    let partials: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".partial."))
        .collect();
    assert!(partials.is_empty(), "no partial file left: {partials:?}");
    let list = cluster.json(&["job", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), JOBS, "every job recorded, none twice");
}
