//! The store against a real sled database in a temporary folder: durability across reopening, refusals.

use super::*;
use distencode_wire::job::{JobSpec, JobState};
use distencode_wire::message::Reservation;

/// A plain job (shared by the store's other tests).
pub(super) fn spec() -> JobSpec {
    JobSpec::new("/p.mlt", "/p.mp4")
}

/// Opens a store in `dir`, lets `write` change it, flushes and closes it: what the next open must find.
fn written<T>(dir: &std::path::Path, write: impl FnOnce(&JobStore) -> T) -> T {
    let store = JobStore::open(dir).unwrap();
    let result = write(&store);
    store.flush().unwrap();
    result
}

#[test]
fn jobs_and_changes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id = written(dir.path(), |store| {
        let id = store.create(spec(), "alice".into()).unwrap().id;
        store.change(id, Change::Offer { worker: "w1".into() }).unwrap();
        store.append_log(id, 1, 0, "line one\n").unwrap();
        store.append_log(id, 1, 1, "line two\n").unwrap();
        store.append_log(id, 1, 1, "line two\n").unwrap();
        store.append_log(id, 2, 0, "second attempt\n").unwrap();
        id
    });
    let store = JobStore::open(dir.path()).unwrap();
    let record = store.get(id).unwrap();
    assert_eq!(record.state, JobState::Offered);
    assert_eq!(record.submitted_by, "alice");
    let (all, cursor) = store.read_log(id, None, 1 << 20).unwrap();
    assert_eq!(all, "line one\nline two\nsecond attempt\n");
    assert_eq!(cursor, Some((2, 0)));
    // Reading on from a cursor gives only what came after it, in pieces of the size asked for.
    let (first, cursor) = store.read_log(id, None, 4).unwrap();
    assert_eq!(first, "line one\n");
    let (rest, cursor) = store.read_log(id, cursor, 1 << 20).unwrap();
    assert_eq!(rest, "line two\nsecond attempt\n");
    assert_eq!(store.read_log(id, cursor, 1 << 20).unwrap(), (String::new(), cursor));
}

#[test]
fn ids_grow_and_refusals_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let a = store.create(spec(), "alice".into()).unwrap().id;
    let b = store.create(spec(), "alice".into()).unwrap().id;
    assert!(b > a);
    let err = store.change(a, Change::Start { attempt: 1 }).unwrap_err();
    assert_eq!(err.to_string(), format!("job {a} is queued: cannot start it"));
    assert_eq!(store.get(a).unwrap().state, JobState::Queued);
    assert!(matches!(store.get(JobId(999_999)), Err(StoreError::NoSuchJob(_))));
}

#[test]
fn reservations_survive_reopening_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), |store| {
        let r = Reservation { person: "bob".into(), until: Some(42) };
        store.save_reservation("w1", Some(&r)).unwrap();
        store.save_reservation("w2", Some(&r)).unwrap();
        store.save_reservation("w2", None).unwrap();
    });
    let store = JobStore::open(dir.path()).unwrap();
    let all = store.reservations().unwrap();
    assert_eq!(all, vec![("w1".to_string(), Reservation { person: "bob".into(), until: Some(42) })]);
}

#[test]
fn only_unfinished_jobs_are_listed_for_recovery_and_revisions_grow_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let (done, waiting) = written(dir.path(), |store| {
        let done = store.create(spec(), "alice".into()).unwrap().id;
        let waiting = store.create(spec(), "alice".into()).unwrap().id;
        let offered = store.change(done, Change::Offer { worker: "w1".into() }).unwrap();
        let cancelled = store.change(done, Change::Cancel { reason: "no".into() }).unwrap();
        assert_eq!((offered.revision, cancelled.revision), (2, 3));
        (done, waiting)
    });
    let store = JobStore::open(dir.path()).unwrap();
    let unfinished: Vec<JobId> = store.list(true).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(unfinished, vec![waiting]);
    assert_eq!(store.list(false).unwrap().len(), 2);
    // A retried job is unfinished again.
    store.change(done, Change::Retry).unwrap();
    assert_eq!(store.list(true).unwrap().len(), 2);
}

#[test]
fn a_store_written_before_the_unfinished_index_gets_one_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let id = written(dir.path(), |store| {
        let id = store.create(spec(), "alice".into()).unwrap().id;
        // As an older version left it: no index, no marker.
        store.unfinished.clear().unwrap();
        store.meta.clear().unwrap();
        id
    });
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.list(true).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
}

/// Copies a folder as it is on disk now (what a `kill -9` at this moment would leave).
pub(super) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[actix_rt::test]
async fn replies_come_after_their_change_is_flushed_and_in_the_order_sent() {
    use actix::SyncArbiter;
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let addr = SyncArbiter::start(1, move || store.clone());
    // Every reply is watched from the moment its request is sent (each is polled at once, so its waker is in place
    // long before a flush can answer it), and noted in the order the replies arrive.
    use futures::{FutureExt, StreamExt};
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut arrived = Vec::new();
    for sent in 0..50 {
        let reply = addr.send(CreateJob { spec: spec(), submitted_by: "a".into() });
        pending.push(async move { (sent, reply.await.unwrap().unwrap().id) });
        while let Some(Some(reply)) = pending.next().now_or_never() {
            arrived.push(reply);
        }
    }
    while let Some(reply) = pending.next().await {
        arrived.push(reply);
    }
    let order: Vec<usize> = arrived.iter().map(|(sent, _)| *sent).collect();
    assert_eq!(order, (0..50).collect::<Vec<_>>(), "replies in the order sent");
    let ids: Vec<JobId> = arrived.iter().map(|(_, id)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in the order sent: {ids:?}");
    let refused = addr.send(ApplyChange { id: ids[0], change: Change::Start { attempt: 1 } }).await.unwrap();
    assert_eq!(refused.unwrap_err().to_string(), format!("job {} is queued: cannot start it", ids[0]));
    let listed = addr.send(ListJobs { unfinished_only: true }).await.unwrap().unwrap();
    assert_eq!(listed.len(), 50);
    // What was acknowledged is on disk at once, not only in sled's buffers (flushed every 500 ms otherwise).
    let offered = addr.send(ApplyChange { id: ids[49], change: Change::Offer { worker: "w1".into() } });
    assert_eq!(offered.await.unwrap().unwrap().state, JobState::Offered);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    assert_eq!(JobStore::open(copy.path()).unwrap().get(ids[49]).unwrap().state, JobState::Offered);
}

#[test]
fn logs_kept_inside_the_database_by_older_versions_are_moved_to_segments() {
    let dir = tempfile::tempdir().unwrap();
    let id = written(dir.path(), |store| {
        let id = store.create(spec(), "alice".into()).unwrap().id;
        store.legacy_logs.insert(JobStore::log_key(id, 1, 0), "from before\n".as_bytes()).unwrap();
        id
    });
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.read_log(id, None, 1 << 20).unwrap(), ("from before\n".to_string(), Some((1, 0))));
    assert!(store.legacy_logs.is_empty());
}

#[test]
fn a_log_batch_whose_bytes_a_crash_lost_is_stored_again_when_resent() {
    let dir = tempfile::tempdir().unwrap();
    let id = written(dir.path(), |store| {
        let id = store.create(spec(), "alice".into()).unwrap().id;
        store.append_log(id, 1, 0, "kept\n").unwrap();
        store.append_log(id, 1, 1, "lost\n").unwrap();
        id
    });
    // The index reached the disk, the second batch's bytes did not.
    let segment = dir.path().join("logs").join("00000001.seg");
    std::fs::OpenOptions::new().write(true).open(segment).unwrap().set_len(5).unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.read_log(id, None, 1 << 20).unwrap().0, "kept\n");
    store.append_log(id, 1, 0, "kept\n").unwrap();
    store.append_log(id, 1, 1, "lost\n").unwrap();
    assert_eq!(store.read_log(id, None, 1 << 20).unwrap(), ("kept\nlost\n".to_string(), Some((1, 1))));
}

#[actix_rt::test]
async fn ids_run_one_two_three_across_an_unclean_stop() {
    use actix::SyncArbiter;
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let addr = SyncArbiter::start(1, move || store.clone());
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(addr.send(CreateJob { spec: spec(), submitted_by: "a".into() }).await.unwrap().unwrap().id.0);
    }
    // What a kill -9 now would leave: the acknowledged jobs, and no clean shutdown of sled.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let store = JobStore::open(copy.path()).unwrap();
    ids.push(store.create(spec(), "a".into()).unwrap().id.0);
    store.flush().unwrap();
    drop(store);
    ids.push(JobStore::open(copy.path()).unwrap().create(spec(), "a".into()).unwrap().id.0);
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[test]
fn drains_survive_reopening_and_can_be_ended() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), |store| {
        store.save_drain("w1", true).unwrap();
        store.save_drain("w2", true).unwrap();
        store.save_drain("w3", true).unwrap();
        store.save_drain("w2", false).unwrap();
    });
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.drains().unwrap(), vec!["w1".to_string(), "w3".to_string()]);
    store.save_drain("w1", false).unwrap();
    store.flush().unwrap();
    drop(store);
    assert_eq!(JobStore::open(dir.path()).unwrap().drains().unwrap(), vec!["w3".to_string()]);
}

#[actix_rt::test]
async fn of_a_commit_and_a_cancel_sent_together_the_first_wins_and_the_other_is_refused() {
    use actix::SyncArbiter;
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let addr = SyncArbiter::start(1, move || store.clone());
    let cancel = || ApplyChange { id: JobId(0), change: Change::Cancel { reason: "cancelled by alice".into() } };
    let commit = || ApplyChange { id: JobId(0), change: Change::Commit { attempt: 1 } };
    for commit_first in [true, false] {
        let id = addr.send(CreateJob { spec: spec(), submitted_by: "a".into() }).await.unwrap().unwrap().id;
        addr.send(ApplyChange { id, change: Change::Offer { worker: "w1".into() } }).await.unwrap().unwrap();
        addr.send(ApplyChange { id, change: Change::Start { attempt: 1 } }).await.unwrap().unwrap();
        let (first, second) = match commit_first {
            true => (ApplyChange { id, ..commit() }, ApplyChange { id, ..cancel() }),
            false => (ApplyChange { id, ..cancel() }, ApplyChange { id, ..commit() }),
        };
        let (first, second) = (addr.send(first), addr.send(second));
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        assert!(first.is_ok(), "{first:?}");
        let expected = match commit_first {
            true => format!("job {id} is already finishing: its file is being put in place"),
            false => format!("job {id} is cancelled: cannot commit it"),
        };
        assert_eq!(second.unwrap_err().to_string(), expected);
        let state = addr.send(GetJob(id)).await.unwrap().unwrap().state;
        assert_eq!(state, if commit_first { JobState::Running } else { JobState::Cancelled });
    }
}
