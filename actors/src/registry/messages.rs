//! The WorkerRegistry's messages and the events it sends to the Coordinator.

use crate::error::Answer;
use actix::Message;
use distencode_wire::job::{Encoding, JobId, Like};
use distencode_wire::message::{CoordinatorToWorker, Fingerprint, Registration, WorkerView};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A worker's connection task registers it; answered with a connection number, or why it was turned away.
#[derive(Message)]
#[rtype(result = "Result<u64, NameTaken>")]
pub struct Connect {
    pub name: String,
    pub registration: Registration,
    pub outbox: mpsc::Sender<CoordinatorToWorker>,
}

/// Another worker process is connected under the name a worker registers with (the text says so).
#[derive(Debug, PartialEq)]
pub struct NameTaken(pub String);

/// The connection `connection` of worker `name` ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub name: String,
    pub connection: u64,
}

/// What a worker must have to render a job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub services: Vec<String>,
    pub video_encoder: String,
    pub audio_encoder: String,
}

impl Needs {
    /// What a job using `services`, encoded as `encoding`, needs (the same for its spec and its record).
    pub fn of(services: &[String], encoding: &Encoding) -> Self {
        Self {
            services: services.to_vec(),
            video_encoder: encoding.vcodec.clone(),
            audio_encoder: encoding.acodec.clone(),
        }
    }
}

/// A job that could be dispatched now, and the workers it must not go to. The sets are shared with the
/// Coordinator's own copy, which makes them once per job, not once per claim.
pub struct Candidate {
    pub job: JobId,
    /// The number the attempt will have if a worker is found.
    pub attempt: u32,
    pub excluded: Arc<HashSet<String>>,
    /// What a worker must have: [`Needs::keys`].
    pub keys: Arc<[String]>,
    /// `job submit --like W`: only a worker with this render stack may take it.
    pub like: Option<Arc<Fingerprint>>,
}

/// Sent by the Coordinator before it records a job: `Err` says, for every connected worker, what it lacks, when
/// none of them could render the job. With no worker connected, nobody can tell, and the answer is `Ok`.
#[derive(Message)]
#[rtype(result = "Answer<()>")]
pub struct CheckNeeds(pub Needs);

/// Sent by the Coordinator: pair candidates, in order, with idle workers that may render them (each worker and
/// each job at most once, at most `at_most` pairs), and mark those workers busy with them.
#[derive(Message)]
#[rtype(result = "ClaimResult")]
pub struct Claim {
    pub candidates: Vec<Candidate>,
    pub at_most: usize,
    /// Also answer the pool (see [`ClaimResult::pool`]).
    pub with_pool: bool,
}

/// The answer to [`Claim`].
#[derive(actix::MessageResponse)]
pub struct ClaimResult {
    /// Each job claimed and its worker (reached with [`SendTo`]).
    pub claimed: Vec<(JobId, String)>,
    /// When asked for: every worker connected now or seen in the last minute (to tell when every worker has turned
    /// a job down).
    pub pool: Option<Vec<String>>,
    /// Idle workers of the pool left after this claim.
    pub idle_left: usize,
}

/// The worker is done with `job` (finished, rejected, or the offer failed); `rendered` says whether a render
/// succeeded (`Some(true)`), failed (`Some(false)`) or never ran (`None`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release {
    pub name: String,
    pub job: JobId,
    pub attempt: u32,
    pub rendered: Option<bool>,
}

/// A heartbeat arrived from this worker (sent by its connection task straight to the registry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Touch(pub String);

/// The worker is shutting down (it said `Leaving`): offer it nothing more until it registers again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave(pub String);

/// Sends one message to a worker: the one way the Coordinator reaches a worker (answers to a worker's own reports
/// go back on its connection as the reply). False when it is not connected, its outbox is full, or the message is
/// an offer of a job the worker is no longer claimed for (it reconnected or was released meanwhile).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct SendTo {
    pub name: String,
    pub message: CoordinatorToWorker,
}

/// Whether `worker` holds that attempt of `job` right now.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct HoldsJob {
    pub worker: String,
    pub job: JobId,
    pub attempt: u32,
}

/// Why each of these queued jobs waits (see [`super::waiting`]); answered with one reason per job, in order.
/// At most [`MAX_EXPLAINED`] jobs are looked at; the rest get none.
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct Explain(pub Vec<Unserved>);

/// The most queued jobs one [`Explain`] looks at (a `job list` of a deep queue explains its first ones).
pub const MAX_EXPLAINED: usize = 2000;

/// A queued job as [`Explain`] needs it.
pub struct Unserved {
    /// Capability keys ([`Needs::keys`]).
    pub keys: Vec<String>,
    /// Workers that turned it down since its last retry, each with its reason.
    pub rejected: Vec<(String, String)>,
    /// `job submit --like W`: the worker and the render stack asked for.
    pub like: Option<Like>,
}

/// Forget a worker that is not connected: it leaves the registry, its reservation and its drain. Admins only.
#[derive(Message)]
#[rtype(result = "Answer<Vec<WorkerView>>")]
pub struct Forget {
    pub worker: String,
    pub by: crate::auth::User,
}

/// The render stack worker `0` announced, if it has registered since the coordinator started (`job submit --like`).
#[derive(Message)]
#[rtype(result = "Option<Fingerprint>")]
pub struct StackOf(pub String);

/// Every known worker, for `worker list`.
#[derive(Message)]
#[rtype(result = "Vec<WorkerView>")]
pub struct ListWorkers;

/// What the registry tells the Coordinator.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum WorkerEvent {
    /// Some worker became idle: dispatch.
    Available,
    /// `worker` is gone with that attempt of `job`.
    Lost { worker: String, job: JobId, attempt: u32 },
    /// `worker` (re)registered while rendering that attempt, which the registry did not know of.
    Resumed { worker: String, job: JobId, attempt: u32 },
    /// `worker` was reserved at once: take that attempt back from it and queue the job again.
    Reclaimed { worker: String, job: JobId, attempt: u32 },
}
