//! Path mapping through real nodes: a Kdenlive-style project saved on Windows (`root` and media under
//! `D:\Projects`, a name with spaces and a non-ASCII one) renders on a Linux worker through the coordinator's
//! `[[path_map]]` rule for its group, frame for frame as bare melt renders the same project written with this
//! machine's paths; the user's file is left as it was and the worker's mapped copy is gone afterwards. A worker the
//! rule is not for turns the offer down with the rule table, and a reference no rule maps fails the job naming the
//! file and the rules. Submitted through the web API by its Windows path, with a Windows output and a relative path
//! saved with `\`, a project renders to the mapped output.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// A timeline of a clip and a music file under `root`, written as `clip` and `music` name them.
fn timeline(root: &str, clip: &str, music: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" producer="main_bin" root="{root}" version="7.24.0">
  {PROFILE}
  <chain id="chain0" in="0" out="49"><property name="resource">{clip}</property><property name="length">75</property></chain>
  <producer id="music" in="0" out="49"><property name="resource">{music}</property><property name="length">100</property></producer>
  <playlist id="video"><entry producer="chain0" in="0" out="49"/></playlist>
  <playlist id="audio"><entry producer="music" in="0" out="49"/></playlist>
  <tractor id="tractor0" in="0" out="49">
    <track producer="video"/>
    <track producer="audio" hide="video"/>
    <transition id="mix"><property name="mlt_service">mix</property><property name="a_track">0</property><property name="b_track">1</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"#,
        PROFILE = projects::PROFILE,
    )
}

/// The share as the workers mount it, with the media, and a coordinator config mapping `D:\Projects` to it for the
/// group `linux` (`w1`).
fn share_and_config(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let share = dir.join("mnt projects");
    std::fs::create_dir_all(share.join("media")).unwrap();
    projects::lavfi_clip(&share.join("media/clip one.mp4"), "320x240", "25", 3);
    projects::lavfi_audio(&share.join("media/musique été.wav"), 4);
    let config = dir.join("coordinator.toml");
    let toml = format!(
        "[[path_map]]\nfrom = 'D:\\Projects'\nto = '{}'\nworkers = [\"linux\"]\n\n[worker_groups]\nlinux = [\"w1\"]\n",
        share.display()
    );
    std::fs::write(&config, toml).unwrap();
    (share, config)
}

#[test]
fn a_project_saved_on_windows_renders_on_a_linux_worker_through_a_path_rule() {
    let _one_at_a_time = serial();
    let scratch = tempfile::tempdir().unwrap();
    let (share, config) = share_and_config(scratch.path());
    let mut cluster = Cluster::start_full(0, &[], &["--config", config.to_str().unwrap()]);
    for name in ["w1", "w2"] {
        cluster.issue("worker", name);
        cluster.start_worker(name);
    }
    cluster.wait_for_workers(2);
    let windows = timeline("D:\\Projects", "D:\\Projects\\media\\clip one.mp4", "media/musique été.wav");
    let project = projects::write(&share, "film.kdenlive", &windows);
    let output = share.join("film.mp4");

    // w1, the rule's, is reserved: the job goes to w2 first, which has no rule for it and says so.
    ok(&cluster.cli(&["worker", "reserve", "w1", "--for", "test"]));
    let submit =
        cluster.cli(&["job", "submit", project.to_str().unwrap(), "--output", output.to_str().unwrap(), "--json"]);
    ok(&submit);
    assert!(
        stderr(&submit).contains(
            "note: D:\\Projects\\media\\clip one.mp4 and 1 more are Windows paths, left to the workers to check once \
             the coordinator's path rules map them"
        ),
        "{}",
        stderr(&submit)
    );
    let id = submitted(&submit)[0];
    cluster.wait_until(LIMIT, "w2 to turn the job down", || cluster.job(id)["attempts"][0]["outcome"].is_string());
    let refused = cluster.job(id)["attempts"][0].clone();
    assert_eq!(refused["worker"], "w2");
    assert_eq!(
        refused["outcome"],
        "rejected: the project's root folder D:\\Projects does not exist here, and these paths are relative to it: \
         media/musique été.wav (producer \"music\" property resource); missing media: D:\\Projects\\media\\clip one.mp4 \
         (chain \"chain0\" property resource); no path rule applies to this worker"
    );
    ok(&cluster.cli(&["worker", "release", "w1"]));
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["worker"], "w1");

    // Frame for frame what bare melt makes of the same project written with this machine's paths.
    let clip = share.join("media/clip one.mp4");
    let local = timeline(&share.display().to_string(), &clip.display().to_string(), "media/musique été.wav");
    let local_project = projects::write(&share, "film-local.mlt", &local);
    let bare = share.join("film-bare.mp4");
    bare_melt(&local_project, &bare);
    let (ours, theirs) = (probe(&output), probe(&bare));
    assert_eq!(ours.video_frames, 50);
    assert_eq!(ours.video_frames, theirs.video_frames);
    assert_eq!(video_md5s(&output), video_md5s(&bare));
    assert_eq!(ours.audio_codec.as_deref(), Some("aac"), "the music is in the render");
    assert_eq!(std::fs::read_to_string(&project).unwrap(), windows, "the user's project is left as it was");
    let copies = cluster.dir.path().join("work-w1/mapped-projects");
    cluster.wait_until(Duration::from_secs(10), "the mapped copy to be removed", || {
        names_in(&copies, |_| true).is_empty()
    });
}

#[test]
fn a_reference_no_rule_maps_fails_naming_the_file_and_the_rules() {
    let _one_at_a_time = serial();
    let scratch = tempfile::tempdir().unwrap();
    let (share, config) = share_and_config(scratch.path());
    let mut cluster = Cluster::start_full(0, &[], &["--config", config.to_str().unwrap()]);
    cluster.issue("worker", "w1");
    cluster.start_worker("w1");
    cluster.wait_for_workers(1);
    let xml = timeline("D:\\Projects", "E:\\Footage\\clip.mp4", "media/musique été.wav");
    let project = projects::write(&share, "film.kdenlive", &xml);
    let id = cluster.submit(&project, &[]);
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    let expected = format!(
        "missing media: E:\\Footage\\clip.mp4 (chain \"chain0\" property resource); the path rules for this worker: \
         D:\\Projects → {}",
        share.display()
    );
    assert!(error.contains(&expected), "{error}");
}

#[test]
fn a_project_submitted_by_its_windows_path_renders_to_a_windows_output_through_the_rules() {
    let _one_at_a_time = serial();
    let scratch = tempfile::tempdir().unwrap();
    let (share, config) = share_and_config(scratch.path());
    let web = common::web::WebCluster::start(0, &[], &["--config", config.to_str().unwrap()]);
    let mut cluster = web.cluster;
    cluster.issue("worker", "w1");
    cluster.start_worker("w1");
    cluster.wait_for_workers(1);
    // Saved by Kdenlive on Windows: no root, the clip absolute, the music relative with `\`.
    let xml = timeline("", "D:\\Projects\\media\\clip one.mp4", "media\\musique été.wav").replace(" root=\"\"", "");
    projects::write(&share, "film-win.kdenlive", &xml);
    std::fs::create_dir_all(share.join("out")).unwrap();

    // The coordinator cannot see D:\ and forwards the paths unread; the worker maps the project, its files and
    // the output.
    let request = serde_json::json!({
        "project": "D:\\Projects\\film-win.kdenlive",
        "output": "D:\\Projects\\out\\film.mp4",
    });
    let client = common::web::https_client(&cluster);
    let response =
        client.post(format!("{}api/v1/jobs", web.url)).bearer_auth(&web.token).json(&request).send().unwrap();
    assert_eq!(response.status(), 201, "created");
    let id = response.json::<serde_json::Value>().unwrap()["id"].as_u64().unwrap();
    let job = cluster.wait_final(id, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["output"], "D:\\Projects\\out\\film.mp4", "the job keeps the paths as they were submitted");
    let rendered = probe(&share.join("out/film.mp4"));
    assert_eq!(rendered.video_frames, 50);
    assert_eq!(rendered.audio_codec.as_deref(), Some("aac"));
}
