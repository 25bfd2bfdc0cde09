//! A render's poster frame, which its worker sends after its `Finished` (off the job's path): stored for a success
//! from the worker of that attempt, dropped from another worker and for a failure. In process, in milliseconds.

mod harness;

use distencode_wire::job::JobState;
use distencode_wire::message::Outcome;
use distencode_wire::thumbnail::Thumbnail;
use harness::{job, running, Farm};

fn jpeg(byte: u8) -> Thumbnail {
    Thumbnail::new(vec![0xff, 0xd8, byte, 0xff, 0xd9]).unwrap()
}

#[tokio::test]
async fn a_poster_frame_sent_after_the_success_is_stored_from_that_attempt_s_worker_only() {
    let mut farm = Farm::start(1).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let mut w2 = farm.worker("w2").await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let rendered = running(&mut w1, "melt started\n").await;
    assert!(w1.verify(&rendered).await.unwrap());
    assert!(w1.finish(&rendered, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    assert_eq!(client.status(id).await.unwrap().state, JobState::Succeeded, "succeeded before any picture");

    // Nothing answers a poster frame. Each worker's session handles its messages in order, so a report sent
    // after it and answered (a second `Finished`, which no longer counts) shows that it was handled.
    w1.poster(&rendered, jpeg(2)).await.unwrap();
    assert!(!w1.finish(&rendered, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    w2.poster(&rendered, jpeg(1)).await.unwrap();
    assert!(!w2.finish(&rendered, Outcome::Succeeded(distencode_sim::facts())).await.unwrap());

    let failing = client.submit(job(1, 0)).await.unwrap().id;
    let failed = running(&mut w1, "melt started\n").await;
    assert_eq!(failed.id, failing);
    let outcome = Outcome::Failed { reason: "melt exited with 1".into(), log_tail: String::new() };
    assert!(w1.finish(&failed, outcome.clone()).await.unwrap());
    assert_eq!(client.status(failing).await.unwrap().state, JobState::Failed);
    w1.poster(&failed, jpeg(3)).await.unwrap();
    assert!(!w1.finish(&failed, outcome).await.unwrap());

    drop((w1, w2, client));
    assert_eq!(farm.stored_thumbnail(id).await, Some(jpeg(2).into_bytes()), "the picture of w1, which rendered it");
    assert_eq!(farm.stored_thumbnail(failing).await, None, "a failed job has no picture");
}
