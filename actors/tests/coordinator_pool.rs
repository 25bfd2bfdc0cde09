//! Which workers take jobs, in process: reservations (durable, across a restart), reserving at once, drains. Each
//! test drives a whole coordinator through the wire protocol with scripted workers (see `harness`).

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::{ClientRequest, CoordinatorToWorker};
use harness::{job, offer, running, Farm};

fn reserve(worker: &str, now: bool) -> ClientRequest {
    ClientRequest::Reserve { worker: worker.into(), person: "bob".into(), until: None, now }
}

#[tokio::test]
async fn reserved_and_draining_workers_take_nothing_even_after_a_restart() {
    let mut farm = Farm::start(3).await;
    let mut client = farm.client().await;
    // Reserved before it ever registered, and drained while idle.
    client.workers(reserve("w1", false)).await.unwrap();
    let w1 = farm.worker("w1").await;
    let w2 = farm.worker("w2").await;
    let views = client.workers(ClientRequest::Drain { worker: "w2".into() }).await.unwrap();
    let states: Vec<(&str, &str)> = views.iter().map(|w| (w.name.as_str(), w.state.as_str())).collect();
    assert_eq!(states, [("w1", "reserved"), ("w2", "draining")]);
    assert_eq!(views[0].reserved_by.as_deref(), Some("bob"));
    let mut w3 = farm.worker("w3").await;
    let ids = [client.submit(job(0, 0)).await.unwrap().id, client.submit(job(1, 0)).await.unwrap().id];
    for id in ids {
        let offered = offer(&mut w3).await;
        assert_eq!(offered.id, id);
        w3.render(&offered).await.unwrap();
    }
    for id in ids {
        let record = client.status(id).await.unwrap();
        let workers: Vec<&str> = record.attempts.iter().map(|a| a.worker.as_str()).collect();
        assert_eq!((record.state, workers), (JobState::Succeeded, vec!["w3"]), "job {id}");
    }

    // After a restart w1 is still reserved and w2 still drains: with both idle and registered first, the job still
    // goes to w3.
    drop((w1, w2, w3));
    farm.restart().await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let _w2 = farm.worker("w2").await;
    let mut w3 = farm.worker("w3").await;
    let view = farm.wait_worker(&mut client, "w1", "reserved").await;
    assert_eq!(view.reserved_by.as_deref(), Some("bob"));
    farm.wait_worker(&mut client, "w2", "draining").await;
    let third = client.submit(job(2, 0)).await.unwrap().id;
    let on_w3 = offer(&mut w3).await;
    assert_eq!(on_w3.id, third);
    // Released, w1 takes the next job while w3 is busy.
    let fourth = client.submit(job(3, 0)).await.unwrap().id;
    client.workers(ClientRequest::Release { worker: "w1".into() }).await.unwrap();
    let on_w1 = offer(&mut w1).await;
    assert_eq!(on_w1.id, fourth);
    w1.render(&on_w1).await.unwrap();
    w3.render(&on_w3).await.unwrap();
    let record = client.status(third).await.unwrap();
    let workers: Vec<&str> = record.attempts.iter().map(|a| a.worker.as_str()).collect();
    assert_eq!((record.state, workers), (JobState::Succeeded, vec!["w3"]));
}

#[tokio::test]
async fn reserving_a_busy_worker_at_once_stops_its_render_and_queues_the_job_again() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let first = running(&mut w1, "melt started\n").await;
    let mut w2 = farm.worker("w2").await;
    client.workers(reserve("w1", true)).await.unwrap();
    assert_eq!(w1.next().await.unwrap(), CoordinatorToWorker::Cancel { job: id, attempt: first.attempt });
    let second = offer(&mut w2).await;
    assert_eq!((second.id, second.attempt), (id, 2));
    w2.render(&second).await.unwrap();
    let record = client.status(id).await.unwrap();
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.attempts[0].outcome.as_ref().map(ToString::to_string).as_deref(), Some("worker w1 was reserved"));
    // w1's report of the stopped render is about an attempt that ended: refused, and w1 stays reserved.
    assert!(!w1.finish(&first, distencode_wire::message::Outcome::Cancelled).await.unwrap());
    assert_eq!(farm.wait_worker(&mut client, "w1", "reserved").await.current_job, None);
}

#[tokio::test]
async fn a_draining_worker_finishes_its_job_and_takes_no_other() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    client.submit(job(0, 0)).await.unwrap();
    let first = running(&mut w1, "melt started\n").await;
    client.workers(ClientRequest::Drain { worker: "w1".into() }).await.unwrap();
    let next = client.submit(job(1, 0)).await.unwrap().id;
    // Its render still counts.
    assert!(w1.verify(&first).await.unwrap());
    assert!(w1.finish(&first, distencode_wire::message::Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let mut w2 = farm.worker("w2").await;
    let offered = offer(&mut w2).await;
    assert_eq!(offered.id, next);
    w2.render(&offered).await.unwrap();
    assert_eq!(client.status(first.id).await.unwrap().worker.as_deref(), Some("w1"));
    assert_eq!(client.status(next).await.unwrap().attempts.len(), 1, "only w2 was offered the second job");
    assert_eq!(farm.wait_worker(&mut client, "w1", "draining").await.current_job, None);
}
