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
    let ids = soak::submit_tiny_jobs(&cluster, &dir, JOBS);

    // A small deterministic generator: the same run every time, yet no pattern the scheduler could follow.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = Instant::now();
    let mut kills = 0;
    while kills < KILLS && soak::unfinished(&cluster) > 0 {
        assert!(start.elapsed() < LIMIT, "the jobs took too long");
        std::thread::sleep(Duration::from_millis(200 + next() % 600));
        let victim = format!("w{}", 1 + next() % 3);
        cluster.kill_worker(&victim);
        std::thread::sleep(Duration::from_millis(next() % 400));
        cluster.start_worker(&victim);
        kills += 1;
    }
    assert!(kills >= 5, "workers died while jobs ran ({kills} kills)");
    soak::assert_each_succeeded_once(&cluster, &ids, &dir, 3, LIMIT.saturating_sub(start.elapsed()));
}
