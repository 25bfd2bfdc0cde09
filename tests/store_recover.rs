//! `node --role coordinator --recover` with real processes: a store whose snapshot is damaged (the way sled reports
//! `Corruption` at open) stops a coordinator started without it, with the line that says what to do; started with
//! it, the coordinator moves the damaged database aside (kept), says so in one warning line, and serves on a fresh
//! store whose ids go on past the old jobs'.

mod common;

use common::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Flips bytes in the middle of sled's snapshot file (sled writes one when it opens a store the second time).
fn damage_snapshot(sled_dir: &std::path::Path) {
    let snapshots = distencode_actors::store::sled_snapshots(sled_dir).unwrap();
    let snapshot = snapshots.first().expect("sled wrote a snapshot at the second open");
    let mut bytes = std::fs::read(snapshot).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 4] {
        *byte ^= 0xff;
    }
    std::fs::write(snapshot, bytes).unwrap();
}

#[test]
fn a_damaged_store_stops_the_coordinator_unless_it_starts_with_recover_and_ids_go_on() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let old: Vec<u64> = (0..3).map(|i| cluster.submit(&projects::tiny(&dir, &format!("old{i}.mlt"), 5), &[])).collect();
    for id in &old {
        assert_eq!(cluster.wait_final(*id, LIMIT)["state"], "succeeded");
    }
    // Two clean stops, the second after the open that writes the snapshot; then the snapshot is damaged.
    for _ in 0..2 {
        cluster.terminate(None);
        assert!(cluster.wait_exit(None, Duration::from_secs(30)).success());
        cluster.restart_coordinator();
        // The worker is back on this coordinator before it stops again.
        cluster.wait_for_workers(1);
    }
    cluster.terminate(None);
    assert!(cluster.wait_exit(None, Duration::from_secs(30)).success());
    let data = dir.join("coordinator-data");
    damage_snapshot(&data.join("jobs.sled"));

    let certs = cluster.certs.to_str().unwrap().to_string();
    let refused = distencode(&[
        "node",
        "--role",
        "coordinator",
        "--listen",
        "127.0.0.1:0",
        "--name",
        "coord",
        "--data-dir",
        data.to_str().unwrap(),
        "--certs",
        &certs,
    ]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim_end().lines().last().unwrap(),
        format!(
            "distencode: the job store in {}/jobs.sled is damaged (job store: Read corrupted data at file offset \
             None backtrace ()): restore a backup (distencode store restore, docs/operations.md), or start with \
             --recover",
            data.display()
        )
    );
    let before: Vec<_> = std::fs::read_dir(&data).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!before.iter().any(|name| name.to_string_lossy().contains("damaged")), "nothing moved: {before:?}");

    cluster.restart_coordinator_with(&["--recover"]);
    let moved: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("jobs.sled.damaged-"))
        .collect();
    assert_eq!(moved.len(), 1, "the damaged database is kept aside: {moved:?}");
    assert!(moved[0].join("db").is_file());
    let log = cluster.coordinator_log();
    // sled says what it found ("corrupt snapshot file found, ..."); the coordinator says what it did, once.
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ") && l.contains("damaged-")).collect();
    assert_eq!(warnings.len(), 1, "one warning line names the moved folder: {log}");
    assert!(
        warnings[0].ends_with(&format!(
            "the job store in {}/jobs.sled was damaged: moved it to {} (kept) and started on an empty store; job ids \
             go on from 4 (read from the damaged store)",
            data.display(),
            moved[0].display()
        )),
        "{}",
        warnings[0]
    );

    cluster.wait_for_workers(1);
    let new = cluster.submit(&projects::tiny(&dir, "new.mlt", 5), &[]);
    assert!(old.iter().all(|id| new > *id), "job {new} has an id above the old ones {old:?}");
    assert_eq!(cluster.wait_final(new, LIMIT)["state"], "succeeded");
    assert_eq!(probe(&dir.join("new.mp4")).video_frames, 5);
    let list = cluster.json(&["job", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "a fresh store: {list}");

    // Without damage, --recover changes nothing.
    cluster.terminate(None);
    assert!(cluster.wait_exit(None, Duration::from_secs(30)).success());
    cluster.restart_coordinator_with(&["--recover"]);
    cluster.wait_for_workers(1);
    assert_eq!(cluster.job(new)["state"], "succeeded");
    let moved_again = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("jobs.sled.damaged-"));
    assert_eq!(moved_again.count(), 1);
}
