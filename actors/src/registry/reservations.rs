//! Taking workers out of the pool and putting them back: reservations for a person (with an optional end) and drains
//! (until released), both durable: each is on disk before it is acknowledged, and loaded again at start.

use super::{WorkerEvent, WorkerRegistry};
use crate::auth::{authorize, Action, User, Users};
use crate::coordinator::audit::{self, worker};
use crate::error::{Answer, RequestError};
use crate::store::{record_refusal, Audited, LoadDrains, LoadReservations, SaveDrain, SaveReservation, StoreError};
use actix::prelude::*;
use distencode_wire::audit::{AuditAction, AuditEntry};
use distencode_wire::identity::validate_node_name;
use distencode_wire::job::now_ms;
use distencode_wire::message::{Reservation, WorkerView};

/// Reserve `worker` for `person`; with `now`, its current job is taken back at once.
#[derive(Message)]
#[rtype(result = "Answer<Vec<WorkerView>>")]
pub struct Reserve {
    pub worker: String,
    pub person: String,
    pub until: Option<u64>,
    pub now: bool,
    /// Who asks: see `auth::rules` (a user reserves for themselves only).
    pub by: User,
}

/// End a worker's reservation or drain.
#[derive(Message)]
#[rtype(result = "Answer<Vec<WorkerView>>")]
pub struct Unreserve {
    pub worker: String,
    /// Who asks: a user releases only their own reservation.
    pub by: User,
}

/// Let a worker finish its job and take nothing more.
#[derive(Message)]
#[rtype(result = "Answer<Vec<WorkerView>>")]
pub struct Drain {
    pub worker: String,
    /// Who asks: only admins drain.
    pub by: User,
}

impl WorkerRegistry {
    pub(super) fn load_reservations(&mut self, ctx: &mut Context<Self>) {
        self.store
            .send(LoadReservations)
            .into_actor(self)
            .map(|result, act, _| match result {
                Ok(Ok(reservations)) => {
                    tracing::info!(count = reservations.len(), "reservations loaded");
                    act.reservations.extend(reservations);
                }
                Ok(Err(e)) => tracing::error!("cannot load reservations: {e}"),
                Err(e) => tracing::error!("cannot load reservations: {e}"),
            })
            .wait(ctx);
        self.store
            .send(LoadDrains)
            .into_actor(self)
            .map(|result, act, _| match result {
                Ok(Ok(drains)) => {
                    tracing::info!(count = drains.len(), "drains loaded");
                    act.draining.extend(drains);
                }
                Ok(Err(e)) => tracing::error!("cannot load drains: {e}"),
                Err(e) => tracing::error!("cannot load drains: {e}"),
            })
            .wait(ctx);
    }

    /// Ends reservations whose time has come.
    pub(super) fn expire_reservations(&mut self, ctx: &mut Context<Self>) {
        let now = now_ms();
        let expired: Vec<String> = self
            .reservations
            .iter()
            .filter(|(_, r)| r.until.is_some_and(|until| until <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for worker in expired {
            tracing::info!(%worker, "reservation ended");
            self.reservations.remove(&worker);
            self.changed(&worker);
            self.persist(worker, None, ctx);
            self.events.do_send(WorkerEvent::Available);
        }
    }

    fn persist(&mut self, worker: String, reservation: Option<Reservation>, ctx: &mut Context<Self>) {
        self.store
            .send(SaveReservation { worker, reservation })
            .into_actor(self)
            .map(|result, _, _| {
                if let Ok(Err(e)) = result {
                    tracing::error!("reservation not saved: {e}");
                }
            })
            .spawn(ctx);
    }
}

impl Handler<Reserve> for WorkerRegistry {
    type Result = ResponseActFuture<Self, Answer<Vec<WorkerView>>>;

    fn handle(&mut self, msg: Reserve, _: &mut Self::Context) -> Self::Result {
        let target = match msg.now {
            true => format!("{} for {} at once", worker(&msg.worker), msg.person),
            false => format!("{} for {}", worker(&msg.worker), msg.person),
        };
        let entry = audit::entry(&msg.by, AuditAction::Reserve, &target);
        let checked =
            validate_node_name(&msg.worker)
                .map_err(RequestError::from)
                .and_then(|_| match msg.until {
                    Some(until) if until <= now_ms() => Err(RequestError::ReservationInThePast),
                    _ => Ok(()),
                })
                .and_then(|_| {
                    if msg.person.trim().is_empty() {
                        Err(RequestError::ReservationWithoutPerson)
                    } else {
                        Ok(())
                    }
                })
                .and_then(|_| {
                    let action = Action::Reserve {
                        worker: &msg.worker,
                        person: &msg.person,
                        now: msg.now,
                        busy: self.workers.get(&msg.worker).and_then(|e| e.state.job()).map(|(job, _)| job),
                        held_by: self.reservations.get(&msg.worker).map(|r| r.person.as_str()),
                    };
                    Ok(authorize(&Users::default(), &msg.by, action)?)
                });
        if let Err(e) = checked {
            return self.refuse(entry, e);
        }
        let reservation = Reservation { person: msg.person, until: msg.until };
        let change = SaveReservation { worker: msg.worker.clone(), reservation: Some(reservation.clone()) };
        let save = self.store.send(Audited { change, entry });
        let (worker, now) = (msg.worker, msg.now);
        Box::pin(save.into_actor(self).map(move |result, act, _| {
            result??;
            tracing::info!(%worker, person = %reservation.person, now, "worker reserved");
            act.reservations.insert(worker.clone(), reservation);
            act.changed(&worker);
            if now {
                if let Some((job, attempt)) = act.workers.get(&worker).and_then(|e| e.state.job()) {
                    act.events.do_send(WorkerEvent::Reclaimed { worker: worker.clone(), job, attempt });
                }
            }
            Ok(act.views())
        }))
    }
}

impl Handler<Unreserve> for WorkerRegistry {
    type Result = ResponseActFuture<Self, Answer<Vec<WorkerView>>>;

    fn handle(&mut self, msg: Unreserve, _: &mut Self::Context) -> Self::Result {
        let worker = msg.worker;
        let entry = audit::entry(&msg.by, AuditAction::Release, &self::worker(&worker));
        if !self.reservations.contains_key(&worker) && !self.draining.contains(&worker) {
            return self.refuse(entry, RequestError::NotHeld(worker));
        }
        let action = Action::Release {
            worker: &worker,
            held_by: self.reservations.get(&worker).map(|r| r.person.as_str()),
            draining: self.draining.contains(&worker),
        };
        if let Err(refusal) = authorize(&Users::default(), &msg.by, action) {
            return self.refuse(entry, refusal.into());
        }
        // The reservation's (or drain's) end is on disk before anyone is told it ended; the entry is written with
        // the second of them.
        let save = self.store.send(SaveReservation { worker: worker.clone(), reservation: None });
        let save_drain =
            self.store.send(Audited { change: SaveDrain { worker: worker.clone(), draining: false }, entry });
        let saved = async move { saved(save.await).and(saved(save_drain.await)) };
        Box::pin(saved.into_actor(self).map(move |result, act, _| {
            result?;
            act.reservations.remove(&worker);
            act.draining.remove(&worker);
            tracing::info!(%worker, "worker back in the pool");
            act.changed(&worker);
            act.events.do_send(WorkerEvent::Available);
            Ok(act.views())
        }))
    }
}

impl Handler<Drain> for WorkerRegistry {
    type Result = ResponseActFuture<Self, Answer<Vec<WorkerView>>>;

    fn handle(&mut self, msg: Drain, _: &mut Self::Context) -> Self::Result {
        let worker = msg.worker;
        let entry = audit::entry(&msg.by, AuditAction::Drain, &self::worker(&worker));
        if let Err(refusal) = authorize(&Users::default(), &msg.by, Action::Drain { worker: &worker }) {
            return self.refuse(entry, refusal.into());
        }
        if !self.workers.contains_key(&worker) {
            return self.refuse(entry, RequestError::NoSuchWorker(worker));
        }
        // Taken out of the pool at once (nothing is offered to it while the drain is written), acknowledged once
        // the drain is on disk.
        self.draining.insert(worker.clone());
        let save = self.store.send(Audited { change: SaveDrain { worker: worker.clone(), draining: true }, entry });
        Box::pin(save.into_actor(self).map(move |result, act, _| {
            if let Err(e) = saved(result) {
                act.draining.remove(&worker);
                return Err(e);
            }
            tracing::info!(%worker, "worker draining");
            act.changed(&worker);
            Ok(act.views())
        }))
    }
}

impl WorkerRegistry {
    /// Records `entry` as refused for `refused`, then answers with the refusal.
    pub(super) fn refuse(
        &mut self,
        entry: AuditEntry,
        refused: RequestError,
    ) -> ResponseActFuture<Self, Answer<Vec<WorkerView>>> {
        let store = self.store.clone();
        Box::pin(
            async move {
                record_refusal(&store, entry, &refused).await;
                Err(refused)
            }
            .into_actor(self),
        )
    }
}

/// A store write's answer as the registry's replies give it.
pub(super) fn saved(result: Result<Result<(), StoreError>, MailboxError>) -> Answer<()> {
    Ok(result??)
}

#[cfg(test)]
mod tests;
