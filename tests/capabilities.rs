//! Workers with different MLT plugin sets: each announces what its melt has, and a job goes only to a worker that
//! has every service it uses. Two melts on one machine differ through `MLT_REPOSITORY`, as two machines with
//! different plugin packages would.

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
