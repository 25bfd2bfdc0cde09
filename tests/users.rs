//! Users and ownership over the CLI: one cluster, several client certificates, each rule as a user meets it.
//!
//! `alice` is an admin (the harness starts every coordinator with `--admins alice`); `bob` and `carol` are users,
//! and the certificate `bob-laptop` is mapped to the user `bob` by the coordinator's `[certificate_users]` table.

mod common;

use common::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// The line a refused command ends with (warnings may come before it), without the `distencode: ` prefix; the
/// command must have failed.
fn refused(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "expected a refusal, got: {}", stdout(output));
    let text = stderr(output);
    text.trim().lines().last().unwrap_or_default().trim_start_matches("distencode: ").to_string()
}

#[test]
fn every_ownership_rule_holds_on_the_wire() {
    let _one_at_a_time = serial();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("coordinator.toml");
    std::fs::write(&config, "max_user_priority = 10\n[certificate_users]\n\"bob-laptop\" = \"bob\"\n").unwrap();
    let cluster = Cluster::start_with(1, &["--config", config.to_str().unwrap()]);
    for name in ["bob", "bob-laptop", "carol"] {
        cluster.issue("client", name);
    }
    let dir = cluster.dir.path().to_path_buf();

    // Anyone reserves an idle worker for themselves; nobody else may take or end that reservation.
    ok(&cluster.cli_as("carol", &["worker", "reserve", "w1"]));
    assert_eq!(cluster.worker("w1")["reserved_by"], "carol");
    assert_eq!(
        refused(&cluster.cli_as("bob", &["worker", "release", "w1"])),
        "worker w1 is reserved by carol; only carol or an admin may release it"
    );
    assert_eq!(
        refused(&cluster.cli_as("bob", &["worker", "reserve", "w1"])),
        "worker w1 is reserved by carol; only carol or an admin may reserve it"
    );
    assert_eq!(
        refused(&cluster.cli_as("bob", &["worker", "reserve", "w1", "--for", "dave"])),
        "you (bob) may reserve a worker only for yourself; only an admin may reserve one for dave"
    );
    assert_eq!(refused(&cluster.cli_as("bob", &["worker", "drain", "w1"])), "only an admin may drain worker w1");
    ok(&cluster.cli_as("carol", &["worker", "release", "w1"]));
    // An admin reserves for another person: the queue then waits, and nothing renders while we look.
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "dave"]));
    assert_eq!(cluster.worker("w1")["reserved_by"], "dave");

    // A user's priority stays under the ceiling; an admin's does not.
    let project = projects::tiny(&dir, "bobs.mlt", 25);
    let project_s = project.to_str().unwrap();
    assert_eq!(
        refused(&cluster.cli_as("bob", &["job", "submit", project_s, "--priority", "11"])),
        "priority 11 is above 10, the highest a user may give (max_user_priority); only an admin may go higher"
    );
    let bobs = cluster.json_as("bob", &["job", "submit", project_s, "--priority", "10", "--json"]);
    let id = bobs["id"].as_u64().unwrap().to_string();
    assert_eq!(bobs["submitted_by"], "bob");
    // Each job its own output: two live jobs may not share one.
    let laptop_out = dir.join("laptop.mp4");
    let laptop = cluster
        .json_as("bob-laptop", &["job", "submit", project_s, "--output", laptop_out.to_str().unwrap(), "--json"]);
    assert_eq!(laptop["submitted_by"], "bob", "a mapped certificate submits as its user");
    let admins_out = dir.join("admins.mp4");
    let admins = cluster.json(&[
        "job",
        "submit",
        project_s,
        "--priority",
        "50",
        "--output",
        admins_out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(admins["priority"], 50);

    // Everyone sees state, owner and priority; only the owner and admins see the project, output and log.
    let seen = cluster.json_as("carol", &["job", "status", &id, "--json"]);
    assert_eq!((seen["state"].as_str(), seen["submitted_by"].as_str()), (Some("queued"), Some("bob")));
    assert_eq!((seen["project"].as_str(), seen["output"].as_str()), (Some("(hidden)"), Some("(hidden)")));
    let listed = cluster.json_as("carol", &["job", "list", "--json"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|job| job["project"] == "(hidden)"), "{listed:?}");
    for owner in ["bob", "bob-laptop", "alice"] {
        let own = cluster.json_as(owner, &["job", "status", &id, "--json"]);
        assert_eq!(own["project"], project_s, "{owner} sees bob's project");
    }
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "logs", &id])),
        format!("job {id} belongs to bob; only bob or an admin may see its project, output and log")
    );
    ok(&cluster.cli_as("bob-laptop", &["job", "logs", &id]));

    // Only the owner or an admin cancels or retries.
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "cancel", &id])),
        format!("job {id} belongs to bob; only bob or an admin may cancel it")
    );
    assert_eq!(cluster.job(id.parse().unwrap())["state"], "queued", "a refused cancel changed nothing");
    ok(&cluster.cli_as("bob-laptop", &["job", "cancel", &id]));
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "retry", &id])),
        format!("job {id} belongs to bob; only bob or an admin may retry it")
    );
    ok(&cluster.cli_as("bob", &["job", "retry", &id]));
    let laptop_id = laptop["id"].as_u64().unwrap().to_string();
    ok(&cluster.cli(&["job", "cancel", &laptop_id]));
    let admins_id = admins["id"].as_u64().unwrap().to_string();
    ok(&cluster.cli(&["job", "cancel", &admins_id]));

    // Only the owner or an admin changes a job's priority (a user up to the ceiling), or deletes it; only an admin
    // prunes.
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "priority", &id, "5"])),
        format!("job {id} belongs to bob; only bob or an admin may change its priority")
    );
    assert!(refused(&cluster.cli_as("bob", &["job", "priority", &id, "11"])).starts_with("priority 11 is above 10"));
    ok(&cluster.cli_as("bob", &["job", "priority", &id, "-3"]));
    assert_eq!(cluster.job(id.parse().unwrap())["priority"], -3);
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "delete", &laptop_id])),
        format!("job {laptop_id} belongs to bob; only bob or an admin may delete it")
    );
    let deleted = cluster.cli_as("bob", &["job", "delete", &laptop_id]);
    assert_eq!(stdout(&deleted), format!("deleted job {laptop_id} and its log\n"));
    assert!(refused(&cluster.cli(&["job", "status", &laptop_id])).starts_with(&format!("no job {laptop_id}")));
    assert_eq!(
        refused(&cluster.cli_as("carol", &["job", "prune", "--older-than", "0s"])),
        "only an admin may prune jobs (a user deletes their own with job delete)"
    );
    let pruned = stdout(&cluster.cli(&["job", "prune", "--older-than", "0s"]));
    assert!(pruned.starts_with(&format!("deleted job {admins_id} and its log (finished before ")), "{pruned}");
    assert_eq!(cluster.json(&["job", "list", "--json"]).as_array().unwrap().len(), 1, "bob's queued job stays");

    // A user takes a busy worker only after its job; an admin drains and releases anyone's.
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let id: u64 = id.parse().unwrap();
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    let slow =
        cluster.json_as("bob", &["job", "submit", projects::slow(&dir, "slow.mlt", 400).to_str().unwrap(), "--json"]);
    let slow = slow["id"].as_u64().unwrap();
    cluster.wait_running(slow);
    assert_eq!(
        refused(&cluster.cli_as("carol", &["worker", "reserve", "w1", "--now"])),
        format!(
            "worker w1 is rendering job {slow}; only an admin may take it at once (reserve it without --now to have it \
             after that job)"
        )
    );
    ok(&cluster.cli_as("carol", &["worker", "reserve", "w1"]));
    assert_eq!(cluster.job(slow)["state"], "running", "reserved after its job, not at once");
    ok(&cluster.cli(&["worker", "release", "w1"]));
    ok(&cluster.cli(&["worker", "drain", "w1"]));
    assert_eq!(
        refused(&cluster.cli_as("carol", &["worker", "release", "w1"])),
        "worker w1 is draining; only an admin may put it back in the pool"
    );
    ok(&cluster.cli(&["job", "cancel", &slow.to_string()]));
    ok(&cluster.cli(&["worker", "release", "w1"]));
}

#[test]
fn a_cli_cancel_is_in_the_audit_trail_with_its_user_and_route_and_only_admins_read_it() {
    let _one_at_a_time = serial();
    // No worker: the job stays queued until it is cancelled, and nothing renders.
    let cluster = Cluster::start(0);
    cluster.issue("client", "bob");
    let project = projects::tiny(cluster.dir.path(), "audited.mlt", 25);
    let id = cluster.submit(&project, &[]);
    let target = format!("job {id}");
    assert_eq!(
        refused(&cluster.cli_as("bob", &["job", "cancel", &id.to_string()])),
        format!("job {id} belongs to alice; only alice or an admin may cancel it")
    );
    ok(&cluster.cli(&["job", "cancel", &id.to_string()]));

    let trail = cluster.json(&["audit", "--json"]);
    let entries = trail.as_array().expect("a JSON array");
    let fields = |e: &serde_json::Value| {
        let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
        (text("user"), text("route"), text("action"), text("target"), text("outcome"), text("reason"))
    };
    let seen: Vec<_> = entries.iter().map(fields).collect();
    let row = |user: &str, action: &str, target: &str, outcome: &str, reason: &str| {
        (user.into(), "cli".to_string(), action.into(), target.to_string(), outcome.to_string(), reason.to_string())
    };
    let project_target = format!("job {id} ({})", std::fs::canonicalize(&project).unwrap().display());
    assert_eq!(
        seen,
        [
            row("alice", "cancel", &target, "done", ""),
            row(
                "bob",
                "cancel",
                &target,
                "refused",
                &format!("job {id} belongs to alice; only alice or an admin may cancel it")
            ),
            row("alice", "submit", &project_target, "done", ""),
        ],
        "newest first"
    );
    assert!(entries.iter().all(|e| e["time"].as_u64().is_some_and(|t| t > 0)), "{trail}");

    // One user's entries; a plain user is refused with one line.
    let bobs = cluster.json(&["audit", "--user", "bob", "--json"]);
    assert_eq!(bobs.as_array().map(Vec::len), Some(1), "{bobs}");
    assert_eq!(refused(&cluster.cli_as("bob", &["audit"])), "only an admin may read the audit trail");
    assert_eq!(refused(&cluster.cli(&["audit", "--limit", "1001"])), "--limit 1001: must be 1 to 1000");
}
