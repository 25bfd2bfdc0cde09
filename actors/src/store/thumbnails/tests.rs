//! Poster frames in a real store (a sled temp dir): kept for a success that stands, from its own worker; gone with
//! a retry, a deletion or a prune; copied from a split job's join, whether it comes before or after the join is
//! recorded; never written by a failed write.

use super::*;
use crate::store::tests::spec;
use distencode_sim::facts;
use distencode_wire::job::{JobState, SplitRequest, TaskView};

fn jpeg(byte: u8) -> Thumbnail {
    Thumbnail::new(vec![0xff, 0xd8, byte, 0xff, 0xd9]).unwrap()
}

/// A new store in a temporary folder (removed with the folder).
fn fresh() -> (tempfile::TempDir, JobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    (dir, store)
}

/// A job offered and started on w1: attempt 1 runs.
fn running(store: &JobStore) -> JobId {
    let id = store.create(spec(), "alice".into()).unwrap().id;
    store.change(id, Change::Offer { worker: "w1".into() }).unwrap();
    store.change(id, Change::Start { attempt: 1 }).unwrap();
    id
}

/// A render's facts with its streams' details (schema 3 stores them).
fn detailed() -> distencode_wire::job::RenderFacts {
    let mut facts = facts();
    facts.streams = distencode_wire::job::StreamDetails {
        width: Some(320),
        height: Some(240),
        pix_fmt: Some("yuv420p".into()),
        frame_rate: Some("25/1".into()),
        sample_rate: Some(48000),
        channels: Some(2),
    };
    facts
}

/// Records attempt 1's success on w1, then its poster frame, if any, as the worker sends it.
fn succeed(store: &JobStore, id: JobId, thumbnail: Option<Thumbnail>) -> Result<JobRecord, StoreError> {
    let record = store.change(id, Change::Succeed { attempt: 1, facts: detailed() })?;
    if let Some(thumbnail) = thumbnail {
        assert!(store.attach_poster(id, 1, "w1", thumbnail)?, "the success's own picture is taken");
    }
    Ok(record)
}

#[test]
fn a_success_keeps_its_picture_durably_in_a_versioned_record_and_a_deletion_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    {
        let store = JobStore::open(dir.path()).unwrap();
        id = running(&store);
        assert_eq!(store.thumbnail(id).unwrap(), None, "no picture before the success");
        assert_eq!(succeed(&store, id, Some(jpeg(1))).unwrap().state, JobState::Succeeded);
        store.flush().unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.thumbnail(id).unwrap(), Some(jpeg(1).into_bytes()));
    let raw = store.thumbnails.get(id.0.to_be_bytes()).unwrap().unwrap();
    assert_eq!(raw[0], THUMBNAIL_V1, "the value starts with its record version");
    assert_eq!(&raw[1..], jpeg(1).bytes());
    assert_eq!(
        store.get(id).unwrap().facts,
        Some(detailed()),
        "the record keeps its facts and streams, not the picture"
    );

    store.delete(&[id]).unwrap();
    assert_eq!(store.thumbnails.len(), 0, "a deleted job's picture is gone");
    assert!(matches!(store.thumbnail(id), Ok(None)));
}

#[test]
fn a_prune_takes_the_pictures_of_the_jobs_it_deletes() {
    let (_dir, store) = fresh();
    let old = running(&store);
    succeed(&store, old, Some(jpeg(1))).unwrap();
    let kept = running(&store);
    let cut = store.get(old).unwrap().finished_at.unwrap() + 1;
    store.prune(cut).unwrap();
    assert_eq!(store.thumbnail(old).unwrap(), None);
    assert_eq!(store.get(kept).unwrap().state, JobState::Running);
}

#[test]
fn a_picture_counts_only_for_a_success_that_stands_and_from_its_own_worker() {
    let (_dir, store) = fresh();
    let id = running(&store);
    assert!(!store.attach_poster(id, 1, "w1", jpeg(1)).unwrap(), "a running job takes no picture");
    store.change(id, Change::Succeed { attempt: 1, facts: detailed() }).unwrap();
    assert!(!store.attach_poster(id, 2, "w1", jpeg(1)).unwrap(), "another attempt's picture is not taken");
    assert!(!store.attach_poster(id, 1, "w2", jpeg(1)).unwrap(), "another worker's picture is not taken");
    assert_eq!(store.thumbnail(id).unwrap(), None);
    assert!(store.attach_poster(id, 1, "w1", jpeg(2)).unwrap());
    assert_eq!(store.thumbnail(id).unwrap(), Some(jpeg(2).into_bytes()));

    let failed = running(&store);
    let fail = Change::Fail { attempt: 1, reason: "melt exited".into(), requeue: false, blames_worker: true };
    assert_eq!(store.change(failed, fail).unwrap().state, JobState::Failed);
    assert!(!store.attach_poster(failed, 1, "w1", jpeg(3)).unwrap(), "a failure has no picture");
    assert_eq!(store.thumbnail(failed).unwrap(), None);

    let other = running(&store);
    succeed(&store, other, None).unwrap();
    assert_eq!(store.thumbnail(other).unwrap(), None);
    assert!(store.attach_poster(JobId(999), 1, "w1", jpeg(4)).is_err(), "no such job");
}

#[test]
fn a_failed_write_stores_neither_the_picture_nor_the_success() {
    let (_dir, store) = fresh();
    let id = running(&store);
    store.write_fault().fail_next_write();
    assert!(succeed(&store, id, Some(jpeg(1))).is_err());
    assert_eq!(store.thumbnail(id).unwrap(), None);
    assert_eq!(store.get(id).unwrap().state, JobState::Running);
    store.change(id, Change::Succeed { attempt: 1, facts: detailed() }).unwrap();
    store.write_fault().fail_next_write();
    assert!(store.attach_poster(id, 1, "w1", jpeg(1)).is_err());
    assert_eq!(store.thumbnail(id).unwrap(), None);
}

#[test]
fn a_retry_removes_the_picture() {
    let (_dir, store) = fresh();
    let id = running(&store);
    let fail = Change::Fail { attempt: 1, reason: "lost".into(), requeue: false, blames_worker: false };
    store.change(id, fail).unwrap();
    // A picture left from before (a success is never retried, so it is put there by hand).
    store.thumbnails.insert(id.0.to_be_bytes(), encode(jpeg(3).bytes())).unwrap();
    assert!(store.thumbnail(id).unwrap().is_some());
    assert_eq!(store.change(id, Change::Retry).unwrap().state, JobState::Queued);
    assert_eq!(store.thumbnail(id).unwrap(), None);
}

/// A split job of 50 frames in two chunks, not yet planned.
fn split_job(store: &JobStore) -> JobId {
    let mut split_spec = spec();
    split_spec.split =
        Some(Box::new(SplitRequest { chunks: Some(2), force: false, frames: 50, fps_num: 25, fps_den: 1 }));
    store.create(split_spec, "alice".into()).unwrap().id
}

/// The split job's row of its join `join`, succeeded on w1.
fn join_view(join: JobId) -> TaskView {
    TaskView {
        job: join,
        kind: TaskKind::Join,
        first: 0,
        last: 49,
        state: JobState::Succeeded,
        worker: Some("w1".into()),
        attempts: 1,
        frames_done: 0,
    }
}

#[test]
fn a_split_job_s_picture_is_its_join_s() {
    let (_dir, store) = fresh();
    let parent = split_job(&store);
    let join = running(&store);
    succeed(&store, join, Some(jpeg(7))).unwrap();
    let view = join_view(join);
    store.change(parent, Change::Split { tasks: vec![view.clone()] }).unwrap();
    assert_eq!(store.thumbnail(parent).unwrap(), None);
    let joined = store.change(parent, Change::Joined { tasks: vec![view], facts: facts() }).unwrap();
    assert_eq!(joined.state, JobState::Succeeded);
    assert_eq!(store.thumbnail(parent).unwrap(), Some(jpeg(7).into_bytes()));
}

#[test]
fn a_join_s_picture_that_comes_after_the_split_job_succeeded_is_its_picture_too() {
    let (_dir, store) = fresh();
    let parent = split_job(&store);
    let mut join_spec = spec();
    join_spec.task = Some(Box::new(distencode_wire::job::Task {
        parent,
        kind: TaskKind::Join,
        first: 0,
        last: 49,
        fps_num: 25,
        fps_den: 1,
        inputs: Vec::new(),
    }));
    let join = store.create(join_spec, "alice".into()).unwrap().id;
    store.change(join, Change::Offer { worker: "w1".into() }).unwrap();
    store.change(join, Change::Start { attempt: 1 }).unwrap();
    store.change(join, Change::Succeed { attempt: 1, facts: detailed() }).unwrap();
    let view = join_view(join);
    store.change(parent, Change::Split { tasks: vec![view.clone()] }).unwrap();
    store.change(parent, Change::Joined { tasks: vec![view], facts: facts() }).unwrap();
    assert_eq!(store.thumbnail(parent).unwrap(), None, "the join's picture has not come yet");
    assert!(store.attach_poster(join, 1, "w1", jpeg(8)).unwrap());
    assert_eq!(store.thumbnail(join).unwrap(), Some(jpeg(8).into_bytes()));
    assert_eq!(store.thumbnail(parent).unwrap(), Some(jpeg(8).into_bytes()));
}

#[test]
fn a_record_of_an_unknown_version_is_an_error_naming_the_job() {
    let (_dir, store) = fresh();
    store.thumbnails.insert(9u64.to_be_bytes(), &[2, 0xff, 0xd8][..]).unwrap();
    assert_eq!(
        store.thumbnail(JobId(9)).unwrap_err().to_string(),
        "job store: a record could not be read: the poster frame of job 9 is of record version 2; this distencode \
         reads 1"
    );
    store.thumbnails.insert(9u64.to_be_bytes(), &[][..]).unwrap();
    assert_eq!(
        store.thumbnail(JobId(9)).unwrap_err().to_string(),
        "job store: a record could not be read: the poster frame of job 9 is empty"
    );
}
