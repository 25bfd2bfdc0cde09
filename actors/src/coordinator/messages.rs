//! The Coordinator's messages: requests relayed from clients' connections and reports relayed from workers'.

use crate::auth::User;
use crate::store::{JobFilter, JobPage, LogCursor};
use actix::Message;
use distencode_wire::job::{JobId, JobRecord, JobSpec};
use distencode_wire::message::{CoordinatorToWorker, WorkerToCoordinator, WorkerView};
use tokio::sync::watch;

pub use crate::error::{Answer, RequestError};

/// Record and queue a new job. Answered once it is durable.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Submit {
    pub spec: JobSpec,
    /// Who submits: the job's owner, held to the priority ceiling unless an admin.
    pub by: User,
}

/// One job, with live progress if it runs.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Status(pub JobId);

/// Every job, oldest first.
#[derive(Message)]
#[rtype(result = "Answer<Vec<JobRecord>>")]
pub struct List;

/// One page of the job list (the web's jobs table, `GET /api/v1/jobs`) as `by` may see it: only the page's records
/// are read; running jobs carry their live progress, queued ones their place in the queue; others' jobs are
/// [`crate::auth::redact`]ed, and a search looks in their owner and worker only.
#[derive(Message)]
#[rtype(result = "Answer<JobPage>")]
pub struct ListPage(pub JobFilter, pub User);

/// One job as `by` may see it (others' are [`crate::auth::redact`]ed), with live progress if it runs.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Seen {
    pub id: JobId,
    pub by: User,
}

/// A piece of a job's stored log after `after`, and the cursor to read on from.
#[derive(Message)]
#[rtype(result = "Answer<(String, Option<LogCursor>)>")]
pub struct Logs {
    pub id: JobId,
    pub after: Option<LogCursor>,
}

/// A job's poster frame (a JPEG's bytes; `None` when it has none), for whom may see the job's details.
#[derive(Message)]
#[rtype(result = "Answer<Option<Vec<u8>>>")]
pub struct Thumbnail {
    pub id: JobId,
    pub by: User,
}

/// A job, if `by` may see its project, output and log (its owner or an admin): asked before a log is sent.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Details {
    pub id: JobId,
    pub by: User,
}

/// A signal that changes whenever a log batch of the job is stored; `None` once the job is final.
#[derive(Message)]
#[rtype(result = "Answer<Option<watch::Receiver<u64>>>")]
pub struct LogSignal(pub JobId);

/// Follow a job: a receiver that sees each new version of the record; it closes after the final state.
#[derive(Message)]
#[rtype(result = "Answer<watch::Receiver<JobRecord>>")]
pub struct Watch(pub JobId);

/// Cancel a job (kills its render if it runs); only its owner or an admin may.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Cancel {
    pub id: JobId,
    pub by: User,
}

/// Put a failed or cancelled job back in the queue; only its owner or an admin may.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct Retry {
    pub id: JobId,
    pub by: User,
}

/// Give a job not yet final a new priority; a queued job moves to its new place in the queue.
#[derive(Message)]
#[rtype(result = "Answer<JobRecord>")]
pub struct SetPriority {
    pub id: JobId,
    pub priority: i32,
    pub by: User,
}

/// Delete these finished jobs and their logs (all or none), as `by` may.
#[derive(Message)]
#[rtype(result = "Answer<Vec<JobId>>")]
pub struct Delete {
    pub ids: Vec<JobId>,
    pub by: User,
}

/// Delete the jobs that finished before `before` (unix ms), at most `MAX_DELETE_JOBS` of them; `by` is an admin
/// (or `None`: the coordinator's own retention, `--keep-finished`).
#[derive(Message)]
#[rtype(result = "Answer<Vec<JobId>>")]
pub struct Prune {
    pub before: u64,
    pub by: Option<User>,
}

/// `store backup --online`: copy the store into `to`, a new folder on the coordinator's machine; `by` must be an
/// admin. Answered with what the copy holds.
#[derive(Message)]
#[rtype(result = "Answer<String>")]
pub struct BackupStore {
    pub to: String,
    pub by: User,
}

/// Follow the farm's changes (jobs and workers) as they happen.
#[derive(Message)]
#[rtype(result = "tokio::sync::broadcast::Receiver<crate::events::FarmEvent>")]
pub struct SubscribeEvents;

/// Every worker, for `worker list`.
#[derive(Message)]
#[rtype(result = "Answer<Vec<WorkerView>>")]
pub struct Workers;

/// A message from a registered worker, relayed by its connection task (which awaits the answer: back-pressure).
/// Answered with a message to send straight back to that worker, if any (a log acknowledgement).
#[derive(Message)]
#[rtype(result = "Option<CoordinatorToWorker>")]
pub struct FromWorker {
    pub worker: String,
    pub message: WorkerToCoordinator,
}
