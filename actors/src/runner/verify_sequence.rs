//! An image sequence's verification: as many files as the project has frames, numbered from the first without a
//! gap, and its first and last files decode (ffprobe) with the codec, pixel format and size the job asked for. The
//! job's facts come from the first file.

use super::picture_checks::check_picture;
use super::sequence::{self, Pattern};
use super::verify::{
    check_codec, run_ffprobe, Expected, ExpectedStream, FieldOrder, Probe, ProbeStream, PROBE_ENTRIES,
};
use distencode_wire::job::{RenderFacts, StreamDetails};
use std::path::{Path, PathBuf};

/// Checks the sequence `pattern` names beside `partial` (the pattern's path in the private folder).
pub(super) async fn verify(
    ffprobe: &Path,
    partial: &Path,
    pattern: &Pattern,
    expected: &Expected,
) -> Result<RenderFacts, String> {
    let want = expected.video.as_ref().ok_or("an image sequence has pictures: its video codec may not be none")?;
    let folder = partial.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (listed, frames) = (pattern.clone(), expected.frames);
    let files = tokio::task::spawn_blocking(move || sequence::rendered(&folder, &listed, frames))
        .await
        .map_err(|e| format!("a file operation failed: {e}"))??;
    let (Some(first), Some(last)) = (files.first(), files.last()) else {
        return Err("the output has no files".into());
    };
    let picture = probe_still(ffprobe, first, want, expected).await?;
    if last != first {
        probe_still(ffprobe, last, want, expected).await?;
    }
    let sizes = files.clone();
    let size_bytes = tokio::task::spawn_blocking(move || total_size(&sizes)).await.unwrap_or(0);
    Ok(RenderFacts {
        frames: files.len() as u64,
        duration_seconds: expected.seconds,
        video_codec: picture.codec_name.clone().unwrap_or_else(|| "unknown".into()),
        audio_codec: None,
        size_bytes,
        dropped_filters: Vec::new(),
        streams: StreamDetails {
            width: picture.width,
            height: picture.height,
            pix_fmt: picture.pix_fmt.clone(),
            frame_rate: expected.frame_rate.map(|(num, den)| format!("{num}/{den}")),
            sample_rate: None,
            channels: None,
        },
    })
}

/// The bytes of all `files`.
fn total_size(files: &[PathBuf]) -> u64 {
    files.iter().filter_map(|f| std::fs::symlink_metadata(f).ok()).map(|m| m.len()).sum()
}

/// Probes one file of the sequence: a picture of the asked codec, pixel format and size.
async fn probe_still(
    ffprobe: &Path,
    file: &Path,
    want: &ExpectedStream,
    expected: &Expected,
) -> Result<ProbeStream, String> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stdout =
        run_ffprobe(ffprobe, file, &["-show_entries", PROBE_ENTRIES]).await.map_err(|e| format!("{name}: {e}"))?;
    let probe: Probe = serde_json::from_slice(&stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))?;
    let picture = probe
        .streams
        .into_iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .ok_or_else(|| format!("{name} holds no picture"))?;
    check_codec("video", want, &picture).map_err(|e| format!("{name}: {e}"))?;
    // A still has no rate and no fields: only its size is the project's.
    let still = Expected { frame_rate: None, field_order: FieldOrder::Unchecked, ..expected.clone() };
    check_picture(&still, &picture).map_err(|e| format!("{name}: {e}"))?;
    Ok(picture)
}
