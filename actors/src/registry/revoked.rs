//! A worker whose certificate was revoked while it was connected: its connection is closed, and it is lost at once.
//!
//! An ordinary disconnect keeps the worker's job with it for a grace period, since it may come back and finish. A
//! revoked worker cannot come back (its handshakes are refused), so its job goes back to the queue now.

use super::WorkerRegistry;
use actix::prelude::*;

/// The connection `connection` of worker `name` was closed because its certificate is revoked.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Revoked {
    pub name: String,
    pub connection: u64,
}

impl Handler<Revoked> for WorkerRegistry {
    type Result = ();

    fn handle(&mut self, msg: Revoked, _: &mut Self::Context) {
        let current = self.workers.get(&msg.name).is_some_and(|entry| entry.connection == msg.connection);
        if current {
            tracing::warn!(worker = %msg.name, "worker lost: its certificate was revoked");
            self.declare_lost(&msg.name);
        }
    }
}
