//! Workers with different MLT plugin sets and encoders: each announces what its melt has, and a job goes only to a
//! worker that has every service and encoder it uses. Two melts on one machine differ through `MLT_REPOSITORY`, or a
//! wrapper that hides encoders, as two machines with different plugin packages or ffmpeg builds would.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// A copy of this machine's MLT module folder without the frei0r module.
fn repository_without_frei0r(dir: &Path) -> std::path::PathBuf {
    let modules = ["/usr/lib/x86_64-linux-gnu/mlt-7", "/usr/lib/aarch64-linux-gnu/mlt-7", "/usr/lib/mlt-7"]
        .iter()
        .map(Path::new)
        .find(|p| p.join("libmltcore.so").exists())
        .expect("MLT's module folder");
    let repo = dir.join("mlt-without-frei0r");
    std::fs::create_dir_all(&repo).unwrap();
    for entry in std::fs::read_dir(modules).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().contains("frei0r") {
            std::os::unix::fs::symlink(entry.path(), repo.join(entry.file_name())).unwrap();
        }
    }
    repo
}

fn glowing(dir: &Path, name: &str) -> std::path::PathBuf {
    projects::write(
        dir,
        name,
        &format!(
            r#"<mlt>{}
  <producer id="a" in="0" out="24"><property name="mlt_service">color</property><property name="resource">blue</property>
    <filter><property name="mlt_service">frei0r.glow</property><property name="0">0.5</property></filter></producer>
</mlt>"#,
            projects::PROFILE
        ),
    )
}

#[test]
fn a_project_that_needs_a_plugin_only_one_worker_has_goes_to_that_worker() {
    let mut cluster = Cluster::start_with(1, FAST_FAILURE_DETECTION);
    let repo = repository_without_frei0r(cluster.dir.path());
    cluster.issue("worker", "plain");
    cluster.start_worker_env("plain", &[("MLT_REPOSITORY", repo.to_str().unwrap())]);
    cluster.wait_for_workers(2);

    let w1 = cluster.worker("w1");
    let plain = cluster.worker("plain");
    let names = |w: &serde_json::Value| -> Vec<String> {
        w["service_names"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    };
    assert!(names(&w1).contains(&"frei0r.glow".to_string()));
    assert!(!names(&plain).contains(&"frei0r.glow".to_string()));
    assert!(w1["video_encoders"].as_array().unwrap().iter().any(|e| e == "libx264"), "{w1}");
    assert!(w1["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(w1["services"].as_u64().unwrap() as usize, names(&w1).len());

    // Two jobs at once: both wait for w1 rather than go to the idle worker that lacks the plugin.
    let dir = cluster.dir.path().to_path_buf();
    let ids = [cluster.submit(&glowing(&dir, "glow1.mlt"), &[]), cluster.submit(&glowing(&dir, "glow2.mlt"), &[])];
    for id in ids {
        let job = cluster.wait_final(id, Duration::from_secs(90));
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["worker"], "w1");
        assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "never offered to the other worker: {job}");
    }
    assert_eq!(probe(&dir.join("glow1.mp4")).video_frames, 25);

    // An ordinary project may go to either, the plain worker included.
    let plain_job = cluster.submit(&projects::tiny(&dir, "plain.mlt", 5), &[]);
    assert_eq!(cluster.wait_final(plain_job, Duration::from_secs(90))["state"], "succeeded");
    let list = cluster.cli(&["worker", "list"]);
    ok(&list);
    assert!(stdout(&list).lines().any(|l| l.starts_with("plain ") && l.contains("idle")), "{}", stdout(&list));
}

/// A melt that hides `encoders` from the list its avformat consumer gives (`vcodec=list acodec=list`), as a machine
/// whose ffmpeg build lacks them would, and renders as the real one otherwise.
fn melt_without(dir: &Path, encoders: &[&str]) -> std::path::PathBuf {
    let hidden: Vec<String> = encoders.iter().map(|e| format!("-e '^  - \"\\?{e}\"\\?$'")).collect();
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *vcodec=list*) melt \"$@\" 2>&1 | grep -v {} ;;\n  *) exec melt \"$@\" ;;\nesac\n",
        hidden.join(" ")
    );
    let path = dir.join("melt-lean");
    write_script(&path, &script);
    path
}

#[test]
fn preset_and_ffmpeg_jobs_go_only_to_workers_with_their_encoders_and_are_refused_when_none_has_them() {
    let mut cluster = Cluster::start_with(0, FAST_FAILURE_DETECTION);
    let dir = cluster.dir.path().to_path_buf();
    let lean_melt = melt_without(&dir, &["libvpx-vp9", "libx264"]);
    cluster.issue("worker", "lean");
    cluster.start_worker_with("lean", &["--melt", lean_melt.to_str().unwrap()]);
    cluster.wait_for_workers(1);
    let lean = cluster.worker("lean");
    let encoders: Vec<&str> = lean["video_encoders"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    assert!(!encoders.contains(&"libvpx-vp9") && !encoders.contains(&"libx264"), "{lean}");
    assert!(encoders.contains(&"mpeg4"), "the other encoders are still announced: {lean}");

    // With only the lean worker, both are refused at once, naming what it lacks; nothing is queued.
    let project = projects::color_and_tone(&dir, "web.mlt", 10);
    let webm = dir.join("web.webm");
    let refused = cluster.cli(&[
        "job",
        "submit",
        project.to_str().unwrap(),
        "--preset",
        "vp9-webm",
        "--output",
        webm.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim_end().lines().last().unwrap(),
        "distencode: no worker of the pool can render it: lean lacks encoder libvpx-vp9"
    );
    let clip = dir.join("clip.mov");
    projects::lavfi_clip(&clip, "320x180", "25", 1);
    let proxy = dir.join("clip-proxy.mp4");
    let ffmpeg_args = [
        "job",
        "ffmpeg",
        "--input",
        clip.to_str().unwrap(),
        "--output",
        proxy.to_str().unwrap(),
        "--preset",
        "proxy-540p",
    ];
    let refused = cluster.cli(&ffmpeg_args);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim_end().lines().last().unwrap(),
        "distencode: no worker of the pool can render it: lean lacks encoder libx264"
    );
    assert_eq!(cluster.json(&["job", "list", "--json"]).as_array().unwrap().len(), 0, "nothing was queued");

    // A worker with them joins: every such job goes to it, none to the idle lean worker.
    cluster.issue("worker", "w1");
    cluster.start_worker("w1");
    cluster.wait_for_workers(2);
    let webm_job = cluster.submit(&project, &["--preset", "vp9-webm", "--output", webm.to_str().unwrap()]);
    let ffmpeg_job = submitted(&cluster.cli(&[&ffmpeg_args[..], &["--json"]].concat()))[0];
    for (id, codec) in [(webm_job, "vp9"), (ffmpeg_job, "h264")] {
        let job = cluster.wait_final(id, Duration::from_secs(120));
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["worker"], "w1", "{job}");
        assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "never offered to the lean worker: {job}");
        assert_eq!(job["facts"]["video_codec"], codec, "{job}");
    }
    assert_eq!(probe(&proxy).video_codec, "h264");

    // What lacks nothing may go to the lean worker too.
    let mpeg4 = dir.join("plain.mp4");
    let plain = cluster.submit(&project, &["--vcodec", "mpeg4", "--output", mpeg4.to_str().unwrap()]);
    assert_eq!(cluster.wait_final(plain, Duration::from_secs(90))["state"], "succeeded");
}
