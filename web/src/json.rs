//! Jobs and workers as JSON: one shape for the CLI's `--json` and the web's `/api/v1/`, so a script reads the same
//! object from either.

use distencode_wire::job::{JobRecord, JobState};
use distencode_wire::message::WorkerView;

/// A job as the JSON object of `--json`: the record, plus `progress` (percent), `fps` and `eta_seconds`.
pub fn job_json(job: &JobRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(job).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        let progress = match job.state {
            JobState::Succeeded => Some(100.0),
            JobState::Running => job.progress.as_ref().map(|p| p.percent).or(Some(0.0)),
            _ => None,
        };
        object.insert("progress".into(), serde_json::json!(progress));
        object.insert("fps".into(), serde_json::json!(job.progress.as_ref().map(|p| p.fps)));
        object.insert("eta_seconds".into(), serde_json::json!(job.progress.as_ref().and_then(|p| p.eta_seconds)));
    }
    value
}

/// Workers as the JSON array of `worker list --json`.
pub fn workers_json(workers: &[WorkerView]) -> serde_json::Value {
    serde_json::to_value(workers).unwrap_or(serde_json::Value::Null)
}
