//! The table of allowed and refused transitions, and the attempt bookkeeping.

use super::*;
use distencode_wire::job::{JobId, JobSpec};

fn job(state: JobState, live_attempt: bool) -> JobRecord {
    let spec = JobSpec::new("/p.mlt", "/p.mp4");
    let mut record = JobRecord::queued(JobId(1), spec, "alice".into(), 0);
    record.state = state;
    if live_attempt {
        record.attempts.push(Attempt {
            number: 1,
            worker: "w1".into(),
            offered_at: 1,
            started_at: None,
            ended_at: None,
            committed_at: None,
            outcome: None,
            blames_worker: false,
        });
    }
    record
}

fn facts() -> RenderFacts {
    RenderFacts {
        frames: 50,
        duration_seconds: 2.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1000,
        dropped_filters: Vec::new(),
        streams: Default::default(),
    }
}

fn every_change() -> Vec<Change> {
    vec![
        Change::Offer { worker: "w2".into() },
        Change::Start { attempt: 1 },
        Change::Decline { attempt: 1, reason: "no".into(), requeue: true },
        Change::Succeed { attempt: 1, facts: facts() },
        Change::Fail { attempt: 1, reason: "boom".into(), requeue: false, blames_worker: true },
        Change::Abandon { reason: "nobody".into() },
        Change::Cancel { reason: "by alice".into() },
        Change::Retry,
        Change::Commit { attempt: 1 },
        Change::Priority { priority: 7 },
    ]
}

/// (state, change name, allowed?) for every pair.
#[test]
fn transition_table() {
    use JobState::*;
    let table: &[(JobState, [bool; 10])] = &[
        //         offer  start  decline succeed fail  abandon cancel retry commit priority
        (Queued, [true, false, false, false, false, true, true, false, false, true]),
        (Offered, [false, true, true, false, true, false, true, false, true, true]),
        (Running, [false, true, false, true, true, false, true, false, true, true]),
        (Succeeded, [false, false, false, false, false, false, false, false, false, false]),
        (Failed, [false, false, false, false, false, false, false, true, false, false]),
        (Cancelled, [false, false, false, false, false, false, false, true, false, false]),
    ];
    for (state, allowed) in table {
        for (change, allowed) in every_change().into_iter().zip(allowed) {
            let live = matches!(state, Offered | Running);
            let mut record = job(*state, live);
            let before = record.clone();
            let result = apply(&mut record, change.clone(), 10);
            assert_eq!(result.is_ok(), *allowed, "{state} + {change:?}: {result:?}");
            if !allowed {
                assert_eq!(record, before, "a refused change leaves the record as it was");
                assert_eq!(result.unwrap_err().to_string(), format!("job is {state}: cannot {}", change.action()));
            }
        }
    }
}

#[test]
fn offer_opens_numbered_attempts() {
    let mut record = job(JobState::Queued, false);
    apply(&mut record, Change::Offer { worker: "w1".into() }, 5).unwrap();
    apply(&mut record, Change::Decline { attempt: 1, reason: "no file".into(), requeue: true }, 6).unwrap();
    assert_eq!(record.state, JobState::Queued);
    apply(&mut record, Change::Offer { worker: "w2".into() }, 7).unwrap();
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[1].number, 2);
    assert_eq!(record.worker.as_deref(), Some("w2"));
    assert!(record.attempts[0].blames_worker);
    assert_eq!(record.attempts[0].outcome, Some(AttemptOutcome::Declined { reason: "no file".into() }));
}

#[test]
fn stale_attempts_are_refused() {
    let mut record = job(JobState::Queued, false);
    apply(&mut record, Change::Offer { worker: "w1".into() }, 1).unwrap();
    apply(&mut record, Change::Start { attempt: 1 }, 2).unwrap();
    apply(
        &mut record,
        Change::Fail { attempt: 1, reason: "worker lost".into(), requeue: true, blames_worker: false },
        3,
    )
    .unwrap();
    apply(&mut record, Change::Offer { worker: "w2".into() }, 4).unwrap();
    apply(&mut record, Change::Start { attempt: 2 }, 5).unwrap();
    let before = record.clone();
    let err = apply(&mut record, Change::Succeed { attempt: 1, facts: facts() }, 6).unwrap_err();
    assert_eq!(err, TransitionError::Stale { attempt: 1, live: "2".into() });
    assert_eq!(record, before);
    apply(&mut record, Change::Succeed { attempt: 2, facts: facts() }, 7).unwrap();
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.finished_at, Some(7));
}

#[test]
fn retry_keeps_history_and_forgives_workers() {
    let mut record = job(JobState::Offered, true);
    apply(
        &mut record,
        Change::Fail { attempt: 1, reason: "melt crashed".into(), requeue: false, blames_worker: true },
        2,
    )
    .unwrap();
    assert_eq!(record.state, JobState::Failed);
    assert_eq!(record.error.as_deref(), Some("melt crashed"));
    apply(&mut record, Change::Retry, 3).unwrap();
    assert_eq!(record.state, JobState::Queued);
    assert_eq!(record.error, None);
    assert_eq!(record.attempts.len(), 1);
    assert!(!record.attempts[0].blames_worker);
}

#[test]
fn cancel_ends_the_live_attempt() {
    let mut record = job(JobState::Running, true);
    apply(&mut record, Change::Cancel { reason: "cancelled by alice".into() }, 9).unwrap();
    assert_eq!(record.state, JobState::Cancelled);
    assert_eq!(record.attempts[0].ended_at, Some(9));
    assert!(record.current_attempt().is_none());
}

#[test]
fn a_final_failure_lists_every_attempt() {
    let mut record = job(JobState::Queued, false);
    for (n, worker) in ["w1", "w2", "w3"].iter().enumerate() {
        apply(&mut record, Change::Offer { worker: worker.to_string() }, 1).unwrap();
        apply(&mut record, Change::Start { attempt: n as u32 + 1 }, 2).unwrap();
        let requeue = n < 2;
        let reason = format!("melt exited with code {n}");
        apply(&mut record, Change::Fail { attempt: n as u32 + 1, reason, requeue, blames_worker: true }, 3).unwrap();
    }
    assert_eq!(record.state, JobState::Failed);
    assert_eq!(
        record.error.as_deref(),
        Some(
            "failed after 3 attempts: #1 on w1: melt exited with code 0; #2 on w2: melt exited with code 1; \
             #3 on w3: melt exited with code 2"
        )
    );
}

#[test]
fn starting_the_running_attempt_again_changes_nothing() {
    let mut record = job(JobState::Offered, true);
    apply(&mut record, Change::Start { attempt: 1 }, 5).unwrap();
    let before = record.clone();
    apply(&mut record, Change::Start { attempt: 1 }, 9).unwrap();
    assert_eq!(record, before, "the second start is a no-op, not a new start time");
    assert!(matches!(apply(&mut record, Change::Start { attempt: 2 }, 9), Err(TransitionError::NotAllowed { .. })));
}

#[test]
fn a_committed_attempt_cannot_be_cancelled_and_a_cancelled_one_cannot_be_committed() {
    // Commit first: the cancel is refused, naming the job, and changes nothing; the render goes on to succeed.
    let mut record = job(JobState::Running, true);
    apply(&mut record, Change::Commit { attempt: 1 }, 20).unwrap();
    assert_eq!(record.attempts[0].committed_at, Some(20));
    apply(&mut record, Change::Commit { attempt: 1 }, 21).unwrap();
    assert_eq!(record.attempts[0].committed_at, Some(20), "a repeated Verified commits once");
    let before = record.clone();
    let refused = apply(&mut record, Change::Cancel { reason: "by alice".into() }, 22).unwrap_err();
    assert_eq!(refused.to_string(), "job 1 is already finishing: its file is being put in place");
    assert_eq!(record, before);
    apply(&mut record, Change::Succeed { attempt: 1, facts: facts() }, 23).unwrap();
    assert_eq!(record.state, JobState::Succeeded);
    // Cancel first: the commit is refused, so the worker is told not to put its file in place.
    let mut record = job(JobState::Running, true);
    apply(&mut record, Change::Cancel { reason: "by alice".into() }, 20).unwrap();
    let refused = apply(&mut record, Change::Commit { attempt: 1 }, 21).unwrap_err();
    assert_eq!(refused.to_string(), "job is cancelled: cannot commit it");
    // An attempt still offered (its Accepted lost) is started by its commit; a stale one is refused.
    let mut record = job(JobState::Offered, true);
    assert!(matches!(apply(&mut record, Change::Commit { attempt: 2 }, 5), Err(TransitionError::Stale { .. })));
    apply(&mut record, Change::Commit { attempt: 1 }, 5).unwrap();
    assert_eq!(
        (record.state, record.attempts[0].started_at, record.attempts[0].committed_at),
        (JobState::Running, Some(5), Some(5))
    );
}
