//! The coordinator against its store, in process: `job list` past one page, a store write that fails, and log
//! batches that must not be stored. Each test drives a whole coordinator through the wire protocol (see `harness`).

mod harness;

use distencode_actors::store::INJECTED;
use distencode_wire::job::{JobId, JobState};
use distencode_wire::message::{CoordinatorToWorker, WorkerToCoordinator};
use harness::{job, offer, Farm, CLIENT};

/// What a client is told when the store's write failed.
fn write_failed() -> String {
    format!("job store: IO error: {INJECTED}")
}

#[tokio::test]
async fn job_list_comes_in_pages_of_256_oldest_first() {
    let farm = Farm::start_with(3, |store| {
        for n in 0..300 {
            store.create(job(n, 0), CLIENT.into()).unwrap();
        }
    })
    .await;
    let mut client = farm.client().await;
    let last = client.submit(job(300, 0)).await.unwrap().id;
    let pages = client.list_pages().await.unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [256, 45]);
    let ids: Vec<JobId> = pages.into_iter().flatten().map(|r| r.id).collect();
    assert_eq!(ids[..300], (1..=300).map(JobId).collect::<Vec<_>>());
    // (sled's ids jump ahead after a reopen.)
    assert_eq!(ids[300], last);
    assert!(last > JobId(300));
}

#[tokio::test]
async fn a_submit_whose_write_fails_says_so_and_leaves_no_job() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    farm.fail_next_write();
    let refused = client.submit(job(0, 0)).await.unwrap_err();
    assert_eq!(refused.to_string(), write_failed());
    assert_eq!(client.list_pages().await.unwrap(), Vec::<Vec<_>>::new(), "no job was recorded");
    let record = client.submit(job(1, 0)).await.unwrap();
    assert_eq!((record.state, record.project.as_str()), (JobState::Queued, job(1, 0).project.as_str()));
    let listed: Vec<JobId> = client.list_pages().await.unwrap().into_iter().flatten().map(|r| r.id).collect();
    assert_eq!(listed, [record.id]);
}

#[tokio::test]
async fn an_offer_whose_write_fails_is_not_sent_and_the_worker_is_offered_the_job_again() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    // The next write is the offer made when w1 registers.
    farm.fail_next_write();
    let mut w1 = farm.worker("w1").await;
    // The failed offer took no attempt number and sent nothing: the first offer w1 sees is attempt 1.
    let offered = offer(&mut w1).await;
    assert_eq!((offered.id, offered.attempt), (id, 1));
    let record = client.status(id).await.unwrap();
    assert_eq!((record.state, record.attempts.len()), (JobState::Offered, 1));
    w1.render(&offered).await.unwrap();
    assert_eq!(client.status(id).await.unwrap().state, JobState::Succeeded);
}

#[tokio::test]
async fn a_log_batch_whose_write_fails_is_not_acknowledged_and_is_stored_once_sent_again() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let offered = offer(&mut w1).await;
    w1.accept(&offered).await.unwrap();
    assert!(matches!(w1.log(&offered, 0, "one\n").await.unwrap(), CoordinatorToWorker::LogAck { seq: 0, .. }));
    farm.fail_next_write();
    w1.send(WorkerToCoordinator::Log { job: id, attempt: 1, seq: 1, text: "two\n".into() }).await.unwrap();
    // Only the batch sent again is acknowledged: the next message is its LogAck, then the Commit.
    let again = w1.log(&offered, 1, "two\n").await.unwrap();
    assert_eq!(again, CoordinatorToWorker::LogAck { job: id, attempt: 1, seq: 1 });
    assert!(w1.verify(&offered).await.unwrap());
    assert_eq!(client.logs(id).await.unwrap(), "one\ntwo\n");
}

#[tokio::test]
async fn log_batches_are_stored_only_for_the_attempt_the_worker_holds() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    // Batches for a job that does not exist yet: acknowledged (so the worker forgets them) and dropped, or they
    // would show in the log of the job that gets this id.
    let stray = |job, attempt, text: &str| WorkerToCoordinator::Log { job, attempt, seq: 0, text: text.into() };
    let before = client.submit(job(0, 0)).await.unwrap().id;
    client.cancel(before).await.unwrap();
    let mut w1 = farm.worker("w1").await;
    let mut w2 = farm.worker("w2").await;
    let next = JobId(before.0 + 1);
    w1.send(stray(next, 1, "stray\n")).await.unwrap();
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::LogAck { job: next, attempt: 1, seq: 0 });
    let id = client.submit(job(1, 0)).await.unwrap().id;
    assert_eq!(id, next, "the id the stray batch named");
    let (holder, other) = tokio::select! {
        o = w1.offer() => (o.unwrap(), &mut w2),
        o = w2.offer() => (o.unwrap(), &mut w1),
    };
    // A batch from the worker that does not hold the job: dropped too.
    other.send(stray(id, holder.attempt, "not mine\n")).await.unwrap();
    assert!(matches!(other.next().await.unwrap(), CoordinatorToWorker::LogAck { .. }));
    assert_eq!(client.logs(id).await.unwrap(), "");
    // And one for a job that is over.
    let mut holder_worker = if other.name == "w1" { w2 } else { w1 };
    holder_worker.render(&holder).await.unwrap();
    holder_worker.send(stray(id, holder.attempt, "after the end\n")).await.unwrap();
    assert!(matches!(holder_worker.next().await.unwrap(), CoordinatorToWorker::LogAck { .. }));
    assert_eq!(client.logs(id).await.unwrap(), "melt started\n");
}
