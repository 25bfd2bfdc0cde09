//! Projects as real users save them, rendered through coordinator and worker: one saved on a Mac (its `root` does
//! not exist here, its media absolute) renders like bare melt; one with a frei0r 2.x filter that the workers'
//! frei0r 1.8 calls by another name is refused naming the filter, its clip and track and the other name, and with
//! `--allow-missing-filters` renders without it, which `job status`, `--json` and the job's log all say; MP3 music
//! whose decoder complains harmlessly renders.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// A Kdenlive-style timeline of a media clip, saved with `root` and the clip's path absolute, and a filter.
fn timeline(root: &str, clip: &Path, filter: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" producer="main_bin" root="{root}" version="7.24.0">
  {PROFILE}
  <producer id="black_track" in="0" out="49"><property name="mlt_service">color</property><property name="resource">black</property><property name="length">50</property></producer>
  <chain id="chain0" in="0" out="49"><property name="resource">{clip}</property><property name="length">75</property>
    <filter id="filter0"><property name="mlt_service">{filter}</property></filter>
  </chain>
  <playlist id="playlist0"><entry producer="chain0" in="0" out="49"/></playlist>
  <tractor id="tractor0" in="0" out="49">
    <track producer="black_track"/>
    <track producer="playlist0"/>
    <transition id="transition0"><property name="mlt_service">mix</property><property name="a_track">0</property><property name="b_track">1</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"#,
        PROFILE = projects::PROFILE,
        clip = clip.display()
    )
}

#[test]
fn a_project_saved_on_a_mac_renders_from_its_own_folder_like_bare_melt() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().join("from a mac");
    std::fs::create_dir_all(&dir).unwrap();
    let clip = dir.join("clip.mp4");
    projects::lavfi_clip(&clip, "320x240", "25", 3);
    let xml = timeline("/Users/NAME/Documents/project", &clip, "brightness");
    let project = projects::write(&dir, "mac.kdenlive", &xml);
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--wait"]);
    ok(&run);
    let ours = probe(&project.with_extension("mp4"));
    let bare = project.with_extension("bare.mp4");
    bare_melt(&project, &bare);
    assert_eq!(ours.video_frames, 50);
    assert_eq!(ours.video_frames, probe(&bare).video_frames);
}

#[test]
fn a_relative_path_under_a_missing_root_is_refused_naming_both() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let xml = timeline("/Users/NAME/Documents/project", Path::new("media/clip.mp4"), "brightness");
    let project = projects::write(dir, "mac.kdenlive", &xml);
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap()]);
    assert!(!run.status.success());
    assert_eq!(
        stderr(&run).trim(),
        format!(
            "distencode: {}: the project's root folder /Users/NAME/Documents/project does not exist here, and these \
             paths are relative to it: media/clip.mp4 (chain \"chain0\" property resource)",
            project.display()
        )
    );
}

#[test]
fn a_filter_under_its_frei0r_2_name_is_refused_then_rendered_without_when_allowed() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let clip = dir.join("clip.mp4");
    projects::lavfi_clip(&clip, "320x240", "25", 3);
    let root = dir.to_str().unwrap();
    let project = projects::write(dir, "frei0r2.kdenlive", &timeline(root, &clip, "frei0r.alpha0ps_alphaspot"));

    let refused = cluster.cli(&["job", "submit", project.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim(),
        "distencode: no worker of the pool can render it: w1 lacks frei0r.alpha0ps_alphaspot (it has \
         frei0r.alphaspot, the same service under its name in another frei0r/MLT version); frei0r.alpha0ps_alphaspot \
         is the filter \"filter0\" on chain \"chain0\" (in playlist \"playlist0\"); submit with \
         --allow-missing-filters to render without the filters a worker lacks"
    );

    let id = cluster.submit(&project, &["--allow-missing-filters"]);
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["optional_filters"], serde_json::json!(["frei0r.alpha0ps_alphaspot"]));
    assert_eq!(job["facts"]["dropped_filters"], serde_json::json!(["frei0r.alpha0ps_alphaspot"]));
    let status = cluster.cli(&["job", "status", &id.to_string()]);
    ok(&status);
    assert!(
        stdout(&status).trim().ends_with("; rendered without filters frei0r.alpha0ps_alphaspot (not on worker w1)"),
        "{}",
        stdout(&status)
    );
    let logs = cluster.cli(&["job", "logs", &id.to_string()]);
    ok(&logs);
    assert!(
        stdout(&logs).contains(
            "distencode: rendering without filters this worker lacks (--allow-missing-filters): \
             frei0r.alpha0ps_alphaspot"
        ),
        "{}",
        stdout(&logs)
    );
    // Bare melt renders without the unknown filter too: the same frames.
    let bare = project.with_extension("bare.mp4");
    bare_melt(&project, &bare);
    assert_eq!(probe(&project.with_extension("mp4")).video_frames, 50);
    assert_eq!(probe(&bare).video_frames, 50);
}

#[test]
fn a_missing_transition_stays_a_hard_error_with_missing_filters_allowed() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let clip = dir.join("clip.mp4");
    projects::lavfi_clip(&clip, "320x240", "25", 3);
    let xml = timeline(dir.to_str().unwrap(), &clip, "frei0r.alpha0ps_alphaspot").replace(
        "<property name=\"mlt_service\">mix</property>",
        "<property name=\"mlt_service\">no_such_transition</property>",
    );
    let project = projects::write(dir, "transition.kdenlive", &xml);
    let run = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--allow-missing-filters"]);
    assert!(!run.status.success());
    assert_eq!(stderr(&run).trim(), "distencode: no worker of the pool can render it: w1 lacks no_such_transition");
}

#[test]
fn mp3_music_whose_decoder_could_not_update_timestamps_renders() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let music = dir.join("music.mp3");
    projects::ffmpeg(
        &["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4", "-c:a", "libmp3lame"],
        &music,
    );
    // Music that starts a few frames into the MP3: ffmpeg's mp3 decoder then prints
    // "[mp3float @ 0x...] Could not update timestamps for skipped samples.", which failed good renders before.
    let xml = format!(
        r#"<mlt LC_NUMERIC="C" version="7.12.0">
  {PROFILE}
  <producer id="black" in="0" out="49"><property name="mlt_service">color</property><property name="resource">black</property></producer>
  <producer id="music" in="5" out="54"><property name="resource">{music}</property></producer>
  <tractor id="main" in="0" out="49">
    <track producer="black"/>
    <track producer="music"/>
    <transition><property name="mlt_service">mix</property><property name="a_track">0</property><property name="b_track">1</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"#,
        PROFILE = projects::PROFILE,
        music = music.display()
    );
    let project = projects::write(dir, "music.mlt", &xml);
    let id = cluster.submit(&project, &[]);
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    let logs = cluster.cli(&["job", "logs", &id.to_string()]);
    ok(&logs);
    assert!(
        stdout(&logs).contains("Could not update timestamps for skipped samples."),
        "the decoder printed its message: {}",
        stdout(&logs)
    );
    assert_eq!(probe(&project.with_extension("mp4")).video_frames, 50);
}
