//! Split jobs in process: a job rendered as tasks (chunks, one audio pass, a join), each a job of its own with its
//! own attempts. A lost worker's chunk moves to another worker while the other chunks keep their work; cancelling
//! the job cancels every task; a coordinator restart mid-split loses nothing. Scripted workers speak the real
//! protocol (see `harness`).

mod harness;

use distencode_wire::job::{JobId, JobRecord, JobSpec, JobState, SplitRequest, TaskKind};
use distencode_wire::message::CoordinatorToWorker;
use harness::{job, offer, running, Farm, PAST_GRACE};

/// A 24 s project at 25 fps split into 2 chunks of 300 frames (chunks start on multiples of the GOP, 12).
fn split_job() -> JobSpec {
    let request = SplitRequest { chunks: Some(2), force: false, frames: 600, fps_num: 25, fps_den: 1 };
    JobSpec { split: Some(Box::new(request)), ..job(0, 0) }
}

fn kinds(record: &JobRecord) -> Vec<(TaskKind, u64, u64, JobState, u32)> {
    record.tasks.iter().map(|t| (t.kind, t.first, t.last, t.state, t.attempts)).collect()
}

/// Asks for the job's status until `done` holds; bounded in count.
async fn status_until(
    client: &mut distencode_sim::ScriptedClient,
    id: JobId,
    done: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let mut record = client.status(id).await.expect("status");
    for _ in 0..2_500 {
        if done(&record) {
            return record;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        record = client.status(id).await.expect("status");
    }
    panic!("job {id} never reached the state asked for: {record:?}");
}

#[tokio::test]
async fn a_lost_workers_chunk_moves_to_another_worker_while_the_other_chunks_keep_their_work() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let mut w2 = farm.worker("w2").await;
    let parent = client.submit(split_job()).await.unwrap().id;
    let first = offer(&mut w1).await;
    let second = running(&mut w2, "melt started\n").await;
    let task = first.spec.task.clone().expect("a task");
    assert_eq!((task.parent, task.kind, task.first, task.last), (parent, TaskKind::Chunk, 0, 299));
    assert_eq!(second.spec.task.as_ref().map(|t| (t.first, t.last)), Some((300, 599)));
    // The chunk renders `in=0 out=299` into a hidden file beside the output.
    assert!(first.spec.output.ends_with("/.job0.mp4.job1.chunk0.mp4"), "{}", first.spec.output);
    w1.render(&first).await.unwrap();
    let audio = offer(&mut w1).await;
    assert_eq!(audio.spec.task.as_ref().map(|t| t.kind), Some(TaskKind::Audio));
    w1.render(&audio).await.unwrap();

    farm.disconnect(&mut client, w2).await;
    farm.advance(PAST_GRACE).await;
    let moved = offer(&mut w1).await;
    assert_eq!((moved.id, moved.attempt), (second.id, 2), "the lost chunk, on another worker");
    w1.render(&moved).await.unwrap();
    let join = offer(&mut w1).await;
    let task = join.spec.task.clone().expect("the join");
    assert_eq!(task.kind, TaskKind::Join);
    let inputs: Vec<(&str, u64)> = task.inputs.iter().map(|i| (i.path.rsplit('/').next().unwrap(), i.frames)).collect();
    assert_eq!(
        inputs,
        [(".job0.mp4.job1.chunk0.mp4", 300), (".job0.mp4.job1.chunk1.mp4", 300), (".job0.mp4.job1.audio.wav", 0)]
    );
    assert_eq!(join.spec.output, distencode_sim::spec(0, 0).output, "the join writes the job's output");
    w1.render(&join).await.unwrap();

    let record = status_until(&mut client, parent, |r| r.state.is_final()).await;
    assert_eq!(record.state, JobState::Succeeded, "{record:?}");
    assert!(record.attempts.is_empty(), "the job itself is never offered");
    assert_eq!(
        kinds(&record),
        [
            (TaskKind::Chunk, 0, 299, JobState::Succeeded, 1),
            (TaskKind::Chunk, 300, 599, JobState::Succeeded, 2),
            (TaskKind::Audio, 0, 599, JobState::Succeeded, 1),
            (TaskKind::Join, 0, 599, JobState::Succeeded, 1),
        ]
    );
    assert_eq!(record.progress.as_ref().map(|p| p.frame), None, "no live progress once it ended");
    let chunk = client.status(second.id).await.unwrap();
    assert_eq!(chunk.attempts[0].outcome.as_ref().map(ToString::to_string).as_deref(), Some("worker w2 was lost"));
    assert_eq!(chunk.attempts[1].worker, "w1");
}

#[tokio::test]
async fn cancelling_a_split_job_cancels_every_task_and_queues_the_removal_of_its_chunk_files() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let mut w2 = farm.worker("w2").await;
    let parent = client.submit(split_job()).await.unwrap().id;
    let first = running(&mut w1, "melt started\n").await;
    let second = running(&mut w2, "melt started\n").await;
    // A task is cancelled through its job.
    let refusal = client.cancel(first.id).await.unwrap_err().to_string();
    assert!(
        refusal.contains(&format!("job {} is a task of job {parent}: cancel or retry job {parent}", first.id)),
        "{refusal}"
    );

    let cancelled = client.cancel(parent).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    for (worker, held) in [(&mut w1, &first), (&mut w2, &second)] {
        assert_eq!(
            worker.next().await.unwrap(),
            CoordinatorToWorker::Cancel { job: held.id, attempt: held.attempt },
            "worker {} is told to stop",
            worker.name
        );
    }
    let record = client.status(parent).await.unwrap();
    let states: Vec<JobState> = record.tasks.iter().map(|t| t.state).collect();
    assert_eq!(states, [JobState::Cancelled; 3], "{record:?}");
    for task in &record.tasks {
        assert_eq!(client.status(task.job).await.unwrap().state, JobState::Cancelled);
    }
    // The cleanup goes to a free worker: it names every chunk file and the audio file.
    let mut w3 = farm.worker("w3").await;
    let cleanup = offer(&mut w3).await;
    let task = cleanup.spec.task.clone().expect("a task");
    assert_eq!((task.parent, task.kind, task.inputs.len()), (parent, TaskKind::Cleanup, 3));
    w3.render(&cleanup).await.unwrap();
}

#[tokio::test]
async fn a_coordinator_restart_mid_split_loses_nothing() {
    let mut farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let mut w1 = farm.worker("w1").await;
    let mut w2 = farm.worker("w2").await;
    let parent = client.submit(split_job()).await.unwrap().id;
    let first = offer(&mut w1).await;
    let second = running(&mut w2, "melt started\n").await;
    w1.render(&first).await.unwrap();
    let audio = running(&mut w1, "melt started\n").await;
    drop((w1, w2));
    farm.restart().await;

    let mut client = farm.client().await;
    let mut w1 = farm.worker_holding("w1", &audio).await;
    let mut w2 = farm.worker_holding("w2", &second).await;
    farm.wait_worker(&mut client, "w2", "busy").await;
    assert!(w2.verify(&second).await.unwrap(), "the chunk still counts after the restart");
    assert!(w2.finish(&second, distencode_wire::message::Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    assert!(w1.verify(&audio).await.unwrap());
    assert!(w1.finish(&audio, distencode_wire::message::Outcome::Succeeded(distencode_sim::facts())).await.unwrap());
    let record = status_until(&mut client, parent, |r| r.tasks.len() == 4).await;
    assert_eq!(record.state, JobState::Running);
    let done: Vec<(JobState, u32)> = record.tasks[..3].iter().map(|t| (t.state, t.attempts)).collect();
    assert_eq!(done, [(JobState::Succeeded, 1); 3], "no task was rendered twice: {record:?}");
    assert_eq!(record.tasks[3].kind, TaskKind::Join);
}
