//! The poster frame, end to end: a real worker renders with melt, reports its result, then makes the picture with
//! ffmpeg and sends it; the coordinator keeps it; the web serves it by job id and shows it, with the output's streams, on
//! the job page. An image sequence's comes from its first file; an audio-only job has none, and nobody without a
//! session gets one.

mod common;

use common::projects;
use common::web::WebCluster;
use std::process::Command;
use std::time::Duration;

/// ffprobe's codec, width and height of the picture's first stream.
fn probe(file: &std::path::Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_succeeded_render_has_a_poster_frame_an_audio_only_one_has_none() {
    let web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();
    let video = web.cluster.submit(&projects::color_and_tone(&dir, "poster.mlt", 25), &[]);
    let wav = dir.join("mix.wav");
    let audio =
        web.cluster.submit(&projects::color_and_tone(&dir, "mix.mlt", 25), &["--output", wav.to_str().unwrap()]);
    let frames = dir.join("frames");
    std::fs::create_dir(&frames).unwrap();
    let pattern = frames.join("f-%03d.png");
    let sequence =
        web.cluster.submit(&projects::color_and_tone(&dir, "frames.mlt", 5), &["--output", pattern.to_str().unwrap()]);
    for id in [video, audio, sequence] {
        let done = web.cluster.wait_final(id, Duration::from_secs(120));
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    // The worker makes the picture once it has reported the success, and sends it after.
    for id in [video, sequence] {
        web.cluster.wait_until(Duration::from_secs(30), "the poster frame to arrive", || {
            web.bearer(web.get(&format!("/api/v1/jobs/{id}/thumbnail"))).send().is_ok_and(|r| r.status() == 200)
        });
    }

    // --- An image sequence's picture is made from its first file.
    let response = web.bearer(web.get(&format!("/api/v1/jobs/{sequence}/thumbnail"))).send().unwrap();
    assert_eq!(response.status(), 200);
    let still = dir.join("still.jpg");
    std::fs::write(&still, response.bytes().unwrap()).unwrap();
    assert_eq!(probe(&still), "mjpeg,320,240");

    // --- The picture: a JPEG at most 320 wide (the project is 320x240), by job id, with the bearer token.
    let response = web.bearer(web.get(&format!("/api/v1/jobs/{video}/thumbnail"))).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let jpeg = response.bytes().unwrap();
    assert!(jpeg.len() <= 256 * 1024, "{} bytes", jpeg.len());
    let file = dir.join("poster.jpg");
    std::fs::write(&file, &jpeg).unwrap();
    let probed = probe(&file);
    let fields: Vec<&str> = probed.split(',').collect();
    assert_eq!(fields[0], "mjpeg", "{probed}");
    let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    assert!(width <= 320 && height > 0, "{probed}");
    assert_eq!((width, height), (320, 240), "the project's own size, under the cap, keeps its aspect");
    let work_dirs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("work-"))
        .collect();
    assert_eq!(work_dirs.len(), 1, "one worker, one work folder");
    let left: Vec<String> = std::fs::read_dir(work_dirs[0].path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|name| name.starts_with("poster-")), "the worker left its picture behind: {left:?}");

    // --- An audio-only output has none; an unknown job is 404 too; without a session it is 401.
    let response = web.bearer(web.get(&format!("/api/v1/jobs/{audio}/thumbnail"))).send().unwrap();
    assert_eq!(response.status(), 404);
    let error: serde_json::Value = response.json().unwrap();
    assert_eq!(error["error"], format!("job {audio} has no poster frame"));
    let response = web.bearer(web.get("/api/v1/jobs/999/thumbnail")).send().unwrap();
    assert_eq!(response.status(), 404);
    let response = web.get(&format!("/api/v1/jobs/{video}/thumbnail")).send().unwrap();
    assert_eq!(response.status(), 401);

    // --- The job page shows it with its size and alt text, and the streams table; the audio job's page has no img.
    let session = web.session_cookie();
    let page = web.get(&format!("/jobs/{video}")).header("cookie", &session).send().unwrap().text().unwrap();
    let img = format!(r#"<img src="/api/v1/jobs/{video}/thumbnail" width="{width}" height="{height}" alt="#);
    assert!(page.contains(&img), "no poster frame on the page: {page}");
    let video_row = "<td>video</td><td>h264</td><td>320x240, yuv420p, 25/1 fps, 25 frames, 1.0";
    assert!(page.contains(video_row), "no video row: {page}");
    assert!(page.contains("<td>audio</td><td>aac</td><td>2 channels, 48000 Hz, 1.0"), "no audio row: {page}");
    let page = web.get(&format!("/jobs/{audio}")).header("cookie", &session).send().unwrap().text().unwrap();
    assert!(!page.contains("<img"), "an audio-only job has no picture: {page}");
    assert!(page.contains("<td>audio</td><td>pcm_s16le</td><td>2 channels, 48000 Hz, 1.0"), "no audio row: {page}");
}
