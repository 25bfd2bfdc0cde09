//! Projects in the shapes Kdenlive and Shotcut save (nested tractors, clock-string in/out, a luma wipe, audio
//! mixed from media files, `<chain>` producers, a file name with a space) render through coordinator and worker
//! with exactly the frame count bare melt gives, and a project with missing media fails naming every file; media
//! that never open (a hung share, a named pipe) are refused after a deadline without taking the worker with them.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// Writes a fixture from tests/fixtures with its root pointing at `root`.
fn fixture(name: &str, root: &Path) -> std::path::PathBuf {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap();
    projects::write(root, name, &text.replace("@ROOT@", root.to_str().unwrap()))
}

fn render_and_compare(cluster: &Cluster, project: &Path, expected_frames: u64) {
    let output = project.with_extension("mp4");
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&run);
    let ours = probe(&output);
    let bare = project.with_extension("bare.mp4");
    bare_melt(project, &bare);
    let theirs = probe(&bare);
    assert_eq!(ours.video_frames, theirs.video_frames, "farm and bare melt differ");
    assert_eq!(ours.video_frames, expected_frames);
    assert_eq!(ours.audio_codec.as_deref(), Some("aac"));
    assert!((ours.duration - theirs.duration).abs() < 0.05, "{ours:?} vs {theirs:?}");
}

#[test]
fn a_kdenlive_project_renders_exactly_like_bare_melt() {
    let cluster = Cluster::start(1);
    let root = cluster.dir.path().join("kdenlive project");
    std::fs::create_dir_all(root.join("lumas")).unwrap();
    projects::lavfi_clip(&root.join("clip.mp4"), "320x180", "25", 3);
    projects::lavfi_audio(&root.join("music.wav"), 4);
    projects::lavfi_luma(&root.join("lumas/luma01.pgm"), "320x180");
    let project = fixture("kdenlive.mlt", &root);
    render_and_compare(&cluster, &project, 135);
}

#[test]
fn a_shotcut_project_renders_exactly_like_bare_melt() {
    let cluster = Cluster::start(1);
    let root = cluster.dir.path().join("shotcut");
    std::fs::create_dir_all(root.join("media")).unwrap();
    projects::lavfi_clip(&root.join("media/my clip.mp4"), "320x180", "30000/1001", 3);
    projects::lavfi_audio(&root.join("media/music.wav"), 4);
    let project = fixture("shotcut.mlt", &root);
    render_and_compare(&cluster, &project, 136);
}

#[test]
fn missing_media_fail_with_every_file_named_instead_of_rendering_black() {
    let cluster = Cluster::start(1);
    let root = cluster.dir.path().join("kdenlive");
    std::fs::create_dir_all(&root).unwrap();
    projects::lavfi_audio(&root.join("music.wav"), 4);
    let project = fixture("kdenlive.mlt", &root);
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--wait"]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(err.contains(root.join("clip.mp4").to_str().unwrap()), "{err}");
    assert!(err.contains(root.join("lumas/luma01.pgm").to_str().unwrap()), "{err}");
    assert!(!err.contains("music.wav"), "present files are not listed: {err}");
    assert!(!project.with_extension("mp4").exists());
}

#[test]
fn media_that_vanish_after_submitting_fail_the_job_on_the_worker() {
    let cluster = Cluster::start(1);
    let root = cluster.dir.path().join("shotcut");
    std::fs::create_dir_all(root.join("media")).unwrap();
    projects::lavfi_clip(&root.join("media/my clip.mp4"), "320x180", "30000/1001", 3);
    projects::lavfi_audio(&root.join("media/music.wav"), 4);
    let project = fixture("shotcut.mlt", &root);
    // Submitted while the worker is reserved, so nothing starts; then the clip disappears.
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "test"]));
    let id = cluster.submit(&project, &[]);
    std::fs::remove_file(root.join("media/my clip.mp4")).unwrap();
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("w1") && error.contains("my clip.mp4"), "{error}");
}

#[test]
fn a_named_pipe_in_place_of_media_is_refused_without_blocking_and_the_worker_goes_on() {
    let cluster = Cluster::start(1);
    let root = cluster.dir.path().join("shotcut");
    std::fs::create_dir_all(root.join("media")).unwrap();
    let clip = root.join("media/my clip.mp4");
    projects::lavfi_clip(&clip, "320x180", "30000/1001", 3);
    projects::lavfi_audio(&root.join("media/music.wav"), 4);
    let project = fixture("shotcut.mlt", &root);
    // Submitted while the worker is reserved; then the clip becomes a named pipe nobody writes to, which blocks
    // whoever opens it, as a file on a network share that stopped answering does.
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "test"]));
    let id = cluster.submit(&project, &[]);
    std::fs::remove_file(&clip).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&clip).status().unwrap().success());
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    // The worker looks at what the path is before it opens it, so the pipe is refused at once by its kind.
    let expected = format!(
        "no worker can render it: w1: rejected: refused media: {} (chain \"chain0\" property resource): not a regular \
         file (a device, a named pipe or a socket)",
        clip.display()
    );
    assert_eq!(error, expected);

    // The worker is free again: the next job renders on it.
    let next = projects::tiny(cluster.dir.path(), "next.mlt", 25);
    let after = cluster.wait_final(cluster.submit(&next, &[]), Duration::from_secs(60));
    assert_eq!(after["state"], "succeeded", "{after}");
    assert_eq!(after["worker"], "w1");
    assert_eq!(probe(&next.with_extension("mp4")).video_frames, 25);

    // The client refuses it before submitting, by its kind too, without opening it.
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap()]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("{} (chain \"chain0\" property resource): not a regular file", clip.display())),
        "{err}"
    );
}
