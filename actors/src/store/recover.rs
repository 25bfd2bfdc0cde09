//! `distencode node --role coordinator --recover`: a store that sled refuses as damaged is moved aside, whatever
//! can be read of it is salvaged, and the coordinator starts on a fresh store instead of not at all.
//!
//! The damaged folder is renamed, never deleted (`jobs.sled.damaged-20261203T153000Z`), so a backup can still be
//! restored over the fresh store, or the folder examined. What is salvaged is what must never be lost: job ids.
//! Clients, scripts, outputs' partial names and the audit trail name jobs by id, so the fresh store's first id is
//! past every id the damaged one could have given out:
//! - sled keeps a snapshot of its page table beside its log (`snap.*`), only to open faster; a damaged snapshot
//!   is the usual cause of its `Corruption` error at open (a damaged log record it takes as the log's end). The
//!   folder is copied without its snapshots and that copy opened, so sled reads its whole log again; from it the
//!   highest id of every tree keyed by job id, and the floor that deletions left, give the next id. (sled reads a
//!   log up to its first damaged record and takes that as its end: a log damaged as well as the snapshot loses
//!   what was written after the damage, and the ids of jobs made after it are not seen. Ids are salvaged from what
//!   sled reads; a log it reads none of counts as nothing read.)
//! - If nothing can be read, ids go on from the clock's milliseconds since 1970. Ids are dense from 1, one per
//!   job, so the damaged store reached that value only if it took more than one job a millisecond, on average, for
//!   as long as the clock has counted (and, after an earlier recovery from the clock, since that recovery): a
//!   submit is a TLS request and a durable write, and no farm comes near it.
//!
//! The jobs themselves stay in the moved folder: restore a backup to have them back (docs/operations.md).

use super::{backup, JobStore, StoreError, ID_FLOOR};
use distencode_wire::job::now_ms;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// What a recovery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// Where the damaged database now is (kept).
    pub moved_to: PathBuf,
    /// The first id the fresh store gives.
    pub next_id: u64,
    /// Where that id came from.
    pub ids_from: IdSource,
}

/// How the fresh store's first id was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdSource {
    /// Read from the damaged store's log.
    Salvaged,
    /// Nothing could be read: the clock's milliseconds (see the module's documentation).
    Clock,
}

impl std::fmt::Display for IdSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdSource::Salvaged => "read from the damaged store",
            IdSource::Clock => "nothing could be read from it: from the clock, above any id it gave",
        })
    }
}

/// The trees whose keys begin with a job id (big-endian u64).
const KEYED_BY_JOB: &[&str] = &["jobs", "unfinished", "log-index", "thumbnails"];

impl JobStore {
    /// Opens the store in `dir` as [`JobStore::open`] does; if sled reports it damaged, moves its database to
    /// `jobs.sled.damaged-STAMP` (`stamp`: the UTC time, e.g. `20261203T153000Z`), salvages its next job id and
    /// opens a fresh store that gives ids from there. `None`: nothing was damaged, nothing was changed.
    pub fn open_or_recover(dir: &Path, stamp: &str) -> Result<(Self, Option<Recovered>), StoreError> {
        match Self::open(dir) {
            Err(StoreError::Db(sled::Error::Corruption { .. })) => {}
            opened => return opened.map(|store| (store, None)),
        }
        let failed = |what: &str, e: std::io::Error| StoreError::Logs(format!("recovering the store: {what}: {e}"));
        let moved_to = free_name(&dir.join(format!("jobs.sled.damaged-{stamp}")));
        std::fs::rename(dir.join("jobs.sled"), &moved_to).map_err(|e| failed("moving it aside", e))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| failed("syncing the data dir", e))?;
        let (next_id, ids_from) = match salvage_next_id(&moved_to) {
            Some(next) => (next, IdSource::Salvaged),
            None => (now_ms().max(1), IdSource::Clock),
        };
        let store = Self::open(dir)?;
        store.give_ids_from(next_id)?;
        Ok((store, Some(Recovered { moved_to, next_id, ids_from })))
    }

    /// Gives no id below `next` from now on, durably (the floor deletions keep, raised).
    fn give_ids_from(&self, next: u64) -> Result<(), StoreError> {
        let next = next.max(self.next_id.load(Ordering::Relaxed));
        self.meta.insert(ID_FLOOR, &next.to_be_bytes())?;
        self.flush()?;
        self.next_id.fetch_max(next, Ordering::Relaxed);
        Ok(())
    }
}

/// `wanted`, or `wanted-2`, `-3`, ... if a folder of that name exists (two recoveries within a second).
fn free_name(wanted: &Path) -> PathBuf {
    let mut name = wanted.to_path_buf();
    let mut n = 1;
    while name.exists() {
        n += 1;
        name = PathBuf::from(format!("{}-{n}", wanted.display()));
    }
    name
}

/// The next id the damaged database at `damaged` would have given, read from a copy of it without its snapshots;
/// `None` when that copy cannot be read either. The damaged folder itself is never opened (sled writes at open).
fn salvage_next_id(damaged: &Path) -> Option<u64> {
    let copy = tempfile::Builder::new().prefix("jobs.sled.salvage-").tempdir_in(damaged.parent()?).ok()?;
    backup::copy_tree(damaged, copy.path()).ok()?;
    for snapshot in sled_snapshots(copy.path()).ok()? {
        std::fs::remove_file(snapshot).ok()?;
    }
    // sled may panic on what it cannot make sense of: that is "nothing could be read", not a coordinator down.
    let path = copy.path().to_path_buf();
    std::panic::catch_unwind(move || next_id_in(&path)).ok().flatten()
}

/// sled's snapshot files (`snap.*`) in its folder `sled_dir`: it writes one when a store's log has grown since the
/// last, at open and as it runs.
pub fn sled_snapshots(sled_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(sled_dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("snap.") {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// One past the highest job id in the database at `path`, or past its id floor; `None` if it cannot be read, or
/// holds no id at all (sled opens a log it cannot read as an empty database).
fn next_id_in(path: &Path) -> Option<u64> {
    let db = sled::Config::new().path(path).open().ok()?;
    let mut next = 0u64;
    for name in KEYED_BY_JOB {
        if let Some((key, _)) = db.open_tree(name).ok()?.last().ok()? {
            let id = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
            next = next.max(id.saturating_add(1));
        }
    }
    if let Some(floor) = db.open_tree("meta").ok()?.get(ID_FLOOR).ok()? {
        next = next.max(u64::from_be_bytes(floor.as_ref().try_into().ok()?));
    }
    (next > 0).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::JobId;

    /// A store with jobs 1..=3, closed, whose snapshot is then damaged (sled writes one at the second open).
    fn damaged_store(dir: &Path) {
        for _ in 0..2 {
            let store = JobStore::open(dir).unwrap();
            while store.next_id.load(Ordering::Relaxed) <= 3 {
                store.create(crate::store::tests::spec(), "alice".into()).unwrap();
            }
            store.flush().unwrap();
            drop(store);
        }
        let snapshots = sled_snapshots(&dir.join("jobs.sled")).unwrap();
        let snapshot = snapshots.first().expect("sled wrote a snapshot at the second open");
        let mut bytes = std::fs::read(snapshot).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(snapshot, bytes).unwrap();
    }

    #[test]
    fn a_damaged_store_is_moved_aside_and_ids_go_on_past_its_own() {
        let dir = tempfile::tempdir().unwrap();
        damaged_store(dir.path());
        assert!(matches!(JobStore::open(dir.path()).err(), Some(StoreError::Db(sled::Error::Corruption { .. }))));
        let (store, recovered) = JobStore::open_or_recover(dir.path(), "20261203T153000Z").unwrap();
        let recovered = recovered.expect("a recovery");
        assert_eq!(recovered.moved_to, dir.path().join("jobs.sled.damaged-20261203T153000Z"));
        assert!(recovered.moved_to.join("db").is_file(), "the damaged database is kept");
        assert_eq!((recovered.next_id, recovered.ids_from), (4, IdSource::Salvaged));
        let job = store.create(crate::store::tests::spec(), "alice".into()).unwrap();
        assert_eq!(job.id, JobId(4));
        assert!(matches!(store.get(JobId(1)), Err(StoreError::NoSuchJob(_))), "a fresh store");
        drop(store);

        // The floor is durable, and a store that is not damaged is left as it is.
        let (store, recovered) = JobStore::open_or_recover(dir.path(), "20261203T153100Z").unwrap();
        assert_eq!(recovered, None);
        assert_eq!(store.create(crate::store::tests::spec(), "alice".into()).unwrap().id, JobId(5));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 4, "jobs.sled, the damaged one, logs and the version file, no salvage copy: {left:?}");
    }

    #[test]
    fn with_nothing_readable_ids_go_on_from_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        damaged_store(dir.path());
        let db = dir.path().join("jobs.sled/db");
        std::fs::write(&db, vec![0xa5; std::fs::metadata(&db).unwrap().len() as usize]).unwrap();
        let before = now_ms();
        let (store, recovered) = JobStore::open_or_recover(dir.path(), "20261203T153000Z").unwrap();
        let recovered = recovered.expect("a recovery");
        assert_eq!(recovered.ids_from, IdSource::Clock, "{recovered:?}");
        assert!(recovered.next_id >= before);
        assert!(store.create(crate::store::tests::spec(), "alice".into()).unwrap().id.0 >= before);
    }

    #[test]
    fn a_second_recovery_in_the_same_second_gets_a_name_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("jobs.sled.damaged-X")).unwrap();
        assert_eq!(free_name(&dir.path().join("jobs.sled.damaged-X")), dir.path().join("jobs.sled.damaged-X-2"));
    }
}
