//! Outputs at submit and at retry, in process: two jobs that are not final may not share an output, and no job may
//! render over the project of one. Each test drives a whole coordinator through the wire protocol (see `harness`).

mod harness;

use distencode_wire::job::{JobSpec, JobState};
use distencode_wire::message::Outcome;
use harness::{job, offer, running, Farm, CLIENT};

/// Job `n`'s spec with its output at `output`.
fn to(n: usize, output: &str) -> JobSpec {
    JobSpec { output: output.into(), ..job(n, 0) }
}

#[tokio::test]
async fn a_second_live_job_with_the_same_output_is_refused_naming_the_first() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let first = client.submit(job(0, 0)).await.unwrap();
    let output = first.output.clone();
    let refused = client.submit(to(1, &output)).await.unwrap_err();
    assert_eq!(refused.to_string(), format!("the output {output} is already the output of job {} (queued)", first.id));
    let mut w1 = farm.worker("w1").await;
    let offered = offer(&mut w1).await;
    w1.accept(&offered).await.unwrap();
    // The acceptance is recorded after it is read: ask until the job says so (each ask is a round trip).
    for _ in 0..1000 {
        if client.status(first.id).await.unwrap().state == JobState::Running {
            break;
        }
    }
    let refused = client.submit(to(2, &output)).await.unwrap_err();
    assert_eq!(refused.to_string(), format!("the output {output} is already the output of job {} (running)", first.id));
    w1.render(&offered).await.unwrap();
    assert_eq!(client.status(first.id).await.unwrap().state, JobState::Succeeded);
    // Once the first is final, the output is free again (the worker then decides about the file that is there).
    let again = client.submit(to(3, &output)).await.unwrap();
    assert_eq!((again.state, again.output.as_str()), (JobState::Queued, output.as_str()));
    let listed = client.list_pages().await.unwrap().concat();
    assert_eq!(listed.len(), 2, "the refused submits left no job: {listed:?}");
}

#[tokio::test]
async fn a_job_may_not_render_over_the_project_of_a_live_job() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let first = client.submit(job(0, 0)).await.unwrap();
    let refused = client.submit(to(1, &first.project)).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("the output {} is already the project of job {} (queued)", first.project, first.id)
    );
}

#[tokio::test]
async fn of_two_submits_with_one_output_sent_together_exactly_one_is_taken() {
    let farm = Farm::start(3).await;
    let (mut a, mut b) = (farm.client().await, farm.client().await);
    let output = job(0, 0).output;
    for round in 0..20 {
        let output = format!("{output}.{round}");
        let (left, right) = tokio::join!(a.submit(to(2 * round, &output)), b.submit(to(2 * round + 1, &output)));
        let (taken, refused) = match (left, right) {
            (Ok(taken), Err(refused)) | (Err(refused), Ok(taken)) => (taken, refused.to_string()),
            other => panic!("round {round}: exactly one must be taken: {other:?}"),
        };
        let named = format!("the output {output} is already the output of job {} (queued)", taken.id);
        let racing = format!("the output {output} is already the output of a job being submitted");
        assert!(refused == named || refused == racing, "round {round}: {refused}");
        assert_eq!(taken.submitted_by, CLIENT);
    }
}

#[tokio::test]
async fn a_retry_is_refused_while_its_output_is_another_live_job_s_and_taken_once_it_is_free() {
    let farm = Farm::start(1).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let first = client.submit(job(0, 0)).await.unwrap();
    let rendering = running(&mut w1, "melt started\n").await;
    let failed = Outcome::Failed { reason: "melt exited with 1".into(), log_tail: String::new() };
    assert!(w1.finish(&rendering, failed).await.unwrap());
    assert_eq!(client.status(first.id).await.unwrap().state, JobState::Failed);
    // With no worker left, what is submitted now stays queued.
    farm.disconnect(&mut client, w1).await;
    // Its output is free once it failed: another job takes it.
    let second = client.submit(to(1, &first.output)).await.unwrap();
    let refused = client.retry(first.id).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("the output {} is already the output of job {} (queued)", first.output, second.id)
    );
    assert_eq!(client.status(first.id).await.unwrap().state, JobState::Failed, "the refused retry changed nothing");
    client.cancel(second.id).await.unwrap();
    assert_eq!(client.retry(first.id).await.unwrap().state, JobState::Queued);
}
