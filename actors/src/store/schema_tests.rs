//! Stores of older schemas open with every record intact; a store of a newer schema is refused untouched.
//!
//! `tests/fixtures/store-v1` is a data directory written by the release before stored records had versions (its
//! README says what is in it); every test works on a copy of it. The schema-2 fixture has tests of its own
//! ([`super::schema_v2_tests`]).

use super::tests::copy_dir;
use super::*;
use distencode_wire::job::{Attempt, AttemptOutcome, Encoding, JobState, MeltLog, RenderFacts};

/// When the fixture was written (unix ms): its changes fell in these two milliseconds.
const T0: u64 = 1_796_139_411_703;
const T1: u64 = T0 + 1;

/// A copy of `tests/fixtures/<name>`.
pub(super) fn fixture_copy_of(name: &str) -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&from, dir.path());
    dir
}

fn fixture_copy() -> tempfile::TempDir {
    fixture_copy_of("store-v1")
}

/// Every file under `dir` with its bytes.
pub(super) fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files.extend(snapshot(&entry.path()));
        } else {
            files.push((entry.path(), std::fs::read(entry.path()).unwrap()));
        }
    }
    files.sort();
    files
}

/// Job `n` of the fixture as submitted: the README's project, output, encoding and services.
fn submitted(n: u64, by: &str, priority: i32, at: u64) -> JobRecord {
    let extra = match n % 2 {
        0 => vec![("crf".into(), "20".into()), ("preset".into(), "fast".into())],
        _ => vec![],
    };
    let spec = JobSpec {
        encoding: Encoding { vcodec: "libx264".into(), acodec: "aac".into(), extra },
        priority,
        melt_log: if n == 3 { MeltLog::Verbose } else { MeltLog::Normal },
        services: vec!["avformat".into(), "color".into(), "luma".into()],
        ..JobSpec::new(format!("/srv/projects/show/episode{n}.mlt"), format!("/srv/renders/episode{n}.mp4"))
    };
    let mut record = JobRecord::queued(JobId(n), spec, by.into(), at);
    record.revision = 1;
    record
}

fn attempt(
    number: u32,
    worker: &str,
    at: u64,
    started: bool,
    outcome: Option<AttemptOutcome>,
    blames: bool,
) -> Attempt {
    Attempt {
        number,
        worker: worker.into(),
        offered_at: at,
        started_at: started.then_some(at),
        ended_at: outcome.as_ref().map(|_| at),
        committed_at: None,
        outcome,
        blames_worker: blames,
    }
}

fn failed(reason: &str) -> Option<AttemptOutcome> {
    Some(AttemptOutcome::Failed { reason: reason.into() })
}

/// The fixture's nine jobs, field by field, as the README describes them.
fn fixture_jobs() -> Vec<JobRecord> {
    let mut jobs = Vec::new();
    let mut j = submitted(1, "alice", 0, T0);
    j.state = JobState::Succeeded;
    j.finished_at = Some(T0);
    j.worker = Some("render1".into());
    j.attempts = vec![attempt(1, "render1", T0, true, Some(AttemptOutcome::Succeeded), false)];
    j.facts = Some(RenderFacts {
        frames: 250,
        duration_seconds: 10.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1_234_567,
        dropped_filters: Vec::new(),
        streams: Default::default(),
    });
    j.revision = 4;
    jobs.push(j);
    let mut j = submitted(2, "bob", 5, T0);
    j.state = JobState::Failed;
    j.finished_at = Some(T0);
    j.worker = Some("render2".into());
    j.attempts = vec![attempt(1, "render2", T0, true, failed("melt reported: Could not open codec"), true)];
    j.error = Some("melt reported: Could not open codec".into());
    j.revision = 4;
    jobs.push(j);
    let mut j = submitted(3, "alice", 0, T0);
    j.state = JobState::Cancelled;
    j.finished_at = Some(T0);
    j.worker = Some("render1".into());
    let cancelled = AttemptOutcome::Cancelled { reason: "cancelled by alice".into() };
    j.attempts = vec![attempt(1, "render1", T0, false, Some(cancelled), false)];
    j.error = Some("cancelled by alice".into());
    j.revision = 3;
    jobs.push(j);
    let mut j = submitted(4, "carol", -3, T0);
    j.worker = Some("render2".into());
    let declined = AttemptOutcome::Declined { reason: "worker render2: missing file /srv/media/a.mov".into() };
    j.attempts = vec![attempt(1, "render2", T0, false, Some(declined), true)];
    j.revision = 3;
    jobs.push(j);
    let mut j = submitted(5, "alice", 0, T0);
    j.state = JobState::Offered;
    j.worker = Some("render3".into());
    j.attempts = vec![attempt(1, "render3", T1, false, None, false)];
    j.revision = 2;
    jobs.push(j);
    let mut j = submitted(6, "bob", 2, T1);
    j.state = JobState::Running;
    j.worker = Some("render2".into());
    j.attempts = vec![
        attempt(1, "render1", T1, true, failed("worker render1 was lost"), false),
        attempt(2, "render2", T1, true, None, false),
    ];
    j.revision = 6;
    jobs.push(j);
    let mut j = submitted(7, "carol", 0, T1);
    j.worker = Some("render3".into());
    // Failed blaming render3, then retried, which forgives every worker.
    j.attempts = vec![attempt(1, "render3", T1, false, failed("melt exited with 1"), false)];
    j.revision = 4;
    j.retried_at = 1;
    jobs.push(j);
    jobs.push(submitted(8, "dave", 1, T1));
    let mut j = submitted(9, "dave", 0, T1);
    j.state = JobState::Failed;
    j.finished_at = Some(T1);
    j.error = Some("no worker can render it: render1: lacks frei0r.alphaspot".into());
    j.revision = 2;
    jobs.push(j);
    jobs
}

fn fixture_logs() -> Vec<FixtureLog> {
    vec![
        (1, "[consumer avformat] job 1 starts\nCurrent Frame: 250 done\nrender finished\n", Some((1, 1))),
        (2, "[avformat] Could not open codec\n", Some((1, 0))),
        (6, "first attempt's line\nsecond attempt's line\n", Some((2, 0))),
    ]
}

/// The reservations of both fixtures (schema 1's and schema 2's).
pub(super) fn fixture_reservations() -> Vec<(String, Reservation)> {
    vec![
        ("render3".into(), Reservation { person: "bob".into(), until: Some(4_102_444_800_000) }),
        ("render4".into(), Reservation { person: "erin".into(), until: None }),
    ]
}

/// A log as a fixture holds it: job, text, cursor of its last batch.
pub(super) type FixtureLog = (u64, &'static str, Option<LogCursor>);

/// Checks through the store's own reads that it holds exactly these jobs (unfinished ones listed as such), logs
/// (every other job has none), the fixtures' reservations and these drains.
pub(super) fn assert_holds(store: &JobStore, expected: &[JobRecord], logs: &[FixtureLog], drains: &[&str]) {
    let jobs = store.list(false).unwrap();
    assert_eq!(jobs.len(), expected.len());
    for (job, expected) in jobs.iter().zip(expected) {
        assert_eq!(job, expected, "job {}", expected.id);
        assert_eq!(&store.get(expected.id).unwrap(), expected);
    }
    let unfinished: Vec<JobId> = store.list(true).unwrap().iter().map(|j| j.id).collect();
    let expected_unfinished: Vec<JobId> = expected.iter().filter(|j| !j.state.is_final()).map(|j| j.id).collect();
    assert_eq!(unfinished, expected_unfinished);
    for job in expected {
        let (text, cursor) = store.read_log(job.id, None, 1 << 20).unwrap();
        match logs.iter().find(|(id, _, _)| *id == job.id.0) {
            Some((_, expected, at)) => assert_eq!((text.as_str(), cursor), (*expected, *at), "log of job {}", job.id),
            None => assert_eq!((text.as_str(), cursor), ("", None), "log of job {}", job.id),
        }
    }
    assert_eq!(store.reservations().unwrap(), fixture_reservations());
    assert_eq!(store.drains().unwrap(), drains);
}

/// Checks everything the fixture holds.
fn assert_holds_the_fixture(store: &JobStore) {
    let unfinished = [4, 5, 6, 7, 8];
    assert!(fixture_jobs().iter().all(|j| j.state.is_final() != unfinished.contains(&j.id.0)));
    assert_holds(store, &fixture_jobs(), &fixture_logs(), &[]);
}

/// The schema every stored record of `tree` is in.
/// The store's sled database opened directly, as a migration left it. No flusher thread: once dropped, the
/// database's lock is released at once, and the next open (the JobStore's) does not find it held.
pub(super) fn raw_db(dir: &Path) -> sled::Db {
    sled::Config::new().path(dir.join("jobs.sled")).flush_every_ms(None).open().unwrap()
}

pub(super) fn versions(tree: &sled::Tree) -> Vec<u32> {
    tree.iter().values().map(|v| stored::version_of(&v.unwrap())).collect()
}

#[test]
fn the_schema_1_fixture_opens_with_every_job_log_and_reservation_and_is_migrated() {
    let dir = fixture_copy();
    assert_eq!(versions(&raw_db(dir.path()).open_tree("jobs").unwrap()), [1; 9]);
    {
        let store = JobStore::open(dir.path()).unwrap();
        assert_holds_the_fixture(&store);
        assert_eq!(versions(&store.jobs), [4; 9]);
        assert_eq!(versions(&store.reservations), [4; 2]);
        assert_eq!(schema::check_meta(dir.path(), &store.meta).unwrap(), 4);
    }
    assert_eq!(std::fs::read_to_string(dir.path().join(schema::VERSION_FILE)).unwrap(), "4\n");
    // Migrated, it reads the same, and goes on: the next job is number 10.
    let store = JobStore::open(dir.path()).unwrap();
    assert_holds_the_fixture(&store);
    let spec = fixture_jobs()[7].spec();
    assert_eq!(store.create(spec, "frank".into()).unwrap().id, JobId(10));
}

#[test]
fn a_migration_stopped_half_way_reads_either_way_and_finishes_at_the_next_open() {
    let dir = fixture_copy();
    {
        // As if killed after rewriting jobs 1 and 6 and a reservation, before `meta` was raised.
        let db = raw_db(dir.path());
        schema::write_file(dir.path()).unwrap();
        let (jobs, reservations) = (db.open_tree("jobs").unwrap(), db.open_tree("reservations").unwrap());
        for n in [1u64, 6] {
            let bytes = jobs.get(n.to_be_bytes()).unwrap().unwrap();
            jobs.insert(n.to_be_bytes(), stored::encode_job(&stored::decode_job(&bytes).unwrap()).unwrap()).unwrap();
        }
        let bytes = reservations.get("render4").unwrap().unwrap();
        let migrated = stored::encode_reservation(&stored::decode_reservation(&bytes).unwrap()).unwrap();
        reservations.insert("render4", migrated).unwrap();
        assert_eq!(versions(&jobs), [4, 1, 1, 1, 1, 4, 1, 1, 1]);
        db.flush().unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    assert_holds_the_fixture(&store);
    assert_eq!(versions(&store.jobs), [4; 9]);
    assert_eq!(schema::check_meta(dir.path(), &store.meta).unwrap(), 4);
}

#[test]
fn a_store_of_a_newer_schema_is_refused_with_both_versions_and_left_as_it_was() {
    let dir = fixture_copy();
    drop(JobStore::open(dir.path()).unwrap());
    std::fs::write(dir.path().join(schema::VERSION_FILE), "5\n").unwrap();
    let before = snapshot(dir.path());
    let error = JobStore::open(dir.path()).err().unwrap().to_string();
    let expected = format!(
        "the job store in {} has schema version 5; this distencode reads up to 4: upgrade distencode, or restore a \
         backup",
        dir.path().display()
    );
    assert_eq!(error, expected);
    assert!(snapshot(dir.path()) == before, "a refused open changed the files");
    // Without the file, `meta` refuses it all the same.
    std::fs::remove_file(dir.path().join(schema::VERSION_FILE)).unwrap();
    {
        let db = raw_db(dir.path());
        db.open_tree("meta").unwrap().insert("schema-version", &5u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    assert_eq!(JobStore::open(dir.path()).err().unwrap().to_string(), expected);
    std::fs::write(dir.path().join(schema::VERSION_FILE), "two\n").unwrap();
    let error = JobStore::open(dir.path()).err().unwrap().to_string();
    assert_eq!(error, format!("{} cannot be read (not a number)", dir.path().join("schema-version").display()));
}

#[test]
fn a_record_of_a_newer_schema_is_an_error_naming_both_versions() {
    let mut bytes = stored::encode_job(&fixture_jobs()[0]).unwrap();
    assert_eq!(&bytes[..2], [stored::TAG, 4]);
    bytes[1] = 5;
    let error = stored::decode_job(&bytes).unwrap_err();
    assert_eq!(error, "a record of schema version 5; this distencode reads up to 4");
    assert!(stored::decode_job(&[stored::TAG]).is_err() && stored::decode_job(&[]).is_err());
}

#[test]
fn a_schema_4_store_opens_with_what_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let expected = fixture_jobs();
    {
        let store = JobStore::open(dir.path()).unwrap();
        for job in &expected {
            let mut job = job.clone();
            job.revision -= 1;
            store.put(&mut job, None).unwrap();
        }
        for (worker, r) in fixture_reservations() {
            store.save_reservation(&worker, Some(&r)).unwrap();
        }
        store.save_drain("render5", true).unwrap();
        store.flush().unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    assert_eq!(store.list(false).unwrap(), expected);
    assert_eq!(versions(&store.jobs), [4; 9]);
    assert_eq!(versions(&store.reservations), [4; 2]);
    assert_eq!(versions(&store.drains), [4]);
    assert_eq!(store.reservations().unwrap(), fixture_reservations());
    assert_eq!(store.drains().unwrap(), vec!["render5".to_string()]);
}

#[test]
fn schema_4_keeps_a_jobs_optional_filters_and_the_filters_its_render_dropped() {
    let mut job = fixture_jobs()[0].clone();
    job.optional_filters = vec!["frei0r.alpha0ps_alphaspot".into(), "avfilter.gblur".into()];
    if let Some(facts) = job.facts.as_mut() {
        facts.dropped_filters = vec!["frei0r.alpha0ps_alphaspot".into()];
    }
    assert!(job.facts.is_some(), "the first fixture job succeeded");
    let back = stored::decode_job(&stored::encode_job(&job).unwrap()).unwrap();
    assert_eq!(back.optional_filters, job.optional_filters);
    assert_eq!(back.facts.unwrap().dropped_filters, ["frei0r.alpha0ps_alphaspot"]);
}

#[test]
fn schema_4_keeps_a_split_job_its_tasks_and_a_tasks_description() {
    use distencode_wire::job::{SplitRequest, SplitState, Task, TaskInput, TaskKind, TaskView};
    let mut parent = fixture_jobs()[0].clone();
    let request = SplitRequest { chunks: None, force: true, frames: 1200, fps_num: 30000, fps_den: 1001 };
    parent.split = Some(SplitState { request, refused: Some("not split: 1 worker(s) free".into()) });
    parent.tasks = vec![TaskView {
        job: JobId(9),
        kind: TaskKind::Audio,
        first: 0,
        last: 1199,
        state: JobState::Cancelled,
        worker: Some("w2".into()),
        attempts: 2,
        frames_done: 0,
    }];
    let back = stored::decode_job(&stored::encode_job(&parent).unwrap()).unwrap();
    assert_eq!((back.split, back.tasks), (parent.split, parent.tasks));
    let mut task = fixture_jobs()[1].clone();
    task.task = Some(Task {
        parent: JobId(1),
        kind: TaskKind::Join,
        first: 0,
        last: 1199,
        fps_num: 30000,
        fps_den: 1001,
        inputs: vec![TaskInput { path: "/r/.o.mp4.job1.chunk0.mp4".into(), frames: 600 }],
    });
    let back = stored::decode_job(&stored::encode_job(&task).unwrap()).unwrap();
    assert_eq!(back.task, task.task);
}

#[test]
fn schema_4_keeps_a_jobs_overwrite() {
    for overwrite in [true, false] {
        let mut job = fixture_jobs()[0].clone();
        job.overwrite = overwrite;
        assert_eq!(stored::decode_job(&stored::encode_job(&job).unwrap()).unwrap().overwrite, overwrite);
    }
}

#[test]
fn schema_4_keeps_a_jobs_like() {
    use distencode_wire::fingerprint::Fingerprint;
    use distencode_wire::job::Like;
    let fingerprint =
        Fingerprint { melt: "7.12.0".into(), ffmpeg: "5.1.6".into(), frei0r: "1.8.0".into(), fonts: "00ff".into() };
    for like in [Some(Like { worker: "render2".into(), fingerprint }), None] {
        let mut job = fixture_jobs()[0].clone();
        job.like = like.clone();
        assert_eq!(stored::decode_job(&stored::encode_job(&job).unwrap()).unwrap().like, like);
    }
}
