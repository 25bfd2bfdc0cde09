//! The audit trail: every request that changes something (or tried to and was refused), durably, in the tree
//! `audit` (key: a big-endian sequence number, so the trail reads in the order it was written; value: a record of
//! [`stored::audit`]).
//!
//! A change and its entry are written together: [`Audited`] wraps the store's own message for the change (a new
//! job, a state change, a deletion, a reservation, a drain), runs it, writes the entry with its outcome (done, or
//! refused with the store's reason), and answers once one flush has made both durable. A request refused before it
//! reaches the store (by `auth::rules`, or an output in use) is written with [`RecordAudit`], which the refusing
//! actor awaits before it answers. [`RecordAudit`] is also the hook for what happens outside the actors: a web
//! sign-in (or its refusal) and a certificate refused at the TLS handshake.
//!
//! Entries older than `audit_keep` are deleted hourly ([`PruneAudit`], by the Coordinator's retention).

use super::stored::audit::{decode_entry, encode_entry};
use super::{ApplyChange, CreateJob, DeleteJobs, Durable, JobStore, PruneJobs, SaveDrain, SaveReservation, StoreError};
use actix::{Addr, Handler, Message};
use distencode_wire::audit::{AuditEntry, AuditOutcome, MAX_AUDIT_ENTRIES};
use distencode_wire::job::JobRecord;
use std::sync::atomic::Ordering;

/// Entries one read looks at at most, newest first, to find those of one user: a read stays well under a second on
/// a long trail, and names the cap when it stopped there.
pub const MAX_AUDIT_SCAN: usize = 200_000;
/// Entries one [`PruneAudit`] deletes at most (the retention asks again while it deletes this many).
pub const MAX_AUDIT_PRUNE: usize = 10_000;

/// Writes one entry (not yet flushed): a refusal made before the store, a sign-in, a refused certificate.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct RecordAudit(pub AuditEntry);

/// The trail, newest first: at most `limit` entries (capped at [`MAX_AUDIT_ENTRIES`]), only `user`'s if named,
/// after the newest `skip` of those (a page of the web's audit page).
#[derive(Message)]
#[rtype(result = "Result<Vec<AuditEntry>, StoreError>")]
pub struct ReadAudit {
    pub user: Option<String>,
    pub limit: u32,
    pub skip: usize,
}

/// Deletes entries recorded before `before` (unix ms), oldest first, at most [`MAX_AUDIT_PRUNE`]; answers how many.
#[derive(Message)]
#[rtype(result = "Result<usize, StoreError>")]
pub struct PruneAudit {
    pub before: u64,
}

/// A store message for a change, and the entry that records it: both are durable when it is answered.
pub struct Audited<M> {
    pub change: M,
    /// The entry, its outcome set by the store from the change's result.
    pub entry: AuditEntry,
}

impl<M: Operation> Message for Audited<M> {
    type Result = Result<M::Output, StoreError>;
}

/// A store message that changes something, run by [`Audited`].
pub trait Operation: Message<Result = Result<Self::Output, StoreError>> + Send + 'static {
    type Output: Send + 'static;
    /// Does it (not yet flushed).
    fn run(self, store: &JobStore) -> Result<Self::Output, StoreError>;
    /// The entry's target once it is done, when the request could not name it in full (`asked`): a new job's id.
    fn target(_done: &Self::Output, _asked: &str) -> Option<String> {
        None
    }
}

impl Operation for CreateJob {
    type Output = JobRecord;
    fn run(self, store: &JobStore) -> Result<JobRecord, StoreError> {
        store.create(self.spec, self.submitted_by)
    }
    fn target(record: &JobRecord, _: &str) -> Option<String> {
        Some(format!("job {} ({})", record.id, record.project))
    }
}

impl Operation for super::messages::Backup {
    type Output = String;
    fn run(self, store: &JobStore) -> Result<String, StoreError> {
        store.backup_to(&self.to)
    }
}

impl Operation for ApplyChange {
    type Output = JobRecord;
    fn run(self, store: &JobStore) -> Result<JobRecord, StoreError> {
        store.change(self.id, self.change)
    }
}

impl Operation for DeleteJobs {
    type Output = Vec<JobRecord>;
    fn run(self, store: &JobStore) -> Result<Vec<JobRecord>, StoreError> {
        store.delete(&self.0)
    }
}

impl Operation for PruneJobs {
    type Output = Vec<JobRecord>;
    fn run(self, store: &JobStore) -> Result<Vec<JobRecord>, StoreError> {
        store.prune(self.before)
    }
    fn target(deleted: &Vec<JobRecord>, asked: &str) -> Option<String> {
        Some(format!("{asked}: {} deleted", deleted.len()))
    }
}

impl Operation for SaveReservation {
    type Output = ();
    fn run(self, store: &JobStore) -> Result<(), StoreError> {
        store.save_reservation(&self.worker, self.reservation.as_ref())
    }
}

impl Operation for SaveDrain {
    type Output = ();
    fn run(self, store: &JobStore) -> Result<(), StoreError> {
        store.save_drain(&self.worker, self.draining)
    }
}

impl JobStore {
    /// Writes one entry (not yet flushed).
    pub fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let bytes = encode_entry(entry).map_err(StoreError::Corrupt)?;
        let key = self.next_audit.fetch_add(1, Ordering::Relaxed);
        self.audit.insert(key.to_be_bytes(), bytes)?;
        Ok(())
    }

    /// The trail, newest first: at most `limit` entries (and [`MAX_AUDIT_ENTRIES`]), only `user`'s if named, after
    /// the newest `skip` of them, among the newest [`MAX_AUDIT_SCAN`].
    pub fn audit_entries(&self, user: Option<&str>, limit: u32, skip: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = limit.min(MAX_AUDIT_ENTRIES) as usize;
        let mut found = Vec::new();
        let mut skipped = 0;
        for value in self.audit.iter().values().rev().take(MAX_AUDIT_SCAN) {
            if found.len() == limit {
                break;
            }
            let entry = decode_entry(&value?).map_err(StoreError::Corrupt)?;
            if user.is_none_or(|user| entry.user == user) {
                if skipped < skip {
                    skipped += 1;
                } else {
                    found.push(entry);
                }
            }
        }
        Ok(found)
    }

    /// Deletes the entries recorded before `before` (unix ms), oldest first, at most [`MAX_AUDIT_PRUNE`] (not yet
    /// flushed); answers how many.
    pub fn prune_audit(&self, before: u64) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for item in self.audit.iter().take(MAX_AUDIT_PRUNE) {
            let (key, value) = item?;
            // Keys follow the order of writing, and so (to within a request's time in flight) of time.
            if decode_entry(&value).map_err(StoreError::Corrupt)?.time >= before {
                break;
            }
            self.audit.remove(key)?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// The sequence number the next entry gets: one past the last one's.
    pub(super) fn first_free_audit_key(audit: &sled::Tree) -> Result<u64, StoreError> {
        match audit.last()? {
            Some((key, _)) => {
                let key: [u8; 8] = key
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt(format!("audit key of {} bytes", key.len())))?;
                Ok(u64::from_be_bytes(key).saturating_add(1))
            }
            None => Ok(0),
        }
    }
}

/// Records `entry`, refused for `reason`, and waits until it is durable (a failure to record is logged: the
/// refusal itself still goes to the user).
pub async fn record_refusal(store: &Addr<JobStore>, entry: AuditEntry, reason: impl std::fmt::Display) {
    record(store, entry.refused(reason)).await;
}

/// Records `entry` as it is, and waits until it is durable (a failure to record is logged).
pub async fn record(store: &Addr<JobStore>, entry: AuditEntry) {
    match store.send(RecordAudit(entry)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("audit entry not recorded: {e}"),
        Err(e) => tracing::error!("audit entry not recorded: {e}"),
    }
}

impl<M: Operation> Handler<Audited<M>> for JobStore {
    type Result = Durable<M::Output>;
    fn handle(&mut self, msg: Audited<M>, _: &mut Self::Context) -> Self::Result {
        let result = msg.change.run(self);
        let entry = match &result {
            Ok(done) => {
                let mut entry = msg.entry.with_outcome(AuditOutcome::Done);
                if let Some(target) = M::target(done, &entry.target) {
                    entry.target = distencode_wire::audit::cut(&target);
                }
                entry
            }
            Err(e) => msg.entry.refused(e),
        };
        if let Err(e) = self.record_audit(&entry) {
            tracing::error!("audit entry not recorded: {e}");
        }
        Durable::audited(&self.commits, result)
    }
}

impl Handler<RecordAudit> for JobStore {
    type Result = Durable<()>;
    fn handle(&mut self, msg: RecordAudit, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.record_audit(&msg.0))
    }
}

impl Handler<ReadAudit> for JobStore {
    type Result = Durable<Vec<AuditEntry>>;
    fn handle(&mut self, msg: ReadAudit, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.audit_entries(msg.user.as_deref(), msg.limit, msg.skip))
    }
}

impl Handler<PruneAudit> for JobStore {
    type Result = Durable<usize>;
    fn handle(&mut self, msg: PruneAudit, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.prune_audit(msg.before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::audit::{AuditAction, Route};

    fn entry(time: u64, user: &str) -> AuditEntry {
        AuditEntry { time, ..AuditEntry::new(user, Route::Cli, AuditAction::Cancel, "job 1", AuditOutcome::Done) }
    }

    #[test]
    fn reads_are_newest_first_filtered_and_capped_and_prunes_stop_at_their_cap() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = JobStore::open(dir.path()).unwrap();
            for time in 0..MAX_AUDIT_PRUNE as u64 + 2 {
                store.record_audit(&entry(time, if time % 2 == 0 { "even" } else { "odd" })).unwrap();
            }
            store.flush().unwrap();
        }
        // Reopened: keys go on after the last one, so a new entry is the newest.
        let store = JobStore::open(dir.path()).unwrap();
        store.record_audit(&entry(u64::MAX, "last")).unwrap();
        let newest = store.audit_entries(None, 3, 0).unwrap();
        let times: Vec<u64> = newest.iter().map(|e| e.time).collect();
        assert_eq!(times, [u64::MAX, MAX_AUDIT_PRUNE as u64 + 1, MAX_AUDIT_PRUNE as u64]);
        let odd = store.audit_entries(Some("odd"), 2, 0).unwrap();
        assert_eq!(
            odd.iter().map(|e| e.time).collect::<Vec<_>>(),
            [MAX_AUDIT_PRUNE as u64 + 1, MAX_AUDIT_PRUNE as u64 - 1]
        );
        // The next page of one user's entries starts after the ones skipped.
        let next = store.audit_entries(Some("odd"), 2, 2).unwrap();
        assert_eq!(
            next.iter().map(|e| e.time).collect::<Vec<_>>(),
            [MAX_AUDIT_PRUNE as u64 - 3, MAX_AUDIT_PRUNE as u64 - 5]
        );
        assert_eq!(store.audit_entries(None, MAX_AUDIT_ENTRIES, 0).unwrap().len(), MAX_AUDIT_ENTRIES as usize);
        assert_eq!(store.audit_entries(None, MAX_AUDIT_ENTRIES + 1, 0).unwrap().len(), MAX_AUDIT_ENTRIES as usize);

        // Everything before the newest: the cap's worth, then the rest, then nothing.
        assert_eq!(store.prune_audit(u64::MAX).unwrap(), MAX_AUDIT_PRUNE);
        assert_eq!(store.prune_audit(u64::MAX).unwrap(), 2);
        assert_eq!(store.prune_audit(u64::MAX).unwrap(), 0);
        assert_eq!(store.audit_entries(None, 10, 0).unwrap(), [entry(u64::MAX, "last")]);
    }
}
