//! The farm across a network of separate hosts (network namespaces, see `tests/netns`): a coordinator, two workers
//! and a client each with its own address. A whole render cycle; a worker's cable pulled mid-render for longer than
//! the heartbeat timeout; a coordinator reached by host name as well as by address; a worker that dials an address
//! the coordinator's certificate does not name. Skipped (with the reason) where namespaces cannot be made.

mod common;
mod netns;

use common::{ok, partial_files, probe, projects, stdout};
use netns::nodes::{state_of, PORT};
use netns::{wait_exit, Lab};
use serde_json::Value;
use std::time::{Duration, Instant};

const HOSTS: &[&str] = &["coord", "w1", "w2", "client"];

/// A lab whose coordinator (on host `coord`) runs with a certificate naming its address and `sans`; `setup` runs
/// before it starts. Returns the lab and the coordinator's `ADDRESS:PORT`.
fn farm(test: &str, sans: &[&str], setup: impl FnOnce(&mut Lab)) -> Option<(Lab, String)> {
    let mut lab = Lab::new(test, HOSTS)?;
    let address = lab.addr("coord").to_string();
    let mut all = vec![address.as_str()];
    all.extend_from_slice(sans);
    lab.make_certs("coord", &all);
    setup(&mut lab);
    lab.start_coordinator("coord");
    Some((lab, format!("{address}:{PORT}")))
}

#[test]
fn a_job_renders_across_the_network() {
    let Some((mut lab, coordinator)) = farm("a_job_renders_across_the_network", &[], |_| {}) else {
        return;
    };
    lab.start_worker("w1", &coordinator);
    lab.start_worker("w2", &coordinator);
    lab.wait_for_idle("client", &coordinator, &["w1", "w2"]);

    let project = projects::color_and_tone(lab.dir.path(), "across.mlt", 50);
    let output = lab.client("client", &coordinator, &["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&output);
    let rendered = lab.dir.path().join("across.mp4");
    assert!(stdout(&output).contains(&format!("succeeded: {}", rendered.display())), "{}", stdout(&output));
    let facts = probe(&rendered);
    assert_eq!(facts.video_frames, 50);
    assert_eq!(facts.audio_codec.as_deref(), Some("aac"));

    // The client really is on another host: the coordinator is not on its loopback.
    let local = lab.client("client", &format!("127.0.0.1:{PORT}"), &["worker", "list"]);
    assert!(!local.status.success(), "the client's own host has no coordinator");
}

#[test]
fn a_worker_cut_off_longer_than_the_heartbeat_timeout_does_not_break_the_job() {
    let test = "a_worker_cut_off_longer_than_the_heartbeat_timeout_does_not_break_the_job";
    let Some((mut lab, coordinator)) = farm(test, &[], |_| {}) else {
        return;
    };
    lab.start_worker("w1", &coordinator);
    lab.start_worker("w2", &coordinator);
    lab.wait_for_idle("client", &coordinator, &["w1", "w2"]);
    let dir = lab.dir.path().to_path_buf();
    let submit = |name: &str, frames_each: u64| -> u64 {
        let project = projects::noise_and_count(&dir, name, frames_each);
        let job = lab.json("client", &coordinator, &["job", "submit", project.to_str().unwrap(), "--json"]);
        job["id"].as_u64().expect("a job id")
    };
    let long = submit("long.mlt", 600);
    let other = submit("other.mlt", 300);

    // Both render at once; the cable of the worker rendering the long one is pulled.
    let mut running: Vec<Value> = Vec::new();
    lab.wait_until(Duration::from_secs(60), "both jobs to run", || {
        running = [long, other]
            .iter()
            .map(|id| lab.json("client", &coordinator, &["job", "status", &id.to_string(), "--json"]))
            .collect();
        running.iter().all(|job| job["state"] == "running")
    });
    let cut = running[0]["worker"].as_str().expect("a worker").to_string();
    let spared = running[1]["worker"].as_str().expect("a worker").to_string();
    assert_ne!(cut, spared);

    lab.link(&cut, false);
    let down = Instant::now();
    // Until the coordinator sees the cut worker gone (at most 7 s), the other must stay connected.
    let (mut cut_seen_lost, mut spared_states) = (false, Vec::new());
    while !cut_seen_lost && down.elapsed() < Duration::from_secs(7) {
        let workers = lab.json("client", &coordinator, &["worker", "list", "--json"]);
        cut_seen_lost = state_of(&workers, &cut) == Some("lost");
        spared_states.push(state_of(&workers, &spared).unwrap_or("absent").to_string());
        std::thread::sleep(Duration::from_millis(300));
    }
    lab.link(&cut, true);
    assert!(cut_seen_lost, "the coordinator noticed {cut} was gone\n{}", lab.logs());
    assert!(
        spared_states.iter().all(|s| s == "busy" || s == "idle"),
        "{spared} stayed connected while {cut} was cut off: {spared_states:?}"
    );

    let long_job = lab.wait_final("client", &coordinator, long, Duration::from_secs(180));
    let other_job = lab.wait_final("client", &coordinator, other, Duration::from_secs(180));
    assert_eq!(long_job["state"], "succeeded", "{long_job}\n{}", lab.logs());
    let successes = attempts(&long_job).iter().filter(|a| a["outcome"] == "succeeded").count();
    assert_eq!(successes, 1, "one result for the job: {long_job}");
    assert_eq!(probe(&dir.join("long.mp4")).video_frames, 1200, "a whole file");
    assert_eq!(other_job["state"], "succeeded", "{other_job}");
    assert_eq!(other_job["worker"], spared.as_str());
    assert_eq!(attempts(&other_job).len(), 1, "the spared worker's job was untouched: {other_job}");
    assert_eq!(probe(&dir.join("other.mp4")).video_frames, 600);

    // The cut-off worker is back in the pool, and nothing half-written is left beside the outputs.
    lab.wait_for_idle("client", &coordinator, &["w1", "w2"]);
    let partial = partial_files(&dir);
    assert!(partial.is_empty(), "{partial:?}");
}

fn attempts(job: &Value) -> Vec<Value> {
    job["attempts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_coordinator_is_reached_by_host_name_as_well_as_by_address() {
    let test = "the_coordinator_is_reached_by_host_name_as_well_as_by_address";
    let Some((mut lab, by_address)) = farm(test, &["coordinator.test"], |lab| {
        let coord = lab.addr("coord");
        lab.set_hosts("w1", &[(coord, "coordinator.test")]);
        lab.set_hosts("client", &[(coord, "coordinator.test")]);
    }) else {
        return;
    };
    let by_name = format!("coordinator.test:{PORT}");
    lab.start_worker("w1", &by_name);
    lab.start_worker("w2", &by_address);
    lab.wait_for_idle("client", &by_name, &["w1", "w2"]);
    // The name resolves on the hosts given it, and only there: the lab's hosts file is not the machine's.
    let resolved = lab.run("client", "getent", &["hosts", "coordinator.test"]);
    assert!(String::from_utf8_lossy(&resolved.stdout).contains(&lab.addr("coord").to_string()));
    assert!(!lab.run("w2", "getent", &["hosts", "coordinator.test"]).status.success());

    let project = projects::color_and_tone(lab.dir.path(), "by-name.mlt", 25);
    let output = lab.client("client", &by_name, &["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&output);
    assert_eq!(probe(&lab.dir.path().join("by-name.mp4")).video_frames, 25);
    let listed = lab.json("client", &by_address, &["worker", "list", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
}

#[test]
fn a_worker_dialling_an_address_the_certificate_does_not_name_is_refused() {
    let test = "a_worker_dialling_an_address_the_certificate_does_not_name_is_refused";
    let Some((mut lab, named)) = farm(test, &[], |_| {}) else {
        return;
    };
    // The coordinator's host has a second address, which its certificate does not name.
    let unnamed = lab.add_address("coord", 99);
    lab.start_worker("w1", &format!("{unnamed}:{PORT}"));
    lab.start_worker("w2", &named);

    let status = wait_exit(lab.child("w1"), Duration::from_secs(30));
    let log = lab.log("w1");
    let status = status.unwrap_or_else(|| panic!("the worker went on dialling an unnamed address:\n{log}"));
    assert!(!status.success(), "{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("distencode: ")).collect();
    assert_eq!(errors.len(), 1, "one error line: {log}");
    assert!(
        errors[0].contains(&format!("certificate does not name {unnamed}")),
        "the line says which address is not named: {}",
        errors[0]
    );
    // The same worker software dialling a named address joins the pool; the refused one never did.
    lab.wait_for_idle("client", &named, &["w2"]);
    let listed = lab.json("client", &named, &["worker", "list", "--json"]);
    assert_eq!(state_of(&listed, "w1"), None, "{listed}");
}
