//! What a request to the actors can meet instead of its answer, as kinds a caller can match on.
//!
//! The Coordinator and the WorkerRegistry answer clients' requests with [`Answer`]; the client's connection task
//! turns a [`RequestError`] into the one line the user reads (`ClientReply::Error`), so each variant's text is that
//! line, exactly as users and tests know it.

use crate::auth::Refusal;
use crate::store::StoreError;
use distencode_wire::identity::IdentityError;
use distencode_wire::job::{JobId, JobState};

/// A client's request to the Coordinator or the WorkerRegistry: the answer, or why not.
pub type Answer<T> = Result<T, RequestError>;

/// Why a request was not served.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The job store refused or failed (no such job, a transition not allowed, a failed write).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No connected worker has everything the job needs: for each worker, what it lacks.
    #[error("no worker of the pool can render it: {}", .0.join("; "))]
    NoWorkerCanRender(Vec<String>),
    /// The worker named is not known to the registry.
    #[error("no worker {0} has registered")]
    NoSuchWorker(String),
    /// A release of a worker that is neither reserved nor draining.
    #[error("worker {0} is neither reserved nor draining")]
    NotHeld(String),
    /// `worker forget` of a worker that is connected: it would only register again.
    #[error(
        "worker {0} is connected; stop it first (on its machine: systemctl stop distencode-worker), then forget it"
    )]
    StillConnected(String),
    /// `worker forget` of a name neither registered nor reserved nor drained.
    #[error("no worker {0} is known: nothing to forget")]
    NothingToForget(String),
    /// A worker name that is no node name.
    #[error(transparent)]
    BadWorkerName(#[from] IdentityError),
    /// A task of a split job is cancelled or retried through its job.
    #[error("job {task} is a task of job {parent}: cancel or retry job {parent}")]
    TaskOfSplitJob { task: distencode_wire::job::JobId, parent: distencode_wire::job::JobId },
    /// A submit whose output is the output (or the project) of a job that is not final yet.
    #[error("the output {output} is already the {what} of job {job} ({state})")]
    OutputInUse { output: String, what: &'static str, job: JobId, state: JobState },
    /// `job submit --like W` naming a worker that is not known.
    #[error("--like {0}: no worker {0} has registered since the coordinator started; `worker list` shows who has")]
    NoSuchLike(String),
    /// A submit whose output another submit, not answered yet, names too.
    #[error("the output {0} is already the output of a job being submitted")]
    OutputBeingSubmitted(String),
    /// `store backup --online` names a folder by a relative path: relative to what, on the coordinator's machine?
    #[error("the backup folder {0} is not an absolute path on the coordinator's machine")]
    BackupPathNotAbsolute(String),
    #[error("the reservation would end in the past")]
    ReservationInThePast,
    #[error("a reservation needs a person (--for NAME)")]
    ReservationWithoutPerson,
    /// The user may not do this (see `auth::rules`).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An actor that should have answered is gone (the node is stopping).
    #[error("{0}")]
    Mailbox(#[from] actix::MailboxError),
    /// The Coordinator itself did not answer a client's connection task.
    #[error("coordinator unavailable: {0}")]
    CoordinatorUnavailable(actix::MailboxError),
}
