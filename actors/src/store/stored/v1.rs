//! Schema 1, frozen: the records exactly as distencode wrote them before stored records had versions (up to commit
//! a2c68d8), when the wire's `JobRecord` and `Reservation` were bincode-encoded straight into sled. These types
//! never change: they are how such a record is read, to be converted (and, at open, rewritten as the current schema).
//! A schema-1 record has no tag: it begins with a bincode varint, never the byte `0xFF` that tags later ones.
//!
//! The parts of a record that schema 2 kept byte for byte (state, encoding, melt log level, facts, reservation) are
//! schema 2's types, frozen with it.

use super::v2::{self, Encoding, MeltLog, State};
use distencode_wire::job::AttemptOutcome;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Job {
    pub id: u64,
    pub state: State,
    pub project: String,
    pub output: String,
    pub encoding: Encoding,
    pub priority: i32,
    pub melt_log: MeltLog,
    pub services: Vec<String>,
    pub submitted_by: String,
    pub submitted_at: u64,
    pub finished_at: Option<u64>,
    pub worker: Option<String>,
    pub attempts: Vec<Attempt>,
    pub error: Option<String>,
    pub facts: Option<Facts>,
    pub revision: u64,
    /// A `usize` then, which bincode writes as a `u64`.
    pub retried_at: u64,
    /// Written with every record although it was never meant to be kept; dropped when read.
    pub progress: Option<Progress>,
}

#[derive(Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub worker: String,
    pub offered_at: u64,
    pub started_at: Option<u64>,
    pub ended_at: Option<u64>,
    /// `succeeded`, `rejected: ...`, `cancelled: ...` or a failure's reason.
    pub outcome: Option<String>,
    pub blames_worker: bool,
}

#[derive(Deserialize)]
pub struct Progress {
    pub frame: u64,
    pub percent: f64,
    pub fps: f64,
    pub eta_seconds: Option<f64>,
}

/// A succeeded render's facts as schema 1 stored them (schema 2 added the filters it went without).
#[derive(Deserialize)]
pub struct Facts {
    pub frames: u64,
    pub duration_seconds: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub size_bytes: u64,
}

impl From<Facts> for v2::Facts {
    fn from(f: Facts) -> Self {
        Self {
            frames: f.frames,
            duration_seconds: f.duration_seconds,
            video_codec: f.video_codec,
            audio_codec: f.audio_codec,
            size_bytes: f.size_bytes,
            // Schema 1 rendered every filter.
            dropped_filters: Vec::new(),
        }
    }
}

/// The record as schema 2 has it.
impl From<Job> for v2::Job {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            state: job.state,
            project: job.project,
            output: job.output,
            encoding: job.encoding,
            priority: job.priority,
            melt_log: job.melt_log,
            services: job.services,
            // Schema 1 had no optional filters: every service was required.
            optional_filters: Vec::new(),
            submitted_by: job.submitted_by,
            submitted_at: job.submitted_at,
            finished_at: job.finished_at,
            worker: job.worker,
            attempts: job.attempts.into_iter().map(Into::into).collect(),
            error: job.error,
            facts: job.facts.map(Into::into),
            revision: job.revision,
            retried_at: job.retried_at,
        }
    }
}

impl From<Attempt> for v2::Attempt {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            worker: a.worker,
            offered_at: a.offered_at,
            started_at: a.started_at,
            ended_at: a.ended_at,
            // Schema 1 did not record the commit: no attempt of it is taken for a finishing one.
            committed_at: None,
            // The text shows the same whichever variant it becomes (see `AttemptOutcome::from_text`).
            outcome: a.outcome.as_deref().map(|text| v2::Outcome::from(&AttemptOutcome::from_text(text))),
            blames_worker: a.blames_worker,
        }
    }
}
