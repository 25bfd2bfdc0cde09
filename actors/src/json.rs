//! A job as JSON: one shape for the CLI's `--json`, the web's `/api/v1/` and the body of a webhook's delivery, so a
//! script reads the same object from any of them.

use distencode_wire::job::{JobRecord, JobState};

/// A job as the JSON object of `--json`: the record, plus `progress` (percent), `fps` and `eta_seconds`; its
/// `kind` is named (`render`, `split`, `task`, `ffmpeg`) and an ffmpeg job's inputs and arguments are in `ffmpeg`.
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
        object.insert("kind".into(), serde_json::json!(job.kind_name()));
        object.insert("ffmpeg".into(), serde_json::json!(job.kind.ffmpeg()));
        object.insert("eta_seconds".into(), serde_json::json!(job.progress.as_ref().and_then(|p| p.eta_seconds)));
    }
    value
}
