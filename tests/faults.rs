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
    let _one_at_a_time = serial();
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
        melt_processes(&partial_of(&dir.join("slow.mp4"), id, 1)).is_empty(),
        "the dead worker's melt died with it"
    );
}

#[test]
fn killing_the_coordinator_mid_render_loses_nothing() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let running_id = cluster.submit(&projects::slow(&dir, "first.mlt", 150), &[]);
    let queued_id = cluster.submit(&projects::tiny(&dir, "second.mlt", 10), &[]);
    cluster.wait_running(running_id);
    // Someone follows the job: the follower must outlive the coordinator's death.
    let watcher = cluster
        .command_as("alice", &["job", "watch", &running_id.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    cluster.kill_coordinator();
    std::thread::sleep(Duration::from_millis(500));
    cluster.restart_coordinator();

    let first = cluster.wait_final(running_id, LIMIT);
    let watched = watcher.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&watched.stdout);
    assert!(watched.status.success(), "the follower reconnected and saw the end: {said}");
    assert!(said.contains(&format!("job {running_id} succeeded")), "{said}");
    assert_eq!(first["state"], "succeeded", "{first}");
    assert_eq!(attempts(&first).len(), 1, "the worker's result was taken once, from the same attempt: {first}");
    assert_eq!(successes(&first), 1);
    assert_eq!(probe(&dir.join("first.mp4")).video_frames, 150);
    let second = cluster.wait_final(queued_id, LIMIT);
    assert_eq!(second["state"], "succeeded", "the queued job was dispatched after the restart: {second}");
    assert_eq!(probe(&dir.join("second.mp4")).video_frames, 10);
}

#[test]
fn cancelling_a_running_job_kills_melt_and_leaves_no_file() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "cancel me.mlt", 400), &[]);
    cluster.wait_running(id);
    let partial = partial_of(&dir.join("cancel me.mp4"), id, 1);
    assert!(!melt_processes(&partial).is_empty(), "melt runs before the cancel");
    let output = cluster.cli(&["job", "cancel", &id.to_string()]);
    ok(&output);
    assert_eq!(stdout(&output).trim(), format!("job {id} cancelled: cancelled by alice"));
    cluster.wait_until(Duration::from_secs(20), "melt to be gone", || melt_processes(&partial).is_empty());
    let job = cluster.job(id);
    assert_eq!(job["state"], "cancelled");
    cluster
        .wait_until(Duration::from_secs(20), "the worker to be idle again", || cluster.worker("w1")["state"] == "idle");
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
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(3, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::corrupt_media(&dir, "broken.mlt");
    let id = cluster.submit(&project, &[]);
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.starts_with("failed after 3 attempts: #1 on w"), "{error}");
    let reason =
        format!(r#"melt reported: [producer_xml] failed to load producer "{}""#, dir.join("garbage.mp4").display());
    assert_eq!(error.matches(&reason).count(), 3, "{error}");
    let workers: std::collections::BTreeSet<_> = attempts(&job).iter().map(|a| a["worker"].to_string()).collect();
    assert_eq!(workers.len(), 3, "each attempt on another worker: {job}");
    assert!(!dir.join("broken.mp4").exists());
}

#[test]
fn a_worker_that_fails_job_after_job_is_marked_suspect() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    for i in 0..3 {
        let id = cluster.submit(&projects::corrupt_media(&dir, &format!("f{i}.mlt")), &[]);
        assert_eq!(cluster.wait_final(id, LIMIT)["state"], "failed");
    }
    let worker = cluster.worker("w1");
    assert_eq!(worker["recent_failures"], 3, "{worker}");
    assert_eq!(worker["suspect"], true, "{worker}");
    let id = cluster.submit(&projects::tiny(&dir, "good.mlt", 5), &[]);
    assert_eq!(cluster.wait_final(id, LIMIT)["state"], "succeeded");
    assert_eq!(cluster.worker("w1")["suspect"], false, "a success clears it");
}

/// Sends a signal to a process (SIGSTOP freezes it like a machine that stopped answering; SIGCONT wakes it).
fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// The pid of the melt rendering that attempt.
fn melt_pid(output: &std::path::Path, id: u64, attempt: u32) -> u32 {
    melt_pid_of(&partial_of(output, id, attempt))
}

#[test]
fn a_hanging_melt_is_killed_as_stalled_and_the_job_goes_elsewhere() {
    let _one_at_a_time = serial();
    let mut flags = FAST_FAILURE_DETECTION.to_vec();
    // Long enough for x264 to flush its last frames of noise (several seconds with no new progress line), short
    // enough for a test: only the stopped melt may count as stalled.
    flags.extend(["--stall-timeout", "8"]);
    let cluster = Cluster::start_with(2, &flags);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "hang.mlt", 150), &[]);
    let first = cluster.wait_running(id)["worker"].as_str().unwrap().to_string();
    let pid = melt_pid(&dir.join("hang.mp4"), id, 1);
    signal(pid, "STOP");
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    let first_attempt = &attempts(&job)[0];
    assert_eq!(first_attempt["worker"], first.as_str());
    assert_eq!(first_attempt["outcome"], format!("worker {first}: melt stalled: no output for 8s"));
    assert_ne!(job["worker"], first.as_str(), "retried on the other worker");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the stalled melt was killed");
    assert_eq!(probe(&dir.join("hang.mp4")).video_frames, 150);
}

#[test]
fn a_melt_that_finished_its_render_but_never_exits_is_ended_and_its_file_counts() {
    let _one_at_a_time = serial();
    // MLT's start race, acted out: melt renders the whole file, then its process group lives on with no render
    // thread (here a shell that sleeps after a render, holding melt's output open), as a melt caught by the race does.
    let scripts = tempfile::tempdir().unwrap();
    let melt = scripts.path().join("melt-that-stays");
    let script =
        "#!/bin/sh\nmelt \"$@\"; status=$?\ncase \"$*\" in *-progress2*) exec sleep 611 ;; esac\nexit $status\n";
    write_script(&melt, script);
    // A stall timeout far longer than the test's limit: only the finished-render check may end this melt.
    let cluster = Cluster::start_with(1, &["--melt", melt.to_str().unwrap(), "--stall-timeout", "600"]);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::tiny(&dir, "stays.mlt", 25), &[]);
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(attempts(&job).len(), 1, "{job}");
    assert_eq!(probe(&dir.join("stays.mp4")).video_frames, 25);
    let log = std::fs::read_to_string(dir.join("stays.mp4.log")).unwrap();
    assert!(log.contains("distencode: melt finished the render but did not exit (its render thread ended before it was marked running); the worker ended melt"), "{log}");
    let waiting = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|entry| std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| cmdline == b"sleep\x00611\x00"));
    assert!(!waiting, "the process left waiting was ended");
}

#[test]
fn a_worker_that_stops_answering_loses_its_job_and_its_late_result_is_thrown_away() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "frozen.mlt", 150), &[]);
    let first = cluster.wait_running(id)["worker"].as_str().unwrap().to_string();
    let pid = cluster.worker_pid(&first);
    // Frozen like a machine that went silent: no FIN, no heartbeats; its melt goes on rendering meanwhile.
    signal(pid, "STOP");
    cluster.wait_until(Duration::from_secs(30), "the frozen worker to be lost", || {
        cluster.worker(&first)["state"] == "lost"
    });
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_ne!(job["worker"], first.as_str());
    assert_eq!(attempts(&job)[0]["outcome"], format!("worker {first} was lost"));
    signal(pid, "CONT");
    // Back, it reports its old attempt: refused, and its file is deleted, never renamed over the good one.
    cluster.wait_until(Duration::from_secs(60), "the late result to be refused", || {
        cluster.worker_log(&first).contains("result discarded")
            || cluster.worker_log(&first).contains("refused this worker's result")
    });
    let job = cluster.job(id);
    assert_eq!(successes(&job), 1, "still exactly one success: {job}");
    assert_eq!(job["worker"], attempts(&job)[1]["worker"]);
    cluster.wait_until(Duration::from_secs(20), "the stale partial file to go", || {
        !std::fs::read_dir(&dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("job1-1.partial."))
    });
    assert_eq!(probe(&dir.join("frozen.mp4")).video_frames, 150);
    cluster.kill_worker(&first);
}

#[test]
fn a_second_worker_process_with_a_connected_workers_name_waits_until_that_one_is_gone() {
    let mut cluster = Cluster::start(1);
    let dir = cluster.dir.path().to_path_buf();
    // A second machine started with w1's name and certificate (a cloned disk, a copied folder).
    let twin_log = dir.join("worker-w1-twin.log");
    let twin = std::process::Command::new(BIN)
        .args(["node", "--role", "worker", "--coordinator", &cluster.addr, "--name", "w1"])
        .arg("--work-dir")
        .arg(dir.join("work-w1-twin"))
        .arg("--certs")
        .arg(&cluster.certs)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&twin_log).unwrap())
        .spawn()
        .unwrap();
    let mut twin = KilledOnDrop(twin);
    let twin_says = || std::fs::read_to_string(&twin_log).unwrap_or_default();
    cluster.wait_until(Duration::from_secs(30), "the second w1 to be turned away", || {
        twin_says().contains(
            "another worker process is connected as w1; each worker needs a name and certificate of its own; \
             dialling again in",
        )
    });
    assert!(twin.0.try_wait().unwrap().is_none(), "it keeps trying rather than exiting:\n{}", twin_says());

    // The connected w1 keeps its name and its connection, and renders.
    let first = cluster.wait_final(cluster.submit(&projects::tiny(&dir, "first.mlt", 25), &[]), LIMIT);
    assert_eq!(first["state"], "succeeded", "{first}");
    assert_eq!(cluster.worker_log("w1").matches("registered").count(), 1, "{}", cluster.worker_log("w1"));
    assert!(!cluster.coordinator_log().contains("older connection is dropped"), "{}", cluster.coordinator_log());
    assert!(cluster.coordinator_log().contains("turned away a second worker process with the name of a connected one"));

    // Once it is gone, the waiting one takes the name and the next job.
    cluster.kill_worker("w1");
    cluster.wait_until(Duration::from_secs(30), "the second w1 to register", || {
        twin_says().lines().any(|l| l.contains(" registered"))
    });
    let second = cluster.wait_final(cluster.submit(&projects::tiny(&dir, "second.mlt", 25), &[]), LIMIT);
    assert_eq!(second["state"], "succeeded", "{second}");
    assert_eq!(probe(&dir.join("second.mp4")).video_frames, 25);
    assert!(twin_says().contains(&format!("job={}", second["id"])), "{}", twin_says());
}

/// A process the cluster does not know of, stopped however the test ends.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
