//! The Coordinator's side of the audit trail: the entry each client request makes (who, by which way, what, to
//! what), reading the trail for admins, and deleting entries past `audit_keep`.
//!
//! A request's entry is made before it is checked. A refusal before the store (by `auth::rules`, an output in use,
//! no worker that could render it) is recorded with [`crate::store::record_refusal`] before the refusal is
//! answered; a request that reaches the store carries the entry in [`crate::store::Audited`], so the change and its
//! entry are made durable by one flush.

use super::{Answer, Coordinator, RequestError};
use crate::auth::{authorize, Action, User};
use crate::store::audit::MAX_AUDIT_PRUNE;
use crate::store::{JobStore, PruneAudit, ReadAudit};
use actix::prelude::*;
use distencode_wire::audit::{AuditAction, AuditEntry, AuditOutcome};
use distencode_wire::job::{now_ms, JobId};
use std::time::Duration;

/// `audit_keep` when the configuration sets none: a year.
pub const DEFAULT_AUDIT_KEEP: Duration = Duration::from_secs(365 * 86_400);

/// An entry for a request of `by` (its outcome is set once it is known).
pub fn entry(by: &User, action: AuditAction, target: &str) -> AuditEntry {
    AuditEntry::new(&by.name, by.route, action, target, AuditOutcome::Done)
}

/// `job 7`.
pub fn job(id: JobId) -> String {
    format!("job {id}")
}

/// `jobs 3, 4` (or `job 3`).
pub fn jobs(ids: &[JobId]) -> String {
    match ids {
        [one] => job(*one),
        _ => format!("jobs {}", ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// `worker w1`.
pub fn worker(name: &str) -> String {
    format!("worker {name}")
}

/// The audit trail, newest first, for an admin: at most `limit` entries, only `user`'s when named, after the newest
/// `skip` (the web's pages; the wire's `Audit` asks for the first).
#[derive(Message)]
#[rtype(result = "Answer<Vec<AuditEntry>>")]
pub struct AuditTrail {
    pub user: Option<String>,
    pub limit: u32,
    pub skip: usize,
    pub by: User,
}

impl Handler<AuditTrail> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Vec<AuditEntry>>>;

    fn handle(&mut self, msg: AuditTrail, _: &mut Self::Context) -> Self::Result {
        let allowed = authorize(&self.config.users, &msg.by, Action::ReadAudit).map_err(RequestError::from);
        let store = self.store.clone();
        let read = async move {
            allowed?;
            Ok(store.send(ReadAudit { user: msg.user, limit: msg.limit, skip: msg.skip }).await??)
        };
        Box::pin(read.into_actor(self))
    }
}

/// Deletes the entries older than `keep` now, then every [`super::RETENTION_EVERY`].
pub(super) fn start_retention(keep: Duration, ctx: &mut Context<Coordinator>, store: Addr<JobStore>) {
    prune(keep, store);
    ctx.run_interval(super::RETENTION_EVERY, move |act, _| prune(keep, act.store.clone()));
}

fn prune(keep: Duration, store: Addr<JobStore>) {
    actix::spawn(async move {
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let before = now_ms().saturating_sub(keep_ms);
        // Bounded: each round deletes up to the cap, and entries are only added after `before`.
        loop {
            match store.send(PruneAudit { before }).await {
                Ok(Ok(deleted)) if deleted == MAX_AUDIT_PRUNE => continue,
                Ok(Ok(0)) => return,
                Ok(Ok(deleted)) => tracing::info!(entries = deleted, "deleted audit entries past audit_keep"),
                Ok(Err(e)) => tracing::warn!("deleting audit entries past audit_keep: {e}"),
                Err(e) => tracing::warn!("deleting audit entries past audit_keep: {e}"),
            }
            return;
        }
    });
}

/// An entry of something the Coordinator does not do itself (a web sign-in, or one refused): written to the trail
/// and flushed. A store error is logged; the caller goes on (a sign-in is not undone for want of its entry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record(pub AuditEntry);

impl Handler<Record> for Coordinator {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Record, _: &mut Self::Context) -> Self::Result {
        let written = self.store.send(crate::store::RecordAudit(msg.0));
        Box::pin(async move {
            match written.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("an audit entry could not be written: {e}"),
                Err(e) => tracing::error!("an audit entry could not be written: {e}"),
            }
        })
    }
}
