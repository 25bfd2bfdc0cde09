//! Schema 2, frozen: the records as distencode wrote them from versioned records on until schema 3, each tagged
//! `0xFF 0x02` before its bincode. These types never change: they are how such a record is read, to be converted
//! to schema 3 (and, at open, rewritten as it). Against schema 1, an attempt's outcome is a value (not a sentence),
//! an attempt records when it was committed, live progress is not stored, drains are kept, and a job records its
//! optional filters (`--allow-missing-filters`) and a render the filters it went without.
//!
//! Schema 3 kept the melt log level, the reservation and the drain byte for byte: they are defined here, frozen,
//! and schema 3 writes them as they are.

use super::v3;
use distencode_wire::job::AttemptOutcome;
use distencode_wire::message;
use serde::{Deserialize, Serialize};

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
    /// Filters the render may go without (`job submit --allow-missing-filters`).
    pub optional_filters: Vec<String>,
    pub submitted_by: String,
    pub submitted_at: u64,
    pub finished_at: Option<u64>,
    pub worker: Option<String>,
    pub attempts: Vec<Attempt>,
    pub error: Option<String>,
    pub facts: Option<Facts>,
    pub revision: u64,
    pub retried_at: u64,
}

#[derive(Deserialize)]
pub enum State {
    Queued,
    Offered,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Deserialize)]
pub struct Encoding {
    pub vcodec: String,
    pub acodec: String,
    pub extra: Vec<(String, String)>,
}

/// Shared with schema 3.
#[derive(Serialize, Deserialize)]
pub enum MeltLog {
    Normal,
    Verbose,
    Debug,
}

#[derive(Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub worker: String,
    pub offered_at: u64,
    pub started_at: Option<u64>,
    pub ended_at: Option<u64>,
    pub committed_at: Option<u64>,
    pub outcome: Option<Outcome>,
    pub blames_worker: bool,
}

#[derive(Deserialize)]
pub enum Outcome {
    Succeeded,
    Declined { reason: String },
    Failed { reason: String },
    Cancelled { reason: String },
}

#[derive(Deserialize)]
pub struct Facts {
    pub frames: u64,
    pub duration_seconds: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub size_bytes: u64,
    /// Optional filters the render went without.
    pub dropped_filters: Vec<String>,
}

/// Shared with schema 3 (and read as schema 1 wrote it: schema 2 kept it byte for byte).
#[derive(Serialize, Deserialize)]
pub struct Reservation {
    pub person: String,
    pub until: Option<u64>,
}

/// A worker kept out of the pool until released (the worker's name is the key). Shared with schema 3.
#[derive(Serialize, Deserialize)]
pub struct Drain {
    /// When the drain was asked for (unix ms).
    pub since: u64,
}

// === To schema 3 ===

/// The record as schema 3 has it.
impl From<Job> for v3::Job {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            state: match job.state {
                State::Queued => v3::State::Queued,
                State::Offered => v3::State::Offered,
                State::Running => v3::State::Running,
                State::Succeeded => v3::State::Succeeded,
                State::Failed => v3::State::Failed,
                State::Cancelled => v3::State::Cancelled,
            },
            project: job.project,
            output: job.output,
            encoding: v3::Encoding {
                vcodec: job.encoding.vcodec,
                acodec: job.encoding.acodec,
                extra: job.encoding.extra,
            },
            priority: job.priority,
            melt_log: job.melt_log,
            services: job.services,
            optional_filters: job.optional_filters,
            // Schema 2 did not keep `--overwrite`: its jobs replace nothing.
            overwrite: false,
            // Nor `--like`: its jobs render on any worker.
            like: None,
            submitted_by: job.submitted_by,
            submitted_at: job.submitted_at,
            finished_at: job.finished_at,
            worker: job.worker,
            attempts: job.attempts.into_iter().map(Into::into).collect(),
            error: job.error,
            facts: job.facts.map(|f| v3::Facts {
                frames: f.frames,
                duration_seconds: f.duration_seconds,
                video_codec: f.video_codec,
                audio_codec: f.audio_codec,
                size_bytes: f.size_bytes,
                dropped_filters: f.dropped_filters,
                // Schema 2 kept no stream details.
                streams: v3::StreamDetails::default(),
            }),
            revision: job.revision,
            retried_at: job.retried_at,
            // Schema 2 had no split jobs.
            split: None,
            task: None,
            tasks: Vec::new(),
        }
    }
}

impl From<Attempt> for v3::Attempt {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            worker: a.worker,
            offered_at: a.offered_at,
            started_at: a.started_at,
            ended_at: a.ended_at,
            committed_at: a.committed_at,
            outcome: a.outcome.map(|o| match o {
                Outcome::Succeeded => v3::Outcome::Succeeded,
                Outcome::Declined { reason } => v3::Outcome::Declined { reason },
                Outcome::Failed { reason } => v3::Outcome::Failed { reason },
                Outcome::Cancelled { reason } => v3::Outcome::Cancelled { reason },
            }),
            blames_worker: a.blames_worker,
        }
    }
}

/// How schema 1's sentence reads as an outcome (see [`super::v1`]).
impl From<&AttemptOutcome> for Outcome {
    fn from(o: &AttemptOutcome) -> Self {
        match o.clone() {
            AttemptOutcome::Succeeded => Outcome::Succeeded,
            AttemptOutcome::Declined { reason } => Outcome::Declined { reason },
            AttemptOutcome::Failed { reason } => Outcome::Failed { reason },
            AttemptOutcome::Cancelled { reason } => Outcome::Cancelled { reason },
        }
    }
}

// === The shared types, to and from the wire ===

impl From<&message::Reservation> for Reservation {
    fn from(r: &message::Reservation) -> Self {
        Self { person: r.person.clone(), until: r.until }
    }
}

impl From<Reservation> for message::Reservation {
    fn from(r: Reservation) -> Self {
        Self { person: r.person, until: r.until }
    }
}
