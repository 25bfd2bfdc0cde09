//! Jobs and workers as JSON: one shape for the CLI's `--json` and the web's `/api/v1/`, so a script reads the same
//! object from either (a job's is the actors' own, which webhooks send too).

pub use distencode_actors::json::job_json;
use distencode_wire::message::WorkerView;

/// Workers as the JSON array of `worker list --json`.
pub fn workers_json(workers: &[WorkerView]) -> serde_json::Value {
    serde_json::to_value(workers).unwrap_or(serde_json::Value::Null)
}
