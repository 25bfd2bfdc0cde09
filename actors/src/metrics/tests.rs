//! The metrics' bookkeeping and their text, without a coordinator.

use super::*;

/// The value of the sample `name` (labels as written) in `text`, if it is there.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn jobs_by_state_are_set_and_totals_count_once_final() {
    let metrics = Metrics::new();
    metrics.set_jobs(JobState::Queued, 3);
    metrics.set_jobs(JobState::Queued, 2);
    metrics.set_jobs(JobState::Succeeded, 7);
    metrics.job_state(Some(JobState::Queued), JobState::Offered);
    metrics.job_state(Some(JobState::Queued), JobState::Cancelled);
    // A final record seen again (a late reply, a job loaded at start) counts nothing.
    metrics.job_state(None, JobState::Succeeded);
    metrics.job_state(Some(JobState::Succeeded), JobState::Succeeded);
    let text = metrics.encode();
    assert_eq!(sample(&text, "distencode_jobs{state=\"queued\"}"), Some(2.0));
    assert_eq!(sample(&text, "distencode_jobs{state=\"succeeded\"}"), Some(7.0));
    assert_eq!(sample(&text, "distencode_jobs_cancelled_total"), Some(1.0));
    assert_eq!(sample(&text, "distencode_jobs_succeeded_total"), Some(0.0));
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn workers_requests_and_histograms_read_as_prometheus_text() {
    let metrics = Metrics::new();
    metrics.set_workers(["idle", "busy", "busy", "reserved", "unheard-of"]);
    metrics.set_workers(["busy", "reserved"]);
    metrics.http_request("/api/jobs", 200);
    metrics.http_request("/api/jobs", 200);
    metrics.http_request("/metrics", 403);
    metrics.committed(Duration::from_micros(300));
    metrics.dispatched(Duration::from_millis(2));
    metrics.rendered(Duration::from_secs(3), 75);
    metrics.logged(13);
    metrics.set_queue_length(4);
    let text = metrics.encode();
    assert_eq!(sample(&text, "distencode_workers{state=\"idle\"}"), Some(0.0));
    assert_eq!(sample(&text, "distencode_workers{state=\"busy\"}"), Some(1.0));
    assert_eq!(sample(&text, "distencode_workers{state=\"reserved\"}"), Some(1.0));
    assert_eq!(sample(&text, "distencode_workers{state=\"leaving\"}"), Some(0.0));
    assert_eq!(sample(&text, "distencode_http_requests_total{route=\"/api/jobs\",status=\"200\"}"), Some(2.0));
    assert_eq!(sample(&text, "distencode_http_requests_total{route=\"/metrics\",status=\"403\"}"), Some(1.0));
    assert_eq!(sample(&text, "distencode_store_commit_latency_seconds_count"), Some(1.0));
    assert_eq!(sample(&text, "distencode_store_commit_latency_seconds_bucket{le=\"0.0004\"}"), Some(1.0));
    assert_eq!(sample(&text, "distencode_store_commit_latency_seconds_bucket{le=\"0.0002\"}"), Some(0.0));
    assert_eq!(sample(&text, "distencode_dispatch_latency_seconds_sum"), Some(0.002));
    assert_eq!(sample(&text, "distencode_render_duration_seconds_sum"), Some(3.0));
    assert_eq!(sample(&text, "distencode_frames_rendered_total"), Some(75.0));
    assert_eq!(sample(&text, "distencode_log_bytes_total"), Some(13.0));
    assert_eq!(sample(&text, "distencode_queue_length"), Some(4.0));
}
