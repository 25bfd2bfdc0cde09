//! Split renders with real processes: one project rendered by several workers at once, as chunks of video, one
//! audio pass and a join, compared with a single render of the same project.
//!
//! The canary project crosses every cut point with something that would show a glitch: a luma wipe and a dissolve
//! across the chunk boundaries, a nested tractor with a keyframed affine transition, keyframed brightness and
//! volume, H.264 media with B-frames placed with an `in` offset, and audio from a chirp file mixed with a tone. CI
//! renders it at 320x180 (`SPLIT_CANARY_SIZE=1280x720` renders it at 720p).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Frames of the canary: four chunks of at least 10 s at 25 and at 29.97 fps.
const CANARY_FRAMES: u64 = 1200;

fn canary_size() -> (u32, u32) {
    let size = std::env::var("SPLIT_CANARY_SIZE").unwrap_or_else(|_| "320x180".into());
    let (w, h) = size.split_once('x').expect("SPLIT_CANARY_SIZE is WxH");
    (w.parse().unwrap(), h.parse().unwrap())
}

/// Writes the canary project (and its media) for a frame rate `num/den` into `dir`.
fn canary(dir: &Path, name: &str, num: u32, den: u32) -> PathBuf {
    let (w, h) = canary_size();
    let rate = format!("{num}/{den}");
    let clip = dir.join(format!("clip-{num}.mp4"));
    let video = format!("testsrc2=size={w}x{h}:rate={rate}:duration=30");
    projects::ffmpeg(
        &["-f", "lavfi", "-i", &video, "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "48"],
        &clip,
    );
    let chirp = dir.join("chirp.wav");
    if !chirp.exists() {
        projects::ffmpeg(
            &["-f", "lavfi", "-i", "aevalsrc=0.4*sin(2*PI*(100+60*t)*t):s=48000:d=60", "-ac", "2"],
            &chirp,
        );
    }
    let luma = dir.join("luma.pgm");
    if !luma.exists() {
        projects::lavfi_luma(&luma, &format!("{w}x{h}"));
    }
    let last = CANARY_FRAMES - 1;
    let xml = format!(
        r##"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" version="7.12.0" root="{root}">
  <profile description="canary" width="{w}" height="{h}" progressive="1" sample_aspect_num="1" sample_aspect_den="1"
    display_aspect_num="{w}" display_aspect_den="{h}" frame_rate_num="{num}" frame_rate_den="{den}" colorspace="709"/>
  <producer id="red" in="0" out="{last}"><property name="mlt_service">color</property><property name="resource">#ffd02020</property></producer>
  <producer id="blue" in="0" out="{last}"><property name="mlt_service">color</property><property name="resource">#ff2040d0</property></producer>
  <producer id="green" in="0" out="{last}"><property name="mlt_service">color</property><property name="resource">#ff20b040</property></producer>
  <producer id="clip" in="0" out="700"><property name="mlt_service">avformat</property><property name="resource">{clip}</property></producer>
  <producer id="clip2" in="0" out="700"><property name="mlt_service">avformat</property><property name="resource">{clip}</property></producer>
  <producer id="chirp" in="0" out="{last}"><property name="mlt_service">avformat</property><property name="resource">{chirp}</property></producer>
  <producer id="tone" in="0" out="{last}"><property name="mlt_service">tone</property><property name="frequency">440</property><property name="level">-12</property></producer>
  <playlist id="inner_bg"><entry producer="green" in="0" out="399"/></playlist>
  <playlist id="inner_fg"><entry producer="clip2" in="11" out="410"/></playlist>
  <tractor id="nested" in="0" out="399">
    <track producer="inner_bg"/>
    <track producer="inner_fg"/>
    <transition id="t_affine" in="0" out="399">
      <property name="a_track">0</property><property name="b_track">1</property>
      <property name="mlt_service">affine</property>
      <property name="rect">0=0 0 {w} {h} 1;399={qx} {qy} {qw} {qh} 0.6</property>
    </transition>
  </tractor>
  <playlist id="v0">
    <entry producer="red" in="0" out="309"/>
    <entry producer="nested" in="0" out="399"/>
    <entry producer="blue" in="0" out="489"/>
  </playlist>
  <playlist id="v1">
    <blank length="280"/>
    <entry producer="clip" in="37" out="436">
      <filter id="bright"><property name="mlt_service">brightness</property><property name="level">0=0.4;200=1.3;399=0.8</property></filter>
    </entry>
    <blank length="170"/>
    <entry producer="blue" in="0" out="349"/>
  </playlist>
  <playlist id="a0"><entry producer="chirp" in="0" out="{last}"/></playlist>
  <playlist id="a1">
    <entry producer="tone" in="0" out="{last}">
      <filter id="vol"><property name="mlt_service">volume</property><property name="level">0=-30;600=0;{last}=-20</property></filter>
    </entry>
  </playlist>
  <tractor id="main" in="0" out="{last}">
    <track producer="v0"/>
    <track producer="v1"/>
    <track producer="a0" hide="video"/>
    <track producer="a1" hide="video"/>
    <transition id="wipe" in="280" out="320">
      <property name="a_track">0</property><property name="b_track">1</property>
      <property name="mlt_service">luma</property><property name="resource">{luma}</property>
    </transition>
    <transition id="dissolve" in="580" out="620">
      <property name="a_track">0</property><property name="b_track">1</property>
      <property name="mlt_service">luma</property>
    </transition>
    <transition id="dissolve2" in="880" out="920">
      <property name="a_track">0</property><property name="b_track">1</property>
      <property name="mlt_service">luma</property>
    </transition>
    <transition id="mix1"><property name="a_track">0</property><property name="b_track">2</property><property name="mlt_service">mix</property><property name="always_active">1</property><property name="sum">1</property></transition>
    <transition id="mix2"><property name="a_track">0</property><property name="b_track">3</property><property name="mlt_service">mix</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"##,
        root = dir.display(),
        clip = clip.display(),
        chirp = chirp.display(),
        luma = luma.display(),
        qx = w / 4,
        qy = h / 4,
        qw = w / 2,
        qh = h / 2,
    );
    projects::write(dir, name, &xml)
}

/// The audio as raw 16-bit samples.
fn audio_samples(file: &Path) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg");
    assert!(output.status.success(), "samples of {}: {}", file.display(), stderr(&output));
    output.stdout
}

/// Video packet timestamps (sorted) in seconds, and the audio stream's start and end.
fn timestamps(file: &Path, stream: &str) -> Vec<f64> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe");
    let mut times: Vec<f64> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times
}

/// Hidden files a split leaves beside its output (chunks, the audio pass, partial files).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".chunk") || n.contains(".audio.wav") || n.contains("partial"))
        .collect()
}

fn tasks(job: &serde_json::Value) -> Vec<serde_json::Value> {
    job["tasks"].as_array().cloned().unwrap_or_default()
}

/// The canary split into 4 lossless chunks is frame for frame the single lossless render (bare melt), and its audio sample for
/// sample the single pass, at 25 and at 29.97 fps. Chunks 2 and 4 start on a colour under a luma transition, where
/// a render's first frame differs unless it is pre-rolled (actors/src/runner/chunk_start.rs); the audio pass once
/// stalled for good there (MLT's read-ahead thread with video off).
#[test]
fn a_split_lossless_render_is_identical_to_a_single_one_at_25_and_29_97_fps() {
    let _serial = serial();
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path();
    for (num, den) in [(25, 1), (30000, 1001)] {
        let project = canary(dir, &format!("canary-{num}.mlt"), num, den);
        let single = dir.join(format!("single-{num}.mkv"));
        let split = dir.join(format!("split-{num}.mkv"));
        let consumer = ["--vcodec", "ffv1", "--acodec", "pcm_s16le"];
        let many =
            cluster.submit(&project, &[&["--output", split.to_str().unwrap(), "--split", "4"][..], &consumer].concat());
        bare_melt_with(&project, &single, &["vcodec=ffv1", "acodec=pcm_s16le"]);
        let many = cluster.wait_final(many, Duration::from_secs(600));
        assert_eq!(many["state"], "succeeded", "{many}");
        let tasks = tasks(&many);
        let kinds: Vec<&str> = tasks.iter().map(|t| t["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["chunk", "chunk", "chunk", "chunk", "audio", "join"], "{many}");
        let ranges: Vec<(u64, u64)> =
            tasks[..4].iter().map(|t| (t["first"].as_u64().unwrap(), t["last"].as_u64().unwrap())).collect();
        assert_eq!(ranges, [(0, 299), (300, 599), (600, 899), (900, 1199)]);
        let retried: Vec<serde_json::Value> =
            tasks.iter().filter(|t| t["attempts"] != 1).map(|t| cluster.job(t["job"].as_u64().unwrap())).collect();
        assert!(tasks.iter().all(|t| t["state"] == "succeeded"), "{many}");
        assert!(retried.is_empty(), "tasks run more than once: {retried:?}\n{}", cluster.coordinator_log());
        assert_eq!(many["progress"], 100.0);
        assert_eq!(many["facts"]["frames"], CANARY_FRAMES);

        let (a, b) = (video_md5s(&single), video_md5s(&split));
        assert_eq!(a.len() as u64, CANARY_FRAMES);
        let differing: Vec<usize> = (0..a.len()).filter(|&i| a.get(i) != b.get(i)).collect();
        assert!(differing.is_empty() && a.len() == b.len(), "at {num}/{den}: frames differ: {differing:?}");
        let (a, b) = (audio_samples(&single), audio_samples(&split));
        assert!(!a.is_empty());
        assert!(a == b, "at {num}/{den}: audio differs ({} and {} bytes)", a.len(), b.len());
        assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
    }
}

/// Split for H.264 and AAC: the exact frame count, evenly spaced timestamps, and audio that starts and ends with
/// the video.
#[test]
fn a_split_h264_aac_render_has_the_exact_frames_even_timestamps_and_no_av_offset() {
    let _serial = serial();
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path();
    let project = canary(dir, "canary.mlt", 30000, 1001);
    let out = dir.join("split.mp4");
    let id = cluster.submit(&project, &["--output", out.to_str().unwrap(), "--split", "4", "--consumer-arg", "crf=23"]);
    let job = cluster.wait_final(id, Duration::from_secs(600));
    assert_eq!(job["state"], "succeeded", "{job}");
    let probed = probe(&out);
    assert_eq!(probed.video_frames, CANARY_FRAMES);
    assert_eq!((probed.video_codec.as_str(), probed.audio_codec.as_deref()), ("h264", Some("aac")));
    let video = timestamps(&out, "v:0");
    assert_eq!(video.len() as u64, CANARY_FRAMES);
    let step = 1001.0 / 30000.0;
    for (i, pair) in video.windows(2).enumerate() {
        assert!(
            (pair[1] - pair[0] - step).abs() < 1e-4,
            "frame {} comes {} s after the one before",
            i + 1,
            pair[1] - pair[0]
        );
    }
    let audio = timestamps(&out, "a:0");
    let video_end = CANARY_FRAMES as f64 * step;
    assert!(audio[0].abs() < 0.03 && video[0].abs() < 1e-6, "audio starts at {}, video at {}", audio[0], video[0]);
    let audio_end = audio.last().unwrap() + 1024.0 / 48000.0;
    assert!((audio_end - video_end).abs() <= 1024.0 / 48000.0, "audio ends at {audio_end}, video at {video_end}");
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
}
