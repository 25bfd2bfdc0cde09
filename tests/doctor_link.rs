//! `doctor --role worker` against a real coordinator: the coordinator takes the worker's certificate and the
//! clocks agree; once the certificate is revoked (and the coordinator has reloaded its list), the check fails
//! saying so and what to do.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

/// The doctor's checks for worker `name` of `cluster`, by name.
fn doctor(cluster: &Cluster, name: &str) -> Vec<Value> {
    let work = cluster.dir.path().join(format!("doctor-{name}"));
    let output = distencode(&[
        "doctor",
        "--role",
        "worker",
        "--json",
        "--coordinator",
        &cluster.addr,
        "--certs",
        cluster.certs.to_str().unwrap(),
        "--name",
        name,
        "--work-dir",
        work.to_str().unwrap(),
    ]);
    serde_json::from_slice::<Value>(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)))
        .as_array()
        .unwrap()
        .clone()
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} check: {checks:?}"))
}

#[test]
fn doctor_checks_the_link_to_the_coordinator_and_the_clock_and_sees_a_revoked_certificate() {
    let cluster = Cluster::start(0);
    cluster.issue("worker", "render1");
    let checks = doctor(&cluster, "render1");
    let link = check(&checks, "coordinator");
    assert_eq!(link["status"], "ok", "{link}");
    assert_eq!(link["detail"], format!("{} takes the certificate of worker render1", cluster.addr));
    let clock = check(&checks, "clock");
    assert_eq!(clock["status"], "ok", "one machine, one clock: {clock}");
    assert!(clock["detail"].as_str().unwrap().starts_with("this clock is "), "{clock}");

    ok(&distencode(&["certs", "revoke", "--dir", cluster.certs.to_str().unwrap(), "--name", "render1"]));
    let pid = cluster.coordinator_pid().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    cluster.wait_until(Duration::from_secs(20), "the SIGHUP reload in the log", || {
        cluster.coordinator_log().contains("1 revoked certificate(s)")
    });
    let checks = doctor(&cluster, "render1");
    let link = check(&checks, "coordinator");
    assert_eq!(link["status"], "fail", "{link}");
    let detail = link["detail"].as_str().unwrap();
    assert!(detail.contains("revoked"), "{detail}");
    assert!(
        detail.ends_with("issue a new one on the machine that keeps the CA (distencode certs issue --role worker)"),
        "{detail}"
    );
    assert!(checks.iter().all(|c| c["name"] != "clock"), "no clock is read over a refused link: {checks:?}");
}
