//! Deleting finished jobs, and with them their log text: the way out of any record nobody needs, and what keeps a
//! long-lived store from growing without end (`job delete`, `job prune --older-than`, `--keep-finished`).
//!
//! A deletion is all or nothing and durable before it is answered: every job named is checked first (a live job
//! refuses the whole request), the id floor in `meta` is raised past every id given so far (so deleting the highest
//! jobs never lets an id be given again), then the records, their index entries, their poster frames and their log
//! index entries are removed and flushed. Only then are the log batches' bytes freed (holes punched in the segments): a crash before
//! that leaves bytes nothing points to, never an entry pointing to freed bytes.

use super::{log_error, JobStore, Location, StoreError, ID_FLOOR};
use distencode_wire::job::{JobId, JobRecord};
use std::sync::atomic::Ordering;

/// The most jobs one request deletes (a prune deletes the oldest this many, and is asked again for the rest).
pub use distencode_wire::limits::MAX_DELETE_JOBS;

impl JobStore {
    /// Deletes these finished jobs and their logs, durably (flushed before it returns); refuses all of them if one
    /// is missing or not finished. Returns the deleted records.
    pub fn delete(&self, ids: &[JobId]) -> Result<Vec<JobRecord>, StoreError> {
        self.fault.check()?;
        if ids.len() > MAX_DELETE_JOBS {
            return Err(StoreError::Corrupt(format!("at most {MAX_DELETE_JOBS} jobs are deleted at once")));
        }
        let mut records = Vec::with_capacity(ids.len());
        for &id in ids {
            let record = self.get(id)?;
            if !record.state.is_final() {
                return Err(StoreError::Live { id, state: record.state });
            }
            records.push(record);
        }
        let next = self.next_id.load(Ordering::Relaxed);
        self.meta.insert(ID_FLOOR, &next.to_be_bytes())?;
        let mut freed: Vec<Location> = Vec::new();
        for record in &records {
            let key = record.id.0.to_be_bytes();
            let (start, end) = (Self::log_key(record.id, 0, 0), Self::log_key(record.id, u32::MAX, u64::MAX));
            for entry in self.log_index.range(start..=end) {
                let (log_key, at) = entry?;
                freed.extend(Location::decode(&at));
                self.log_index.remove(log_key)?;
            }
            self.jobs.remove(key)?;
            let before = self.index.remove(record.id);
            self.count_move(before, None);
            self.unfinished.remove(key)?;
            self.thumbnails.remove(key)?;
        }
        self.flush()?;
        for at in freed {
            // Space not freed is only space: the text is already unreachable.
            if let Err(e) = self.segments.punch(at).map_err(log_error) {
                tracing::warn!("freeing a deleted job's log text: {e}");
            }
        }
        Ok(records)
    }

    /// Finished jobs that finished before `before` (unix ms), oldest id first, at most [`MAX_DELETE_JOBS`].
    pub fn finished_before(&self, before: u64) -> Result<Vec<JobId>, StoreError> {
        let mut ids = Vec::new();
        for record in self.all()? {
            if record.state.is_final() && record.finished_at.is_some_and(|at| at < before) {
                ids.push(record.id);
                if ids.len() == MAX_DELETE_JOBS {
                    break;
                }
            }
        }
        Ok(ids)
    }

    /// Deletes every finished job that finished before `before` (unix ms), up to [`MAX_DELETE_JOBS`] of them.
    pub fn prune(&self, before: u64) -> Result<Vec<JobRecord>, StoreError> {
        let ids = self.finished_before(before)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.delete(&ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::spec;
    use crate::store::Change;
    use distencode_wire::job::{now_ms, JobState};

    /// A job cancelled, with a log.
    fn finished(store: &JobStore, text: &str) -> JobId {
        let id = store.create(spec(), "alice".into()).unwrap().id;
        store.change(id, Change::Offer { worker: "w1".into() }).unwrap();
        store.change(id, Change::Start { attempt: 1 }).unwrap();
        store.append_log(id, 1, 0, text).unwrap();
        store.change(id, Change::Cancel { reason: "cancelled by alice".into() }).unwrap();
        id
    }

    #[test]
    fn a_deleted_job_takes_its_log_and_its_id_is_never_given_again() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c);
        {
            let store = JobStore::open(dir.path()).unwrap();
            a = finished(&store, "first job's line\n");
            b = finished(&store, "second job's line\n");
            c = store.create(spec(), "bob".into()).unwrap().id;
            let refused = store.delete(&[b, c]).unwrap_err();
            assert_eq!(refused.to_string(), format!("job {c} is queued: cancel it first"));
            assert_eq!(store.get(b).unwrap().state, JobState::Cancelled, "a refused request deletes nothing");
            store.change(c, Change::Cancel { reason: "cancelled by bob".into() }).unwrap();
            let deleted: Vec<JobId> = store.delete(&[b, c]).unwrap().iter().map(|r| r.id).collect();
            assert_eq!(deleted, [b, c]);
            assert_eq!(store.delete(&[c]).unwrap_err().to_string(), format!("no job {c}"));
        }
        // Reopened (what was answered was flushed): the highest jobs are gone, their ids stay used.
        let store = JobStore::open(dir.path()).unwrap();
        let ids: Vec<JobId> = store.list(false).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, [a]);
        assert!(matches!(store.get(b), Err(StoreError::NoSuchJob(_))));
        assert_eq!(store.read_log(a, None, 1 << 20).unwrap().0, "first job's line\n");
        assert_eq!(store.log_index.len(), 1, "the deleted job's log entries are gone");
        assert_eq!(store.create(spec(), "carol".into()).unwrap().id, JobId(c.0 + 1));
        // The deleted text's bytes are freed: the segment reads as zeros there.
        let segment = std::fs::read(dir.path().join("logs/00000001.seg")).unwrap();
        assert_eq!(&segment[..17], b"first job's line\n");
        assert_eq!(segment.len(), 17 + 18);
        assert!(!String::from_utf8_lossy(&segment).contains("second"));
    }

    #[test]
    fn prune_deletes_jobs_finished_before_the_cut_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open(dir.path()).unwrap();
        let old = finished(&store, "old\n");
        let cut = store.get(old).unwrap().finished_at.unwrap() + 1;
        let live = store.create(spec(), "bob".into()).unwrap().id;
        assert!(store.prune(cut - 1).unwrap().is_empty(), "nothing finished before the first finish");
        let pruned: Vec<JobId> = store.prune(cut).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(pruned, [old]);
        assert_eq!(store.list(false).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [live]);
        assert!(store.prune(now_ms() + 1).unwrap().is_empty(), "an unfinished job is never pruned");
    }
}
