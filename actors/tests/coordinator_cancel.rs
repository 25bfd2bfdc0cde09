//! Cancelling, in process, against the worker's reports racing it. Each test drives a whole coordinator through
//! the wire protocol with scripted workers (see `harness`), and puts the messages in the order the race is about.

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::{CoordinatorToWorker, Outcome, WorkerToCoordinator};
use harness::{job, running, Farm, CLIENT};

#[tokio::test]
async fn a_render_verified_after_its_job_was_cancelled_is_not_committed() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let held = running(&mut w1, "melt started\n").await;
    let cancelled = client.cancel(id).await.unwrap();
    assert_eq!((cancelled.state, cancelled.error.as_deref()), (JobState::Cancelled, Some("cancelled by alice")));
    // The worker is told to stop; its Verified, sent before it read that, is answered with "do not commit".
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::Cancel { job: id, attempt: held.attempt });
    assert!(!w1.verify(&held).await.unwrap(), "a cancelled job's render is thrown away");
    assert!(!w1.finish(&held, Outcome::Cancelled).await.unwrap(), "its report is about an attempt that ended");
    let record = client.status(id).await.unwrap();
    assert_eq!(record.state, JobState::Cancelled);
    assert_eq!(
        record.attempts[0].outcome.as_ref().map(ToString::to_string).as_deref(),
        Some(format!("cancelled: cancelled by {CLIENT}").as_str())
    );
    assert_eq!(record.facts, None);
}

#[tokio::test]
async fn a_queued_or_offered_job_cancelled_is_never_started() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let queued = client.submit(job(0, 0)).await.unwrap().id;
    assert_eq!(client.cancel(queued).await.unwrap().state, JobState::Cancelled);
    let offered = client.submit(job(1, 0)).await.unwrap().id;
    let mut w1 = farm.worker("w1").await;
    let offer = harness::offer(&mut w1).await;
    assert_eq!(offer.id, offered, "the cancelled job is not offered");
    assert_eq!(client.cancel(offered).await.unwrap().state, JobState::Cancelled);
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::Cancel { job: offered, attempt: 1 });
    // Accepting it afterwards is answered with another Cancel, and starts nothing.
    w1.accept(&offer).await.unwrap();
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::Cancel { job: offered, attempt: 1 });
    let record = client.status(offered).await.unwrap();
    assert_eq!((record.state, record.attempts[0].started_at), (JobState::Cancelled, None));
}

#[tokio::test]
async fn a_cancel_after_the_commit_is_recorded_is_refused_even_after_a_restart_and_the_render_finishes() {
    let mut farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let held = running(&mut w1, "melt started\n").await;
    assert!(w1.verify(&held).await.unwrap(), "the verified render may be put in place");
    let finishing = format!("job {id} is already finishing: its file is being put in place");
    let refused = client.cancel(id).await.expect_err("a committed job cannot be cancelled");
    assert_eq!(refused.to_string(), finishing);
    // The Commit is on disk: a coordinator started again on the same store refuses the cancel too.
    drop(w1);
    farm.restart().await;
    let mut client = farm.client().await;
    let refused = client.cancel(id).await.expect_err("still finishing after the restart");
    assert_eq!(refused.to_string(), finishing);
    let record = client.status(id).await.unwrap();
    assert_eq!(record.state, JobState::Running);
    assert!(record.attempts[0].committed_at.is_some(), "the commit was recorded before the worker was told");
    // The worker, which put its file in place meanwhile, comes back and reports it.
    let mut w1 = farm.worker_holding("w1", &held).await;
    assert!(w1.finish(&held, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let record = client.status(id).await.unwrap();
    assert_eq!((record.state, record.error), (JobState::Succeeded, None));
}

#[tokio::test]
async fn a_cancel_and_a_verified_sent_together_agree_on_one_winner() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    for n in 0..RACES {
        let id = client.submit(job(n, 0)).await.unwrap().id;
        let held = running(&mut w1, "melt started\n").await;
        // Both are on their way before either is answered: whichever the store records first wins.
        let verified = WorkerToCoordinator::Verified { job: id, attempt: held.attempt, facts: distencode_sim::facts() };
        let (sent, cancelled) = tokio::join!(w1.send(verified), client.cancel(id));
        sent.unwrap();
        let commit = |go| CoordinatorToWorker::Commit { job: id, attempt: held.attempt, go };
        let stop = CoordinatorToWorker::Cancel { job: id, attempt: held.attempt };
        let first = w1.next().await.unwrap();
        if first == commit(true) {
            let refused = cancelled.expect_err("a cancel after the Commit is refused");
            assert_eq!(refused.to_string(), format!("job {id} is already finishing: its file is being put in place"));
            assert!(w1.finish(&held, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
            assert_eq!(client.status(id).await.unwrap().state, JobState::Succeeded);
        } else {
            // The cancel came first: the worker is told to stop and not to commit (in either order), so its render
            // is thrown away, never renamed into place.
            let second = w1.next().await.unwrap();
            let mut told = [first, second];
            told.sort_by_key(|m| matches!(m, CoordinatorToWorker::Cancel { .. }));
            assert_eq!(told, [commit(false), stop], "race {n}");
            assert_eq!(cancelled.unwrap().state, JobState::Cancelled);
            assert!(!w1.finish(&held, Outcome::Cancelled).await.unwrap());
            let record = client.status(id).await.unwrap();
            assert_eq!(
                (record.state, record.facts, record.attempts[0].committed_at),
                (JobState::Cancelled, None, None)
            );
        }
    }
}

/// How many times the Commit-against-Cancel race is run.
const RACES: usize = 20;
