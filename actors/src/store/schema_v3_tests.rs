//! The schema-3 fixture (`tests/fixtures/store-v3`, written by the last release of schema 3; its README says what is
//! in it) opens with every job, log, reservation and drain intact, each job a render with no preset named, and is
//! migrated to the current schema; schema 4 keeps an ffmpeg job's kind and a job's preset.

use super::schema_tests::{fixture_copy_of, raw_db, versions};
use super::*;
use distencode_wire::fingerprint::Fingerprint;
use distencode_wire::job::{
    Attempt, AttemptOutcome, Encoding, FfmpegJob, JobKind, JobState, Like, RenderFacts, SplitRequest, SplitState,
    StreamDetails, Task, TaskKind, TaskView,
};
use distencode_wire::message::Reservation;

/// When the fixture was written (unix ms): every change fell in this millisecond.
const T: u64 = 1_796_190_912_850;

/// Job `n` as submitted: the README's project, output, encoding and services.
fn submitted(n: u64, by: &str, priority: i32) -> JobRecord {
    let spec = JobSpec {
        encoding: Encoding {
            vcodec: "libx264".into(),
            acodec: "aac".into(),
            extra: if n.is_multiple_of(2) { vec![("crf".into(), "20".into())] } else { vec![] },
        },
        priority,
        services: vec!["avformat".into(), "color".into()],
        optional_filters: if n == 4 { vec!["avfilter.gblur".into()] } else { vec![] },
        ..JobSpec::new(format!("/srv/projects/film/reel{n}.mlt"), format!("/srv/renders/reel{n}.mp4"))
    };
    JobRecord::queued(JobId(n), spec, by.into(), T)
}

fn attempt(worker: &str, started: bool, committed: bool, outcome: AttemptOutcome, blames: bool) -> Attempt {
    Attempt {
        number: 1,
        worker: worker.into(),
        offered_at: T,
        started_at: started.then_some(T),
        ended_at: Some(T),
        committed_at: committed.then_some(T),
        outcome: Some(outcome),
        blames_worker: blames,
    }
}

/// The fixture's five jobs, field by field, as the README describes them.
fn fixture_jobs() -> Vec<JobRecord> {
    let mut one = submitted(1, "alice", 0);
    one.state = JobState::Succeeded;
    one.overwrite = true;
    one.like = Some(Like {
        worker: "render2".into(),
        fingerprint: Fingerprint {
            melt: "7.12.0".into(),
            ffmpeg: "5.1.6".into(),
            frei0r: "1.8".into(),
            fonts: "00ff".into(),
        },
    });
    one.finished_at = Some(T);
    one.worker = Some("render2".into());
    one.attempts = vec![attempt("render2", true, true, AttemptOutcome::Succeeded, false)];
    one.facts = Some(RenderFacts {
        frames: 250,
        duration_seconds: 10.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1_234_567,
        dropped_filters: vec![],
        streams: StreamDetails {
            width: Some(1920),
            height: Some(1080),
            pix_fmt: Some("yuv420p".into()),
            frame_rate: Some("25/1".into()),
            sample_rate: Some(48000),
            channels: Some(2),
        },
    });
    one.revision = 5;
    let mut two = submitted(2, "bob", 1);
    let request = SplitRequest { chunks: Some(2), force: false, frames: 500, fps_num: 25, fps_den: 1 };
    two.split = Some(SplitState { request, refused: None });
    two.state = JobState::Running;
    two.tasks = vec![TaskView {
        job: JobId(3),
        kind: TaskKind::Chunk,
        first: 0,
        last: 249,
        state: JobState::Queued,
        worker: None,
        attempts: 0,
        frames_done: 0,
    }];
    two.revision = 2;
    let mut three = submitted(2, "bob", 1);
    three.id = JobId(3);
    three.output = "/srv/renders/.reel2.mp4.job2.chunk0.mp4".into();
    three.task = Some(Task {
        parent: JobId(2),
        kind: TaskKind::Chunk,
        first: 0,
        last: 249,
        fps_num: 25,
        fps_den: 1,
        inputs: vec![],
    });
    three.revision = 1;
    let mut four = submitted(4, "carol", -3);
    four.worker = Some("render1".into());
    let declined = AttemptOutcome::Declined { reason: "worker render1: missing file /srv/media/a.mov".into() };
    four.attempts = vec![attempt("render1", false, false, declined, true)];
    four.revision = 3;
    let mut five = submitted(5, "dave", 0);
    five.state = JobState::Failed;
    five.finished_at = Some(T);
    five.worker = Some("render3".into());
    let failed = AttemptOutcome::Failed { reason: "melt exited with 1".into() };
    five.attempts = vec![attempt("render3", true, false, failed, true)];
    five.error = Some("melt exited with 1".into());
    five.revision = 4;
    vec![one, two, three, four, five]
}

fn assert_holds_the_fixture(store: &JobStore) {
    let expected = fixture_jobs();
    assert_eq!(store.list(false).unwrap(), expected);
    assert!(expected.iter().all(|j| j.kind == JobKind::Render && j.preset.is_none()));
    assert_eq!(
        store.read_log(JobId(1), None, 1 << 20).unwrap(),
        ("[consumer avformat] job 1 starts\n".into(), Some((1, 0)))
    );
    assert_eq!(
        store.read_log(JobId(5), None, 1 << 20).unwrap(),
        ("[avformat] Could not open codec\n".into(), Some((1, 0)))
    );
    assert_eq!(store.read_log(JobId(2), None, 1 << 20).unwrap(), (String::new(), None));
    assert_eq!(
        store.reservations().unwrap(),
        [("render3".to_string(), Reservation { person: "bob".into(), until: None })]
    );
    assert_eq!(store.drains().unwrap(), ["render1"]);
}

#[test]
fn the_schema_3_fixture_opens_with_every_job_log_reservation_and_drain_and_is_migrated() {
    let dir = fixture_copy_of("store-v3");
    {
        let store = JobStore::open(dir.path()).unwrap();
        assert_holds_the_fixture(&store);
        assert_eq!(versions(&store.jobs), [4; 5]);
        assert_eq!((versions(&store.reservations), versions(&store.drains)), (vec![4], vec![4]));
        assert_eq!(schema::check_meta(dir.path(), &store.meta).unwrap(), 4);
    }
    assert_eq!(std::fs::read_to_string(dir.path().join(schema::VERSION_FILE)).unwrap(), "4\n");
    // Opened again, the migrated store reads the same.
    assert_holds_the_fixture(&JobStore::open(dir.path()).unwrap());
}

#[test]
fn a_migration_of_schema_3_stopped_half_way_finishes_at_the_next_open() {
    let dir = fixture_copy_of("store-v3");
    {
        let db = raw_db(dir.path());
        schema::write_file(dir.path()).unwrap();
        let jobs = db.open_tree("jobs").unwrap();
        let bytes = jobs.get(2u64.to_be_bytes()).unwrap().unwrap();
        jobs.insert(2u64.to_be_bytes(), stored::encode_job(&stored::decode_job(&bytes).unwrap()).unwrap()).unwrap();
        assert_eq!(versions(&jobs), [3, 4, 3, 3, 3]);
        db.flush().unwrap();
    }
    let store = JobStore::open(dir.path()).unwrap();
    assert_holds_the_fixture(&store);
    assert_eq!(versions(&store.jobs), [4; 5]);
}

#[test]
fn schema_4_keeps_an_ffmpeg_job_s_inputs_and_arguments_and_a_job_s_preset() {
    let mut job = fixture_jobs()[0].clone();
    job.kind = JobKind::Ffmpeg(Box::new(FfmpegJob {
        inputs: vec!["/srv/footage/C0001.MOV".into(), "/srv/footage/C0001.wav".into()],
        args: vec!["-vf".into(), "scale=-2:540".into(), "-c:v".into(), "libx264".into()],
    }));
    job.preset = Some("proxy-540p".into());
    let bytes = stored::encode_job(&job).unwrap();
    assert_eq!(&bytes[..2], [stored::TAG, 4]);
    assert_eq!(stored::decode_job(&bytes).unwrap(), job);
    let render = JobRecord { preset: Some("h264-mp4".into()), ..fixture_jobs()[3].clone() };
    assert_eq!(stored::decode_job(&stored::encode_job(&render).unwrap()).unwrap(), render);
}
