//! A worker's state as the registry tracks it.

use distencode_wire::job::JobId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// Connected and free to take a job.
    Idle,
    /// Holds one attempt of one job (offered or running).
    Busy { job: JobId, attempt: u32 },
    /// Disconnected and holding nothing.
    Lost,
}

impl WorkerState {
    pub fn job(self) -> Option<(JobId, u32)> {
        match self {
            WorkerState::Busy { job, attempt } => Some((job, attempt)),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Idle => "idle",
            WorkerState::Busy { .. } => "busy",
            WorkerState::Lost => "lost",
        }
    }
}
