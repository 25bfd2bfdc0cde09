//! The soak under attack: tiny jobs over three workers while two clients with valid certificates of the farm's own
//! CA attack the coordinator over mutual TLS on 127.0.0.1. `mallory` floods it with idle connections, past the cap
//! per certificate, again and again; `eve` sends frames announcing more than the frame cap, a frame that never
//! finishes arriving, bytes that are no message, and well-formed requests whose fields are far over their caps.
//! Every real job still succeeds exactly once (as in tests/soak.rs), the coordinator and the workers never die,
//! every attack is refused as the coordinator says it refuses it (its answer, or the connection closed, and its
//! log line), and nothing the attackers sent is recorded.

mod common;

use common::*;
use distencode_wire::connection::{dial, ClientStream, Connection};
use distencode_wire::frame::MAX_FRAME_BYTES;
use distencode_wire::job::JobSpec;
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::tls::client_config;
use distencode_wire::Role;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JOBS: usize = 60;
const LIMIT: Duration = Duration::from_secs(180);
/// The coordinator's cap of connections per certificate, and its idle timeout for clients, in this test.
const PER_NODE: usize = 8;
const IDLE_SECONDS: u64 = 3;
/// Rounds of each attacker at most; they stop earlier once every job has ended.
const ROUNDS: usize = 60;
/// How long the coordinator has to close a connection it should close (past its own deadline, if any).
const CLOSE_WITHIN: Duration = Duration::from_secs(20);

/// What the attackers saw the coordinator do.
#[derive(Debug, Default)]
struct Tally {
    rounds: usize,
    /// Connections beyond the cap refused, with the coordinator's answer to their Hello.
    cap_refusals: usize,
    /// The most connections mallory held at once.
    most_held: usize,
    /// Held connections the coordinator closed as idle.
    idle_closed: usize,
    /// Connections closed after a frame header over the frame cap.
    big_headers_closed: usize,
    /// Connections closed after bytes that are no message.
    garbage_closed: usize,
    /// Oversized fields refused, each with its answer.
    field_refusals: usize,
    /// The frame that never finished, closed.
    slow_frame_closed: bool,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn connect(addr: &str, certs: &std::path::Path, name: &str) -> Result<Connection<ClientStream>, String> {
    let config = client_config(certs, name).unwrap();
    dial(addr, config, Role::Client).await.map(|(conn, _)| conn).map_err(|e| e.to_string())
}

/// Whether the coordinator closes `conn` within `within` (rather than answering, or keeping it open).
async fn closed(conn: Connection<ClientStream>, within: Duration) -> bool {
    let mut stream = conn.into_inner();
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(within, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

/// Writes `bytes` raw on a fresh connection as `name` (after the handshake) and says whether it is then closed.
async fn raw_is_closed(addr: &str, certs: &std::path::Path, name: &str, bytes: &[u8]) -> bool {
    let mut stream = connect(addr, certs, name).await.unwrap().into_inner();
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(CLOSE_WITHIN, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

/// mallory: connections up to the cap and beyond, held without a word until the coordinator closes them; again.
fn flood(addr: String, certs: std::path::PathBuf, stop: Arc<AtomicBool>) -> Tally {
    let refusal = format!(
        r#"refused: client "mallory" already has {PER_NODE} connections open, the limit per node (--max-connections-per-node); close some and try again"#
    );
    let rt = runtime();
    let mut tally = Tally::default();
    while tally.rounds < ROUNDS && !stop.load(Ordering::Relaxed) {
        tally.rounds += 1;
        let held = rt.block_on(async {
            let mut held = Vec::new();
            for _ in 0..PER_NODE + 4 {
                match connect(&addr, &certs, "mallory").await {
                    Ok(conn) => held.push(conn),
                    Err(e) => {
                        assert_eq!(e, refusal, "a connection past the cap is refused with the cap's line");
                        tally.cap_refusals += 1;
                    }
                }
            }
            held
        });
        assert!(held.len() <= PER_NODE, "{} connections held under one certificate", held.len());
        tally.most_held = tally.most_held.max(held.len());
        let idle = Duration::from_secs(IDLE_SECONDS) + CLOSE_WITHIN;
        for conn in held {
            assert!(rt.block_on(closed(conn, idle)), "an idle connection is closed");
            tally.idle_closed += 1;
        }
    }
    tally
}

/// A spec the caps refuse: `(what it is, the spec, the coordinator's answer)`.
fn oversized_specs(dir: &std::path::Path) -> Vec<(&'static str, JobSpec, String)> {
    let project = dir.join("template.mlt").display().to_string();
    let output = dir.join("eve.mp4").display().to_string();
    let huge = MAX_FRAME_BYTES - 1024 * 1024;
    let mut long_project = JobSpec::new("/".to_string() + &"p".repeat(huge - 1), &output);
    long_project.services = vec!["color".into()];
    let long_output = JobSpec::new(&project, format!("{}/{}.mp4", dir.display(), "o".repeat(5000)));
    let mut many_args = JobSpec::new(&project, &output);
    many_args.encoding.extra = (0..65).map(|i| ("crf".to_string(), i.to_string())).collect();
    let mut long_arg = JobSpec::new(&project, &output);
    long_arg.encoding.extra = vec![("crf".into(), "2".repeat(5000))];
    let mut many_services = JobSpec::new(&project, &output);
    many_services.services = (0..100_000).map(|i| format!("s{i}")).collect();
    let output_len = long_output.output.len();
    vec![
        (
            "a project path of 15 MiB",
            long_project,
            format!("refused: the project path is {huge} bytes; the limit is 4096"),
        ),
        (
            "a long output path",
            long_output,
            format!("refused: the output path is {output_len} bytes; the limit is 4096"),
        ),
        ("65 consumer properties", many_args, "refused: the job names 65 consumer properties; the limit is 64".into()),
        (
            "a long consumer property",
            long_arg,
            r#"refused: the consumer property "crf" is 5003 bytes; the limit is 4096"#.into(),
        ),
        ("100,000 services", many_services, "refused: the job names 100000 MLT services; the limit is 512".into()),
    ]
}

/// eve: frames over the cap, bytes that are no message, and requests with fields over their caps, round after
/// round; and once, a frame that never finishes arriving.
fn oversize(addr: String, certs: std::path::PathBuf, dir: std::path::PathBuf, stop: Arc<AtomicBool>) -> Tally {
    let rt = runtime();
    let mut tally = Tally::default();
    let specs = oversized_specs(&dir);
    rt.block_on(async {
        // 1 MiB announced, 100 bytes sent, then nothing: closed at the frame's deadline (10 s and 4 s of bytes).
        let slow = {
            let (addr, certs) = (addr.clone(), certs.clone());
            tokio::spawn(async move {
                let mut stream = connect(&addr, &certs, "eve").await.unwrap().into_inner();
                stream.write_all(&(1u32 << 20).to_be_bytes()).await.unwrap();
                stream.write_all(&[0u8; 100]).await.unwrap();
                stream.flush().await.unwrap();
                let mut byte = [0u8; 1];
                let within = Duration::from_secs(14) + CLOSE_WITHIN;
                matches!(tokio::time::timeout(within, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
            })
        };
        while tally.rounds < ROUNDS && !stop.load(Ordering::Relaxed) {
            tally.rounds += 1;
            for announced in [u32::MAX, MAX_FRAME_BYTES as u32 + 1] {
                assert!(raw_is_closed(&addr, &certs, "eve", &announced.to_be_bytes()).await, "{announced} announced");
                tally.big_headers_closed += 1;
            }
            let garbage = [&8u32.to_be_bytes()[..], &[0xff; 8]].concat();
            assert!(raw_is_closed(&addr, &certs, "eve", &garbage).await, "bytes that are no message");
            tally.garbage_closed += 1;
            let mut conn = connect(&addr, &certs, "eve").await.unwrap();
            for (what, spec, answer) in &specs {
                conn.send(&ClientRequest::Submit(spec.clone())).await.unwrap();
                let reply = conn.recv::<ClientReply>().await.unwrap();
                assert_eq!(reply, Some(ClientReply::Error(answer.clone())), "{what}");
                tally.field_refusals += 1;
            }
            let person = "m".repeat(1024 * 1024);
            conn.send(&ClientRequest::Reserve { worker: "w1".into(), person, until: None, now: true }).await.unwrap();
            let answer = "refused: the person's name is 1048576 bytes; the limit is 256".to_string();
            assert_eq!(conn.recv::<ClientReply>().await.unwrap(), Some(ClientReply::Error(answer)), "a 1 MiB person");
            tally.field_refusals += 1;
            let _ = conn.close().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tally.slow_frame_closed = slow.await.unwrap();
    });
    tally
}

/// Whether some line of `log` holds every one of `needles`.
fn logged(log: &str, needles: &[&str]) -> bool {
    log.lines().any(|line| needles.iter().all(|needle| line.contains(needle)))
}

#[test]
fn every_job_succeeds_exactly_once_while_clients_attack_the_coordinator() {
    let mut flags = FAST_FAILURE_DETECTION.to_vec();
    // As in tests/soak.rs: a melt that hangs on a tiny render is retried elsewhere soon.
    flags.extend(["--max-attempts", "50", "--stall-timeout", "10"]);
    let (per_node, idle) = (PER_NODE.to_string(), IDLE_SECONDS.to_string());
    let coordinator = ["--max-connections-per-node", per_node.as_str(), "--client-idle-timeout", idle.as_str()];
    let mut cluster = Cluster::start_full(3, &flags, &coordinator);
    cluster.issue("client", "mallory");
    cluster.issue("client", "eve");
    let dir = cluster.dir.path().join("soak");
    std::fs::create_dir_all(&dir).unwrap();
    projects::tiny(&dir, "template.mlt", soak::FRAMES);

    let stop = Arc::new(AtomicBool::new(false));
    let (addr, certs) = (cluster.addr.clone(), cluster.certs.clone());
    let mallory = std::thread::spawn({
        let (addr, certs, stop) = (addr.clone(), certs.clone(), stop.clone());
        move || flood(addr, certs, stop)
    });
    let eve = std::thread::spawn({
        let (dir, stop) = (dir.clone(), stop.clone());
        move || oversize(addr, certs, dir, stop)
    });
    // The attack is under way before the real client submits.
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    let ids = soak::submit_tiny_jobs(&cluster, &dir, JOBS);
    cluster.wait_until(LIMIT, "every job to end", || soak::unfinished(&cluster) == 0);
    stop.store(true, Ordering::Relaxed);
    let (mallory, eve) = (mallory.join().expect("mallory's flood"), eve.join().expect("eve's requests"));
    assert!(start.elapsed() < LIMIT + CLOSE_WITHIN * 2, "bounded: {:?}", start.elapsed());

    eprintln!("in {:?}: mallory {mallory:?}, eve {eve:?}", start.elapsed());
    soak::assert_each_succeeded_once(&cluster, &ids, &dir, 3, LIMIT);
    assert!(cluster.running(None), "the coordinator is alive");
    for worker in ["w1", "w2", "w3"] {
        assert!(cluster.running(Some(worker)), "{worker} is alive");
    }
    assert_eq!(cluster.workers().len(), 3, "every worker still registered");

    assert!(mallory.rounds >= 2 && mallory.cap_refusals >= 2 * 4, "the cap refused mallory: {mallory:?}");
    assert_eq!(mallory.most_held, PER_NODE, "held up to the cap and no further: {mallory:?}");
    assert!(mallory.idle_closed >= 2 * PER_NODE, "{mallory:?}");
    assert!(eve.rounds >= 2 && eve.big_headers_closed >= 4 && eve.garbage_closed >= 2, "{eve:?}");
    assert!(eve.field_refusals >= 2 * 6, "{eve:?}");
    assert!(eve.slow_frame_closed, "the frame that never finished was closed: {eve:?}");

    let log = cluster.coordinator_log();
    let cap = format!(r#"refused: client "mallory" already has {PER_NODE} connections open, the limit per node"#);
    assert!(logged(&log, &["refused connection: 127.0.0.1:", &cap]), "the cap's refusal is logged");
    let idle_line =
        format!("client connection ended: nothing was sent for {IDLE_SECONDS}s; closing the idle connection");
    assert!(logged(&log, &["mallory", &idle_line]), "mallory's idle connections are logged as closed");
    for announced in [u32::MAX as usize, MAX_FRAME_BYTES + 1] {
        let line =
            format!("client connection ended: a frame of {announced} bytes was announced; the limit is 16777216");
        assert!(logged(&log, &["eve", &line]), "{line}");
    }
    assert!(logged(&log, &["eve", "client connection ended: malformed message"]), "garbage is logged");
    assert!(
        logged(&log, &["eve", "client connection ended: a frame of 1048576 bytes did not arrive within"]),
        "the slow frame is logged"
    );
    assert!(!log.contains("panicked"), "nothing panicked:\n{log}");
}
