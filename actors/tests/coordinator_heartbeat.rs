//! Heartbeats, in process: a worker that keeps talking stays connected however long it is idle, a silent one is
//! dropped after the heartbeat timeout and its job goes to another after the grace period. The coordinator's clock
//! is paused (see `harness`), so hours pass in an instant and only when the test says so.

mod harness;

use harness::{answer_heartbeat, job, running, Farm, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT};
use std::time::Duration;

/// Just past the heartbeat timeout, and the heartbeat interval (enough for their timers, whatever the clock's
/// rounding).
const PAST_TIMEOUT: Duration = HEARTBEAT_TIMEOUT.saturating_add(Duration::from_secs(1));
const PAST_INTERVAL: Duration = HEARTBEAT_INTERVAL.saturating_add(Duration::from_secs(1));

#[tokio::test]
async fn a_worker_that_heartbeats_stays_and_a_silent_one_is_dropped_and_its_job_moves() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    // Idle for three heartbeat timeouts, answering each heartbeat: still connected, and still offered jobs.
    for _ in 0..6 {
        farm.advance(PAST_INTERVAL).await;
        answer_heartbeat(&mut w1).await;
    }
    assert_eq!(farm.wait_worker(&mut client, "w1", "idle").await.name, "w1");
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let held = running(&mut w1, "melt started\n").await;
    assert_eq!(held.id, id);

    // Then it falls silent: past the heartbeat timeout the coordinator closes its connection.
    let w2 = farm.worker("w2").await;
    farm.advance(PAST_TIMEOUT).await;
    let ended = w1.next().await;
    assert!(ended.is_err(), "the connection ended: {ended:?}");
    farm.wait_worker(&mut client, "w1", "lost").await;
    // w2 answered nothing either and was dropped too; back, it takes the job once w1's grace period is over.
    drop(w2);
    let mut w2 = farm.worker("w2").await;
    farm.moves_after_grace(&mut client, &mut w2, id, "worker w1 was lost").await;
}
