//! A soak test bounded in time: a few hundred tiny jobs over three workers while workers are killed and restarted
//! at random. At the end every job succeeded exactly once and every file is whole.

mod common;

use common::*;
use std::time::{Duration, Instant};

const JOBS: usize = 200;
const KILLS: usize = 12;
const LIMIT: Duration = Duration::from_secs(300);

#[test]
fn every_job_succeeds_exactly_once_while_workers_die() {
    let mut flags = FAST_FAILURE_DETECTION.to_vec();
    flags.extend(["--max-attempts", "20"]);
    let mut cluster = Cluster::start_with(3, &flags);
    let dir = cluster.dir.path().join("soak");
    std::fs::create_dir_all(&dir).unwrap();
    let project = projects::tiny(&dir, "template.mlt", 5);
    let mut ids = Vec::new();
    for i in 0..JOBS {
        let output = dir.join(format!("out-{i:03}.mp4"));
        ids.push((
            cluster.submit(&project, &["--output", output.to_str().unwrap()]),
            output,
        ));
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
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(300 + next() % 700));
        let victim = format!("w{}", 1 + next() % 3);
        cluster.kill_worker(&victim);
        std::thread::sleep(Duration::from_millis(next() % 500));
        cluster.start_worker(&victim);
        assert!(start.elapsed() < LIMIT, "the kills took too long");
    }

    for (id, output) in &ids {
        let job = cluster.wait_final(*id, LIMIT.saturating_sub(start.elapsed()).max(Duration::from_secs(30)));
        assert_eq!(job["state"], "succeeded", "{job}");
        let successes = job["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "succeeded")
            .count();
        assert_eq!(successes, 1, "exactly one success: {job}");
        assert_eq!(job["output"], output.to_str().unwrap());
        assert_eq!(probe(output).video_frames, 5, "{} is whole", output.display());
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
