//! `bench web`: the web interface with a big store. `--jobs` jobs are written straight into a store data dir (as a
//! coordinator that has run for months would have them, most finished), then the real coordinator is started on it
//! with `--web-listen`, and this measures over HTTPS (the coordinator's certificate, the sign-in token as a bearer):
//! - the jobs page (`GET /jobs`, first page, 50 rows) and the JSON list (`GET /api/v1/jobs`), `--requests` times each,
//!   one after the other: p50 and p99;
//! - the coordinator's RSS with `--streams` farm event streams (`GET /api/v1/events`) open, against none;
//! - with them open, a simulated worker's progress reports on their way to an open job stream, and the dispatch of
//!   the store's queued jobs to it as it finishes each one.

use super::args::WebArgs;
use super::cluster::{CoordinatorSpec, Node, Pki, Scratch};
use super::report::{Report, Row};
use super::stats::{ms, percentile};
use anyhow::{bail, Context, Result};
use distencode_actors::store::{Change, JobStore};
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Bytes of one answer read at most (a page of 50 rows is well under it).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

pub async fn run(args: &WebArgs) -> Result<Report> {
    let mut report = Report::new("web");
    let scratch = Scratch::new("web")?;
    let pki = Pki::new(scratch.path())?;
    let data_dir = scratch.path().join("coordinator-data");
    let jobs = args.jobs.max(1);
    let filled = Instant::now();
    let dir = data_dir.clone();
    tokio::task::spawn_blocking(move || fill(&dir, jobs)).await??;
    let fill_took = filled.elapsed();

    let port = free_port()?;
    let web_listen = format!("127.0.0.1:{port}");
    let coordinator = Node::coordinator(&CoordinatorSpec {
        certs: &pki.dir,
        data_dir: &data_dir,
        log: scratch.path().join("coordinator.log"),
        log_filter: &args.common.coordinator_log,
        listen: "127.0.0.1:0",
        extra: &["--web-listen", &web_listen],
    })
    .await?;
    report.row(Row::new(format!("coordinator start with {jobs} jobs"), ms(coordinator.listening_after), "ms"));
    let token = wait_token(&data_dir.join("web-token")).await?;
    let web = Web { addr: web_listen, token, tls: connector(&pki.dir)? };
    web.wait_up().await?;

    for (what, path, p50, p99) in [
        ("jobs page (50 rows)", "/jobs", Some(50.0), Some(200.0)),
        ("GET /api/v1/jobs (50 jobs)", "/api/v1/jobs", None, None),
        ("jobs page, search", "/jobs?q=client001&sort=priority", None, None),
    ] {
        let mut samples = Vec::with_capacity(args.requests);
        for _ in 0..args.requests.max(1) {
            let started = Instant::now();
            let (status, _) = web.get(path).await?;
            samples.push(ms(started.elapsed()));
            if status != 200 {
                bail!("GET {path} answered {status}");
            }
        }
        let (median, tail) = (percentile(&samples, 50.0).unwrap_or(0.0), percentile(&samples, 99.0).unwrap_or(0.0));
        let row = Row::new(format!("{what}: p50"), median, "ms");
        report.row(if let Some(limit) = p50 { row.at_most(limit) } else { row });
        let row = Row::new(format!("{what}: p99"), tail, "ms");
        report.row(if let Some(limit) = p99 { row.at_most(limit) } else { row });
    }

    let before = coordinator.stats().rss_mb;
    let mut streams = Vec::with_capacity(args.streams);
    for _ in 0..args.streams {
        streams.push(web.open_stream("/api/v1/events").await?);
    }
    // Every stream has been answered (its head read): the coordinator holds them all now.
    let with_streams = coordinator.stats().rss_mb;
    report.row(Row::new(format!("RSS, no event stream open ({jobs} jobs)"), before, "MB"));
    report.row(Row::new(format!("RSS added by {} open event streams", args.streams), with_streams - before, "MB"));
    if args.streams > 0 {
        let mut last = report.rows.pop().expect("just pushed");
        last = last.at_most(50.0);
        report.row(last);
    }
    let (status, _) = web.get("/jobs").await?;
    if status != 200 {
        bail!("the jobs page answered {status} with the streams open");
    }
    // With every stream open, a worker takes a queued job: its progress reports go to an open job stream.
    let target = distencode_sim::Target { addr: coordinator.addr.clone(), certs: pki.dir.clone() };
    pki.issue(distencode_wire::Role::Worker, BENCH_WORKER)?;
    let mut worker =
        distencode_sim::ScriptedWorker::connect(&target, BENCH_WORKER, distencode_sim::registration(1)).await?;
    let job = worker.offer().await?;
    worker.accept(&job).await?;
    let samples = progress_latency(&web, &mut worker, &job, args.progress_reports.max(1)).await?;
    let (median, tail) = (percentile(&samples, 50.0).unwrap_or(0.0), percentile(&samples, 99.0).unwrap_or(0.0));
    report.row(
        Row::new(format!("progress → open job stream ({} streams open): p50", args.streams), median, "ms")
            .at_most(100.0),
    );
    report.row(Row::new(format!("progress → open job stream ({} streams open): p99", args.streams), tail, "ms"));

    // With every stream open, the worker renders the job it holds and each one offered next (the store's queued
    // jobs): from its FinishedAck to the next offer is the dispatch of a queued job to a free worker.
    let mut dispatch = Vec::with_capacity(args.requests);
    let mut job = job;
    worker.render_rest(&job).await?;
    for _ in 0..args.requests.max(1) {
        let freed = Instant::now();
        job = worker.offer().await?;
        dispatch.push(ms(freed.elapsed()));
        worker.render(&job).await?;
    }
    let (median, tail) = (percentile(&dispatch, 50.0).unwrap_or(0.0), percentile(&dispatch, 99.0).unwrap_or(0.0));
    report.row(Row::new(format!("dispatch with {} streams open: p50", args.streams), median, "ms").at_most(5.0));
    report.row(Row::new(format!("dispatch with {} streams open: p99", args.streams), tail, "ms"));
    drop(streams);
    report.note(format!(
        "{jobs} jobs written into the store first ({:.1} s; 1 in 10 still queued, the rest finished), then the real \
         coordinator started on it with --web-listen; {} requests of each page one after the other over HTTPS with \
         the bearer token; {} farm event streams held open",
        fill_took.as_secs_f64(),
        args.requests,
        args.streams
    ));
    report.note(format!(
        "a simulated worker ({BENCH_WORKER}) sends {} progress reports {} ms apart to an open /api/v1/jobs/ID/events: \
         from its send to the stream's `job` event; dispatch: from a render's FinishedAck to the next offer, {} \
         times, with the streams open",
        args.progress_reports,
        PROGRESS_EVERY.as_millis(),
        args.requests
    ));
    Ok(report)
}

/// The simulated worker's certificate name.
const BENCH_WORKER: &str = "bench-w1";
/// Between two progress reports: more than the coordinator's 4-a-second limit per job, so none is held back.
const PROGRESS_EVERY: Duration = Duration::from_millis(300);
/// How long one progress report may take to reach the stream before the bench gives up.
const PROGRESS_LIMIT: Duration = Duration::from_secs(10);

/// Sends `reports` progress reports for `job` and times each one's arrival on the job's event stream.
async fn progress_latency(
    web: &Web,
    worker: &mut distencode_sim::ScriptedWorker,
    job: &distencode_wire::job::MeltJob,
    reports: usize,
) -> Result<Vec<f64>> {
    let mut stream = web.open_stream(&format!("/api/v1/jobs/{}/events", job.id)).await?;
    let mut chunk = vec![0u8; 64 * 1024];
    // What the stream sends at once (the job as it stands) is not a report's arrival: read it first.
    while let Ok(read) = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut chunk)).await {
        if read? == 0 {
            bail!("the job stream closed");
        }
    }
    let mut samples = Vec::with_capacity(reports);
    for n in 0..reports as u64 {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let percent = (n + 1) as f64 * 100.0 / (reports as f64 + 1.0);
        let progress = distencode_wire::job::Progress { frame: n + 1, percent, fps: 25.0, eta_seconds: None };
        let sent = Instant::now();
        let report =
            distencode_wire::message::WorkerToCoordinator::Progress { job: job.id, attempt: job.attempt, progress };
        worker.send(report).await?;
        let mut seen = Vec::new();
        while !seen.windows(10).any(|w| w == b"event: job") {
            let read = tokio::time::timeout(PROGRESS_LIMIT, stream.read(&mut chunk)).await.map_err(|_| {
                anyhow::anyhow!("progress report {n} did not reach the job stream within {PROGRESS_LIMIT:?}")
            })??;
            if read == 0 {
                bail!("the job stream closed");
            }
            seen.extend_from_slice(&chunk[..read]);
        }
        samples.push(ms(sent.elapsed()));
    }
    Ok(samples)
}

/// Writes `jobs` jobs into a new store in `dir`: nine in ten finished (cancelled), the rest queued.
fn fill(dir: &std::path::Path, jobs: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let store = JobStore::open(dir)?;
    for n in 0..jobs {
        let record = store.create(distencode_sim::spec(n % 20, n), format!("client{:03}", n % 20 + 1))?;
        if n % 10 != 0 {
            store.change(record.id, Change::Cancel { reason: "cancelled by bench".into() })?;
        }
    }
    store.flush()?;
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_token(path: &std::path::Path) -> Result<String> {
    for _ in 0..600 {
        if let Ok(token) = std::fs::read_to_string(path) {
            if !token.trim().is_empty() {
                return Ok(token.trim().to_string());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the coordinator wrote no {}", path.display())
}

fn connector(certs: &std::path::Path) -> Result<TlsConnector> {
    let identity = distencode_wire::tls::NodeIdentity::load(certs, distencode_sim::COORDINATOR)?;
    let roots = identity.root_store()?;
    let config = rustls::ClientConfig::builder_with_provider(distencode_wire::tls::crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The web interface under test.
struct Web {
    addr: String,
    token: String,
    tls: TlsConnector,
}

impl Web {
    async fn connect(&self) -> Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("127.0.0.1").context("server name")?.to_owned();
        Ok(self.tls.connect(name, tcp).await?)
    }

    fn request(&self, path: &str) -> String {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.addr, self.token
        )
    }

    /// One GET on a new connection: its status and body (all of it, up to [`MAX_ANSWER_BYTES`]).
    async fn get(&self, path: &str) -> Result<(u16, Vec<u8>)> {
        let mut stream = self.connect().await?;
        stream.write_all(self.request(path).as_bytes()).await?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => n,
                // A server that closes without TLS's close_notify: what was read is the answer.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            };
            answer.extend_from_slice(&chunk[..n]);
            if answer.len() > MAX_ANSWER_BYTES {
                bail!("GET {path}: an answer over {MAX_ANSWER_BYTES} bytes");
            }
        }
        Ok((status(&answer), answer))
    }

    /// Opens an event stream and reads its head; the connection is held open by the caller.
    async fn open_stream(&self, path: &str) -> Result<TlsStream<TcpStream>> {
        let mut stream = self.connect().await?;
        stream.write_all(self.request(path).as_bytes()).await?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 || head.len() > 64 * 1024 {
                bail!("GET {path}: no answer's head");
            }
            head.extend_from_slice(&chunk[..n]);
        }
        if status(&head) != 200 {
            bail!("GET {path} answered {}", status(&head));
        }
        Ok(stream)
    }

    /// Waits (at most 30 s) until the web port answers.
    async fn wait_up(&self) -> Result<()> {
        for _ in 0..300 {
            if self.get("/metrics").await.is_ok_and(|(status, _)| status == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the web interface on {} did not answer", self.addr)
    }
}

/// The status code of an HTTP/1.1 answer (0 if there is none).
fn status(answer: &[u8]) -> u16 {
    let line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(line).ok().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0)
}
