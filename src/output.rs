//! How jobs and workers look on a terminal and as JSON.

use distencode_wire::job::{JobRecord, JobState};
use distencode_wire::message::WorkerView;

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

/// One line about a job's state, the way `submit --wait` and `watch` tell each change.
pub fn describe_state(job: &JobRecord) -> String {
    let worker = job.worker.as_deref().unwrap_or("-");
    match job.state {
        JobState::Queued => format!("job {} queued", job.id),
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

/// A table row for `job list`.
pub fn job_row(job: &JobRecord) -> String {
    let progress = match (&job.state, &job.progress) {
        (JobState::Running, Some(p)) => format!("{:.0}%", p.percent),
        (JobState::Succeeded, _) => "100%".into(),
        _ => "-".into(),
    };
    format!(
        "{:>6}  {:<9}  {:>5}  {:<12}  {}",
        job.id,
        job.state,
        progress,
        job.worker.as_deref().unwrap_or("-"),
        job.output
    )
}

pub fn job_header() -> String {
    format!("{:>6}  {:<9}  {:>5}  {:<12}  {}", "ID", "STATE", "DONE", "WORKER", "OUTPUT")
}

pub fn worker_row(worker: &WorkerView) -> String {
    let mut notes = Vec::new();
    if let Some(person) = &worker.reserved_by {
        notes.push(format!("reserved for {person}{}", until(worker.reserved_until)));
    }
    if worker.suspect {
        notes.push(format!("suspect: {} failures in a row", worker.recent_failures));
    }
    format!(
        "{:<16}  {:<8}  {:>6}  {:<8}  {:>4}  {:>8}  {:>8}  {}",
        worker.name,
        worker.state,
        worker.current_job.map(|j| j.to_string()).unwrap_or_else(|| "-".into()),
        worker.melt_version,
        worker.cpus,
        worker.services,
        seen(worker.last_seen),
        notes.join("; ")
    )
}

pub fn worker_header() -> String {
    format!(
        "{:<16}  {:<8}  {:>6}  {:<8}  {:>4}  {:>8}  {:>8}  {}",
        "NAME", "STATE", "JOB", "MELT", "CPUS", "SERVICES", "SEEN", "NOTES"
    )
}

/// One line about a worker after a reserve, release or drain.
pub fn describe_worker(worker: &WorkerView) -> String {
    match &worker.reserved_by {
        Some(person) => {
            format!("worker {} {} (reserved for {person}{})", worker.name, worker.state, until(worker.reserved_until))
        }
        None => format!("worker {} {}", worker.name, worker.state),
    }
}

fn until(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return String::new() };
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok();
    time.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .map(|t| format!(" until {t}"))
        .unwrap_or_default()
}

fn seen(ms: u64) -> String {
    if ms == 0 {
        return "never".into();
    }
    let ago = distencode_wire::job::now_ms().saturating_sub(ms) / 1000;
    format!("{ago}s ago")
}

pub use distencode_web::json::job_json;
