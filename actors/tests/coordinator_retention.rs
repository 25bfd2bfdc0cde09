//! Deleting jobs, in process: `job delete` (all or none, a live job refuses the request, a split job takes its
//! tasks), `job prune --older-than`, and `--keep-finished` deleting old finished jobs by itself at start.

mod harness;

use distencode_actors::store::{Change, JobStore};
use distencode_wire::job::{JobId, JobState};
use distencode_wire::message::ClientRequest;
use harness::{job, wait_list, Farm, CLIENT};
use std::time::Duration;

/// Three jobs: two cancelled (finished), one still queued.
fn two_finished_one_queued(store: &JobStore) {
    for n in 0..3 {
        let id = store.create(job(n, 0), CLIENT.into()).unwrap().id;
        if n < 2 {
            store.change(id, Change::Cancel { reason: "cancelled by alice".into() }).unwrap();
        }
    }
}

fn ids(jobs: &[distencode_wire::job::JobRecord]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

#[tokio::test]
async fn job_delete_is_all_or_nothing_and_a_deleted_job_is_gone_with_its_log() {
    let farm = Farm::start_with(3, two_finished_one_queued).await;
    let mut client = farm.client().await;
    let (a, b, live) = (JobId(1), JobId(2), JobId(3));
    let refused = client.delete(ClientRequest::Delete(vec![a, live])).await.unwrap_err();
    assert_eq!(refused.to_string(), "job 3 is queued: cancel it first");
    assert_eq!(client.list_pages().await.unwrap().concat().len(), 3, "a refused request deletes nothing");
    assert_eq!(client.delete(ClientRequest::Delete(vec![a, a])).await.unwrap(), [a], "an id given twice is one");
    assert_eq!(client.status(a).await.unwrap_err().to_string(), "no job 1");
    let missing = client.delete(ClientRequest::Delete(vec![a, b])).await.unwrap_err();
    assert_eq!(missing.to_string(), "no job 1");
    assert_eq!(ids(&client.list_pages().await.unwrap().concat()), [b, live]);
    // A new job never takes a deleted one's id.
    assert!(client.submit(job(9, 0)).await.unwrap().id > live);
}

#[tokio::test]
async fn job_prune_deletes_what_finished_before_the_time_and_nothing_live() {
    let farm = Farm::start_with(3, two_finished_one_queued).await;
    let mut client = farm.client().await;
    let long_ago = ClientRequest::Prune { before: 1 };
    assert_eq!(client.delete(long_ago).await.unwrap(), Vec::<JobId>::new());
    let now = ClientRequest::Prune { before: distencode_wire::job::now_ms() + 1 };
    assert_eq!(client.delete(now).await.unwrap(), [JobId(1), JobId(2)]);
    let left = client.list_pages().await.unwrap().concat();
    assert_eq!(left.iter().map(|j| (j.id, j.state)).collect::<Vec<_>>(), [(JobId(3), JobState::Queued)]);
}

#[tokio::test]
async fn keep_finished_deletes_old_finished_jobs_by_itself() {
    let farm = Farm::start_configured(3, two_finished_one_queued, |config| {
        config.keep_finished = Some(Duration::from_millis(1));
    })
    .await;
    let mut client = farm.client().await;
    let left = wait_list(&mut client, "deleting the finished jobs", |jobs| jobs.len() == 1).await;
    assert_eq!(ids(&left), [JobId(3)], "the queued job stays");
}
