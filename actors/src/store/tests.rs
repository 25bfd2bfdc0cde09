//! The store against a real sled database in a temporary folder: durability across reopening, refusals.

use super::*;
use distencode_wire::job::{Encoding, JobSpec};
use distencode_wire::message::Reservation;

fn spec() -> JobSpec {
    JobSpec {
        project: "/p.mlt".into(),
        output: "/p.mp4".into(),
        encoding: Encoding::default(),
        priority: 0,
        melt_log: Default::default(),
        services: Vec::new(),
    }
}

#[test]
fn jobs_and_changes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    {
        let mut store = JobStore::open(dir.path()).unwrap();
        let record = store.create(spec(), "alice".into()).unwrap();
        id = record.id;
        store.change(id, Change::Offer { worker: "w1".into() }).unwrap();
        store.append_log(id, 1, 0, "line one\n").unwrap();
        store.append_log(id, 1, 1, "line two\n").unwrap();
        store.append_log(id, 1, 1, "line two\n").unwrap();
        store.append_log(id, 2, 0, "second attempt\n").unwrap();
    }
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
    let mut store = JobStore::open(dir.path()).unwrap();
    let a = store.create(spec(), "alice".into()).unwrap().id;
    let b = store.create(spec(), "alice".into()).unwrap().id;
    assert!(b > a);
    let err = store.change(a, Change::Start { attempt: 1 }).unwrap_err();
    assert_eq!(err.to_string(), format!("job {a}: job is queued: cannot start it"));
    assert_eq!(store.get(a).unwrap().state, JobState::Queued);
    assert!(matches!(store.get(JobId(999_999)), Err(StoreError::NoSuchJob(_))));
}

#[test]
fn reservations_survive_reopening_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = JobStore::open(dir.path()).unwrap();
        let r = Reservation { person: "bob".into(), until: Some(42) };
        store.save_reservation("w1", Some(&r)).unwrap();
        store.save_reservation("w2", Some(&r)).unwrap();
        store.save_reservation("w2", None).unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    let all = store.reservations().unwrap();
    assert_eq!(all, vec![("w1".to_string(), Reservation { person: "bob".into(), until: Some(42) })]);
}
