//! The in-process reading against ffprobe, on real files ffmpeg makes.

use super::*;
use std::process::Command;

/// Makes `name` in `dir` with ffmpeg from lavfi sources and these output options.
fn made(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let file = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2"])
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000:duration=2"])
        .args(args)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    file
}

#[test]
fn an_h264_mp4_reads_as_ffprobe_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        made(dir.path(), "a.mp4", &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]);
    let movie = read(&file).expect("read in process");
    let video = &movie.tracks[0];
    assert_eq!((video.kind, video.codec, video.samples), ("video", "h264", 50));
    assert_eq!((video.size, video.pix_fmt.as_deref()), (Some((160, 120)), Some("yuv420p")));
    assert_eq!(movie.as_probe().streams[0].r_frame_rate.as_deref(), Some("25/1"));
    let audio = &movie.tracks[1];
    assert_eq!((audio.kind, audio.codec, audio.sample_rate, audio.channels), ("audio", "aac", Some(48000), Some(1)));
    assert_eq!(movie.size_bytes, std::fs::metadata(&file).unwrap().len());
}

#[test]
fn other_codecs_and_pixel_formats_read_from_their_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let high =
        made(dir.path(), "b.mp4", &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv422p10le", "-an"]);
    assert_eq!(read(&high).unwrap().tracks[0].pix_fmt.as_deref(), Some("yuv422p10le"));
    let prores = made(dir.path(), "c.mov", &["-c:v", "prores_ks", "-profile:v", "3", "-c:a", "pcm_s16le"]);
    let movie = read(&prores).unwrap();
    assert_eq!((movie.tracks[0].codec, movie.tracks[1].codec), ("prores", "pcm_s16le"));
    // DNxHR is not named here: ffprobe decides.
    let dnx = made(
        dir.path(),
        "d.mov",
        &["-s", "256x144", "-c:v", "dnxhd", "-profile:v", "dnxhr_sq", "-pix_fmt", "yuv422p", "-an"],
    );
    assert_eq!(read(&dnx), None);
}

#[test]
fn a_file_cut_short_or_fragmented_is_left_to_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["-c:v", "libx264", "-preset", "ultrafast", "-an"];
    let whole = made(dir.path(), "whole.mp4", &args);
    let bytes = std::fs::read(&whole).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 100, 7, 0] {
        let file = dir.path().join(format!("cut{cut}.mp4"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        assert_eq!(read(&file), None, "cut at {cut}");
    }
    let faststart = made(dir.path(), "fast.mp4", &[&args[..], &["-movflags", "+faststart"]].concat());
    assert_eq!(read(&faststart).map(|m| m.tracks[0].samples), Some(50));
    let bytes = std::fs::read(&faststart).unwrap();
    let cut = dir.path().join("fastcut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() - 1000]).unwrap();
    assert_eq!(read(&cut), None, "the moov is whole, the frames are not");
    let fragmented = made(dir.path(), "frag.mp4", &[&args[..], &["-movflags", "+frag_keyframe+empty_moov"]].concat());
    assert_eq!(read(&fragmented), None);
    let webm = made(dir.path(), "e.webm", &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-an"]);
    assert_eq!(read(&webm), None);
}
