//! `worker forget NAME`: a machine that is gone leaves the registry, with its reservation and drain records, so
//! `worker list` no longer shows it as lost until the coordinator restarts. A connected worker is refused: it
//! would only register again. Each forget, and each refused one, goes into the audit trail.

use super::reservations::saved;
use super::{Forget, WorkerRegistry};
use crate::auth::{authorize, Action, Users};
use crate::coordinator::audit;
use crate::error::{Answer, RequestError};
use crate::store::{Audited, SaveDrain, SaveReservation};
use actix::prelude::*;
use distencode_wire::audit::AuditAction;
use distencode_wire::message::WorkerView;

impl Handler<Forget> for WorkerRegistry {
    type Result = ResponseActFuture<Self, Answer<Vec<WorkerView>>>;

    fn handle(&mut self, msg: Forget, _: &mut Self::Context) -> Self::Result {
        let worker = msg.worker;
        let entry = audit::entry(&msg.by, AuditAction::Forget, &audit::worker(&worker));
        let refusal = if let Err(refusal) = authorize(&Users::default(), &msg.by, Action::Forget { worker: &worker }) {
            Some(RequestError::from(refusal))
        } else if self.workers.get(&worker).is_some_and(|e| e.outbox.is_some()) {
            Some(RequestError::StillConnected(worker.clone()))
        } else if self.workers.get(&worker).is_some_and(|e| e.state.job().is_some()) {
            // Disconnected with a job, within its grace: it may still come back with it.
            Some(RequestError::StillConnected(worker.clone()))
        } else if !self.workers.contains_key(&worker)
            && !self.reservations.contains_key(&worker)
            && !self.draining.contains(&worker)
        {
            Some(RequestError::NothingToForget(worker.clone()))
        } else {
            None
        };
        if let Some(error) = refusal {
            return self.refuse(entry, error);
        }
        // Its records go from disk first (the audit entry with the second); then from memory, and the farm's
        // followers are told.
        let save = self.store.send(SaveReservation { worker: worker.clone(), reservation: None });
        let save_drain =
            self.store.send(Audited { change: SaveDrain { worker: worker.clone(), draining: false }, entry });
        let saved = async move { saved(save.await).and(saved(save_drain.await)) };
        Box::pin(saved.into_actor(self).map(move |result, act, _| {
            result?;
            if act.workers.get(&worker).is_some_and(|e| e.outbox.is_some()) {
                // It registered while its records were being removed.
                return Err(RequestError::StillConnected(worker));
            }
            act.workers.remove(&worker);
            act.reservations.remove(&worker);
            act.draining.remove(&worker);
            act.leaving.remove(&worker);
            tracing::info!(%worker, "worker forgotten");
            act.changed(&worker);
            Ok(act.views())
        }))
    }
}
