//! The schema-2 fixture (`tests/fixtures/store-v2`, written by the last release of schema 2; its README says what is
//! in it) opens with every job, log, reservation and drain intact, and is migrated to the current schema crash-safely.

use super::schema_tests::{assert_holds, fixture_copy_of, raw_db, versions, FixtureLog};
use super::*;
use distencode_wire::job::{Attempt, AttemptOutcome, Encoding, JobState, MeltLog, RenderFacts};

/// When the fixture was written (unix ms): its changes fell in these three milliseconds.
const A: u64 = 1_796_151_219_626;
const B: u64 = A + 1;
const C: u64 = A + 2;

/// Job `n` as submitted: the README's project, output, encoding, services and optional filters.
fn submitted(n: u64, by: &str, priority: i32, at: u64) -> JobRecord {
    let extra = match n % 2 {
        0 => vec![("crf".into(), "20".into()), ("preset".into(), "fast".into())],
        _ => vec![],
    };
    let optional_filters = match n % 3 {
        1 => vec!["frei0r.alpha0ps_alphaspot".into(), "avfilter.gblur".into()],
        _ => vec![],
    };
    let spec = JobSpec {
        encoding: Encoding { vcodec: "libx264".into(), acodec: "aac".into(), extra },
        priority,
        melt_log: if n == 3 { MeltLog::Debug } else { MeltLog::Normal },
        services: vec!["avformat".into(), "color".into(), "luma".into()],
        optional_filters,
        ..JobSpec::new(format!("/srv/projects/film/reel{n}.mlt"), format!("/srv/renders/reel{n}.mp4"))
    };
    JobRecord::queued(JobId(n), spec, by.into(), at)
}

/// An attempt on `worker` offered at `at`, with the times of what happened to it after.
struct Times {
    started: Option<u64>,
    ended: Option<u64>,
    committed: Option<u64>,
}

fn attempt(number: u32, worker: &str, at: u64, t: Times, outcome: Option<AttemptOutcome>, blames: bool) -> Attempt {
    Attempt {
        number,
        worker: worker.into(),
        offered_at: at,
        started_at: t.started,
        ended_at: t.ended,
        committed_at: t.committed,
        outcome,
        blames_worker: blames,
    }
}

fn failed(reason: &str) -> Option<AttemptOutcome> {
    Some(AttemptOutcome::Failed { reason: reason.into() })
}

/// The fixture's ten jobs, field by field, as the README describes them.
fn fixture_jobs() -> Vec<JobRecord> {
    let mut jobs = Vec::new();
    let mut j = submitted(1, "alice", 0, A);
    j.state = JobState::Succeeded;
    j.finished_at = Some(B);
    j.worker = Some("render1".into());
    let t = Times { started: Some(B), ended: Some(B), committed: Some(B) };
    j.attempts = vec![attempt(1, "render1", A, t, Some(AttemptOutcome::Succeeded), false)];
    j.facts = Some(RenderFacts {
        frames: 250,
        duration_seconds: 10.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1_234_567,
        dropped_filters: vec!["frei0r.alpha0ps_alphaspot".into()],
        streams: Default::default(),
    });
    j.revision = 5;
    jobs.push(j);
    let mut j = submitted(2, "bob", 5, B);
    j.state = JobState::Failed;
    j.finished_at = Some(B);
    j.worker = Some("render2".into());
    let t = Times { started: Some(B), ended: Some(B), committed: None };
    j.attempts = vec![attempt(1, "render2", B, t, failed("melt reported: Could not open codec"), true)];
    j.error = Some("melt reported: Could not open codec".into());
    j.revision = 4;
    jobs.push(j);
    let mut j = submitted(3, "alice", 0, B);
    j.state = JobState::Cancelled;
    j.finished_at = Some(B);
    j.worker = Some("render1".into());
    let cancelled = AttemptOutcome::Cancelled { reason: "cancelled by alice".into() };
    let t = Times { started: None, ended: Some(B), committed: None };
    j.attempts = vec![attempt(1, "render1", B, t, Some(cancelled), false)];
    j.error = Some("cancelled by alice".into());
    j.revision = 3;
    jobs.push(j);
    let mut j = submitted(4, "carol", -3, B);
    j.worker = Some("render2".into());
    let declined = AttemptOutcome::Declined { reason: "worker render2: missing file /srv/media/a.mov".into() };
    let t = Times { started: None, ended: Some(B), committed: None };
    j.attempts = vec![attempt(1, "render2", B, t, Some(declined), true)];
    j.revision = 3;
    jobs.push(j);
    let mut j = submitted(5, "alice", 0, B);
    j.state = JobState::Offered;
    j.worker = Some("render3".into());
    let t = Times { started: None, ended: None, committed: None };
    j.attempts = vec![attempt(1, "render3", B, t, None, false)];
    j.revision = 2;
    jobs.push(j);
    let mut j = submitted(6, "bob", 2, B);
    j.state = JobState::Running;
    j.worker = Some("render2".into());
    let lost = Times { started: Some(B), ended: Some(B), committed: None };
    let live = Times { started: Some(B), ended: None, committed: None };
    j.attempts = vec![
        attempt(1, "render1", B, lost, failed("worker render1 was lost"), false),
        attempt(2, "render2", B, live, None, false),
    ];
    j.revision = 6;
    jobs.push(j);
    let mut j = submitted(7, "carol", 0, B);
    j.worker = Some("render3".into());
    // Failed blaming render3, then retried, which forgives every worker.
    let t = Times { started: None, ended: Some(B), committed: None };
    j.attempts = vec![attempt(1, "render3", B, t, failed("melt exited with 1"), false)];
    j.revision = 4;
    j.retried_at = 1;
    jobs.push(j);
    let mut j = submitted(8, "dave", 1, B);
    j.revision = 1;
    jobs.push(j);
    let mut j = submitted(9, "dave", 0, B);
    j.state = JobState::Failed;
    j.finished_at = Some(C);
    j.error = Some("no worker can render it: render1: lacks frei0r.alphaspot".into());
    j.revision = 2;
    jobs.push(j);
    let mut j = submitted(10, "erin", 0, C);
    j.state = JobState::Running;
    j.worker = Some("render4".into());
    let t = Times { started: Some(C), ended: None, committed: Some(C) };
    j.attempts = vec![attempt(1, "render4", C, t, None, false)];
    j.revision = 4;
    jobs.push(j);
    jobs
}

fn fixture_logs() -> Vec<FixtureLog> {
    vec![
        (1, "[consumer avformat] job 1 starts\nCurrent Frame: 250 done\nrender finished\n", Some((1, 1))),
        (2, "[avformat] Could not open codec\n", Some((1, 0))),
        (6, "first attempt's line\nsecond attempt's line\n", Some((2, 0))),
        (10, "Current Frame: 100\n", Some((1, 0))),
    ]
}

/// Checks everything the fixture holds.
fn assert_holds_the_fixture(store: &JobStore) {
    let unfinished = [4, 5, 6, 7, 8, 10];
    assert!(fixture_jobs().iter().all(|j| j.state.is_final() != unfinished.contains(&j.id.0)));
    assert_holds(store, &fixture_jobs(), &fixture_logs(), &["render2"]);
}

#[test]
fn the_schema_2_fixture_opens_with_every_job_log_reservation_and_drain_and_is_migrated() {
    let dir = fixture_copy_of("store-v2");
    {
        let db = raw_db(dir.path());
        assert_eq!(versions(&db.open_tree("jobs").unwrap()), [2; 10]);
        assert_eq!(versions(&db.open_tree("drains").unwrap()), [2]);
    }
    assert_eq!(std::fs::read_to_string(dir.path().join(schema::VERSION_FILE)).unwrap(), "2\n");
    {
        let store = JobStore::open(dir.path()).unwrap();
        assert_holds_the_fixture(&store);
        assert_eq!(versions(&store.jobs), [4; 10]);
        assert_eq!(versions(&store.reservations), [4; 2]);
        assert_eq!(versions(&store.drains), [4]);
        assert_eq!(schema::check_meta(dir.path(), &store.meta).unwrap(), 4);
    }
    assert_eq!(std::fs::read_to_string(dir.path().join(schema::VERSION_FILE)).unwrap(), "4\n");
    // Migrated, it reads the same, and goes on: the next job is number 11, and job 10 is still finishing.
    let store = JobStore::open(dir.path()).unwrap();
    assert_holds_the_fixture(&store);
    let spec = fixture_jobs()[7].spec();
    assert_eq!(store.create(spec, "frank".into()).unwrap().id, JobId(11));
    let refused = store.change(JobId(10), Change::Cancel { reason: "cancelled by erin".into() }).unwrap_err();
    assert_eq!(refused.to_string(), "job 10 is already finishing: its file is being put in place");
}

#[test]
fn a_schema_2_migration_stopped_half_way_reads_either_way_and_finishes_at_the_next_open() {
    let dir = fixture_copy_of("store-v2");
    {
        // As if killed after rewriting jobs 1 and 10 and the drain, before `meta` was raised.
        let db = raw_db(dir.path());
        schema::write_file(dir.path()).unwrap();
        let (jobs, drains) = (db.open_tree("jobs").unwrap(), db.open_tree("drains").unwrap());
        for n in [1u64, 10] {
            let bytes = jobs.get(n.to_be_bytes()).unwrap().unwrap();
            jobs.insert(n.to_be_bytes(), stored::encode_job(&stored::decode_job(&bytes).unwrap()).unwrap()).unwrap();
        }
        let bytes = drains.get("render2").unwrap().unwrap();
        drains.insert("render2", stored::encode_drain(&stored::decode_drain(&bytes).unwrap()).unwrap()).unwrap();
        assert_eq!(versions(&jobs), [4, 2, 2, 2, 2, 2, 2, 2, 2, 4]);
        db.flush().unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    assert_holds_the_fixture(&store);
    assert_eq!(versions(&store.jobs), [4; 10]);
    assert_eq!(schema::check_meta(dir.path(), &store.meta).unwrap(), 4);
}
