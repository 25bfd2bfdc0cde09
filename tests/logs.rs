//! melt's log and progress, from the worker to every client: followed live, stored whole, kept across a cut link.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// `job logs ID` as one string.
fn stored_log(cluster: &Cluster, id: u64) -> String {
    let output = cluster.cli(&["job", "logs", &id.to_string()]);
    ok(&output);
    stdout(&output)
}

/// The log the worker wrote beside the output.
fn log_beside(output: &Path) -> String {
    std::fs::read_to_string(format!("{}.log", output.display())).expect("OUTPUT.log beside the output")
}

#[test]
fn a_followed_log_arrives_while_the_job_runs_and_ends_with_it() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "live.mlt", 250), &["--melt-log", "debug"]);
    cluster.wait_running(id);
    let mut follower = cluster
        .command_as("alice", &["job", "logs", &id.to_string(), "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A follower that never ends must fail the test, not hang it: it is killed after two minutes.
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    let pid = follower.id().to_string();
    std::thread::spawn(move || {
        if watchdog.recv_timeout(LIMIT).is_err() {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
    });
    let mut reader = BufReader::new(follower.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    let state = cluster.job(id)["state"].clone();
    assert_eq!(state, "running", "the first line arrived while melt was still rendering");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let status = follower.wait().unwrap();
    let _ = done.send(());
    assert!(status.success(), "the follower ended by itself: {status}");
    assert_eq!(cluster.job(id)["state"], "succeeded", "--follow returned once the job ended");
    let followed = first + &rest;
    assert_eq!(followed, stored_log(&cluster, id), "the followed log is the stored log, no line lost or doubled");
    assert_eq!(followed, log_beside(&dir.join("live.mp4")));
    assert!(!followed.contains("Current Frame"), "progress lines are not log lines");
}

#[test]
fn progress_rises_while_it_runs_and_is_100_after_success() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let id = cluster.submit(&projects::slow(cluster.dir.path(), "progress.mlt", 200), &[]);
    let mut seen = Vec::new();
    let start = Instant::now();
    loop {
        let job = cluster.job(id);
        if job["state"] == "running" {
            // Once melt has reported, progress comes with speed and time left.
            if job["fps"].is_number() {
                assert!(job["eta_seconds"].is_number(), "{job}");
                seen.push(job["progress"].as_f64().unwrap());
            }
        } else if job["state"] != "queued" && job["state"] != "offered" {
            break;
        }
        assert!(start.elapsed() < LIMIT, "the job did not end");
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {seen:?}");
    assert!(seen.iter().all(|p| *p < 100.0), "melt's own figure stops at 99: {seen:?}");
    let distinct: std::collections::BTreeSet<u64> = seen.iter().map(|p| *p as u64).collect();
    assert!(distinct.len() >= 3, "progress moved while it ran: {seen:?}");
    let job = cluster.job(id);
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["progress"], 100.0);
    let list = cluster.cli(&["job", "list"]);
    assert!(stdout(&list).contains("100%"), "{}", stdout(&list));
}

#[test]
fn a_log_of_several_megabytes_is_kept_whole() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::tiny(&dir, "chatty.mlt", 4000), &["--melt-log", "debug"]);
    assert_eq!(cluster.wait_final(id, LIMIT)["state"], "succeeded");
    let stored = stored_log(&cluster, id);
    assert!(stored.len() > 4_000_000, "a log of {} bytes", stored.len());
    assert_eq!(stored, log_beside(&dir.join("chatty.mp4")), "stored whole, byte for byte");
}

#[test]
fn a_worker_whose_link_is_cut_mid_render_delivers_the_rest_of_its_log() {
    let _one_at_a_time = serial();
    let flags = ["--heartbeat-interval", "0.5", "--heartbeat-timeout", "2", "--grace", "15"];
    let mut cluster = Cluster::start_with(0, &flags);
    let proxy = proxy::Proxy::start(&cluster.addr);
    cluster.issue("worker", "w1");
    cluster.start_worker_via("w1", &proxy.addr, &[]);
    cluster.wait_for_workers(1);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "cut.mlt", 300), &["--melt-log", "debug"]);
    cluster.wait_running(id);
    proxy.cut();
    let during = stored_log(&cluster, id).len();
    std::thread::sleep(Duration::from_secs(3));
    proxy.restore();
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "the same attempt finished: {job}");
    let stored = stored_log(&cluster, id);
    assert!(stored.len() > during, "lines came after the reconnection");
    assert_eq!(stored, log_beside(&dir.join("cut.mp4")), "nothing lost, nothing doubled");
    let worker_log = cluster.worker_log("w1");
    assert!(worker_log.matches("registered").count() >= 2, "the worker reconnected:\n{worker_log}");
    assert_eq!(probe(&dir.join("cut.mp4")).video_frames, 300);
}

#[test]
fn an_attempt_logging_past_max_log_bytes_is_cut_with_a_line_saying_so() {
    let cluster = Cluster::start_with(1, &["--max-log-bytes", "2000"]);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::color_and_tone(&dir, "chatty.mlt", 25), &["--melt-log", "debug"]);
    assert_eq!(cluster.wait_final(id, LIMIT)["state"], "succeeded", "the render itself is not harmed");
    let stored = stored_log(&cluster, id);
    let cut = "distencode: this attempt's log reached its limit of 2000 bytes (--max-log-bytes); the rest of melt's \
               output is not stored\n";
    assert!(stored.ends_with(cut), "the log ends with the cut line:\n{stored}");
    assert!(stored.len() <= 2000 + cut.len(), "{} bytes stored", stored.len());
    // The worker's own copy beside the output is whole.
    assert!(log_beside(&dir.join("chatty.mp4")).len() > stored.len());
}
