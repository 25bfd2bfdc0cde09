//! The protocol's messages, one enum per direction and kind of peer.
//!
//! Every connection starts with [`Hello`] from the dialer and [`HelloReply`] from the coordinator, so that nodes of
//! different protocol versions stop with a clear message instead of misreading each other. After that:
//! - a client sends [`ClientRequest`]s and reads one [`ClientReply`] each (a `Watch` is answered by a stream of
//!   `JobUpdate`s that ends with the job's final state);
//! - a worker sends [`WorkerToCoordinator::Register`] first, then both sides send freely: the coordinator pushes
//!   offers and cancellations, the worker answers offers and reports progress, log lines and outcomes.

use crate::audit::AuditEntry;
pub use crate::fingerprint::Fingerprint;
use crate::identity::Role;
use crate::job::{JobId, JobRecord, JobSpec, MeltJob, Progress, RenderFacts};
pub use crate::preset::PresetView;
use crate::thumbnail::Thumbnail;
use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape: whenever the bytes pinned in `message/pins.rs` change. Nodes of
/// different versions refuse each other at the handshake with a message naming both versions.
pub const PROTOCOL_VERSION: u32 = 8;

/// The dialer's first message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// What the dialer means to be; it must be the role its certificate carries.
    pub role: Role,
    /// The dialer's software version, for the coordinator's log and the refusal message.
    pub software: String,
}

/// The coordinator's answer to [`Hello`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum HelloReply {
    Welcome {
        protocol: u32,
        software: String,
        /// The coordinator's clock when it answered (unix ms): `doctor` compares it with its own.
        time_ms: u64,
    },
    /// The versions differ, or the certificate does not allow the role asked for: the text says why, and the
    /// connection closes.
    Refused(String),
}

impl Hello {
    pub fn new(role: Role) -> Self {
        Self { protocol: PROTOCOL_VERSION, role, software: env!("CARGO_PKG_VERSION").to_string() }
    }
}

/// A client's request. Each gets one [`ClientReply`], except `Watch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Record a new job. Answered with `Job` once it is durable.
    Submit(JobSpec),
    /// Answered with `Job`.
    Status(JobId),
    /// Answered with `Jobs` pages (oldest first) then `JobsEnd`, so any number of jobs fits the frame cap.
    List,
    /// Answered with `Log` chunks (at most a frame each) then `LogEnd`; with `follow`, `LogEnd` comes only once
    /// the job has ended and every line of it was sent.
    Logs { id: JobId, follow: bool },
    /// Answered with a `JobUpdate` now and at each change, ending with the final state.
    Watch(JobId),
    /// Answered with `Job`.
    Cancel(JobId),
    /// Answered with `Job`.
    Retry(JobId),
    /// Answered with `Workers`.
    WorkerList,
    /// Take a worker out of the pool for a person: after its current job, or at once (`now`, requeuing that job).
    /// `until` (unix ms) ends the reservation by itself. Answered with `Workers`.
    Reserve { worker: String, person: String, until: Option<u64>, now: bool },
    /// End a reservation or a drain. Answered with `Workers`.
    Release { worker: String },
    /// Let a worker finish its job and take nothing more. Answered with `Workers`.
    Drain { worker: String },
    /// Give a job not yet final a new priority. Answered with `Job`.
    Priority { id: JobId, priority: i32 },
    /// Delete these finished jobs and their logs (all or none; at most [`crate::limits::MAX_DELETE_JOBS`]).
    /// Answered with `Deleted`.
    Delete(Vec<JobId>),
    /// Delete the finished jobs that finished before `before` (unix ms), oldest first, at most
    /// [`crate::limits::MAX_DELETE_JOBS`] of them. Answered with `Deleted`.
    Prune { before: u64 },
    /// The audit trail, newest first: at most `limit` entries (capped at [`crate::audit::MAX_AUDIT_ENTRIES`]),
    /// only `user`'s when one is named. Admins only. Answered with `Audit`.
    Audit { user: Option<String>, limit: u32 },
    /// Forget a worker that is gone (not connected): it leaves `worker list` with its reservation and drain.
    /// Admins only. Answered with `Workers`.
    Forget { worker: String },
    /// The coordinator's house presets (`[[preset]]` in its config). Answered with `Presets`.
    Presets,
    /// `store backup --online`: copy the running coordinator's store into `to`, a new folder on its machine
    /// (admins only). Answered with `BackedUp`.
    Backup { to: String },
}

/// The coordinator's answer to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientReply {
    Job(JobRecord),
    /// A page of `job list`, oldest first; `JobsEnd` follows the last page.
    Jobs(Vec<JobRecord>),
    JobsEnd,
    JobUpdate(JobRecord),
    Log(String),
    LogEnd,
    Workers(Vec<WorkerView>),
    /// The request could not be served; the text is one line for the user.
    Error(String),
    /// The jobs a `Delete` or `Prune` deleted, with their logs.
    Deleted(Vec<JobId>),
    /// The entries an `Audit` asked for, newest first.
    Audit(Vec<AuditEntry>),
    /// The coordinator's house presets, in the order of its config.
    Presets(Vec<PresetView>),
    /// What a backup holds, as one line: `120 jobs (3 unfinished, 110 succeeded)`.
    BackedUp(String),
}

/// A worker as `worker list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    pub name: String,
    /// `idle`, `busy`, `lost`, `reserved` or `draining`.
    pub state: String,
    pub current_job: Option<JobId>,
    pub melt_version: String,
    /// How many MLT services its melt provides, and all their names.
    pub services: usize,
    pub service_names: Vec<String>,
    pub video_encoders: Vec<String>,
    pub audio_encoders: Vec<String>,
    pub cpus: u32,
    /// Unix milliseconds of the last message from it.
    pub last_seen: u64,
    /// Renders failed in a row; reset by a success.
    pub recent_failures: u32,
    /// It failed several different jobs in a row: look at it.
    pub suspect: bool,
    /// Who holds it for manual work, and until when (unix ms).
    pub reserved_by: Option<String>,
    pub reserved_until: Option<u64>,
    pub draining: bool,
    /// Its render stack, as it announced it (empty parts while it never registered).
    pub fingerprint: Fingerprint,
}

/// A worker held out of the pool for a person; kept durably by the coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub person: String,
    /// Unix ms at which it ends by itself.
    pub until: Option<u64>,
}

/// Why a worker turned an offer down: the project itself, or something about this worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectionCause {
    /// No worker could render it (not XML, not MLT, bad lengths): the job fails.
    Project,
    /// Another worker may (a file this worker cannot see, a service its melt lacks, no melt): try elsewhere.
    Worker,
}

/// How a render ended, as the worker saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Succeeded(RenderFacts),
    /// The reason in one line, and the tail of melt's output.
    Failed {
        reason: String,
        log_tail: String,
    },
    /// Stopped because the coordinator cancelled it.
    Cancelled,
}

/// Worker → coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerToCoordinator {
    /// The first message after the handshake.
    Register(Registration),
    Accepted {
        job: JobId,
        attempt: u32,
    },
    Rejected {
        job: JobId,
        attempt: u32,
        cause: RejectionCause,
        reason: String,
    },
    Progress {
        job: JobId,
        attempt: u32,
        progress: Progress,
    },
    /// A batch of melt's output lines (progress lines excluded), numbered from 0 within the attempt. Kept by the
    /// worker until a `LogAck` covers it, and sent again after a reconnection (storing it twice is harmless).
    Log {
        job: JobId,
        attempt: u32,
        seq: u64,
        text: String,
    },
    /// The render is verified and waits beside the output: may it be renamed into place? Answered by `Commit`.
    Verified {
        job: JobId,
        attempt: u32,
        facts: RenderFacts,
    },
    Finished {
        job: JobId,
        attempt: u32,
        outcome: Outcome,
    },
    Heartbeat,
    /// The worker is shutting down: it finishes (or gives up) the render it holds, reports it, and takes no new
    /// offer. It is out of the pool until it registers again.
    Leaving,
    /// A success's poster frame (a small JPEG of the output), sent after `Finished` when the output has pictures
    /// and ffmpeg made one: off the job's path, and unanswered (a picture lost with a connection is not sent again).
    Poster {
        job: JobId,
        attempt: u32,
        thumbnail: Thumbnail,
    },
}

/// What a worker announces about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub melt_version: String,
    /// Every MLT service its melt provides.
    pub services: Vec<String>,
    /// The encoders its melt's avformat consumer offers.
    pub video_encoders: Vec<String>,
    pub audio_encoders: Vec<String>,
    pub cpus: u32,
    /// The job it is still rendering from before a reconnection, if any.
    pub current: Option<(JobId, u32)>,
    /// Drawn at random when the worker process starts and sent with each of its registrations: a reconnection
    /// from the same process replaces the older connection, while a second process with the same name is
    /// turned away as long as the first is connected.
    pub instance: u64,
    /// Its render stack (melt, ffmpeg, frei0r, fonts).
    pub fingerprint: Fingerprint,
}

/// Coordinator → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CoordinatorToWorker {
    /// The answer to `Register`.
    Registered,
    /// Registration refused; the text says why, and the connection closes.
    Refused(String),
    Offer(Box<MeltJob>),
    Cancel {
        job: JobId,
        attempt: u32,
    },
    /// Every log batch of that attempt up to `seq` is stored durably.
    LogAck {
        job: JobId,
        attempt: u32,
        seq: u64,
    },
    /// The answer to `Verified`: `go` when the attempt is still the job's live one; otherwise the worker deletes
    /// its file, so a stale render never overwrites anything.
    Commit {
        job: JobId,
        attempt: u32,
        go: bool,
    },
    /// The coordinator took (or refused, `accepted == false`) a `Finished` report; the worker may forget the job.
    FinishedAck {
        job: JobId,
        attempt: u32,
        accepted: bool,
    },
    Heartbeat,
    /// Registration refused for now: another worker process is connected under this name. The worker dials again
    /// later and is taken once that one is gone.
    NameTaken(String),
}

#[cfg(test)]
mod pins;
