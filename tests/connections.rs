//! Connections that would hold a coordinator's resources: idle clients are closed, and the caps per certificate
//! and in all hold at their value and refuse one more, with a line saying which, against a real coordinator.

mod common;

use common::*;
use distencode_wire::connection::{dial, ClientStream, Connection, ConnectionError};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::tls::client_config;
use distencode_wire::Role;
use std::time::Duration;

/// What every test here needs: a runtime to dial from.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn connect(rt: &tokio::runtime::Runtime, cluster: &Cluster, name: &str) -> Result<Connection<ClientStream>, String> {
    let config = client_config(&cluster.certs, name).unwrap();
    rt.block_on(dial(&cluster.addr, config, Role::Client)).map(|(conn, _)| conn).map_err(|e| e.to_string())
}

/// The connection's next message; `None` once the coordinator has closed it (waits 60 s at most).
fn next(rt: &tokio::runtime::Runtime, conn: &mut Connection<ClientStream>) -> Option<ClientReply> {
    let read = rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), conn.recv::<ClientReply>()).await });
    match read.expect("the coordinator neither answered nor closed the connection within 60 s") {
        Ok(reply) => reply,
        Err(ConnectionError::Io(_)) => None,
        Err(e) => panic!("unexpected: {e}"),
    }
}

#[test]
fn a_client_that_sends_nothing_is_closed_after_the_idle_timeout_and_one_that_asks_is_served() {
    let cluster = Cluster::start_with(0, &["--client-idle-timeout", "1"]);
    let rt = runtime();
    let mut quiet = connect(&rt, &cluster, "alice").unwrap();
    let mut asking = connect(&rt, &cluster, "alice").unwrap();
    rt.block_on(asking.send(&ClientRequest::WorkerList)).unwrap();
    assert_eq!(next(&rt, &mut asking), Some(ClientReply::Workers(vec![])));
    assert_eq!(next(&rt, &mut quiet), None, "the idle connection is closed");
    assert_eq!(next(&rt, &mut asking), None, "and the other, once idle too");
    cluster.wait_until(Duration::from_secs(10), "the idle closes in the log", || {
        cluster.coordinator_log().matches("nothing was sent for 1s; closing the idle connection").count() == 2
    });
}

#[test]
fn connections_per_certificate_are_capped_at_the_limit_and_one_more_is_refused() {
    let cluster = Cluster::start_with(0, &["--max-connections-per-node", "3"]);
    cluster.issue("client", "bob");
    let rt = runtime();
    let mut held: Vec<_> = (0..3).map(|_| connect(&rt, &cluster, "alice").unwrap()).collect();
    let refusal = r#"refused: client "alice" already has 3 connections open, the limit per node (--max-connections-per-node); close some and try again"#;
    assert_eq!(connect(&rt, &cluster, "alice").unwrap_err(), refusal);
    let output = cluster.cli(&["job", "list"]);
    assert!(!output.status.success());
    assert_eq!(stderr(&output).trim(), format!("distencode: {refusal}"));
    // Another certificate is not held back by alice's.
    ok(&cluster.cli_as("bob", &["job", "list"]));
    held.pop();
    ok(&cluster.cli(&["job", "list"]));
    assert!(cluster.coordinator_log().contains(refusal), "the coordinator logs the refusal");
}

#[test]
fn connections_in_all_are_capped_and_logged_once_until_there_is_room_again() {
    let cluster = Cluster::start_with(0, &["--max-connections", "4"]);
    let rt = runtime();
    let mut held: Vec<_> = (0..4).map(|_| connect(&rt, &cluster, "alice").unwrap()).collect();
    for _ in 0..3 {
        assert!(connect(&rt, &cluster, "alice").is_err(), "a fifth connection is closed");
    }
    let full = "4 connections are open, the limit (--max-connections)";
    cluster.wait_until(Duration::from_secs(10), "the refusal in the log", || cluster.coordinator_log().contains(full));
    assert_eq!(cluster.coordinator_log().matches(full).count(), 1, "logged once, not for each");
    held.pop();
    cluster.wait_until(Duration::from_secs(10), "room again", || connect(&rt, &cluster, "alice").is_ok());
    assert!(cluster.coordinator_log().contains("below the connection limit again"));
}
