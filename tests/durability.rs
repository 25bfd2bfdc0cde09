//! Every acknowledgement the coordinator sends a client follows a real sync of the store: the coordinator runs under
//! `strace`, and for each client connection the reply to its request must come after an `fdatasync` (or `fsync`) of
//! sled's log file `jobs.sled/db` that completed after the request was read.
//!
//! (A dm-flakey or dm-log-writes device would show the same by losing writes; device-mapper is not available in the
//! sandboxes the tests run in, so the system calls are what is checked.)

mod common;

use common::*;
use std::collections::HashMap;

/// One system call of the trace, in the order it completed.
#[derive(Debug)]
struct Call {
    name: String,
    /// The first argument as `strace -yy` prints it: `12<TCP:[127.0.0.1:4000->127.0.0.1:5000]>`.
    fd: String,
    ret: i64,
}

/// Parses `strace -f -yy` output, joining calls that other threads interrupted (`<unfinished ...>` / `resumed>`).
fn calls(trace: &str) -> Vec<Call> {
    let mut pending: HashMap<String, (String, String)> = HashMap::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else { continue };
        let rest = rest.trim_start();
        let (name, fd, tail) = if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = resumed.split_once(" resumed>") else { continue };
            let Some((_, fd)) = pending.remove(pid) else { continue };
            (name.to_string(), fd, tail.to_string())
        } else {
            let Some((name, args)) = rest.split_once('(') else { continue };
            let fd = args.split([',', ')']).next().unwrap_or_default().to_string();
            if args.ends_with("<unfinished ...>") {
                pending.insert(pid.to_string(), (name.to_string(), fd));
                continue;
            }
            (name.to_string(), fd, args.to_string())
        };
        let ret = tail.rsplit_once(") = ").and_then(|(_, r)| r.split(' ').next()).and_then(|r| r.parse().ok());
        if let Some(ret) = ret {
            calls.push(Call { name, fd, ret });
        }
    }
    calls
}

/// The client connection a socket call is on (its peer address), for a coordinator listening on `port`.
fn client_of(call: &Call, port: &str) -> Option<String> {
    let inside = call.fd.split_once("<TCP:[")?.1;
    let (local, peer) = inside.trim_end_matches("]>").split_once("->")?;
    local.ends_with(&format!(":{port}")).then(|| peer.to_string())
}

const READS: &[&str] = &["read", "recvfrom", "readv", "recvmsg"];
const WRITES: &[&str] = &["write", "writev", "sendto", "sendmsg"];
/// A TLS 1.3 alert record (close_notify) is 24 bytes: the request is the last read larger than that.
const ALERT_BYTES: i64 = 24;

#[test]
fn every_acknowledgement_to_a_client_follows_an_fdatasync_of_the_store() {
    let mut cluster = Cluster::start(0);
    cluster.kill_coordinator();
    let trace_path = cluster.dir.path().join("coordinator.strace");
    let trace_arg = trace_path.to_str().unwrap().to_string();
    let syscalls = "trace=fsync,fdatasync,read,recvfrom,readv,recvmsg,write,writev,sendto,sendmsg";
    cluster.start_coordinator_under("127.0.0.1:0", &["strace", "-f", "-yy", "-qq", "-e", syscalls, "-o", &trace_arg]);
    let port = cluster.addr.rsplit(':').next().unwrap().to_string();
    let project = projects::tiny(cluster.dir.path(), "durable.mlt", 5);
    // Each to its own output: two live jobs may not share one.
    let outputs: Vec<String> =
        (0..4).map(|n| cluster.dir.path().join(format!("durable-{n}.mp4")).display().to_string()).collect();
    let ids: Vec<u64> = outputs.iter().map(|output| cluster.submit(&project, &["--output", output])).collect();
    assert_eq!(ids, [1, 2, 3, 4], "ids are dense");
    ok(&cluster.cli(&["job", "cancel", "2"]));
    // Stop the coordinator itself (strace's child), then strace, which ends with it.
    let strace = cluster.coordinator_pid().unwrap();
    let children = std::fs::read_to_string(format!("/proc/{strace}/task/{strace}/children")).unwrap();
    let coordinator = children.split_whitespace().next().expect("the coordinator runs under strace");
    assert!(std::process::Command::new("kill").args(["-9", coordinator]).status().unwrap().success());
    cluster.kill_coordinator();

    let trace = std::fs::read_to_string(&trace_path).unwrap();
    let calls = calls(&trace);
    let synced =
        |c: &Call| matches!(c.name.as_str(), "fdatasync" | "fsync") && c.fd.contains("jobs.sled/db>") && c.ret == 0;
    assert!(calls.iter().any(synced), "no fdatasync of the store in the trace:\n{trace}");
    // Per client connection: the index of its last request read, and of the first write after it.
    let mut last_request: HashMap<String, usize> = HashMap::new();
    for (i, call) in calls.iter().enumerate() {
        if let Some(client) = client_of(call, &port) {
            if READS.contains(&call.name.as_str()) && call.ret > ALERT_BYTES {
                last_request.insert(client, i);
            }
        }
    }
    let mut checked = 0;
    for (client, request) in &last_request {
        let reply = (request + 1..calls.len())
            .find(|&i| {
                WRITES.contains(&calls[i].name.as_str())
                    && calls[i].ret > 0
                    && client_of(&calls[i], &port).as_ref() == Some(client)
            })
            .unwrap_or_else(|| panic!("no reply to {client} in the trace"));
        assert!(
            calls[request + 1..reply].iter().any(synced),
            "the reply to {client} went out without an fdatasync of the store after its request: {:#?}",
            &calls[*request..=reply]
        );
        checked += 1;
    }
    // Four submits and a cancel, each on its own connection.
    let sockets: Vec<&str> =
        trace.lines().filter(|l| l.contains("send") || l.contains("recv") || l.contains("write(")).take(12).collect();
    assert!(checked >= 5, "only {checked} client connections in the trace: {sockets:#?}");
}
