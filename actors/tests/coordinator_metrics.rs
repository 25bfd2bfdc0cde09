//! The coordinator's metrics in process: one job's life, submitted, offered, rendered, and another's cancel move
//! the counters a `GET /metrics` shows.

mod harness;

use distencode_wire::job::JobState;
use harness::{job, offer, Farm};

/// The value of the sample `name` (labels as written) in `text`, or 0 when it is not there.
fn sample(text: &str, name: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn a_jobs_life_moves_the_counters() {
    let farm = Farm::start(3).await;
    let mut client = farm.client().await;
    let id = client.submit(job(0, 0)).await.unwrap().id;
    let text = farm.metrics().encode();
    assert_eq!(sample(&text, "distencode_jobs_submitted_total"), 1.0, "{text}");
    assert_eq!(sample(&text, "distencode_jobs{state=\"queued\"}"), 1.0);
    assert_eq!(sample(&text, "distencode_queue_length"), 1.0);
    assert_eq!(sample(&text, "distencode_dispatch_latency_seconds_count"), 0.0);

    let mut w1 = farm.worker("w1").await;
    let offered = offer(&mut w1).await;
    w1.render(&offered).await.unwrap();
    assert_eq!(client.status(id).await.unwrap().state, JobState::Succeeded);
    let text = farm.metrics().encode();
    assert_eq!(sample(&text, "distencode_jobs{state=\"queued\"}"), 0.0, "{text}");
    assert_eq!(sample(&text, "distencode_jobs{state=\"running\"}"), 0.0);
    assert_eq!(sample(&text, "distencode_queue_length"), 0.0);
    assert_eq!(sample(&text, "distencode_dispatch_latency_seconds_count"), 1.0);
    assert_eq!(sample(&text, "distencode_jobs_succeeded_total"), 1.0);
    assert_eq!(sample(&text, "distencode_render_duration_seconds_count"), 1.0);
    assert_eq!(sample(&text, "distencode_frames_rendered_total"), 25.0);
    assert_eq!(sample(&text, "distencode_log_bytes_total"), "melt started\n".len() as f64);
    assert!(sample(&text, "distencode_store_commit_latency_seconds_count") >= 4.0, "submit, offer, start, commit, end");
    // Workers by state are set when `GET /metrics` reads the worker list: tests/web_metrics.rs checks them.

    // The next job goes to w1 too, and is cancelled while offered.
    let id = client.submit(job(1, 0)).await.unwrap().id;
    let offered = offer(&mut w1).await;
    assert_eq!(offered.id, id);
    assert_eq!(client.cancel(id).await.unwrap().state, JobState::Cancelled);
    let text = farm.metrics().encode();
    assert_eq!(sample(&text, "distencode_jobs_submitted_total"), 2.0, "{text}");
    assert_eq!(sample(&text, "distencode_jobs_cancelled_total"), 1.0);
    assert_eq!(sample(&text, "distencode_jobs{state=\"offered\"}"), 0.0);
    assert_eq!(sample(&text, "distencode_jobs_failed_total"), 0.0);
}
