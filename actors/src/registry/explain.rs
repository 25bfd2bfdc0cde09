//! The registry's answer to [`Explain`]: each queued job's reason to wait, from what it knows of every worker.

use super::waiting::{why_waiting, Seen, Standing, Wanted};
use super::{Explain, WorkerRegistry, WorkerState, MAX_EXPLAINED};
use actix::Handler;

impl WorkerRegistry {
    /// Every registered worker as [`why_waiting`] sees it.
    fn seen(&self) -> Vec<Seen<'_>> {
        self.workers
            .iter()
            .map(|(name, entry)| {
                let standing = if entry.outbox.is_none() {
                    Standing::Lost
                } else if self.leaving.contains(name) {
                    Standing::Leaving
                } else if self.draining.contains(name) {
                    Standing::Draining
                } else if let Some(reservation) = self.reservations.get(name) {
                    Standing::Reserved(&reservation.person)
                } else if entry.state == WorkerState::Idle {
                    Standing::Idle
                } else {
                    Standing::Busy
                };
                Seen { name, standing, has: &entry.announced.has, fingerprint: &entry.registration.fingerprint }
            })
            .collect()
    }
}

impl Handler<Explain> for WorkerRegistry {
    type Result = Vec<String>;

    fn handle(&mut self, Explain(jobs): Explain, _: &mut Self::Context) -> Vec<String> {
        let seen = self.seen();
        jobs.iter()
            .take(MAX_EXPLAINED)
            .map(|job| {
                let like = job.like.as_ref().map(|l| (l.worker.as_str(), &l.fingerprint));
                why_waiting(&Wanted { keys: &job.keys, rejected: &job.rejected, like }, &seen)
            })
            .collect()
    }
}
