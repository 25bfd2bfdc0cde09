//! `GET /metrics` against a real coordinator and worker: the counters move by what a render did, the gauges say
//! what `job list` and `worker list` say, HTTP requests are counted by route pattern, and `--metrics-token` closes
//! it to scrapes without the token.

mod common;

use common::projects;
use common::web::WebCluster;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The samples of a scrape: `name{labels}` → value.
fn scrape(web: &WebCluster) -> BTreeMap<String, f64> {
    let response = web.get("/metrics").send().unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    *samples.get(name).unwrap_or_else(|| panic!("no sample {name} in {samples:#?}"))
}

/// How many of `items` have each `state`, over `states`.
fn by_state(items: &Value, states: &[&str]) -> BTreeMap<String, f64> {
    let items = items.as_array().unwrap();
    states.iter().map(|s| (s.to_string(), items.iter().filter(|i| i["state"] == *s).count() as f64)).collect()
}

fn gauges(samples: &BTreeMap<String, f64>, metric: &str, states: &[&str]) -> BTreeMap<String, f64> {
    states.iter().map(|s| (s.to_string(), value(samples, &format!("{metric}{{state=\"{s}\"}}")))).collect()
}

const JOB_STATES: [&str; 6] = ["queued", "offered", "running", "succeeded", "failed", "cancelled"];
const WORKER_STATES: [&str; 6] = ["idle", "busy", "lost", "reserved", "draining", "leaving"];

#[test]
fn metrics_move_with_a_render_and_match_the_lists() {
    let web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();
    let before = scrape(&web);
    let api_route = "distencode_http_requests_total{route=\"/api/v1/jobs/{id}\",status=\"200\"}";
    let api_before = before.get(api_route).copied().unwrap_or(0.0);

    let project = projects::tiny(&dir, "metrics.mlt", 25);
    let output = dir.join("metrics.mp4");
    let id = web.cluster.submit(&project, &["--output", output.to_str().unwrap()]);
    let done = web.cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(done["state"], "succeeded", "{done}");
    let frames = done["facts"]["frames"].as_f64().unwrap();
    assert_eq!(frames, 25.0);
    // The API's job route, asked three times for three different ids' worth of paths: one label.
    for _ in 0..3 {
        let response = web.bearer(web.get(&format!("/api/v1/jobs/{id}"))).send().unwrap();
        assert_eq!(response.status(), 200);
    }
    let after = scrape(&web);

    let moved = |name: &str| value(&after, name) - before.get(name).copied().unwrap_or(0.0);
    assert_eq!(moved("distencode_jobs_submitted_total"), 1.0);
    assert_eq!(moved("distencode_jobs_succeeded_total"), 1.0);
    assert_eq!(moved("distencode_jobs_failed_total"), 0.0);
    assert_eq!(moved("distencode_frames_rendered_total"), frames);
    assert_eq!(value(&after, "distencode_render_duration_seconds_count"), 1.0);
    assert_eq!(value(&after, "distencode_dispatch_latency_seconds_count"), 1.0);
    assert!(value(&after, "distencode_store_commit_latency_seconds_count") > 0.0);
    assert!(moved("distencode_log_bytes_total") > 0.0, "melt's output was stored");
    assert_eq!(value(&after, "distencode_queue_length"), 0.0);
    assert_eq!(value(&after, api_route) - api_before, 3.0);
    assert!(after.keys().all(|k| !k.contains(&format!("/api/v1/jobs/{id}\""))), "no label names a path asked for");

    let jobs = web.cluster.json(&["job", "list", "--json"]);
    assert_eq!(gauges(&after, "distencode_jobs", &JOB_STATES), by_state(&jobs, &JOB_STATES));
    let workers = web.cluster.json(&["worker", "list", "--json"]);
    assert_eq!(gauges(&after, "distencode_workers", &WORKER_STATES), by_state(&workers, &WORKER_STATES));
    assert_eq!(value(&after, "distencode_workers{state=\"idle\"}"), 1.0);

    // A reserved worker is counted as `worker list` shows it.
    let reserve = web.cluster.cli(&["worker", "reserve", "w1", "--for", "alice"]);
    common::ok(&reserve);
    let reserved = scrape(&web);
    let workers = web.cluster.json(&["worker", "list", "--json"]);
    assert_eq!(by_state(&workers, &["reserved"])["reserved"], 1.0, "{workers}");
    assert_eq!(gauges(&reserved, "distencode_workers", &WORKER_STATES), by_state(&workers, &WORKER_STATES));
}

#[test]
fn a_metrics_token_closes_metrics_to_scrapes_without_it() {
    let web = WebCluster::start(0, &[], &["--metrics-token", "scrape-secret"]);
    let response = web.get("/metrics").send().unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        response.text().unwrap(),
        "the metrics need Authorization: Bearer METRICS_TOKEN (metrics_token in the coordinator's settings)\n"
    );
    assert_eq!(web.get("/metrics").bearer_auth("wrong").send().unwrap().status(), 401);
    // The sign-in token is not the metrics token.
    assert_eq!(web.bearer(web.get("/metrics")).send().unwrap().status(), 401);
    let response = web.get("/metrics").bearer_auth("scrape-secret").send().unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().unwrap();
    assert!(text.contains("distencode_http_requests_total{route=\"/metrics\",status=\"401\"} 3"), "{text}");
}
