//! Taking workers out of the pool: reservations for a person, drains, and the queue's order.

mod common;

use common::*;
use distencode_wire::job::now_ms;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn no_job_goes_to_a_reserved_or_draining_worker() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let reserved = cluster.cli(&["worker", "reserve", "w1", "--for", "bob"]);
    ok(&reserved);
    assert_eq!(stdout(&reserved).trim(), "worker w1 reserved for bob");
    ok(&cluster.cli(&["worker", "drain", "w2"]));
    let w1 = cluster.worker("w1");
    assert_eq!(w1["state"], "reserved");
    assert_eq!(w1["reserved_by"], "bob");
    assert_eq!(cluster.worker("w2")["state"], "draining");

    let id = cluster.submit(&projects::tiny(&dir, "waits.mlt", 5), &[]);
    assert_eq!(cluster.job(id)["state"], "queued");

    let released_at = now_ms();
    ok(&cluster.cli(&["worker", "release", "w2"]));
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded");
    // Its one and only offer came after the release: neither the reserved nor the draining worker was offered it.
    let attempts = job["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{job}");
    assert_eq!(job["worker"], "w2", "the reserved worker took nothing");
    assert!(
        attempts[0]["offered_at"].as_u64().expect("offered_at") >= released_at,
        "offered only once released: {job}"
    );
    let err = cluster.cli(&["worker", "release", "w2"]);
    assert!(!err.status.success());
    assert_eq!(stderr(&err).trim(), "distencode: worker w2 is neither reserved nor draining");
}

#[test]
fn reserving_now_sends_the_current_job_elsewhere() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let id = cluster.submit(&projects::slow(&dir, "moved.mlt", 200), &[]);
    let running = cluster.wait_running(id);
    let first = running["worker"].as_str().unwrap().to_string();
    ok(&cluster.cli(&["worker", "reserve", &first, "--for", "carol", "--now"]));
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_ne!(job["worker"], first.as_str());
    assert_eq!(job["attempts"][0]["outcome"], format!("worker {first} was reserved"));
    cluster.wait_until(Duration::from_secs(20), "the reserved worker to stop", || {
        cluster.worker(&first)["state"] == "reserved"
    });
    assert!(melt_processes(&partial_of(&dir.join("moved.mp4"), id, 1)).is_empty());
}

#[test]
fn a_reservation_survives_a_coordinator_restart_and_ends_by_itself() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "dave", "--until", "20s"]));
    cluster.kill_coordinator();
    cluster.restart_coordinator();
    cluster.wait_until(Duration::from_secs(15), "the reservation to be back", || {
        let w1 = cluster.worker("w1");
        w1["reserved_by"] == "dave" && w1["state"] == "reserved"
    });
    let id = cluster.submit(&projects::tiny(cluster.dir.path(), "later.mlt", 5), &[]);
    assert_eq!(cluster.job(id)["state"], "queued");
    cluster
        .wait_until(Duration::from_secs(40), "the reservation to end", || cluster.worker("w1")["state"] != "reserved");
    assert_eq!(cluster.wait_final(id, LIMIT)["state"], "succeeded");
    assert!(cluster.worker("w1")["reserved_by"].is_null());
}

#[test]
fn higher_priority_first_then_oldest_first() {
    let _one_at_a_time = serial();
    let cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "eve"]));
    let low = cluster.submit(&projects::tiny(&dir, "low.mlt", 5), &["--priority", "-1"]);
    let normal_old = cluster.submit(&projects::tiny(&dir, "normal1.mlt", 5), &[]);
    let normal_new = cluster.submit(&projects::tiny(&dir, "normal2.mlt", 5), &[]);
    let high = cluster.submit(&projects::tiny(&dir, "high.mlt", 5), &["--priority", "5"]);
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let started = |id: u64| cluster.wait_final(id, LIMIT)["attempts"][0]["offered_at"].as_u64().unwrap();
    let order = [started(high), started(normal_old), started(normal_new), started(low)];
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "offered in priority order: {order:?}");
}

#[test]
fn submit_wait_says_why_the_job_waits_and_again_when_that_changes() {
    let _one_at_a_time = serial();
    let mut cluster = Cluster::start_with(2, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "bob"]));
    ok(&cluster.cli(&["worker", "drain", "w2"]));
    let project = projects::tiny(&dir, "told.mlt", 5);
    let mut follower = cluster
        .command_as("alice", &["job", "submit", project.to_str().unwrap(), "--wait"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, said) = std::sync::mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |wanted: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !seen.iter().any(|l: &String| l.ends_with(wanted)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match said.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line ending {wanted:?} within 30 s; it said: {seen:#?}"),
            }
        }
    };
    wait_for("queued; waiting: w1 (by bob) is reserved, w2 is draining");
    // The reason changes with the workers, while the job's record does not.
    cluster.kill_worker("w2");
    wait_for("queued; waiting: w1 (by bob) is reserved, w2 is disconnected");
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let status = follower.wait().unwrap();
    assert!(status.success(), "{seen:#?}");
    assert_eq!(probe(&dir.join("told.mp4")).video_frames, 5);
}
