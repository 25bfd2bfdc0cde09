//! Projects the tests render, written from MLT's built-in producers, and media made with ffmpeg's lavfi sources.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A small 25 fps profile: renders fast on two cores.
pub const PROFILE: &str = r#"<profile description="test" width="320" height="240" progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="4" display_aspect_den="3" frame_rate_num="25" frame_rate_den="1" colorspace="709"/>"#;

pub fn write(dir: &Path, name: &str, xml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

/// `frames` frames of a colour with a tone under it.
pub fn color_and_tone(dir: &Path, name: &str, frames: u64) -> PathBuf {
    let out = frames - 1;
    write(
        dir,
        name,
        &format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" version="7.12.0">
  {PROFILE}
  <producer id="colour" in="0" out="{out}"><property name="mlt_service">color</property><property name="resource">#ff336699</property></producer>
  <producer id="tone" in="0" out="{out}"><property name="mlt_service">tone</property><property name="frequency">440</property></producer>
  <tractor id="main" in="0" out="{out}">
    <multitrack>
      <track producer="colour"/>
      <track producer="tone"/>
    </multitrack>
    <transition id="mix" in="0" out="{out}"><property name="mlt_service">mix</property><property name="a_track">0</property><property name="b_track">1</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"#
        ),
    )
}

/// A `noise` then `count` playlist: a render that takes a few seconds.
pub fn noise_and_count(dir: &Path, name: &str, frames_each: u64) -> PathBuf {
    let out = frames_each - 1;
    write(
        dir,
        name,
        &format!(
            r#"<mlt>
  {PROFILE}
  <producer id="noise" in="0" out="{out}"><property name="mlt_service">noise</property></producer>
  <producer id="count" in="0" out="{out}"><property name="mlt_service">count</property></producer>
  <playlist id="main">
    <entry producer="noise" in="0" out="{out}"/>
    <entry producer="count" in="0" out="{out}"/>
  </playlist>
</mlt>
"#
        ),
    )
}

/// Runs ffmpeg with lavfi inputs to make a stand-in media file.
pub fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .stdin(Stdio::null())
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg could not make {}", out.display());
}

/// A clip: `seconds` of testsrc video at `rate` (e.g. `25`, `30000/1001`) with a sine tone.
pub fn lavfi_clip(path: &Path, size: &str, rate: &str, seconds: u32) {
    let video = format!("testsrc=size={size}:rate={rate}:duration={seconds}");
    let audio = format!("sine=frequency=330:sample_rate=48000:duration={seconds}");
    ffmpeg(
        &["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio, "-c:v", "libx264", "-preset", "ultrafast"]
            .iter()
            .chain(&["-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
            .copied()
            .collect::<Vec<_>>(),
        path,
    );
}

/// A WAV file of a sine tone.
pub fn lavfi_audio(path: &Path, seconds: u32) {
    ffmpeg(&["-f", "lavfi", "-i", &format!("sine=frequency=550:sample_rate=48000:duration={seconds}")], path);
}

/// A grey-scale luma picture (a gradient), as transitions use for wipes.
pub fn lavfi_luma(path: &Path, size: &str) {
    ffmpeg(&["-f", "lavfi", "-i", &format!("gradients=s={size}"), "-frames:v", "1", "-pix_fmt", "gray"], path);
}

/// A render of `frames` frames of 640x360 noise: about 30 frames a second on two cores, long enough to act on
/// while it runs. Tests that use it take [`crate::common::serial`], so that renders do not share the cores.
pub fn slow(dir: &Path, name: &str, frames: u64) -> PathBuf {
    let out = frames - 1;
    write(
        dir,
        name,
        &format!(
            r#"<mlt>
  <profile width="640" height="360" progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="16" display_aspect_den="9" frame_rate_num="25" frame_rate_den="1"/>
  <producer id="noise" in="0" out="{out}"><property name="mlt_service">noise</property></producer>
</mlt>
"#
        ),
    )
}

/// A render of `frames` frames at 64x48: well under a second.
pub fn tiny(dir: &Path, name: &str, frames: u64) -> PathBuf {
    let out = frames - 1;
    write(
        dir,
        name,
        &format!(
            r#"<mlt>
  <profile width="64" height="48" progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="4" display_aspect_den="3" frame_rate_num="25" frame_rate_den="1"/>
  <producer id="c" in="0" out="{out}"><property name="mlt_service">color</property><property name="resource">green</property></producer>
  <producer id="t" in="0" out="{out}"><property name="mlt_service">tone</property></producer>
  <tractor id="main"><multitrack><track producer="c"/><track producer="t"/></multitrack></tractor>
</mlt>
"#
        ),
    )
}

/// A project whose one clip is a file of random bytes named `garbage.mp4`: it passes every check before the render
/// (the file is there and readable) and melt then fails to load it, on every worker.
pub fn corrupt_media(dir: &Path, name: &str) -> PathBuf {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let garbage: Vec<u8> = (0..20_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    std::fs::write(dir.join("garbage.mp4"), garbage).unwrap();
    write(
        dir,
        name,
        r#"<mlt>
  <profile width="64" height="48" progressive="1" frame_rate_num="25" frame_rate_den="1"/>
  <producer id="clip" in="0" out="9"><property name="resource">garbage.mp4</property></producer>
</mlt>
"#,
    )
}
