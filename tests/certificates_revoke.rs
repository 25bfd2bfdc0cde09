//! Revoking, renewing and expiring certificates, on a real cluster: `distencode certs revoke` writes the CRL, and the
//! running coordinator refuses the revoked certificate at the handshake (after SIGHUP, or by itself when the file
//! changes), disconnects a revoked worker in the middle of a render and gives its job to another worker. Workers and
//! clients read the CRL too, and refuse a coordinator whose certificate it revokes.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn certs(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    let mut all = vec![args[0], "--dir", cluster.certs.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    let mut command = vec!["certs"];
    command.extend(all);
    distencode(&command)
}

fn listed(cluster: &Cluster) -> Vec<serde_json::Value> {
    let output = certs(cluster, &["list", "--json"]);
    ok(&output);
    serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap().as_array().cloned().unwrap()
}

/// The audit trail's entry of `name`'s refused certificate (user, route, action, target, outcome, reason); the
/// coordinator writes it just after the handshake, so it is waited for.
fn certificate_refusal(cluster: &Cluster, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    cluster.wait_until(Duration::from_secs(10), "the refused certificate in the audit trail", || {
        let trail = cluster.json(&["audit", "--user", name, "--json"]);
        let entry = trail.as_array().unwrap().iter().find(|e| e["action"] == "certificate").cloned();
        found = entry.map_or_else(Vec::new, |e| {
            ["user", "route", "action", "target", "outcome", "reason"]
                .map(|key| e[key].as_str().unwrap_or_default().to_string())
                .to_vec()
        });
        !found.is_empty()
    });
    found
}

fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn a_revoked_client_is_refused_at_the_handshake_after_sighup_and_a_renewed_one_gets_in() {
    let cluster = Cluster::start(0);
    cluster.issue("client", "bob");
    ok(&cluster.cli_as("bob", &["job", "list"]));

    let revoked = certs(&cluster, &["revoke", "--name", "bob"]);
    ok(&revoked);
    let said = stdout(&revoked);
    let crl = cluster.certs.join("ca.crl");
    assert!(said.starts_with("revoked bob (") && said.contains(&format!(") in {}", crl.display())), "{said}");
    let bob = listed(&cluster).into_iter().find(|c| c["name"] == "bob").unwrap();
    assert_eq!((bob["role"].as_str(), bob["revoked"].as_bool()), (Some("client"), Some(true)), "{bob}");
    // Revoking again is no error and changes nothing.
    let again = certs(&cluster, &["revoke", "--name", "bob"]);
    ok(&again);
    assert!(stdout(&again).starts_with("bob: already revoked ("), "{}", stdout(&again));

    let pid = cluster.coordinator_pid().unwrap().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    cluster.wait_until(Duration::from_secs(20), "the SIGHUP reload in the log", || {
        lines_with(&cluster.coordinator_log(), &format!("SIGHUP: loaded {}: 1 revoked certificate(s)", crl.display()))
            > 0
    });

    let refused = cluster.cli_as("bob", &["job", "list"]);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert_eq!(lines_with(&err, "it says our certificate was revoked"), 1, "one clear line: {err}");
    cluster.wait_until(Duration::from_secs(10), "the refusal in the log", || {
        lines_with(&cluster.coordinator_log(), r#"refused a revoked certificate: client "bob" (serial "#) > 0
    });
    ok(&cluster.cli(&["job", "list"]));
    let serial = bob["serial"].as_str().unwrap().to_string();
    let refusal = certificate_refusal(&cluster, "bob");
    assert_eq!(
        refusal,
        ["bob", "cli", "certificate", &format!("certificate {serial}"), "refused", "it has been revoked"],
        "the refusal in the audit trail"
    );

    // A damaged CRL is one line in the log, and bob stays refused.
    let good = std::fs::read(&crl).unwrap();
    std::fs::write(&crl, "not a CRL").unwrap();
    cluster.wait_until(Duration::from_secs(20), "the bad CRL in the log", || {
        lines_with(&cluster.coordinator_log(), "is not a usable certificate revocation list: not a CRL") > 0
    });
    assert!(cluster.coordinator_log().contains("; the revocation list read before stays in force"));
    // A client reads the CRL too (to check the coordinator's certificate), and will not work with one it cannot use.
    let damaged = cluster.cli_as("alice", &["job", "list"]);
    assert!(!damaged.status.success());
    assert!(
        stderr(&damaged).contains("is not a usable certificate revocation list: not a CRL"),
        "{}",
        stderr(&damaged)
    );
    std::fs::write(&crl, good).unwrap();

    // A renewed certificate is a new serial: bob is back.
    let renewed = certs(&cluster, &["renew", "--name", "bob", "--days", "30"]);
    ok(&renewed);
    assert!(stdout(&renewed).starts_with("renewed bob: "), "{}", stdout(&renewed));
    ok(&cluster.cli_as("bob", &["job", "list"]));
    let bobs: Vec<_> = listed(&cluster).into_iter().filter(|c| c["name"] == "bob").collect();
    assert_eq!(bobs.len(), 2, "{bobs:?}");
    assert_eq!(
        bobs.iter().map(|c| c["revoked"].as_bool()).collect::<Vec<_>>(),
        [Some(false), Some(true)],
        "by expiry: the renewed one (30 days) first"
    );

    let unknown = certs(&cluster, &["revoke", "--name", "nobody"]);
    assert!(!unknown.status.success());
    let d = cluster.certs.display();
    assert_eq!(
        stderr(&unknown).trim(),
        format!("distencode: no certificate issued to \"nobody\" in {d} (distencode certs list --dir {d} shows them)")
    );
}

#[test]
fn a_revoked_worker_is_disconnected_mid_render_and_its_job_finishes_on_another() {
    let _one_at_a_time = serial();
    // The grace a disconnected worker is waited for is long here: the job moving on quickly shows it did not wait.
    let cluster =
        Cluster::start_with(2, &["--heartbeat-interval", "0.5", "--heartbeat-timeout", "3", "--grace", "600"]);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::slow(&dir, "slow.mlt", 120);
    let id = cluster.submit(&project, &[]);
    let running = cluster.wait_running(id);
    let first = running["worker"].as_str().unwrap().to_string();

    // No signal: the coordinator sees the file change by itself.
    ok(&certs(&cluster, &["revoke", "--name", &first]));
    let mut job = serde_json::Value::Null;
    cluster.wait_until(LIMIT, "the job to end", || {
        let output = cluster.cli(&["job", "status", &id.to_string(), "--json"]);
        assert!(output.status.success(), "{}\n{}", stderr(&output), cluster.coordinator_log());
        job = serde_json::from_slice(&output.stdout).unwrap();
        matches!(job["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
    });
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_ne!(job["worker"], first.as_str(), "another worker finished it: {job}");
    let attempts = job["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts[0]["worker"], first.as_str());
    assert_eq!(attempts[0]["outcome"], format!("worker {first} was lost"));
    assert_eq!(probe(&dir.join("slow.mp4")).video_frames, 120);
    let log = cluster.coordinator_log();
    assert_eq!(lines_with(&log, &format!("disconnected worker {first:?}: its certificate was revoked")), 1, "{log}");
    assert_eq!(lines_with(&log, "worker lost: its certificate was revoked"), 1, "{log}");
    // Its attempts to come back are refused at the handshake.
    cluster.wait_until(Duration::from_secs(30), "the worker's redial refused", || {
        lines_with(&cluster.coordinator_log(), &format!("refused a revoked certificate: worker {first:?}")) > 0
    });
    assert_eq!(cluster.worker(&first)["state"], "lost");
}

#[test]
fn an_expired_certificate_is_refused_with_a_clear_line() {
    let cluster = Cluster::start(0);
    let dir = cluster.certs.to_str().unwrap();
    let issued = distencode(&[
        "certs",
        "issue",
        "--dir",
        dir,
        "--role",
        "client",
        "--name",
        "old",
        "--start-days",
        "-10",
        "--days",
        "2",
    ]);
    ok(&issued);
    let old = listed(&cluster).into_iter().find(|c| c["name"] == "old").unwrap();
    assert!(old["not_after"].as_i64().unwrap() < time::OffsetDateTime::now_utc().unix_timestamp(), "{old}");
    let table = stdout(&certs(&cluster, &["list"]));
    let row = table.lines().find(|l| l.starts_with("old ")).unwrap();
    assert!(row.ends_with("  expired"), "{table}");

    let refused = cluster.cli_as("old", &["job", "list"]);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("the certificate expired on"), "{err}");

    // A client that sends it all the same (the CLI checks its own certificate first) is refused by the coordinator
    // at the handshake, and the refusal is in the audit trail.
    let dialled = dial_with_own_certificate(&cluster, "old");
    assert!(dialled.contains("it says our certificate has expired"), "{dialled}");
    let refusal = certificate_refusal(&cluster, "old");
    assert_eq!(&refusal[..3], ["old", "cli", "certificate"]);
    assert!(refusal[5].starts_with("the certificate expired on "), "{refusal:?}");
}

/// Dials the coordinator as `name` without checking the certificate first: what the handshake says.
fn dial_with_own_certificate(cluster: &Cluster, name: &str) -> String {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let identity = distencode_wire::tls::NodeIdentity::load(&cluster.certs, name).unwrap();
    let key = PrivateKeyDer::from_pem_file(cluster.certs.join(format!("{name}.key"))).unwrap();
    let chain: Vec<CertificateDer<'static>> = identity.cert_chain.clone();
    let config = rustls::ClientConfig::builder_with_provider(distencode_wire::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(identity.root_store().unwrap())
        .with_client_auth_cert(chain, key)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dialled = runtime.block_on(async {
        let (mut conn, _) = distencode_wire::connection::dial(
            &cluster.addr,
            std::sync::Arc::new(config),
            distencode_wire::Role::Client,
        )
        .await
        .map_err(|e| e.to_string())?;
        // TLS 1.3: the server's verdict on our certificate arrives with its first reply.
        conn.send(&distencode_wire::message::ClientRequest::List).await.map_err(|e| e.to_string())?;
        conn.recv::<distencode_wire::message::ClientReply>().await.map(|_| String::new()).map_err(|e| e.to_string())
    });
    dialled.unwrap_or_else(|e| e)
}

#[test]
fn a_worker_and_a_client_refuse_a_coordinator_whose_certificate_was_revoked() {
    let mut cluster = Cluster::start(0);
    cluster.issue("worker", "w1");
    let revoked = certs(&cluster, &["revoke", "--name", "coord"]);
    ok(&revoked);

    // The worker reads the CRL at start, refuses the coordinator, says why and stops (as for any refusal before it
    // ever registered: a configuration to mend).
    cluster.start_worker("w1");
    let refusal = "refused the peer's certificate: it has been revoked";
    cluster.wait_until(LIMIT, "the worker to refuse the coordinator", || cluster.worker_log("w1").contains(refusal));
    let list = cluster.cli(&["worker", "list", "--json"]);
    assert!(!list.status.success(), "the client must refuse the coordinator too");
    assert!(stderr(&list).contains(refusal), "{}", stderr(&list));

    assert!(!cluster.wait_exit(Some("w1"), LIMIT).success());

    // With its certificate renewed, the farm works again.
    ok(&certs(&cluster, &["renew", "--name", "coord"]));
    cluster.kill_coordinator();
    cluster.restart_coordinator();
    cluster.start_worker("w1");
    cluster.wait_for_workers(1);
    assert_eq!(cluster.workers().len(), 1);
}
