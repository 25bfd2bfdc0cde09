//! The coordinator's metrics, as `GET /metrics` serves them in the Prometheus text format.
//!
//! One [`Metrics`] per coordinator (the JobStore makes it; the Coordinator and the WorkerRegistry get clones), on a
//! registry of its own rather than a process-wide one, so tests and benchmarks that run several coordinators in one
//! process keep them apart. Every metric is fed where its event already happens (a record made durable, a worker's
//! state set, a group commit flushed), and costs an atomic operation or two: no message, no lock on the hot path.
//! Jobs by state are set by the JobStore from its index at each write (every state, finished ones too); workers by
//! state are set by `GET /metrics` from the list `worker list` shows when it is read, and so are the days until
//! each node's certificate expires.

use distencode_wire::job::JobState;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// A job state as a label value.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum StateLabel {
    queued,
    offered,
    running,
    succeeded,
    failed,
    cancelled,
}

impl From<JobState> for StateLabel {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Queued => Self::queued,
            JobState::Offered => Self::offered,
            JobState::Running => Self::running,
            JobState::Succeeded => Self::succeeded,
            JobState::Failed => Self::failed,
            JobState::Cancelled => Self::cancelled,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    state: StateLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// A route's pattern from the server's own table (`/api/v1/jobs/{id}`), never a path a client sent: the set of
    /// labels is bounded by the routes there are.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    role: &'static str,
    /// A node name from a certificate the CA signed; the nodes tracked are capped (`server::expiry`).
    name: String,
}

/// The states `worker list` shows, each always present as a gauge (0 when no worker is in it).
pub const WORKER_STATES: [&str; 6] = ["idle", "busy", "lost", "reserved", "draining", "leaving"];

/// The handles of every metric (each is an `Arc` inside: clones count into the same value).
#[derive(Debug)]
struct Inner {
    registry: Registry,
    jobs: Family<JobLabels, Gauge>,
    workers: Family<WorkerLabels, Gauge>,
    submitted: Counter,
    succeeded: Counter,
    failed: Counter,
    cancelled: Counter,
    dispatch_latency: Histogram,
    render_duration: Histogram,
    frames: Counter,
    queue_length: Gauge,
    commit_latency: Histogram,
    log_bytes: Counter,
    http_requests: Family<HttpLabels, Counter>,
    certificate_expiry: Family<CertificateLabels, Gauge>,
}

/// The coordinator's metrics. Cheap to clone; every clone counts into the same values.
#[derive(Clone, Debug)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("distencode");
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Jobs in the store by state, as job list counts them", jobs.clone());
        let workers = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "workers",
            "Known workers by state (idle, busy, lost, reserved, draining, leaving), as worker list shows them",
            workers.clone(),
        );
        let submitted = Counter::default();
        registry.register("jobs_submitted", "Jobs submitted since the coordinator started", submitted.clone());
        let succeeded = Counter::default();
        registry.register("jobs_succeeded", "Jobs that succeeded since the coordinator started", succeeded.clone());
        let failed = Counter::default();
        registry.register("jobs_failed", "Jobs that failed since the coordinator started", failed.clone());
        let cancelled = Counter::default();
        registry.register("jobs_cancelled", "Jobs cancelled since the coordinator started", cancelled.clone());
        // 0.5 ms to 16 s.
        let dispatch_latency = Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        registry.register(
            "dispatch_latency_seconds",
            "From a job being queued to its offer being recorded",
            dispatch_latency.clone(),
        );
        // 1 s to 4.5 h.
        let render_duration = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "render_duration_seconds",
            "From a worker accepting a job to its verified file in place",
            render_duration.clone(),
        );
        let frames = Counter::default();
        registry.register("frames_rendered", "Frames of succeeded renders", frames.clone());
        let queue_length = Gauge::default();
        registry.register("queue_length", "Jobs queued and waiting for a worker", queue_length.clone());
        // 0.1 ms to 3.3 s.
        let commit_latency = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "store_commit_latency_seconds",
            "One group commit of the job store: its flush and fdatasync",
            commit_latency.clone(),
        );
        let log_bytes = Counter::default();
        registry.register("log_bytes", "Bytes of melt output stored", log_bytes.clone());
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", http_requests.clone());
        let certificate_expiry = Family::<CertificateLabels, Gauge>::default();
        registry.register(
            "certificate_expiry_days",
            "Days until the certificate each node last connected with expires (0 or less: expired)",
            certificate_expiry.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            jobs,
            workers,
            submitted,
            succeeded,
            failed,
            cancelled,
            dispatch_latency,
            render_duration,
            frames,
            queue_length,
            commit_latency,
            log_bytes,
            http_requests,
            certificate_expiry,
        }))
    }

    /// Every metric in the Prometheus text format (OpenMetrics flavour, ending `# EOF`).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    /// A job was submitted.
    pub fn submitted(&self) {
        self.0.submitted.inc();
    }

    /// `count` jobs of the store are in `state` (the store sets it from its index at each change).
    pub fn set_jobs(&self, state: JobState, count: u64) {
        self.0.jobs.get_or_create(&JobLabels { state: state.into() }).set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// A job's durable state went from `from` (`None`: not known before, e.g. loaded at start) to `to`: reaching a
    /// final state from an unfinished one counts its total.
    pub fn job_state(&self, from: Option<JobState>, to: JobState) {
        if to.is_final() && from.is_some_and(|s| !s.is_final()) {
            match to {
                JobState::Succeeded => self.0.succeeded.inc(),
                JobState::Failed => self.0.failed.inc(),
                _ => self.0.cancelled.inc(),
            };
        }
    }

    /// A job was offered `waited` after it was queued.
    pub fn dispatched(&self, waited: Duration) {
        self.0.dispatch_latency.observe(waited.as_secs_f64());
    }

    /// A render succeeded after `took`, with `frames` frames.
    pub fn rendered(&self, took: Duration, frames: u64) {
        self.0.render_duration.observe(took.as_secs_f64());
        self.0.frames.inc_by(frames);
    }

    pub fn set_queue_length(&self, length: usize) {
        self.0.queue_length.set(i64::try_from(length).unwrap_or(i64::MAX));
    }

    /// Sets the workers by state from the states of every known worker (as `worker list` shows them); a state not
    /// in [`WORKER_STATES`] is not counted.
    pub fn set_workers<'a>(&self, states: impl IntoIterator<Item = &'a str>) {
        let mut counts = [0i64; WORKER_STATES.len()];
        for state in states {
            if let Some(i) = WORKER_STATES.iter().position(|s| *s == state) {
                counts[i] += 1;
            }
        }
        for (state, count) in WORKER_STATES.into_iter().zip(counts) {
            self.0.workers.get_or_create(&WorkerLabels { state }).set(count);
        }
    }

    /// Sets each node's days until its certificate expires: `(role, name, days)`.
    pub fn set_certificate_expiry<'a>(&self, certificates: impl IntoIterator<Item = (&'static str, &'a str, i64)>) {
        for (role, name, days) in certificates {
            self.0.certificate_expiry.get_or_create(&CertificateLabels { role, name: name.to_string() }).set(days);
        }
    }

    /// A group commit took `took`.
    pub fn committed(&self, took: Duration) {
        self.0.commit_latency.observe(took.as_secs_f64());
    }

    /// `bytes` of melt output were stored.
    pub fn logged(&self, bytes: usize) {
        self.0.log_bytes.inc_by(bytes as u64);
    }

    /// The HTTP server answered a request of `route` (the pattern of its route, e.g. `/api/v1/jobs/{id}`) with
    /// `status`.
    pub fn http_request(&self, route: &str, status: u16) {
        self.0.http_requests.get_or_create(&HttpLabels { route: route.to_string(), status }).inc();
    }
}

#[cfg(test)]
mod tests;
