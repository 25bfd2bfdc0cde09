//! Every preset family rendered through the farm with real melt and checked with ffprobe; each family also has a
//! render that must fail. One cluster (a coordinator and two workers) renders them all, 25 frames at 320x240.
//! A preset whose encoder no worker has is skipped, and the test says so on its output.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn of_kind<'a>(streams: &'a [Value], kind: &str) -> Option<&'a Value> {
    streams.iter().find(|s| s["codec_type"] == kind)
}

fn seconds(stream: &Value) -> f64 {
    let text = stream["duration"].as_str().or(stream["format_duration"].as_str()).unwrap_or("0");
    text.parse().unwrap()
}

/// The presets rendered: every family, and within one the variants that differ in what verification checks (alpha,
/// 10-bit); the others differ only in a quality setting.
const RENDERED: &[&str] = &[
    "h264-mp4",
    "hevc-mp4",
    "prores-422",
    "prores-4444",
    "dnxhr-hq",
    "vp9-webm",
    "av1-mkv",
    "ffv1-mkv",
    "dvd",
    "gif",
    "wav",
    "flac",
    "mp3",
    "aac",
    "opus",
];

/// A render that must fail, for each family: what it changes and the start of the reason the job records.
const MUST_FAIL: &[(&str, &[&str], &str)] = &[
    ("h264-mp4", &["--vcodec", "ffv1"], "melt exited with exit status: 1: [consumer avformat] Could not write header"),
    ("hevc-mp4", &["--vcodec", "ffv1"], "melt exited with exit status: 1: [consumer avformat] Could not write header"),
    (
        "prores-422",
        &["--consumer-arg", "pix_fmt=yuv420p"],
        "the output's pixel format is yuv422p10le, the job asked for yuv420p",
    ),
    (
        "dnxhr-sq",
        &["--consumer-arg", "pix_fmt=yuv420p"],
        "the output's pixel format is yuv422p, the job asked for yuv420p",
    ),
    (
        "vp9-webm",
        &["--vcodec", "libx264"],
        "melt exited with exit status: 1: [consumer avformat] Could not write header",
    ),
    // (SVT-AV1 hangs when the muxer refuses it: the failing AV1 render is one verification catches.)
    (
        "av1-mkv",
        &["--consumer-arg", "pix_fmt=yuv422p"],
        "the output's pixel format is yuv420p, the job asked for yuv422p",
    ),
    (
        "ffv1-mkv",
        &["--output-ext", "mp4"],
        "melt exited with exit status: 1: [consumer avformat] Could not write header",
    ),
    ("dvd", &["--vcodec", "libvpx-vp9"], "frames, the project has 25"),
    ("gif", &["--vcodec", "libx264"], "melt exited with exit status: 1: [consumer avformat] Could not write header"),
    ("wav", &["--acodec", "libopus"], "melt exited with exit status: 1: [consumer avformat] Could not write header"),
    ("mp3", &["--acodec", "aac"], "melt exited with exit status: 1: [consumer avformat] Could not write header"),
];

#[test]
fn every_preset_family_renders_verified_and_each_has_a_render_that_fails() {
    let cluster = Cluster::start(2);
    cluster.wait_for_workers(2);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::color_and_tone(&dir, "film.mlt", 25);

    // Which presets this farm's workers can render, as `presets` tells it.
    let listed = cluster.json(&["presets", "--json"]);
    let presets = listed.as_array().unwrap().clone();
    assert!(presets.len() >= 20, "{listed}");
    let mut jobs = Vec::new();
    for preset in &presets {
        let name = preset["name"].as_str().unwrap();
        if !RENDERED.contains(&name) {
            continue;
        }
        let workers = preset["workers"].as_array().unwrap();
        if workers.is_empty() {
            eprintln!("SKIPPED {name}: no worker has its encoders; they lack {}", preset["lacking"]);
            continue;
        }
        assert_eq!(workers.len(), 2, "{preset}");
        let output = dir.join(format!("{name}.{}", preset["extension"].as_str().unwrap()));
        let id = cluster.submit(&project, &["--preset", name, "--output", output.to_str().unwrap()]);
        jobs.push((id, preset.clone(), output));
    }
    let mut failing = Vec::new();
    for (name, change, reason) in MUST_FAIL {
        let preset = presets.iter().find(|p| p["name"] == *name).unwrap();
        if preset["workers"].as_array().unwrap().is_empty() {
            eprintln!("SKIPPED the failing {name} render: no worker has its encoders");
            continue;
        }
        let extension = match change {
            ["--output-ext", ext] => ext,
            _ => preset["extension"].as_str().unwrap(),
        };
        let output = dir.join(format!("bad-{name}.{extension}"));
        let mut args = vec!["--preset", name, "--output", output.to_str().unwrap()];
        if change[0] != "--output-ext" {
            args.extend_from_slice(change);
        }
        failing.push((cluster.submit(&project, &args), *name, *reason, output));
    }

    for (id, preset, output) in jobs {
        let name = preset["name"].as_str().unwrap();
        let job = cluster.wait_final(id, Duration::from_secs(180));
        assert_eq!(job["state"], "succeeded", "{name}: {job}");
        let streams = probe_streams(&output);
        let codec = |encoder: &str| distencode_actors::presets::codec_of(encoder).unwrap();
        match preset["vcodec"].as_str().unwrap() {
            "none" => {
                assert!(of_kind(&streams, "video").is_none(), "{name}: {streams:?}");
                let audio = of_kind(&streams, "audio").unwrap();
                assert_eq!(audio["codec_name"], codec(preset["acodec"].as_str().unwrap()), "{name}");
                let length = seconds(audio);
                assert!((0.99..1.06).contains(&length), "{name}: {length} s for a 1 s project");
            }
            vcodec => {
                let video = of_kind(&streams, "video").unwrap();
                assert_eq!(video["codec_name"], codec(vcodec), "{name}");
                assert_eq!(video["nb_read_packets"], "25", "{name}: {video}");
                assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(320), Some(240)), "{name}");
                assert_eq!(video["r_frame_rate"], "25/1", "{name}");
                if let Some(pix_fmt) = preset["properties"]["pix_fmt"].as_str() {
                    let probed = distencode_actors::presets::probed_pix_fmt(vcodec, pix_fmt);
                    assert_eq!(video["pix_fmt"], probed.as_str(), "{name}");
                }
                match preset["acodec"].as_str().unwrap() {
                    "none" => assert!(of_kind(&streams, "audio").is_none(), "{name}"),
                    acodec => assert_eq!(of_kind(&streams, "audio").unwrap()["codec_name"], codec(acodec), "{name}"),
                }
                assert_eq!(job["facts"]["frames"], 25, "{name}: {job}");
            }
        }
    }
    for (id, name, reason, output) in failing {
        let job = cluster.wait_final(id, Duration::from_secs(180));
        assert_eq!(job["state"], "failed", "the failing {name} render: {job}");
        let error = job["error"].as_str().unwrap_or("");
        assert!(error.contains(reason), "the failing {name} render: {error:?} should say {reason:?}");
        assert!(!output.exists(), "{}", output.display());
    }
}

/// The line a refused command ends with: warnings about the output folder may come before it.
fn last_line(text: &str) -> &str {
    text.trim().lines().last().unwrap_or_default()
}

#[test]
fn an_output_format_comes_from_its_extension_or_the_preset_and_an_unknown_one_is_refused() {
    let cluster = Cluster::start(1);
    cluster.wait_for_workers(1);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::tiny(&dir, "short.mlt", 5);
    let odd = dir.join("short.xyz");
    let refused = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--output", odd.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(
        last_line(&stderr(&refused)),
        format!(
            "distencode: {}: no format is known for this extension; name one with --preset (distencode presets lists \
             them)",
            odd.display()
        )
    );
    let unknown = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--preset", "nosuch"]);
    assert_eq!(last_line(&stderr(&unknown)), "distencode: no preset \"nosuch\" (distencode presets lists them)");
    // An encoder no worker has is refused at submit, naming what each worker lacks.
    let lacking =
        cluster.cli(&["job", "submit", project.to_str().unwrap(), "--preset", "wav", "--acodec", "nosuchpcm"]);
    assert_eq!(
        last_line(&stderr(&lacking)),
        "distencode: no worker of the pool can render it: w1 lacks encoder nosuchpcm"
    );
    assert_eq!(cluster.json(&["job", "list", "--json"]).as_array().unwrap().len(), 0, "nothing was queued");

    // A .webm output without a preset is VP9 and Opus, and its frames are counted exactly.
    let webm = dir.join("short.webm");
    let id = cluster.submit(&project, &["--output", webm.to_str().unwrap()]);
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!((job["facts"]["frames"].as_u64(), job["facts"]["video_codec"].as_str()), (Some(5), Some("vp9")));
    let streams = probe_streams(&webm);
    assert_eq!(of_kind(&streams, "video").unwrap()["nb_read_packets"], "5");
    assert_eq!(of_kind(&streams, "audio").unwrap()["codec_name"], "opus");

    // Without a coordinator to ask, the listing says the workers are unknown.
    let run_alone = |args: &[&str]| {
        let mut command = Command::new(BIN);
        command.args(args).stdin(std::process::Stdio::null());
        for var in ["DISTENCODE_COORDINATOR", "DISTENCODE_CERTS", "DISTENCODE_NAME"] {
            command.env_remove(var);
        }
        command.output().unwrap()
    };
    let table = run_alone(&["presets"]);
    let alone = run_alone(&["presets", "--json"]);
    ok(&alone);
    let alone: Value = serde_json::from_slice(&alone.stdout).unwrap();
    assert!(alone.as_array().unwrap().iter().all(|p| p["workers"].is_null()), "{alone}");
    let text = stdout(&table);
    assert!(text.lines().any(|l| l.starts_with("prores-4444 ") && l.ends_with(" unknown")), "{text}");
}

/// The names of the files in `folder`, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn image_sequences_render_one_file_per_frame_numbered_from_one_and_a_bad_one_leaves_none() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::color_and_tone(&dir, "seq.mlt", 10);
    let kinds = [("png-sequence", "png", "png"), ("jpeg-sequence", "jpg", "mjpeg"), ("tiff-sequence", "tif", "tiff")];
    let mut jobs = Vec::new();
    for (preset, extension, _) in kinds {
        let folder = dir.join(preset);
        std::fs::create_dir(&folder).unwrap();
        let output = folder.join(format!("frame-%05d.{extension}"));
        jobs.push(cluster.submit(&project, &["--preset", preset, "--output", output.to_str().unwrap()]));
    }
    // PNG has no 4:2:0: the files are RGB, not what the job asked for.
    let bad_folder = dir.join("bad");
    std::fs::create_dir(&bad_folder).unwrap();
    let bad = bad_folder.join("frame-%05d.png");
    let args = ["--preset", "png-sequence", "--consumer-arg", "pix_fmt=yuv420p", "--output", bad.to_str().unwrap()];
    let failing = cluster.submit(&project, &args);

    for (id, (preset, extension, codec)) in jobs.into_iter().zip(kinds) {
        let job = cluster.wait_final(id, Duration::from_secs(120));
        assert_eq!(job["state"], "succeeded", "{preset}: {job}");
        let folder = dir.join(preset);
        let mut expected: Vec<String> = (1..=10).map(|n| format!("frame-{n:05}.{extension}")).collect();
        expected.push(format!("frame-%05d.{extension}.log"));
        expected.sort();
        assert_eq!(names_in(&folder), expected, "{preset}: one file per frame, from 1, and the log");
        for n in [1, 10] {
            let video = probe_streams(&folder.join(format!("frame-{n:05}.{extension}")))[0].clone();
            assert_eq!(video["codec_name"], codec, "{preset}");
            assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(320), Some(240)), "{preset}");
        }
        assert_eq!((job["facts"]["frames"].as_u64(), job["facts"]["video_codec"].as_str()), (Some(10), Some(codec)));
    }
    let job = cluster.wait_final(failing, Duration::from_secs(120));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(
        error.ends_with("frame-00001.png: the output's pixel format is rgb24, the job asked for yuv420p"),
        "{error}"
    );
    assert_eq!(names_in(&bad_folder), ["frame-%05d.png.log"], "no file of the sequence, no partial folder");

    // A sequence needs its frame number.
    let still = dir.join("still.png");
    let refused = cluster.cli(&["job", "submit", project.to_str().unwrap(), "--output", still.to_str().unwrap()]);
    assert_eq!(
        last_line(&stderr(&refused)),
        format!(
            "distencode: {}: an image sequence needs one frame number in its file name, such as film-%05d.png",
            still.display()
        )
    );
}

#[test]
fn an_output_of_another_size_than_the_profile_is_refused_naming_both() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().to_path_buf();
    let project = projects::tiny(&dir, "small.mlt", 5);
    let output = dir.join("small.mp4");
    let id = cluster.submit(&project, &["--consumer-arg", "s=32x24", "--output", output.to_str().unwrap()]);
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    let reason = "the output's picture is 32x24, the project's is 64x48 (a preset scales with width= and height=)";
    assert!(error.ends_with(reason), "{error}");
    assert!(!output.exists());
    // Asked for with width and height, as a preset scales, the same size is what verification expects.
    let scaled = dir.join("scaled.mp4");
    let args = ["--consumer-arg", "width=32", "--consumer-arg", "height=24", "--output", scaled.to_str().unwrap()];
    let job = cluster.wait_final(cluster.submit(&project, &args), Duration::from_secs(60));
    assert_eq!(job["state"], "succeeded", "{job}");
    let video = probe_streams(&scaled).into_iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(32), Some(24)));
    // An interlaced DVD: the field order asked for is the file's.
    let dvd = dir.join("interlaced.mpg");
    let args = ["--preset", "dvd", "--consumer-arg", "progressive=0", "--consumer-arg", "top_field_first=1"];
    let job = cluster.wait_final(
        cluster.submit(&project, &[&args[..], &["--output", dvd.to_str().unwrap()]].concat()),
        Duration::from_secs(60),
    );
    assert_eq!(job["state"], "succeeded", "{job}");
    let video = probe_streams(&dvd).into_iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["field_order"], "tt", "{video}");
}

/// A coordinator config with one house preset.
const HOUSE: &str = r#"
[[preset]]
name = "house-master"
family = "ProRes"
description = "The studio's master: ProRes 422 HQ"
extension = "mov"
vcodec = "prores_ks"
acodec = "pcm_s16le"
properties = { vprofile = "3", pix_fmt = "yuv422p10le" }
"#;

#[test]
fn a_house_preset_of_the_coordinators_config_is_listed_renders_verified_and_a_bad_one_stops_it() {
    let configs = tempfile::tempdir().unwrap();
    let config = configs.path().join("coordinator.toml");
    std::fs::write(&config, HOUSE).unwrap();
    let cluster = Cluster::start_full(1, &[], &["--config", config.to_str().unwrap()]);
    let dir = cluster.dir.path().to_path_buf();

    let listed = cluster.json(&["presets", "--json"]);
    let house = listed.as_array().unwrap().iter().find(|p| p["name"] == "house-master").expect("listed").clone();
    assert_eq!((house["house"].as_bool(), house["family"].as_str()), (Some(true), Some("ProRes")), "{house}");
    assert_eq!(house["properties"], serde_json::json!({"pix_fmt": "yuv422p10le", "vprofile": "3"}));
    assert_eq!(house["workers"], serde_json::json!(["w1"]), "{house}");
    let table = stdout(&cluster.cli(&["presets"]));
    assert!(table.lines().any(|l| l.starts_with("house-master ") && l.ends_with(" 1 of 1")), "{table}");

    let project = projects::tiny(&dir, "master.mlt", 5);
    let output = dir.join("master.mov");
    let id = cluster.submit(&project, &["--preset", "house-master", "--output", output.to_str().unwrap()]);
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "succeeded", "{job}");
    let video = probe_streams(&output).into_iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!((video["codec_name"].as_str(), video["pix_fmt"].as_str()), (Some("prores"), Some("yuv422p10le")));
    assert_eq!(video["nb_read_packets"], "5");

    // A house preset named like a built-in one stops the coordinator before it starts, in one line.
    let bad = configs.path().join("bad.toml");
    std::fs::write(&bad, HOUSE.replace("house-master", "prores-422")).unwrap();
    let refused = distencode(&["node", "--role", "coordinator", "--name", "c", "--config", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim_end(),
        format!(
            "distencode: {}: preset: [[preset]] \"prores-422\": is the name of a built-in preset (distencode presets \
             lists them): give it a name of its own",
            bad.display()
        )
    );
}
