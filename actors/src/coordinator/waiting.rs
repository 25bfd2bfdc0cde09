//! Why queued jobs wait, filled into the records `job status`, `job list` and the web show: the Coordinator says
//! what each job needs and who turned it down; the WorkerRegistry, which knows the workers, says why none takes it.

use super::Coordinator;
use crate::registry::waiting::rejection;
use crate::registry::{Explain, Needs, Unserved, MAX_EXPLAINED};
use actix::prelude::*;
use distencode_wire::job::{JobRecord, JobState};
use std::future::Future;
use std::time::Duration;

/// How often the reason a followed queued job waits (`job submit --wait`, `job watch`) is looked at again: it
/// changes with the workers (one freed, reserved, lost), not with the job's record.
pub(super) const FOLLOWED_WAIT_REFRESH: Duration = Duration::from_secs(2);

/// Whether the job waits for a worker of its own (a split job waits through its tasks).
fn waits(job: &JobRecord) -> bool {
    job.state == JobState::Queued && !job.is_split()
}

/// What the registry needs to know of a queued job.
fn unserved(job: &JobRecord) -> Unserved {
    let rejected = job
        .attempts
        .iter()
        .filter(|a| a.blames_worker)
        .map(|a| (a.worker.clone(), a.outcome.as_ref().map(rejection).unwrap_or_else(|| "no reason given".into())))
        .collect();
    Unserved { keys: Needs::of(&job.services, &job.encoding).keys(), rejected, like: job.like.clone() }
}

impl Coordinator {
    /// `jobs`, each queued one (up to [`MAX_EXPLAINED`]) with the reason it waits.
    pub(super) fn explained(&self, mut jobs: Vec<JobRecord>) -> impl Future<Output = Vec<JobRecord>> + 'static {
        let (places, asks): (Vec<usize>, Vec<Unserved>) = jobs
            .iter()
            .enumerate()
            .filter(|(_, job)| waits(job))
            .take(MAX_EXPLAINED)
            .map(|(i, j)| (i, unserved(j)))
            .unzip();
        let registry = self.registry.clone();
        async move {
            if asks.is_empty() {
                return jobs;
            }
            if let Ok(reasons) = registry.send(Explain(asks)).await {
                for (place, reason) in places.into_iter().zip(reasons) {
                    jobs[place].waiting = Some(reason);
                }
            }
            jobs
        }
    }

    /// Tells the followers of each queued job why it waits, when the reason changed since they were last told.
    pub(super) fn refresh_followed_waits(&mut self, ctx: &mut Context<Self>) {
        let followed: Vec<JobRecord> = self
            .watchers
            .iter()
            .filter(|(_, sender)| sender.receiver_count() > 0)
            .filter_map(|(id, _)| self.active.get(id))
            .filter(|job| waits(job))
            .take(MAX_EXPLAINED)
            .cloned()
            .collect();
        if followed.is_empty() {
            return;
        }
        self.explained(followed)
            .into_actor(self)
            .map(|jobs, act, _| {
                for job in jobs {
                    let Some(sender) = act.watchers.get(&job.id) else { continue };
                    // Only onto the version it was explained for: a newer one gets its own reason at the next look.
                    sender.send_if_modified(|shown| {
                        let told = shown.revision == job.revision && shown.waiting != job.waiting;
                        if told {
                            shown.waiting = job.waiting;
                        }
                        told
                    });
                }
            })
            .spawn(ctx);
    }

    /// One job, with the reason it waits if it is queued.
    pub(super) fn explained_one(&self, job: JobRecord) -> impl Future<Output = JobRecord> + 'static {
        let fallback = job.clone();
        let jobs = self.explained(vec![job]);
        async move { jobs.await.pop().unwrap_or(fallback) }
    }
}
