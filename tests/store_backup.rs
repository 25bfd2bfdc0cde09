//! `store backup` and `store restore` with real processes: a store with a finished job (and its log), one rendering
//! and one queued is copied by the running coordinator (`--online`) and again once it is stopped; the data dir is
//! lost, the online copy is put back, and the restarted coordinator has every job; the worker rendering through it
//! all finishes its job once.

mod common;

use common::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_backup_of_a_store_with_live_jobs_restores_every_job_and_log() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let done = cluster.submit(&projects::tiny(&dir, "done.mlt", 10), &[]);
    assert_eq!(cluster.wait_final(done, LIMIT)["state"], "succeeded");
    let logged = cluster.cli(&["job", "logs", &done.to_string()]);
    ok(&logged);
    let log = stdout(&logged);
    assert!(log.lines().count() > 1, "melt said something: {log}");
    let rendering = cluster.submit(&projects::slow(&dir, "rendering.mlt", 150), &[]);
    cluster.wait_running(rendering);
    let queued = cluster.submit(&projects::tiny(&dir, "queued.mlt", 10), &[]);
    let data = dir.join("coordinator-data");
    let backup = dir.join("backup");
    let data_s = data.to_str().unwrap();
    let backup_s = backup.to_str().unwrap();

    // While the coordinator runs, its store is locked: refused, and nothing is made.
    let refused = distencode(&["store", "backup", "--data-dir", data_s, "--to", backup_s]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim_end(),
        format!(
            "distencode: another coordinator is using {data_s} (its store is locked); stop it first, or give this \
             one another --data-dir"
        )
    );
    assert!(!backup.exists(), "a refused backup makes no folder");

    // Online: the running coordinator copies its store itself, into an absolute path on its machine.
    let online = dir.join("online");
    let online_s = online.to_str().unwrap();
    let made = cluster.cli(&["store", "backup", "--online", "--to", online_s]);
    ok(&made);
    assert_eq!(
        stdout(&made).trim_end(),
        format!("the coordinator backed up its store to {online_s}: 3 jobs (2 unfinished, 1 succeeded)")
    );
    let relative = cluster.cli(&["store", "backup", "--online", "--to", "backups/today"]);
    assert_eq!(
        stderr(&relative).trim_end(),
        "distencode: the backup folder backups/today is not an absolute path on the coordinator's machine"
    );
    let inside = data.join("copy");
    let refused = cluster.cli(&["store", "backup", "--online", "--to", inside.to_str().unwrap()]);
    assert_eq!(
        stderr(&refused).trim_end(),
        format!("distencode: {} is inside the data dir {data_s}: name a folder outside it", inside.display())
    );
    assert!(!inside.exists());
    let trail = cluster.json(&["audit", "--json"]);
    let backups: Vec<&serde_json::Value> =
        trail.as_array().unwrap().iter().filter(|e| e["action"] == "backup").collect();
    assert_eq!(backups.len(), 3, "each online backup is in the audit trail: {trail}");
    assert_eq!(backups[2]["target"], format!("store to {online_s}"));
    assert_eq!(backups[2]["outcome"], "done");

    cluster.kill_coordinator();
    let made = distencode(&["store", "backup", "--data-dir", data_s, "--to", backup_s]);
    ok(&made);
    assert_eq!(
        stdout(&made).trim_end(),
        format!("backed up {data_s} to {backup_s}: 3 jobs (2 unfinished, 1 succeeded)")
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&backup).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "a backup holds the web's keys: its owner's only");
    let again = distencode(&["store", "backup", "--data-dir", data_s, "--to", backup_s]);
    assert_eq!(
        stderr(&again).trim_end(),
        format!("distencode: {backup_s} is not empty: name a new folder (nothing was copied)")
    );

    // The data dir is lost; the copy the running coordinator made is put back; a restore over a store is refused.
    std::fs::remove_dir_all(&data).unwrap();
    let restored = distencode(&["store", "restore", "--from", online_s, "--data-dir", data_s]);
    ok(&restored);
    assert_eq!(
        stdout(&restored).trim_end(),
        format!("restored {online_s} into {data_s}: 3 jobs (2 unfinished, 1 succeeded)")
    );
    let over = distencode(&["store", "restore", "--from", backup_s, "--data-dir", data_s]);
    assert_eq!(
        stderr(&over).trim_end(),
        format!("distencode: {data_s} is not empty: name a new folder (nothing was copied)")
    );

    cluster.restart_coordinator();
    assert_eq!(cluster.job(done)["state"], "succeeded");
    assert_eq!(stdout(&cluster.cli(&["job", "logs", &done.to_string()])), log, "the finished job's log is back");
    for id in [rendering, queued] {
        let job = cluster.wait_final(id, LIMIT);
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    let rendered = cluster.job(rendering);
    assert_eq!(rendered["attempts"].as_array().unwrap().len(), 1, "the render went on through it all: {rendered}");
    assert_eq!(probe(&dir.join("rendering.mp4")).video_frames, 150);
    assert_eq!(cluster.json(&["job", "list", "--json"]).as_array().unwrap().len(), 3);
}
