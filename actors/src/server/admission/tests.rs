//! The caps at their value and one past it, in process.

use super::*;
use distencode_wire::Role;

fn node(role: Role, name: &str) -> PeerIdentity {
    PeerIdentity { role, name: name.into() }
}

fn limits(max_connections: usize, max_per_node: usize) -> ConnectionLimits {
    ConnectionLimits { max_connections, max_per_node, client_idle_timeout: CLIENT_IDLE_TIMEOUT }
}

#[test]
fn the_global_cap_admits_its_value_and_refuses_one_more_until_one_closes() {
    let admission = Admission::new(limits(3, 10));
    let permits: Vec<Permit> = (0..3).map(|_| admission.open().unwrap()).collect();
    assert_eq!(admission.open().unwrap_err(), Refusal::Full { open: 3, first: true });
    assert_eq!(admission.open().unwrap_err(), Refusal::Full { open: 3, first: false }, "logged once");
    drop(permits);
    let again = admission.open().unwrap();
    let _more: Vec<Permit> = (0..2).map(|_| admission.open().unwrap()).collect();
    assert_eq!(admission.open().unwrap_err(), Refusal::Full { open: 3, first: true }, "a new run is logged again");
    drop(again);
}

#[test]
fn the_per_node_cap_admits_its_value_and_refuses_one_more_naming_the_node() {
    let admission = Admission::new(limits(100, 2));
    let alice = node(Role::Client, "alice");
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut permit = admission.open().unwrap();
        permit.identify(&alice).unwrap();
        held.push(permit);
    }
    let mut third = admission.open().unwrap();
    let refusal = third.identify(&alice).unwrap_err();
    assert_eq!(refusal, PerNodeFull { peer: alice.clone(), open: 2 });
    assert_eq!(
        refusal.to_string(),
        r#"refused: client "alice" already has 2 connections open, the limit per node (--max-connections-per-node); close some and try again"#
    );
    // Another node, and the same name under another role, are counted apart.
    third.identify(&node(Role::Client, "bob")).unwrap();
    let mut worker = admission.open().unwrap();
    worker.identify(&node(Role::Worker, "alice")).unwrap();
    assert_eq!(admission.open_now(&alice), (4, 2));
    held.pop();
    assert_eq!(admission.open_now(&alice), (3, 1));
    let mut again = admission.open().unwrap();
    again.identify(&alice).unwrap();
    drop((held, again, third, worker));
    assert_eq!(admission.open_now(&alice), (0, 0));
}

#[test]
fn the_global_cap_stays_below_the_file_descriptor_limit() {
    let defaults = ConnectionLimits::default();
    assert_eq!(defaults.within_fd_limit(None), defaults);
    assert_eq!(defaults.within_fd_limit(Some(65536)).max_connections, MAX_CONNECTIONS);
    assert_eq!(defaults.within_fd_limit(Some(1024)).max_connections, 1024 - FD_RESERVE);
    assert_eq!(defaults.within_fd_limit(Some(10)).max_connections, 1);
    assert!(open_files_limit().is_some_and(|n| n > 0), "this process has a limit on open files");
}

#[test]
fn failing_accepts_back_off_and_are_logged_once_per_run() {
    let mut backoff = AcceptBackoff::default();
    assert_eq!(backoff.succeeded(), None);
    let waits: Vec<(Duration, bool)> = (0..10).map(|_| backoff.failed()).collect();
    assert_eq!(waits[0], (ACCEPT_BACKOFF_MIN, true));
    assert_eq!(waits[1], (ACCEPT_BACKOFF_MIN * 2, false));
    assert!(waits.iter().skip(1).all(|&(_, log)| !log), "only the first of a run is logged");
    assert_eq!(waits[9].0, ACCEPT_BACKOFF_MAX, "capped");
    assert!(waits.windows(2).all(|w| w[0].0 <= w[1].0));
    for _ in 0..1000 {
        assert!(backoff.failed().0 <= ACCEPT_BACKOFF_MAX);
    }
    assert_eq!(backoff.succeeded(), Some(1010));
    assert_eq!(backoff.failed(), (ACCEPT_BACKOFF_MIN, true));
}
