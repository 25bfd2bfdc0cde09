//! How jobs and workers look on a terminal and as JSON.

use distencode_wire::fingerprint::{majority, Fingerprint};
use distencode_wire::job::{JobId, JobRecord, JobState};
use distencode_wire::message::{ClientRequest, WorkerView};

/// One line about a job's state, with its progress if it runs.
pub fn describe(job: &JobRecord) -> String {
    match (&job.state, &job.progress) {
        (JobState::Running, Some(p)) => format!(
            "job {} running on worker {}: {:.0}% ({:.1} fps, {} left)",
            job.id,
            job.worker.as_deref().unwrap_or("-"),
            p.percent,
            p.fps,
            p.eta_seconds.map(|s| format!("{s:.0} s")).unwrap_or_else(|| "?".into())
        ),
        _ => describe_state(job),
    }
}

/// The first line of `job status`: what runs the job and the preset it was submitted with.
pub fn describe_kind(job: &JobRecord) -> String {
    let preset = job.preset.as_deref().map(|p| format!("; preset {p}")).unwrap_or_default();
    match job.kind.ffmpeg() {
        Some(ffmpeg) => format!("kind ffmpeg{preset}; inputs {}", ffmpeg.inputs.join(", ")),
        None => format!("kind {}{preset}", job.kind_name()),
    }
}

/// One line about a job's state, the way `submit --wait` and `watch` tell each change.
pub fn describe_state(job: &JobRecord) -> String {
    let worker = job.worker.as_deref().unwrap_or("-");
    match job.state {
        JobState::Queued => match &job.waiting {
            Some(why) => format!("job {} queued; waiting: {why}", job.id),
            None => format!("job {} queued", job.id),
        },
        JobState::Offered => format!("job {} offered to worker {worker}", job.id),
        JobState::Running => format!("job {} accepted by worker {worker}", job.id),
        JobState::Succeeded => match &job.facts {
            Some(f) => format!(
                "job {} succeeded: {} ({} frames, {:.2} s, {}{}){}",
                job.id,
                job.output,
                f.frames,
                f.duration_seconds,
                f.video_codec,
                f.audio_codec.as_deref().map(|a| format!("+{a}")).unwrap_or_default(),
                if f.dropped_filters.is_empty() {
                    String::new()
                } else {
                    format!("; rendered without filters {} (not on worker {worker})", f.dropped_filters.join(", "))
                }
            ),
            None => format!("job {} succeeded: {}", job.id, job.output),
        },
        JobState::Failed => format!("job {} failed: {}", job.id, job.error.as_deref().unwrap_or("no reason recorded")),
        JobState::Cancelled => format!("job {} cancelled: {}", job.id, job.error.as_deref().unwrap_or("")),
    }
}

/// The widths of `job list`'s ID and WORKER columns: wide enough for every row (ids past 999,999, long names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobColumns {
    id: usize,
    worker: usize,
}

impl JobColumns {
    pub fn fit(jobs: &[JobRecord]) -> Self {
        let mut columns = Self { id: "ID".len().max(6), worker: "WORKER".len().max(12) };
        for job in jobs {
            columns.id = columns.id.max(job.id.to_string().len());
            columns.worker = columns.worker.max(shown_worker(job).len());
        }
        columns
    }
}

/// The worker a job is on or was finished by; a queued job has none, whoever had it before.
fn shown_worker(job: &JobRecord) -> &str {
    match job.state {
        JobState::Queued => "-",
        _ => job.worker.as_deref().unwrap_or("-"),
    }
}

/// A table row for `job list`.
pub fn job_row(job: &JobRecord, columns: JobColumns) -> String {
    let progress = match (&job.state, &job.progress) {
        (JobState::Running, Some(p)) => format!("{:.0}%", p.percent),
        (JobState::Succeeded, _) => "100%".into(),
        _ => "-".into(),
    };
    let state = job.state.to_string();
    let (id, worker) = (columns.id, columns.worker);
    let row = format!("{:>id$}  {state:<9}  {progress:>5}  {:<worker$}  {}", job.id, shown_worker(job), job.output);
    match (&job.waiting, job.state) {
        (Some(why), JobState::Queued) => format!("{row}  (waiting: {})", short_reason(why)),
        _ => row,
    }
}

/// The characters of a wait's reason `job list` shows (`job status` shows all of it).
pub const LIST_REASON_CHARS: usize = 60;

/// A reason cut to [`LIST_REASON_CHARS`], with `…` when it was longer.
fn short_reason(why: &str) -> String {
    match why.char_indices().nth(LIST_REASON_CHARS) {
        Some((at, _)) => format!("{}…", &why[..at]),
        None => why.to_string(),
    }
}

pub fn job_header(columns: JobColumns) -> String {
    let (id, worker) = (columns.id, columns.worker);
    format!("{:>id$}  {:<9}  {:>5}  {:<worker$}  {}", "ID", "STATE", "DONE", "WORKER", "OUTPUT")
}

/// The render stack most workers of `workers` share, to mark those that differ (see [`worker_row`]).
pub fn usual_stack(workers: &[WorkerView]) -> Option<&Fingerprint> {
    majority(workers.iter().map(|w| &w.fingerprint))
}

/// A table row for `worker list`; `usual` is the render stack most workers share: one that differs has a `*`
/// after its fingerprint and says how it differs.
pub fn worker_row(worker: &WorkerView, usual: Option<&Fingerprint>) -> String {
    let mut notes = Vec::new();
    let known = worker.fingerprint.is_known();
    let differs = worker.fingerprint.unusual(usual);
    if let Some(usual) = differs {
        notes.push(format!("render stack differs: {}", worker.fingerprint.differences(usual).join(", ")));
    }
    let stack = match (known, differs.is_some()) {
        (false, _) => "-".to_string(),
        (true, false) => worker.fingerprint.short(),
        (true, true) => format!("{}*", worker.fingerprint.short()),
    };
    if let Some(person) = &worker.reserved_by {
        notes.push(format!("reserved for {person}{}", until(worker.reserved_until)));
    }
    if worker.suspect {
        notes.push(format!("suspect: {} failures in a row", worker.recent_failures));
    }
    if worker.draining && worker.current_job.is_none() && worker.state == "draining" {
        notes.push("drained: no job, safe to stop".into());
    }
    format!(
        "{:<16}  {:<8}  {:>6}  {:<8}  {:<9}  {:>4}  {:>8}  {:>8}  {}",
        worker.name,
        worker.state,
        worker.current_job.map(|j| j.to_string()).unwrap_or_else(|| "-".into()),
        worker.melt_version,
        stack,
        worker.cpus,
        worker.services,
        seen(worker.last_seen),
        notes.join("; ")
    )
}

pub fn worker_header() -> String {
    format!(
        "{:<16}  {:<8}  {:>6}  {:<8}  {:<9}  {:>4}  {:>8}  {:>8}  {}",
        "NAME", "STATE", "JOB", "MELT", "STACK", "CPUS", "SERVICES", "SEEN", "NOTES"
    )
}

/// One line about a worker after a reserve, release or drain: what now happens to it and to the job it runs.
pub fn describe_worker(worker: &WorkerView) -> String {
    let name = &worker.name;
    let job = worker.current_job;
    match (&worker.reserved_by, job) {
        (Some(person), Some(job)) => format!(
            "worker {name} reserved for {person}{}: it finishes job {job} first, then takes nothing more",
            until(worker.reserved_until)
        ),
        (Some(person), None) => format!("worker {name} reserved for {person}{}", until(worker.reserved_until)),
        (None, Some(job)) if worker.draining => format!(
            "worker {name} draining: it finishes job {job}, then takes nothing more; `worker list` says when it is \
             safe to stop"
        ),
        (None, None) if worker.draining => format!("worker {name} drained: it has no job, safe to stop"),
        _ => format!("worker {name} {}", worker.state),
    }
}

/// After `worker reserve --now`: the job the worker ran, if any, goes back to the queue for another worker.
pub fn describe_taken_now(worker: &WorkerView, job: Option<JobId>) -> String {
    let person = worker.reserved_by.as_deref().unwrap_or("-");
    match job {
        Some(job) => format!(
            "worker {} reserved for {person}{} at once: its render of job {job} is stopped, and the job is queued \
             again for another worker",
            worker.name,
            until(worker.reserved_until)
        ),
        None => format!("worker {} reserved for {person}{}", worker.name, until(worker.reserved_until)),
    }
}

/// What `job delete` and `job prune` print: the jobs deleted, or that there were none.
pub fn describe_deleted(ids: &[JobId], request: &ClientRequest) -> String {
    let list = ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let deleted = match ids.len() {
        1 => format!("deleted job {list} and its log"),
        _ => format!("deleted jobs {list} and their logs"),
    };
    match request {
        ClientRequest::Prune { before } if ids.is_empty() => format!("no job finished before {}", rfc3339(*before)),
        ClientRequest::Prune { before } => format!("{deleted} (finished before {})", rfc3339(*before)),
        _ => deleted,
    }
}

pub fn rfc3339(ms: u64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok();
    time.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_else(|| ms.to_string())
}

fn until(ms: Option<u64>) -> String {
    ms.map(|ms| format!(" until {}", rfc3339(ms))).unwrap_or_default()
}

fn seen(ms: u64) -> String {
    if ms == 0 {
        return "never".into();
    }
    let ago = distencode_wire::job::now_ms().saturating_sub(ms) / 1000;
    format!("{ago}s ago")
}

pub use distencode_web::json::job_json;

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
