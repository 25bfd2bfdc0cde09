//! The coordinator's dispatch in process: the order of the queue, what losing a worker does to its job, the
//! attempt limit, and reports about attempts that are no longer live. Each test drives a whole coordinator through
//! the wire protocol with scripted workers (see `harness`), in milliseconds.

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::{CoordinatorToWorker, Outcome, WorkerToCoordinator};
use harness::{job, offer, running, Farm, GRACE, PAST_GRACE};

#[tokio::test]
async fn higher_priority_first_then_oldest_first() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut ids = Vec::new();
    for (n, priority) in [(0, 0), (1, 5), (2, 0), (3, 5), (4, -1)] {
        ids.push(client.submit(job(n, priority)).await.unwrap().id);
    }
    // One worker takes them one at a time, so the offers come in queue order.
    let mut w1 = farm.worker("w1").await;
    let mut order = Vec::new();
    for _ in 0..ids.len() {
        let offer = offer(&mut w1).await;
        order.push(offer.id);
        w1.render(&offer).await.unwrap();
    }
    assert_eq!(order, [ids[1], ids[3], ids[0], ids[2], ids[4]]);
    for id in ids {
        let record = client.status(id).await.unwrap();
        assert_eq!((record.state, record.attempts.len()), (JobState::Succeeded, 1), "job {id}");
    }
}

#[tokio::test]
async fn the_job_of_a_worker_that_does_not_come_back_within_the_grace_period_goes_to_another() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    running(&mut w1, "melt started\n").await;
    let mut w2 = farm.worker("w2").await;
    farm.disconnect(&mut client, w1).await;
    // Disconnected, w1 keeps its job for the grace period.
    let view = farm.wait_worker(&mut client, "w1", "lost").await;
    assert_eq!(view.current_job, Some(id));
    let record = farm.moves_after_grace(&mut client, &mut w2, id, "worker w1 was lost").await;
    assert!(!record.attempts[0].blames_worker, "a lost worker is not blamed");
    assert_eq!((record.attempts[1].worker.as_str(), record.worker.as_deref()), ("w2", Some("w2")));
}

#[tokio::test]
async fn a_worker_back_within_the_grace_period_keeps_its_job() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let first = running(&mut w1, "melt started\n").await;
    farm.disconnect(&mut client, w1).await;
    farm.advance(GRACE / 2).await;
    let mut w1 = farm.worker_holding("w1", &first).await;
    farm.wait_worker(&mut client, "w1", "busy").await;
    // Past the first disconnection's grace period: the reconnected worker's job is not taken from it.
    farm.advance(GRACE).await;
    assert!(w1.verify(&first).await.unwrap(), "the attempt still counts");
    assert!(w1.finish(&first, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let record = client.status(id).await.unwrap();
    assert_eq!((record.state, record.attempts.len()), (JobState::Succeeded, 1));
}

#[tokio::test]
async fn a_job_fails_for_good_after_max_attempts_renders_each_on_another_worker() {
    let farm = Farm::start(2).await;
    let mut client = farm.client().await;
    let mut workers = [farm.worker("w1").await, farm.worker("w2").await];
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let mut tried = Vec::new();
    for attempt in 1..=2 {
        // Whichever worker the job went to; the one that failed it is not offered it again.
        let [first, second] = &mut workers;
        let (index, offered) = tokio::select! {
            o = first.offer() => (0, o.unwrap()),
            o = second.offer() => (1, o.unwrap()),
        };
        assert_eq!((offered.id, offered.attempt), (id, attempt));
        let worker = &mut workers[index];
        worker.accept(&offered).await.unwrap();
        let reason = format!("melt exited with status {attempt}");
        let outcome = Outcome::Failed { reason, log_tail: String::new() };
        assert!(worker.finish(&offered, outcome).await.unwrap(), "the failure is taken");
        tried.push(worker.name.clone());
    }
    let record = client.status(id).await.unwrap();
    assert_eq!(record.state, JobState::Failed);
    assert_eq!(
        record.error.as_deref(),
        Some(
            format!(
                "failed after 2 attempts: #1 on {a}: worker {a}: melt exited with status 1; #2 on {b}: worker {b}: melt \
                 exited with status 2",
                a = tried[0],
                b = tried[1]
            )
            .as_str()
        )
    );
    assert_ne!(tried[0], tried[1]);
}

#[tokio::test]
async fn reports_about_an_attempt_that_is_no_longer_live_change_nothing() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let stale = running(&mut w1, "first attempt\n").await;
    farm.disconnect(&mut client, w1).await;
    farm.advance(PAST_GRACE).await;
    let mut w2 = farm.worker("w2").await;
    let live = running(&mut w2, "second attempt\n").await;
    assert_eq!(live.attempt, 2);

    // w1 comes back still rendering attempt 1: it is told to stop, and whatever it reports is refused.
    let mut w1 = farm.worker_holding("w1", &stale).await;
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::Cancel { job: id, attempt: 1 });
    w1.send(WorkerToCoordinator::Log { job: id, attempt: 1, seq: 1, text: "late line\n".into() }).await.unwrap();
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::LogAck { job: id, attempt: 1, seq: 1 });
    assert!(!w1.verify(&stale).await.unwrap(), "a stale render is not committed");
    assert!(!w1.finish(&stale, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    assert_eq!(client.status(id).await.unwrap().state, JobState::Running);

    assert!(w2.verify(&live).await.unwrap());
    assert!(w2.finish(&live, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let record = client.status(id).await.unwrap();
    assert_eq!((record.state, record.worker.as_deref()), (JobState::Succeeded, Some("w2")));
    assert_eq!(record.attempts.len(), 2);
    // The late line of the stale attempt was not stored.
    assert_eq!(client.logs(id).await.unwrap(), "first attempt\nsecond attempt\n");
}

#[tokio::test]
async fn a_job_whose_workers_are_lost_while_checking_it_fails_after_max_attempts_saying_so() {
    // A project that crashes whoever reads it: each worker takes the offer and is gone before it answers.
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    for (n, name) in ["w1", "w2", "w3"].into_iter().enumerate() {
        let mut worker = farm.worker(name).await;
        let offered = offer(&mut worker).await;
        assert_eq!((offered.id, offered.attempt), (id, n as u32 + 1));
        farm.disconnect(&mut client, worker).await;
        farm.advance(PAST_GRACE).await;
    }
    let mut record = client.status(id).await.unwrap();
    for _ in 0..2_500 {
        if record.state.is_final() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        record = client.status(id).await.unwrap();
    }
    assert_eq!(record.state, JobState::Failed);
    assert_eq!(
        record.error.as_deref(),
        Some(
            "failed after 3 attempts: #1 on w1: worker w1 was lost while checking the project; \
             #2 on w2: worker w2 was lost while checking the project; \
             #3 on w3: worker w3 was lost while checking the project: 3 workers were lost while checking it; the \
             project may crash workers"
        )
    );
}
