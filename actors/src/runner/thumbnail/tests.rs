//! The poster frame against this machine's real ffmpeg and ffprobe (a one-second test picture, no melt).

use super::*;
use distencode_wire::job::{Encoding, JobSpec, Task};

fn job(vcodec: &str, task: Option<TaskKind>) -> MeltJob {
    let spec = JobSpec {
        encoding: Encoding { vcodec: vcodec.into(), ..Encoding::default() },
        task: task.map(|kind| {
            Box::new(Task { parent: JobId(1), kind, first: 0, last: 24, fps_num: 25, fps_den: 1, inputs: Vec::new() })
        }),
        ..JobSpec::new("/p/p.mlt", "/p/p.mp4")
    };
    MeltJob { id: JobId(2), attempt: 1, spec, path_map: Vec::new() }
}

fn facts(video_codec: &str) -> RenderFacts {
    RenderFacts {
        frames: 25,
        duration_seconds: 1.0,
        video_codec: video_codec.into(),
        audio_codec: Some("aac".into()),
        size_bytes: 1000,
        dropped_filters: Vec::new(),
        streams: Default::default(),
    }
}

#[test]
fn a_job_s_own_output_with_pictures_gets_one_and_nothing_else_does() {
    assert!(wanted(&job("libx264", None), &facts("h264")));
    assert!(wanted(&job("libx264", Some(TaskKind::Join)), &facts("h264")), "a split job's poster is its join's");
    assert!(!wanted(&job("none", None), &facts("none")), "an audio-only output has no picture");
    assert!(!wanted(&job("libx264", Some(TaskKind::Chunk)), &facts("h264")));
    assert!(!wanted(&job("libx264", Some(TaskKind::Audio)), &facts("none")));
    assert!(!wanted(&job("libx264", Some(TaskKind::Cleanup)), &facts("")));
}

#[test]
fn the_picture_is_a_tenth_of_the_way_in() {
    assert_eq!(position(10.0), 1.0);
    assert_eq!(position(0.0), 0.0);
    assert_eq!(position(f64::NAN), 0.0);
}

#[tokio::test]
async fn a_picture_at_the_cap_is_kept_and_one_past_it_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("p.jpg");
    std::fs::write(&picture, vec![0xff; 100]).unwrap();
    assert_eq!(read_capped(&picture, 100).await.unwrap().bytes().len(), 100);
    assert_eq!(
        read_capped(&picture, 99).await.unwrap_err(),
        "the picture is over 99 bytes (MAX_THUMBNAIL_BYTES): dropped"
    );
    assert_eq!(read_capped(&dir.path().join("none.jpg"), 100).await.unwrap_err(), "ffmpeg made no picture");
}

/// Runs ffprobe on `file`: codec, width, height of its first video stream.
fn probe(file: &Path) -> String {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn a_wide_video_gives_a_jpeg_320_wide_keeping_its_aspect_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=1"])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(made.success());
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let thumbnail = make(Path::new("ffmpeg"), &work, &[], &video, 1.0, JobId(4), 2).await.unwrap();
    assert_eq!(&thumbnail.bytes()[..2], [0xff, 0xd8], "a JPEG starts with SOI");
    let copy = dir.path().join("poster.jpg");
    std::fs::write(&copy, thumbnail.bytes()).unwrap();
    assert_eq!(probe(&copy), "mjpeg,320,180");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "the picture's file is removed from the work folder");
}

#[tokio::test]
async fn no_ffmpeg_or_no_picture_in_the_file_is_a_reason_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let not_video = dir.path().join("x.mp4");
    std::fs::write(&not_video, b"not a video").unwrap();
    let missing = make(Path::new("/nonexistent/ffmpeg"), dir.path(), &[], &not_video, 1.0, JobId(1), 1).await;
    assert_eq!(missing.unwrap_err(), "cannot run /nonexistent/ffmpeg: No such file or directory (os error 2)");
    let refused = make(Path::new("ffmpeg"), dir.path(), &[], &not_video, 1.0, JobId(1), 1).await.unwrap_err();
    assert!(refused.starts_with("ffmpeg exited with exit status: 1: "), "{refused}");
    assert!(refused.contains("x.mp4"), "ffmpeg's last line names the file: {refused}");
}
