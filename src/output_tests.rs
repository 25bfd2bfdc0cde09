//! How `job list` lines up and what `worker reserve`, `drain` and `list` say about a worker's job.

use super::*;
use distencode_wire::job::JobSpec;

fn job(id: u64, state: JobState, worker: Option<&str>) -> JobRecord {
    let spec =
        JobSpec { services: vec!["color".into()], ..JobSpec::new("/srv/renders/p/p.mlt", "/srv/renders/p/p.mp4") };
    let mut record = JobRecord::queued(JobId(id), spec, "alice".into(), 0);
    record.state = state;
    record.worker = worker.map(String::from);
    record
}

fn worker(state: &str, job: Option<u64>, reserved_by: Option<&str>, draining: bool) -> WorkerView {
    WorkerView {
        name: "render1".into(),
        state: state.into(),
        current_job: job.map(JobId),
        melt_version: "7.12.0".into(),
        services: 1,
        service_names: vec!["color".into()],
        video_encoders: Vec::new(),
        audio_encoders: Vec::new(),
        cpus: 8,
        last_seen: 0,
        recent_failures: 0,
        suspect: false,
        reserved_by: reserved_by.map(String::from),
        reserved_until: None,
        draining,
        fingerprint: stack("00ff"),
    }
}

fn stack(fonts: &str) -> Fingerprint {
    Fingerprint { melt: "7.12.0".into(), ffmpeg: "5.1.6".into(), frei0r: "1.8.0".into(), fonts: fonts.into() }
}

#[test]
fn job_list_columns_line_up_for_every_state_and_long_ids() {
    let jobs = vec![
        job(7, JobState::Queued, Some("render2")),
        job(1_234_567, JobState::Running, Some("render-with-a-long-name")),
        job(12, JobState::Succeeded, Some("render1")),
        job(13, JobState::Failed, None),
        job(14, JobState::Cancelled, Some("render1")),
        job(15, JobState::Offered, Some("render1")),
    ];
    let columns = JobColumns::fit(&jobs);
    let lines: Vec<String> =
        std::iter::once(job_header(columns)).chain(jobs.iter().map(|j| job_row(j, columns))).collect();
    // Every column starts where the header's does.
    let header = &lines[0];
    let starts: Vec<usize> = ["STATE", "DONE", "WORKER", "OUTPUT"].iter().map(|c| header.find(c).unwrap()).collect();
    for line in &lines[1..] {
        assert_eq!(&line[starts[3]..], "/srv/renders/p/p.mp4", "{line}\n{header}");
        assert_eq!(line.as_bytes()[starts[0] - 1], b' ', "{line}");
        assert_eq!(line.as_bytes()[starts[2] - 1], b' ', "{line}");
    }
    assert!(lines[2].starts_with("1234567  running"), "{}", lines[2]);
    // A queued job shows no worker, though it was on render2 before.
    assert!(!lines[1].contains("render2"), "{}", lines[1]);
    assert_eq!(lines[1].split_whitespace().nth(3), Some("-"), "{}", lines[1]);
}

#[test]
fn a_reserved_or_draining_worker_says_what_happens_to_its_job() {
    assert_eq!(
        describe_worker(&worker("busy", Some(12), Some("bob"), false)),
        "worker render1 reserved for bob: it finishes job 12 first, then takes nothing more"
    );
    assert_eq!(
        describe_taken_now(&worker("busy", Some(12), Some("bob"), false), Some(JobId(12))),
        "worker render1 reserved for bob at once: its render of job 12 is stopped, and the job is queued again for \
         another worker"
    );
    assert_eq!(
        describe_taken_now(&worker("reserved", None, Some("bob"), false), None),
        "worker render1 reserved for bob"
    );
    assert_eq!(
        describe_worker(&worker("draining", Some(12), None, true)),
        "worker render1 draining: it finishes job 12, then takes nothing more; `worker list` says when it is safe to \
         stop"
    );
    assert_eq!(
        describe_worker(&worker("draining", None, None, true)),
        "worker render1 drained: it has no job, safe to stop"
    );
    assert!(worker_row(&worker("draining", None, None, true), None).ends_with("drained: no job, safe to stop"));
    assert!(!worker_row(&worker("draining", Some(3), None, true), None).contains("safe to stop"));
}

#[test]
fn a_worker_whose_render_stack_differs_from_most_is_marked_with_how() {
    let odd = WorkerView { name: "render3".into(), fingerprint: stack("0aaa"), ..worker("idle", None, None, false) };
    let workers = vec![worker("idle", None, None, false), worker("busy", Some(4), None, false), odd];
    let usual = usual_stack(&workers);
    assert_eq!(usual, Some(&stack("00ff")));
    let rows: Vec<String> = workers.iter().map(|w| worker_row(w, usual)).collect();
    let header = worker_header();
    let column = header.find("STACK").unwrap();
    assert_eq!(&rows[0][column..column + 9], format!("{:<9}", stack("00ff").short()), "{}", rows[0]);
    assert!(!rows[0].contains("differs"), "{}", rows[0]);
    assert_eq!(&rows[2][column..column + 9], format!("{:<9}", format!("{}*", stack("0aaa").short())));
    assert!(rows[2].ends_with("render stack differs: fonts 0aaa (most: 00ff)"), "{}", rows[2]);
    let unknown = WorkerView { fingerprint: Fingerprint::default(), ..worker("lost", None, None, false) };
    assert_eq!(&worker_row(&unknown, usual)[column..column + 1], "-");
}

#[test]
fn a_queued_job_says_why_it_waits_in_status_and_in_short_in_the_list() {
    let mut queued = job(7, JobState::Queued, None);
    queued.waiting = Some("the only worker with frei0r.glow, render2, is reserved by bob".into());
    assert_eq!(
        describe(&queued),
        "job 7 queued; waiting: the only worker with frei0r.glow, render2, is reserved by bob"
    );
    let columns = JobColumns::fit(std::slice::from_ref(&queued));
    assert!(
        job_row(&queued, columns).ends_with(
            "/srv/renders/p/p.mp4  (waiting: the only worker with frei0r.glow, render2, is reserved by bo…)"
        ),
        "{}",
        job_row(&queued, columns)
    );
    assert_eq!(job_json(&queued)["waiting"], "the only worker with frei0r.glow, render2, is reserved by bob");
    assert_eq!(describe(&job(8, JobState::Queued, None)), "job 8 queued");
    assert!(job_json(&job(8, JobState::Queued, None))["waiting"].is_null());
}
