//! The JobStore's messages: each is sent by the Coordinator and answered once the store has done it durably.

use super::{Change, JobFilter, JobPage, StoreError};
use actix::Message;
use distencode_wire::job::{JobId, JobRecord, JobSpec};
use distencode_wire::message::Reservation;
use distencode_wire::thumbnail::Thumbnail;

/// Records a new queued job and answers with it (its id assigned) once it is on disk.
#[derive(Message)]
#[rtype(result = "Result<JobRecord, StoreError>")]
pub struct CreateJob {
    pub spec: JobSpec,
    pub submitted_by: String,
}

/// Applies one state-machine change; answers with the new record, or the refusal.
#[derive(Message)]
#[rtype(result = "Result<JobRecord, StoreError>")]
pub struct ApplyChange {
    pub id: JobId,
    pub change: Change,
}

/// A success's poster frame, sent by its worker after the success was recorded (see `JobStore::attach_poster`):
/// `true` when it was stored.
#[derive(Message)]
#[rtype(result = "Result<bool, StoreError>")]
pub struct AttachPoster {
    pub id: JobId,
    pub attempt: u32,
    /// The worker that sent it: it counts only from the worker of that attempt.
    pub worker: String,
    pub thumbnail: Thumbnail,
}

/// A job's poster frame (its JPEG's bytes), `None` when it has none.
#[derive(Message)]
#[rtype(result = "Result<Option<Vec<u8>>, StoreError>")]
pub struct GetThumbnail(pub JobId);

/// One job's record.
#[derive(Message)]
#[rtype(result = "Result<JobRecord, StoreError>")]
pub struct GetJob(pub JobId);

/// All jobs, oldest first; with `unfinished_only`, those not in a final state (for recovery at start).
#[derive(Message)]
#[rtype(result = "Result<Vec<JobRecord>, StoreError>")]
pub struct ListJobs {
    pub unfinished_only: bool,
}

/// One page of the job list (only its records are read: see [`super::index`]).
#[derive(Message)]
#[rtype(result = "Result<JobPage, StoreError>")]
pub struct QueryJobs(pub JobFilter);

/// Stores batch `seq` of an attempt's log (storing the same batch again changes nothing); answered once flushed.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct AppendLog {
    pub id: JobId,
    pub attempt: u32,
    pub seq: u64,
    pub text: String,
}

/// Where a log reader is: after this attempt's batch `seq`.
pub type LogCursor = (u32, u64);

/// A job's log batches after `after` (from the start with `None`), every attempt in order, up to about `max_bytes`;
/// answered with the text and the cursor of the last batch read (unchanged if there was none).
#[derive(Message)]
#[rtype(result = "Result<(String, Option<LogCursor>), StoreError>")]
pub struct ReadLog {
    pub id: JobId,
    pub after: Option<LogCursor>,
    pub max_bytes: usize,
}

/// Records a worker's reservation (`None` removes it); answered once flushed.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SaveReservation {
    pub worker: String,
    pub reservation: Option<Reservation>,
}

/// Every recorded reservation, for the registry at start.
#[derive(Message)]
#[rtype(result = "Result<Vec<(String, Reservation)>, StoreError>")]
pub struct LoadReservations;

/// Records that a worker drains (`false`: no longer); answered once flushed.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SaveDrain {
    pub worker: String,
    pub draining: bool,
}

/// Every worker recorded as draining, for the registry at start.
#[derive(Message)]
#[rtype(result = "Result<Vec<String>, StoreError>")]
pub struct LoadDrains;

/// Deletes these finished jobs and their logs, all or none; answers with the deleted records once that is on disk.
#[derive(Message)]
#[rtype(result = "Result<Vec<JobRecord>, StoreError>")]
pub struct DeleteJobs(pub Vec<JobId>);

/// Deletes the finished jobs that finished before `before` (unix ms), oldest first, at most
/// [`distencode_wire::limits::MAX_DELETE_JOBS`]; answers with the deleted records once that is on disk.
#[derive(Message)]
#[rtype(result = "Result<Vec<JobRecord>, StoreError>")]
pub struct PruneJobs {
    pub before: u64,
}

/// Copy the store's folder into `to` (see `backup`): answered once the copy is made, with what it holds.
#[derive(Message)]
#[rtype(result = "Result<String, StoreError>")]
pub struct Backup {
    pub to: std::path::PathBuf,
}
