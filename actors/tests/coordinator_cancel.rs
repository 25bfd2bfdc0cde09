//! Cancelling, in process, against the worker's reports racing it. Each test drives a whole coordinator through
//! the wire protocol with scripted workers (see `harness`), and puts the messages in the order the race is about.

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::{CoordinatorToWorker, Outcome};
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
