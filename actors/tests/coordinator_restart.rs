//! A coordinator restart, in process: running jobs wait one grace period for their workers, and go to another
//! worker when theirs never returns. Each test drives a whole coordinator through the wire protocol with scripted
//! workers (see `harness`); the restart stops every actor and connection and reopens the store.

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::Outcome;
use harness::{job, offer, running, Farm, PAST_GRACE};

#[tokio::test]
async fn a_job_whose_worker_never_returns_after_a_restart_goes_to_another_after_the_grace_period() {
    let mut farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    running(&mut w1, "melt started\n").await;
    let queued = client.submit(job(1, 0)).await.unwrap().id;
    drop(w1);
    farm.restart().await;
    let mut client = farm.client().await;
    let mut w2 = farm.worker("w2").await;
    // The queued job goes on at once; the running one waits for w1.
    let first = offer(&mut w2).await;
    assert_eq!(first.id, queued);
    w2.render(&first).await.unwrap();
    let lost = "worker w1 did not come back after the coordinator restarted";
    farm.moves_after_grace(&mut client, &mut w2, id, lost).await;
}

#[tokio::test]
async fn a_worker_that_returns_after_a_restart_keeps_its_job() {
    let mut farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let held = running(&mut w1, "melt started\n").await;
    drop(w1);
    farm.restart().await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker_holding("w1", &held).await;
    farm.wait_worker(&mut client, "w1", "busy").await;
    farm.advance(PAST_GRACE).await;
    assert!(w1.verify(&held).await.unwrap(), "its render still counts");
    assert!(w1.finish(&held, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let record = client.status(id).await.unwrap();
    assert_eq!((record.state, record.attempts.len()), (JobState::Succeeded, 1));
}
