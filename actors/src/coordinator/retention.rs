//! `--keep-finished`: the store does not grow without end. At start and every [`RETENTION_EVERY`], the jobs that
//! finished longer ago than the setting are deleted with their logs, through the same [`Prune`] a `job prune`
//! sends; a prune that hit its cap of jobs is sent again at once for the rest.

use super::{Coordinator, Prune, RETENTION_EVERY};
use actix::prelude::*;
use distencode_wire::job::now_ms;
use distencode_wire::limits::MAX_DELETE_JOBS;
use std::time::Duration;

/// Prunes now, then every [`RETENTION_EVERY`].
pub(super) fn start(keep: Duration, ctx: &mut Context<Coordinator>) {
    prune(keep, ctx.address());
    ctx.run_interval(RETENTION_EVERY, move |_, ctx| prune(keep, ctx.address()));
}

fn prune(keep: Duration, coordinator: Addr<Coordinator>) {
    actix::spawn(async move {
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let before = now_ms().saturating_sub(keep_ms);
        // Bounded: each round deletes up to the cap, and there are never more jobs than ids given.
        loop {
            match coordinator.send(Prune { before, by: None }).await {
                Ok(Ok(deleted)) if deleted.len() == MAX_DELETE_JOBS => continue,
                Ok(Ok(_)) => return,
                Ok(Err(e)) => tracing::warn!("deleting jobs past --keep-finished: {e}"),
                Err(e) => tracing::warn!("deleting jobs past --keep-finished: {e}"),
            }
            return;
        }
    });
}
