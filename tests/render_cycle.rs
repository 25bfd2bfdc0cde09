//! The whole cycle with real processes: `job submit` → coordinator → worker → melt → a verified MP4, compared with
//! what bare melt makes of the same project.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn submit_wait_renders_the_same_frames_as_bare_melt() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let project = projects::color_and_tone(dir, "sample.mlt", 50);
    let output = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&output);
    let printed = stdout(&output);
    assert!(printed.contains("job 1 queued"), "{printed}");
    assert!(printed.contains("accepted by worker w1"), "{printed}");
    let rendered = dir.join("sample.mp4");
    assert!(printed.contains(&format!("succeeded: {}", rendered.display())), "{printed}");

    let bare = dir.join("bare.mp4");
    bare_melt(&project, &bare);
    let ours = probe(&rendered);
    assert_eq!(ours.video_frames, 50);
    assert_eq!(ours.video_frames, probe(&bare).video_frames);
    assert_eq!(ours.video_codec, "h264");
    assert_eq!(ours.audio_codec.as_deref(), Some("aac"));
    assert!((ours.duration - 2.0).abs() < 0.1, "duration {}", ours.duration);
    // No partial file is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn status_list_and_logs_describe_the_job() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    // Names holding `=`, which melt would read as properties, are files all the same.
    let project = projects::color_and_tone(dir, "take=2.mlt", 25);
    let out = dir.join("renders").join("custom name=final.mp4");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let id = cluster.submit(&project, &["--output", out.to_str().unwrap()]);
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["id"], id);
    assert_eq!(job["worker"], "w1");
    assert_eq!(job["output"], out.to_str().unwrap());
    assert!(job["error"].is_null());
    assert_eq!(job["progress"], 100.0);
    assert_eq!(job["facts"]["frames"], 25);
    assert_eq!(job["facts"]["video_codec"], "h264");
    assert_eq!(probe(&out).video_frames, 25);

    let list = cluster.json(&["job", "list", "--json"]);
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["state"], "succeeded");

    let logs = cluster.cli(&["job", "logs", &id.to_string()]);
    ok(&logs);
    let text = stdout(&logs);
    assert!(!text.is_empty(), "melt's output is kept");
    assert!(!text.contains("Current Frame:"), "progress lines are not log lines: {text}");
}

#[test]
fn submit_json_prints_one_object_with_id_and_state() {
    let cluster = Cluster::start(1);
    let project = projects::color_and_tone(cluster.dir.path(), "j.mlt", 10);
    let output = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--json"]);
    ok(&output);
    let job: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["id"], 1);
    assert_eq!(job["state"], "queued");
    let job = cluster.wait_final(1, Duration::from_secs(60));
    assert_eq!(job["state"], "succeeded");
}

#[test]
fn two_workers_share_a_batch() {
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path();
    let ids: Vec<u64> =
        (0..4).map(|i| cluster.submit(&projects::noise_and_count(dir, &format!("b{i}.mlt"), 40), &[])).collect();
    let mut workers = std::collections::BTreeSet::new();
    for id in ids {
        let job = cluster.wait_final(id, Duration::from_secs(120));
        assert_eq!(job["state"], "succeeded", "{job}");
        workers.insert(job["worker"].as_str().unwrap().to_string());
        assert_eq!(probe(&dir.join(format!("b{}.mp4", id - 1))).video_frames, 80);
    }
    assert_eq!(workers.len(), 2, "both workers rendered: {workers:?}");
}
