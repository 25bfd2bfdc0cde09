//! A verified render's poster frame: one small JPEG the web's job page shows, made by the worker with ffmpeg once
//! the file is in place and its `Finished` report sent (off the job's path: the job has succeeded by then), and sent
//! behind that report as `Poster`.
//!
//! The picture is taken a tenth of the way in (past a fade from black, still inside a short render), scaled to at
//! most [`THUMBNAIL_WIDTH`] pixels wide keeping the aspect, and written into the worker's own work folder, never
//! beside the output. It is a courtesy, not a check: an audio-only output has none, and a picture that cannot be
//! made in [`THUMBNAIL_DEADLINE`] or is over [`MAX_THUMBNAIL_BYTES`] is left out with a warning in the worker's log;
//! the job has succeeded all the same.

use super::{process, sequence, RunnerConfig};
use crate::worker::LinkHandle;
use distencode_wire::job::{JobId, MeltJob, RenderFacts, TaskKind};
use distencode_wire::message::Outcome;
use distencode_wire::thumbnail::Thumbnail;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

pub use distencode_wire::limits::MAX_THUMBNAIL_BYTES;

/// The widest poster frame, in pixels; a narrower output keeps its own width.
pub const THUMBNAIL_WIDTH: u32 = 320;

/// How long ffmpeg may take to make it (it decodes one frame: well under a second for any format melt writes).
pub const THUMBNAIL_DEADLINE: Duration = Duration::from_secs(20);

/// Where in the output the picture is taken, as a share of its duration.
const POSITION: f64 = 0.1;

/// Whether this render gets a poster frame: a job's own output (a plain render or a split job's join, not a chunk,
/// the audio pass or a cleanup) that has pictures.
pub fn wanted(job: &MeltJob, facts: &RenderFacts) -> bool {
    let own_output = job.spec.task.as_ref().is_none_or(|t| t.kind == TaskKind::Join);
    own_output && job.spec.encoding.vcodec != "none" && facts.video_codec != "none" && !facts.video_codec.is_empty()
}

/// What a succeeded render's poster frame is made from, once its `Finished` report is sent.
pub struct PosterSource {
    job: JobId,
    attempt: u32,
    /// The output in place, or an image sequence's first file.
    picture: PathBuf,
    duration_seconds: f64,
}

impl PosterSource {
    /// Where this render's poster frame comes from, when it gets one ([`wanted`]).
    pub fn of(job: &MeltJob, outcome: &Outcome, output: &Path) -> Option<Self> {
        let Outcome::Succeeded(facts) = outcome else { return None };
        if !wanted(job, facts) {
            return None;
        }
        // An image sequence's picture is its first file (a still: taken at its start).
        let picture = sequence::first_file(output);
        let duration_seconds = if picture == output { facts.duration_seconds } else { 0.0 };
        Some(Self { job: job.id, attempt: job.attempt, picture, duration_seconds })
    }

    /// Makes the poster frame and sends it to the coordinator behind the render's `Finished`.
    pub async fn make_and_send(self, config: Arc<RunnerConfig>, link: LinkHandle) {
        let Self { job, attempt, picture, duration_seconds } = self;
        // The same confinement as the render's: this ffmpeg reads a file the project chose the name of.
        let found = config.clone();
        let secrets = tokio::task::spawn_blocking(move || found.secrets()).await.unwrap_or_default();
        let (ffmpeg, work_dir) = (&config.ffmpeg, &config.work_dir);
        match make(ffmpeg, work_dir, &secrets, &picture, duration_seconds, job, attempt).await {
            Ok(thumbnail) => link.poster(job, attempt, thumbnail).await,
            Err(reason) => tracing::warn!(%job, attempt, "no poster frame of the output: {reason}"),
        }
    }
}

/// Where ffmpeg writes the picture of this attempt: the worker's work folder.
fn picture_path(work_dir: &Path, job: JobId, attempt: u32) -> PathBuf {
    work_dir.join(format!("poster-job{job}-{attempt}.jpg"))
}

/// The seconds into a file of `duration_seconds` at which its picture is taken.
fn position(duration_seconds: f64) -> f64 {
    if duration_seconds.is_finite() && duration_seconds > 0.0 {
        duration_seconds * POSITION
    } else {
        0.0
    }
}

fn ffmpeg_command(ffmpeg: &Path, file: &Path, at: f64, picture: &Path) -> Command {
    let mut command = Command::new(ffmpeg);
    command.args(["-nostdin", "-hide_banner", "-v", "error", "-y", "-protocol_whitelist", "file"]);
    command.arg("-ss").arg(format!("{at:.3}")).arg("-i").arg(file);
    // The quotes keep the comma of min() inside the one filter.
    let scale = format!("scale=w='min({THUMBNAIL_WIDTH},iw)':h=-2");
    command.args(["-map", "0:v:0", "-frames:v", "1", "-vf", &scale, "-c:v", "mjpeg", "-q:v", "4"]);
    command.args(["-f", "image2", "-update", "1"]).arg(picture);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    process::tie_to_parent(&mut command);
    command
}

/// Makes the poster frame of `file` (of `duration_seconds`) with `ffmpeg`, in `work_dir`; the reason when it
/// cannot, as one line.
pub async fn make(
    ffmpeg: &Path,
    work_dir: &Path,
    secrets: &[PathBuf],
    file: &Path,
    duration_seconds: f64,
    job: JobId,
    attempt: u32,
) -> Result<Thumbnail, String> {
    let picture = picture_path(work_dir, job, attempt);
    let result = run(ffmpeg, secrets, file, position(duration_seconds), &picture).await;
    let _ = tokio::fs::remove_file(&picture).await;
    result
}

async fn run(ffmpeg: &Path, secrets: &[PathBuf], file: &Path, at: f64, picture: &Path) -> Result<Thumbnail, String> {
    let mut command = ffmpeg_command(ffmpeg, file, at, picture);
    super::sandbox::confine(&mut command, secrets)?;
    let child = command.spawn().map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
    let pid = child.id().unwrap_or(0);
    let output = match tokio::time::timeout(THUMBNAIL_DEADLINE, child.wait_with_output()).await {
        Ok(output) => output.map_err(|e| format!("{} could not be waited for: {e}", ffmpeg.display()))?,
        Err(_) => {
            process::kill_group(pid);
            return Err(format!("ffmpeg did not make it within {THUMBNAIL_DEADLINE:?}"));
        }
    };
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let said = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!("ffmpeg exited with {}: {said}", output.status));
    }
    read_capped(picture, MAX_THUMBNAIL_BYTES).await
}

/// The picture's bytes, if it is there and at most `max` bytes (read no further than that).
async fn read_capped(picture: &Path, max: usize) -> Result<Thumbnail, String> {
    let file = tokio::fs::File::open(picture).await.map_err(|_| "ffmpeg made no picture".to_string())?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).await.map_err(|e| format!("cannot read the picture: {e}"))?;
    if bytes.len() > max {
        return Err(format!("the picture is over {max} bytes (MAX_THUMBNAIL_BYTES): dropped"));
    }
    Thumbnail::new(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
