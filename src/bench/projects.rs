//! The MLT projects `bench overhead` and `bench split` render, written from MLT's built-in producers (no media files needed):
//! `noise` for a render that keeps a core busy, `color` for one that is over at once, `tone` for audio in both.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// `frames` frames of `video` (an MLT producer) at `width`x`height`, 25 fps, mixed with a 440 Hz tone.
fn project(dir: &Path, name: &str, video: &str, width: u32, height: u32, frames: u64) -> Result<PathBuf> {
    let out = frames.max(1) - 1;
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" version="7.12.0">
  <profile description="bench" width="{width}" height="{height}" progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="{width}" display_aspect_den="{height}" frame_rate_num="25" frame_rate_den="1" colorspace="709"/>
  <producer id="video" in="0" out="{out}"><property name="mlt_service">{video}</property></producer>
  <producer id="tone" in="0" out="{out}"><property name="mlt_service">tone</property><property name="frequency">440</property></producer>
  <tractor id="main" in="0" out="{out}">
    <multitrack>
      <track producer="video"/>
      <track producer="tone"/>
    </multitrack>
    <transition id="mix" in="0" out="{out}"><property name="mlt_service">mix</property><property name="a_track">0</property><property name="b_track">1</property><property name="always_active">1</property><property name="sum">1</property></transition>
  </tractor>
</mlt>
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, xml).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A render that takes a while: 640x360 noise (x264 cannot compress it) with a tone.
pub fn noise_and_tone(dir: &Path, name: &str, frames: u64) -> Result<PathBuf> {
    project(dir, name, "noise", 640, 360, frames)
}

/// [`noise_and_tone`] at another size (`bench split`: a smaller picture for a quick run).
pub fn noise_and_tone_sized(dir: &Path, name: &str, frames: u64, width: u32, height: u32) -> Result<PathBuf> {
    project(dir, name, "noise", width, height, frames)
}

/// A render of a fraction of a second: a 320x240 colour with a tone.
pub fn color_and_tone(dir: &Path, name: &str, frames: u64) -> Result<PathBuf> {
    project(dir, name, "color", 320, 240, frames)
}
