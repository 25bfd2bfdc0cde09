//! ffmpeg jobs with real processes: a proxy made on a worker and checked with ffprobe, a batch of proxies (`--each`),
//! the job's log and progress, a cancel that ends ffmpeg and leaves nothing, and a refused argument at submit.
//! Inputs are made with ffmpeg's lavfi `testsrc` and `sine`: one or two seconds, small.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// A camera clip stand-in: `seconds` of 320x180 testsrc at 25 fps (MJPEG) with a sine tone (PCM), in MOV.
fn footage(path: &Path, seconds: u32) {
    let video = format!("testsrc=size=320x180:rate=25:duration={seconds}");
    let audio = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    projects::ffmpeg(
        &["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio, "-c:v", "mjpeg", "-c:a", "pcm_s16le"],
        path,
    );
}

/// Asserts `file` is a 960x540 H.264 + AAC proxy lasting `seconds` within one frame (25 fps).
fn assert_proxy(file: &Path, seconds: f64) {
    let streams = probe_streams(file);
    let duration: f64 = streams[0]["format_duration"].as_str().unwrap().parse().unwrap();
    let video = streams.iter().find(|s| s["codec_type"] == "video").expect("a video stream");
    assert_eq!((&video["codec_name"], &video["width"], &video["height"]), (&"h264".into(), &960.into(), &540.into()));
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").expect("an audio stream");
    assert_eq!(audio["codec_name"], "aac");
    assert!((duration - seconds).abs() <= 0.04 + 0.001, "{} lasts {duration} s, not {seconds}", file.display());
}

#[test]
fn a_proxy_job_makes_a_verified_960x540_h264_and_aac_file_with_its_log_and_preset() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let input = dir.join("C0001.MOV");
    footage(&input, 2);
    let out = dir.join("C0001 proxy.mp4");
    let args = ["job", "ffmpeg", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()];
    let ids = submitted(&cluster.cli(&[&args[..], &["--preset", "proxy-540p", "--json"]].concat()));
    let job = cluster.wait_final(ids[0], Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!((&job["kind"], &job["preset"]), (&"ffmpeg".into(), &"proxy-540p".into()));
    assert_eq!(job["ffmpeg"]["inputs"], serde_json::json!([input.to_str().unwrap()]));
    assert_eq!((&job["facts"]["video_codec"], &job["facts"]["audio_codec"]), (&"h264".into(), &"aac".into()));
    assert_eq!(job["facts"]["frames"], 50);
    assert_proxy(&out, 2.0);

    let status = cluster.cli(&["job", "status", &ids[0].to_string()]);
    ok(&status);
    let first = stdout(&status).lines().next().unwrap_or_default().to_string();
    assert_eq!(first, format!("kind ffmpeg; preset proxy-540p; inputs {}", input.display()));
    let logs = cluster.cli(&["job", "logs", &ids[0].to_string()]);
    ok(&logs);
    let log = stdout(&logs);
    let ran = log.lines().next().unwrap_or_default();
    assert!(ran.starts_with("distencode: ") && ran.contains(" -nostdin -y -hide_banner "), "{log}");
    assert!(ran.contains("-protocol_whitelist file,pipe -i"), "{log}");
    // ffmpeg's own report of the output it wrote.
    assert!(log.contains("Output #0, mp4"), "{log}");
    assert!(std::fs::read_to_string(dir.join("C0001 proxy.mp4.log")).unwrap().contains("Output #0, mp4"));

    // The proxy presets are listed with the export presets, with the workers that have their encoders.
    let presets = cluster.json(&["presets", "--json"]);
    let proxy = presets.as_array().unwrap().iter().find(|p| p["name"] == "proxy-540p").cloned().unwrap_or_default();
    assert_eq!((&proxy["kind"], &proxy["workers"]), (&"ffmpeg".into(), &serde_json::json!(["w1"])), "{presets}");
}

#[test]
fn a_batch_of_three_files_becomes_three_verified_proxies() {
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path();
    let footage_dir = dir.join("footage");
    let proxies = dir.join("proxies");
    std::fs::create_dir_all(&footage_dir).unwrap();
    std::fs::create_dir_all(&proxies).unwrap();
    for name in ["A001.MOV", "A002.MOV", "A003.MOV"] {
        footage(&footage_dir.join(name), 1);
    }
    // Not matched by the pattern: another extension.
    footage(&footage_dir.join("notes.mkv"), 1);
    let pattern = footage_dir.join("*.MOV");
    let output = cluster.cli(&[
        "job",
        "ffmpeg",
        "--each",
        pattern.to_str().unwrap(),
        "--preset",
        "proxy-540p",
        "--output-dir",
        proxies.to_str().unwrap(),
        "--json",
    ]);
    let ids = submitted(&output);
    assert_eq!(ids.len(), 3, "{}", stdout(&output));
    for (id, name) in ids.iter().zip(["A001", "A002", "A003"]) {
        let job = cluster.wait_final(*id, Duration::from_secs(180));
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["output"], proxies.join(format!("{name}.mp4")).to_str().unwrap());
        assert_proxy(&proxies.join(format!("{name}.mp4")), 1.0);
    }
    assert!(!proxies.join("notes.mp4").exists());
}

/// Command lines of running ffmpeg processes that mention `needle`.
fn ffmpeg_processes(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("ffmpeg ") && cmdline.contains(needle) {
            found.push(cmdline);
        }
    }
    found
}

#[test]
fn cancelling_a_running_ffmpeg_job_ends_ffmpeg_and_leaves_no_output() {
    let _serial = serial();
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let input = dir.join("long.MOV");
    footage(&input, 30);
    let out = dir.join("long.mp4");
    // `realtime` paces the frames at their own rate: a 30 s job, long enough to see its progress and cancel it.
    let ids = submitted(&cluster.cli(&[
        "job",
        "ffmpeg",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--json",
        "--",
        "-vf",
        "realtime",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ]));
    let id = ids[0];
    let running = cluster.wait_running(id);
    assert!(running["progress"].as_f64().unwrap() < 100.0, "{running}");
    let status = cluster.cli(&["job", "status", &id.to_string()]);
    ok(&status);
    assert!(stdout(&status).contains(&format!("job {id} running on worker w1: ")), "{}", stdout(&status));
    let partial = partial_of(&out, id, 1);
    assert!(!ffmpeg_processes(&partial).is_empty(), "ffmpeg runs before the cancel");
    let cancel = cluster.cli(&["job", "cancel", &id.to_string()]);
    ok(&cancel);
    let job = cluster.wait_final(id, Duration::from_secs(30));
    assert_eq!(job["state"], "cancelled");
    cluster.wait_until(Duration::from_secs(10), "ffmpeg to end", || ffmpeg_processes(&partial).is_empty());
    // The worker removes its partial folder once ffmpeg is gone, a moment after the cancel is recorded.
    let left = || names_in(dir, |name| name.contains("long.mp4"));
    cluster.wait_until(Duration::from_secs(10), "the partial folder to go", || left().is_empty());
    assert!(!out.exists(), "a cancelled job leaves no output");
}

#[test]
fn a_refused_argument_is_one_line_at_submit_and_nothing_is_queued() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path();
    let input = dir.join("in.MOV");
    footage(&input, 1);
    let out = dir.join("out.mp4");
    let base = ["job", "ffmpeg", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--"];
    for (args, line) in [
        (&["-i", "/etc/passwd"][..], "refused: -i: inputs are given with --input"),
        (
            &["-c:v", "libx264", "/tmp/second.mp4"][..],
            "refused: /tmp/second.mp4: a second output (a job writes only its --output)",
        ),
        (&["-vf", "movie=/etc/hosts"][..], "refused: -vf: the filter movie reads a file the job does not list"),
    ] {
        let output = cluster.cli(&[&base[..], args].concat());
        assert!(!output.status.success());
        assert_eq!(stderr(&output).trim(), format!("distencode: {line}"), "{args:?}");
    }
    let jobs = cluster.json(&["job", "list", "--json"]);
    assert_eq!(jobs, serde_json::json!([]));
}
