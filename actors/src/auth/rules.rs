//! The farm's ownership rules, as one pure function: may this user do this, here and now?
//!
//! Every request that changes something, or shows what only a job's owner may see, is first described as an
//! [`Action`] carrying the facts the rule needs (the job's owner, the worker's holder...) and passed to
//! [`authorize`] with the user. The wire (`server::client_session`, the Coordinator, the WorkerRegistry) and the web
//! call the same function, so the rules hold alike everywhere. A refusal is one line for the user.
//!
//! The rules:
//! - everyone sees every job's state, owner, queue position and worker;
//! - only the owner or an admin sees its project, output, log and error ([`redact`] hides them from others), and
//!   may cancel it, retry it, change its priority or delete it once finished;
//! - a user may give a job a priority up to `max_user_priority`; admins have no ceiling;
//! - anyone may reserve a worker for themselves (at once only when it is idle) and release their own reservation;
//! - only admins prune old jobs, drain or forget workers, release someone else's reservation or a drain, reserve for another person, take a
//!   busy worker at once, or read the audit trail.

use super::{User, Users};
use distencode_wire::job::{AttemptOutcome, JobId, JobKind, JobRecord};

/// What replaces a hidden field of a job that is not the reader's.
pub const HIDDEN: &str = "(hidden)";

/// Something a user asks to do, with the facts that decide whether they may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read a job's project, output, log and error. `owner` is the job's `submitted_by`.
    SeeDetails {
        job: JobId,
        owner: &'a str,
    },
    /// Submit a job with this priority.
    Submit {
        priority: i32,
    },
    Cancel {
        job: JobId,
        owner: &'a str,
    },
    Retry {
        job: JobId,
        owner: &'a str,
    },
    /// Change a job's priority to `priority`.
    SetPriority {
        job: JobId,
        owner: &'a str,
        priority: i32,
    },
    /// Reserve `worker` for `person`; `now` takes it from its current job, `busy` is that job, `held_by` the person
    /// holding it already.
    Reserve {
        worker: &'a str,
        person: &'a str,
        now: bool,
        busy: Option<JobId>,
        held_by: Option<&'a str>,
    },
    /// End the reservation (held by `held_by`) or the drain of `worker`.
    Release {
        worker: &'a str,
        held_by: Option<&'a str>,
        draining: bool,
    },
    Drain {
        worker: &'a str,
    },
    /// Forget a worker that is gone (`worker forget`).
    Forget {
        worker: &'a str,
    },
    /// Delete a finished job and its log.
    Delete {
        job: JobId,
        owner: &'a str,
    },
    /// Delete every job that finished before a time, whoever's it is.
    Prune,
    /// Read the audit trail.
    ReadAudit,
    /// Copy the running coordinator's store (`store backup --online`).
    Backup,
}

/// Why a user may not do what they asked; each text is the line the user reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("job {job} belongs to {owner}; only {owner} or an admin may {action}")]
    NotOwner { job: JobId, owner: String, action: &'static str },
    #[error(
        "priority {priority} is above {max}, the highest a user may give (max_user_priority); only an admin may go higher"
    )]
    PriorityCeiling { priority: i32, max: i32 },
    #[error("you ({user}) may reserve a worker only for yourself; only an admin may reserve one for {person}")]
    ReserveForOther { user: String, person: String },
    #[error(
        "worker {worker} is rendering job {job}; only an admin may take it at once (reserve it without --now to have it after that job)"
    )]
    TakeBusy { worker: String, job: JobId },
    #[error("worker {worker} is reserved by {holder}; only {holder} or an admin may {action}")]
    HeldByOther { worker: String, holder: String, action: &'static str },
    #[error("worker {worker} is draining; only an admin may put it back in the pool")]
    ReleaseDrain { worker: String },
    #[error("only an admin may drain worker {worker}")]
    Drain { worker: String },
    #[error("only an admin may forget worker {worker}")]
    Forget { worker: String },
    #[error("only an admin may read the audit trail")]
    Audit,
    #[error("only an admin may prune jobs (a user deletes their own with job delete)")]
    Prune,
    #[error("only an admin may back up the coordinator's store")]
    Backup,
}

/// Whether `user` may do `action`, by the rules above; `users` resolves owners and holds the priority ceiling.
pub fn authorize(users: &Users, user: &User, action: Action<'_>) -> Result<(), Refusal> {
    if user.is_admin() {
        return Ok(());
    }
    let owns = |owner: &str| users.user_name(owner) == user.name;
    let not_owner = |job: JobId, owner: &str, action: &'static str| Refusal::NotOwner {
        job,
        owner: users.user_name(owner).to_string(),
        action,
    };
    let ceiling = |priority: i32| {
        if priority > users.max_user_priority {
            Err(Refusal::PriorityCeiling { priority, max: users.max_user_priority })
        } else {
            Ok(())
        }
    };
    match action {
        Action::SeeDetails { job, owner } if !owns(owner) => {
            Err(not_owner(job, owner, "see its project, output and log"))
        }
        Action::SeeDetails { .. } => Ok(()),
        Action::Submit { priority } => ceiling(priority),
        Action::Cancel { job, owner } if !owns(owner) => Err(not_owner(job, owner, "cancel it")),
        Action::Retry { job, owner } if !owns(owner) => Err(not_owner(job, owner, "retry it")),
        Action::SetPriority { job, owner, .. } if !owns(owner) => Err(not_owner(job, owner, "change its priority")),
        Action::SetPriority { priority, .. } => ceiling(priority),
        Action::Delete { job, owner } if !owns(owner) => Err(not_owner(job, owner, "delete it")),
        Action::Cancel { .. } | Action::Retry { .. } | Action::Delete { .. } => Ok(()),
        Action::Prune => Err(Refusal::Prune),
        Action::Backup => Err(Refusal::Backup),
        Action::Reserve { person, .. } if person != user.name => {
            Err(Refusal::ReserveForOther { user: user.name.clone(), person: person.to_string() })
        }
        Action::Reserve { worker, held_by: Some(holder), .. } if holder != user.name => {
            Err(Refusal::HeldByOther { worker: worker.to_string(), holder: holder.to_string(), action: "reserve it" })
        }
        Action::Reserve { worker, now: true, busy: Some(job), .. } => {
            Err(Refusal::TakeBusy { worker: worker.to_string(), job })
        }
        Action::Reserve { .. } => Ok(()),
        Action::Release { worker, held_by: Some(holder), .. } if holder != user.name => {
            Err(Refusal::HeldByOther { worker: worker.to_string(), holder: holder.to_string(), action: "release it" })
        }
        Action::Release { worker, draining: true, .. } => Err(Refusal::ReleaseDrain { worker: worker.to_string() }),
        Action::Release { .. } => Ok(()),
        Action::Drain { worker } => Err(Refusal::Drain { worker: worker.to_string() }),
        Action::Forget { worker } => Err(Refusal::Forget { worker: worker.to_string() }),
        Action::ReadAudit => Err(Refusal::Audit),
    }
}

/// Whether `user` may see the project, output, log and error of a job submitted by `owner`.
pub fn may_see_details(users: &Users, user: &User, job: JobId, owner: &str) -> bool {
    authorize(users, user, Action::SeeDetails { job, owner }).is_ok()
}

/// `record` as `user` may see it: someone else's job keeps its state, owner, priority, worker, times and progress,
/// and loses its project, output, consumer properties, error and the reasons of its attempts.
pub fn redact(users: &Users, user: &User, mut record: JobRecord) -> JobRecord {
    if may_see_details(users, user, record.id, &record.submitted_by) {
        return record;
    }
    record.project = HIDDEN.to_string();
    record.output = HIDDEN.to_string();
    record.encoding.extra.clear();
    if let JobKind::Ffmpeg(ffmpeg) = &mut record.kind {
        // An ffmpeg job's inputs are its project, and its arguments may name paths too.
        ffmpeg.inputs = vec![HIDDEN.to_string()];
        ffmpeg.args.clear();
    }
    record.error = record.error.map(|_| HIDDEN.to_string());
    record.waiting = record.waiting.map(|w| crate::registry::waiting::hide_rejections(&w, &record.attempts, HIDDEN));
    for attempt in &mut record.attempts {
        attempt.outcome = attempt.outcome.take().map(|outcome| match outcome {
            AttemptOutcome::Succeeded => AttemptOutcome::Succeeded,
            AttemptOutcome::Declined { .. } => AttemptOutcome::Declined { reason: HIDDEN.into() },
            AttemptOutcome::Failed { .. } => AttemptOutcome::Failed { reason: HIDDEN.into() },
            AttemptOutcome::Cancelled { .. } => AttemptOutcome::Cancelled { reason: HIDDEN.into() },
        });
    }
    record
}

#[cfg(test)]
mod tests;
