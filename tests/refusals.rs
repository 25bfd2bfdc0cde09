//! Every bad input gets one line naming the cause and a non-zero exit, and nothing is recorded for it.

mod common;

use common::*;
use std::process::Output;
use std::time::Duration;

/// The command failed with exactly one line on stderr, which contains every `needle`.
fn refused(output: &Output, needles: &[&str]) -> String {
    assert!(!output.status.success(), "expected a refusal, got success: {}", stdout(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected, got:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    err
}

fn no_jobs(cluster: &Cluster) {
    let list = cluster.json(&["job", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing was submitted: {list}");
}

#[test]
fn local_project_problems_are_refused_before_submitting() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();

    let missing = dir.join("nope.mlt");
    refused(
        &cluster.cli(&["job", "submit", missing.to_str().unwrap()]),
        &[missing.to_str().unwrap(), "project file not found"],
    );

    let text = projects::write(dir, "text.mlt", "this is not xml at all");
    refused(&cluster.cli(&["job", "submit", text.to_str().unwrap()]), &["text.mlt", "not XML"]);

    let html = projects::write(dir, "page.mlt", "<html><body/></html>");
    refused(&cluster.cli(&["job", "submit", html.to_str().unwrap()]), &["page.mlt", "not an MLT project", "<html>"]);

    let dtd = projects::write(
        dir,
        "dtd.mlt",
        "<?xml version=\"1.0\"?><!DOCTYPE mlt [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><mlt>&x;</mlt>",
    );
    refused(
        &cluster.cli(&["job", "submit", dtd.to_str().unwrap()]),
        &["dtd.mlt", "refused DOCTYPE: entity \"x\" is external (it would read another file)"],
    );

    no_jobs(&cluster);
}

#[test]
fn missing_media_are_all_listed() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let project = projects::write(
        dir,
        "media.mlt",
        &format!(
            r#"<mlt>{}
  <producer id="a" in="0" out="24"><property name="resource">gone one.mp4</property></producer>
  <producer id="b" in="0" out="24"><property name="resource">/nowhere/two.wav</property></producer>
  <playlist id="p"><entry producer="a"/><entry producer="b"/></playlist>
</mlt>"#,
            projects::PROFILE
        ),
    );
    let one = dir.join("gone one.mp4");
    refused(&cluster.cli(&["job", "submit", project.to_str().unwrap()]), &[one.to_str().unwrap(), "/nowhere/two.wav"]);
    no_jobs(&cluster);
}

#[test]
fn an_unknown_service_is_refused_at_submit_naming_what_each_worker_lacks() {
    let cluster = Cluster::start(2);
    let project = projects::write(
        cluster.dir.path(),
        "service.mlt",
        &format!(
            r#"<mlt>{}
  <producer id="a" in="0" out="24"><property name="mlt_service">color</property><property name="resource">red</property>
    <filter><property name="mlt_service">no_such_filter</property></filter></producer>
</mlt>"#,
            projects::PROFILE
        ),
    );
    let output = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--wait", "--vcodec", "no_such_encoder"]);
    let err = refused(&output, &[]);
    assert_eq!(
        err.trim(),
        "distencode: no worker of the pool can render it: w1 lacks no_such_filter, encoder no_such_encoder; \
         w2 lacks no_such_filter, encoder no_such_encoder; no_such_filter is the filter at line 3 on producer \"a\"; \
         submit with --allow-missing-filters to render without the filters a worker lacks"
    );
    no_jobs(&cluster);
    assert!(!cluster.dir.path().join("service.mp4").exists(), "nothing rendered");
}

#[test]
fn an_unwritable_output_folder_is_refused() {
    let cluster = Cluster::start(1);
    let project = projects::color_and_tone(cluster.dir.path(), "o.mlt", 5);
    refused(
        &cluster.cli(&["job", "submit", project.to_str().unwrap(), "--output", "/no/such/folder/out.mp4"]),
        &["output folder /no/such/folder cannot be written"],
    );
    no_jobs(&cluster);
}

#[test]
fn an_unreachable_coordinator_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let certs_s = certs.to_str().unwrap();
    ok(&distencode(&["certs", "init", "--dir", certs_s]));
    ok(&distencode(&["certs", "issue", "--dir", certs_s, "--role", "client", "--name", "alice"]));
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let output = distencode(&["job", "list", "--coordinator", &addr, "--certs", certs_s, "--name", "alice"]);
    refused(&output, &[&format!("cannot reach the coordinator at {addr}")]);
}

#[test]
fn certificates_that_do_not_fit_are_refused() {
    let cluster = Cluster::start_with(1, &["--heartbeat-interval", "0.5", "--heartbeat-timeout", "3"]);

    // A worker's certificate may not act as a client.
    let output = cluster.cli_as("w1", &["job", "list"]);
    refused(&output, &["worker", "w1", "client"]);

    // A certificate of another CA.
    let other = tempfile::tempdir().unwrap();
    let other_s = other.path().to_str().unwrap();
    ok(&distencode(&["certs", "init", "--dir", other_s]));
    ok(&distencode(&["certs", "issue", "--dir", other_s, "--role", "client", "--name", "mallory"]));
    std::fs::copy(other.path().join("mallory.pem"), cluster.certs.join("mallory.pem")).unwrap();
    std::fs::copy(other.path().join("mallory.key"), cluster.certs.join("mallory.key")).unwrap();
    refused(&cluster.cli_as("mallory", &["job", "list"]), &["mallory.pem", "CA"]);

    // An expired certificate.
    let certs = cluster.certs.to_str().unwrap();
    ok(&distencode(&[
        "certs",
        "issue",
        "--dir",
        certs,
        "--role",
        "client",
        "--name",
        "old",
        "--days",
        "1",
        "--start-days",
        "-10",
    ]));
    refused(&cluster.cli_as("old", &["job", "list"]), &["expired"]);

    // No certificate at all for that name.
    refused(&cluster.cli_as("nobody", &["job", "list"]), &["nobody.pem"]);

    // A client's certificate may not register as a worker.
    let output = std::process::Command::new(BIN)
        .args(["node", "--role", "worker", "--coordinator", &cluster.addr, "--name", "alice", "--certs", certs])
        .arg("--work-dir")
        .arg(cluster.dir.path().join("w-alice"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.lines().last().unwrap_or("").contains("distencode:"), "{err}");
    cluster.wait_until(Duration::from_secs(10), "the refusal in the coordinator's log", || {
        cluster.coordinator_log().contains("refused connection")
    });
    let workers = cluster.json(&["worker", "list", "--json"]);
    assert_eq!(workers.as_array().unwrap().len(), 1, "only w1 is registered: {workers}");
}
