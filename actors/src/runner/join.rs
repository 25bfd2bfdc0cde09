//! The worker's side of split jobs: verifying a chunk and the audio pass, joining them, cleaning up after.
//!
//! A chunk is melt with `in=S out=E` among the consumer's properties (the only way melt renders a range exactly:
//! `-group in= out=` applies it twice and the root tractor's in/out is ignored), verified to hold exactly E−S+1
//! frames. The audio pass is melt with `vn=1 video_off=1` to PCM: one pass, so MLT's samples-per-frame pattern at
//! 29.97 fps never restarts and nothing drifts. The join is ffmpeg's concat demuxer over an ffconcat list giving
//! each chunk its exact duration (`frames*den/num`, without which timestamps step unevenly at 29.97), the video
//! copied and the audio pass encoded once; the result is verified (the project's frame count, uniform
//! timestamps, audio as long as the video within one audio frame) before the usual Verified → Commit → rename.

use super::{chunk_start, output_files, process, RunnerConfig};
use distencode_wire::job::{MeltJob, RenderFacts, Task};
use distencode_wire::message::Outcome;
use serde::Deserialize;
use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;
use tokio::sync::oneshot;

/// The most inputs a join or cleanup task may name (chunks and the audio file).
pub const MAX_TASK_INPUTS: usize = distencode_wire::job::MAX_SPLIT_CHUNKS as usize + 1;

/// The consumer properties of an audio pass taken from the job's own (the rest are video settings).
const AUDIO_PROPERTIES: &[&str] = &["frequency", "channels", "ar", "ac", "channel_layout"];

/// melt's consumer properties for a task, after the job's own: the range of a chunk (from a frame early where
/// [`chunk_start`] says so), audio only for the pass.
pub fn melt_properties(task: &Task, vcodec: &str) -> Vec<String> {
    match task.kind {
        distencode_wire::job::TaskKind::Chunk => {
            let mut properties = chunk_start::range_properties(task, vcodec);
            properties.extend(["an=1".to_string(), "audio_off=1".to_string()]);
            properties
        }
        // `real_time=0`: the consumer renders each frame itself, with no read-ahead thread. With video off,
        // MLT 7.12's read-ahead thread and the consumer's now and then miss each other's wake-up and both wait for
        // ever (melt prints nothing and the pass stalls); audio is cheap, so nothing is lost without it.
        distencode_wire::job::TaskKind::Audio => vec!["vn=1".into(), "video_off=1".into(), "real_time=0".into()],
        _ => Vec::new(),
    }
}

/// Which of the job's consumer properties an audio pass keeps.
pub fn audio_property(key: &str) -> bool {
    AUDIO_PROPERTIES.contains(&key)
}

#[derive(Deserialize)]
struct PacketProbe {
    #[serde(default)]
    streams: Vec<StreamInfo>,
    #[serde(default)]
    packets: Vec<Packet>,
}

#[derive(Deserialize)]
struct StreamInfo {
    codec_name: Option<String>,
    time_base: Option<String>,
}

#[derive(Deserialize)]
struct Packet {
    pts: Option<i64>,
    duration: Option<i64>,
}

/// One stream's codec, time base and packets (pts, duration).
struct Stream {
    codec: String,
    time_base: (i64, i64),
    packets: Vec<(i64, i64)>,
}

impl Stream {
    fn seconds(&self, ticks: i64) -> f64 {
        ticks as f64 * self.time_base.0 as f64 / self.time_base.1.max(1) as f64
    }

    /// Where the stream ends, in seconds: its last packet's end.
    fn end(&self) -> f64 {
        self.packets.iter().map(|(pts, duration)| pts + duration).max().map_or(0.0, |t| self.seconds(t))
    }
}

async fn probe(ffprobe: &Path, file: &Path, stream: &str) -> Result<Option<Stream>, String> {
    let output = Command::new(ffprobe)
        .args(["-v", "error", "-select_streams", stream, "-show_entries"])
        .arg("stream=codec_name,time_base:packet=pts,duration")
        .args(["-of", "json"])
        .arg(file)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", ffprobe.display()))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} does not open: {}", file.display(), text.lines().next().unwrap_or("ffprobe failed")));
    }
    let probe: PacketProbe =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))?;
    let Some(info) = probe.streams.into_iter().next() else { return Ok(None) };
    let time_base = info
        .time_base
        .as_deref()
        .and_then(|t| t.split_once('/'))
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
        .ok_or("the stream's time base is unknown")?;
    let packets = probe.packets.iter().filter_map(|p| Some((p.pts?, p.duration.unwrap_or(0)))).collect();
    Ok(Some(Stream { codec: info.codec_name.unwrap_or_default(), time_base, packets }))
}

fn size_of(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

/// A chunk holds exactly its range's frames (and its pre-roll frame), and no audio is needed.
pub async fn verify_chunk(ffprobe: &Path, file: &Path, task: &Task, vcodec: &str) -> Result<RenderFacts, String> {
    let video = probe(ffprobe, file, "v:0").await?.ok_or("the chunk has no video stream")?;
    let frames = video.packets.len() as u64;
    let pre_roll = chunk_start::pre_roll(task, vcodec);
    if frames != task.frames() + pre_roll {
        return Err(format!(
            "the chunk has {frames} frames; frames {}-{} are {}",
            task.first - pre_roll,
            task.last,
            task.frames() + pre_roll
        ));
    }
    Ok(facts(frames, video.end(), video.codec, None, file))
}

/// The audio pass lasts as long as the project, within one video frame.
pub async fn verify_audio(ffprobe: &Path, file: &Path, task: &Task) -> Result<RenderFacts, String> {
    let audio = probe(ffprobe, file, "a:0").await?.ok_or("the audio pass has no audio stream")?;
    let want = task.frames() as f64 * f64::from(task.fps_den) / f64::from(task.fps_num.max(1));
    let frame = f64::from(task.fps_den) / f64::from(task.fps_num.max(1));
    let got = audio.end();
    if (got - want).abs() > frame {
        return Err(format!("the audio pass lasts {got:.3} s; the project lasts {want:.3} s"));
    }
    Ok(facts(0, got, String::new(), Some(audio.codec), file))
}

/// The joined file: the project's frame count, uniform timestamps, and audio as long as the video within one
/// audio frame.
pub async fn verify_join(ffprobe: &Path, file: &Path, task: &Task, with_audio: bool) -> Result<RenderFacts, String> {
    let video = probe(ffprobe, file, "v:0").await?.ok_or("the joined file has no video stream")?;
    let frames = video.packets.len() as u64;
    if frames != task.frames() {
        return Err(format!("the joined file has {frames} frames, the project has {}", task.frames()));
    }
    let mut pts: Vec<i64> = video.packets.iter().map(|p| p.0).collect();
    pts.sort_unstable();
    let steps: Vec<i64> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    if let (Some(low), Some(high)) = (steps.iter().min(), steps.iter().max()) {
        // One tick of rounding is the container's (Matroska counts milliseconds), not a glitch at a join.
        if high - low > 1 {
            let at = steps.iter().position(|s| s == high).unwrap_or(0) + 1;
            return Err(format!(
                "the joined file's timestamps are not uniform: frame {at} comes {high} ticks after the one before, \
                 others {low}"
            ));
        }
    }
    let video_end = frames as f64 * f64::from(task.fps_den) / f64::from(task.fps_num.max(1));
    let audio = if with_audio {
        let audio = probe(ffprobe, file, "a:0").await?.ok_or("the joined file has no audio stream")?;
        let longest = audio.packets.iter().map(|p| p.1).max().unwrap_or(0);
        let (audio_end, one_frame) = (audio.end(), audio.seconds(longest).max(0.001));
        if (audio_end - video_end).abs() > one_frame {
            return Err(format!(
                "the joined file's audio lasts {audio_end:.3} s and its video {video_end:.3} s: more than one audio \
                 frame ({one_frame:.3} s) apart"
            ));
        }
        Some(audio.codec)
    } else {
        None
    };
    Ok(facts(frames, video_end, video.codec, audio, file))
}

fn facts(frames: u64, seconds: f64, video: String, audio: Option<String>, file: &Path) -> RenderFacts {
    RenderFacts {
        frames,
        duration_seconds: seconds,
        video_codec: video,
        audio_codec: audio,
        size_bytes: size_of(file),
        dropped_filters: Vec::new(),
        streams: Default::default(),
    }
}

/// The ffconcat list of a join: each chunk with its exact duration, the chunks after the first from their second
/// frame when they were pre-rolled ([`chunk_start`]).
pub fn concat_list(task: &Task, vcodec: &str) -> String {
    let mut list = String::from("ffconcat version 1.0\n");
    for (n, input) in task.inputs.iter().filter(|i| i.frames > 0).enumerate() {
        let seconds = input.frames as f64 * f64::from(task.fps_den) / f64::from(task.fps_num.max(1));
        // ffconcat quotes with single quotes; a quote inside is written '\''.
        list.push_str(&format!("file '{}'\n", input.path.replace('\'', "'\\''")));
        if n > 0 && chunk_start::can_pre_roll(vcodec) {
            list.push_str(&chunk_start::inpoint(task.fps_num, task.fps_den));
        }
        list.push_str(&format!("duration {seconds:.6}\n"));
    }
    list
}

/// Joins the chunks and the audio pass into `partial` and verifies it.
pub async fn join(
    config: &RunnerConfig,
    job: &MeltJob,
    task: &Task,
    partial: &Path,
    cancel: &mut oneshot::Receiver<()>,
) -> Result<RenderFacts, Outcome> {
    let failed = |reason: String| Outcome::Failed { reason, log_tail: String::new() };
    if task.inputs.len() > MAX_TASK_INPUTS {
        return Err(failed(format!("a join names {} inputs; the limit is {MAX_TASK_INPUTS}", task.inputs.len())));
    }
    let inputs: Vec<String> = task.inputs.iter().map(|i| i.path.clone()).collect();
    let checked = tokio::task::spawn_blocking(move || inputs.iter().try_for_each(|path| check_input(path))).await;
    checked.map_err(|e| failed(format!("checking the join's inputs failed: {e}")))?.map_err(failed)?;
    let (ffprobe, work_dir) = (&config.ffprobe, &config.work_dir);
    let list = work_dir.join(format!("job{}-{}.ffconcat", job.id, job.attempt));
    tokio::fs::write(&list, concat_list(task, &job.spec.encoding.vcodec))
        .await
        .map_err(|e| failed(format!("cannot write {}: {e}", list.display())))?;
    let audio = task.inputs.iter().find(|i| i.frames == 0);
    let mut command = Command::new(&config.ffmpeg);
    command.args(["-nostdin", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i"]).arg(&list);
    if let Some(audio) = audio {
        command.arg("-i").arg(&audio.path).args(["-map", "0:v:0", "-map", "1:a:0", "-c:a", &job.spec.encoding.acodec]);
        if let Some((_, rate)) = job.spec.encoding.extra.iter().find(|(k, _)| k == "ab") {
            command.args(["-b:a", rate]);
        }
    } else {
        command.args(["-map", "0:v:0"]);
    }
    command.args(["-c:v", "copy"]).arg(partial);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    process::tie_to_parent(&mut command);
    // Confined as melt is: the chunks' paths come from the job.
    let secrets = config.secrets();
    super::sandbox::confine(&mut command, &secrets).map_err(failed)?;
    let child = command.spawn().map_err(|e| failed(format!("cannot start ffmpeg: {e}")))?;
    let pid = child.id().unwrap_or(0);
    let output = tokio::select! {
        output = child.wait_with_output() => output,
        _ = &mut *cancel => {
            process::kill_group(pid);
            let _ = tokio::fs::remove_file(&list).await;
            return Err(Outcome::Cancelled);
        }
    };
    let _ = tokio::fs::remove_file(&list).await;
    let output = output.map_err(|e| failed(format!("ffmpeg could not be waited for: {e}")))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        return Err(Outcome::Failed {
            reason: format!("the join failed: ffmpeg exited with {}", output.status),
            log_tail: text.lines().rev().take(20).collect::<Vec<_>>().join("\n"),
        });
    }
    verify_join(ffprobe, partial, task, audio.is_some()).await.map_err(failed)
}

/// A join reads only what the split's tasks put in place: a regular file (not a link) carrying the farm's mark.
/// Blocking file access.
pub(super) fn check_input(path: &str) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Err(format!("the join cannot see {path} (shared storage?)")),
        Ok(meta) if !meta.file_type().is_file() => Err(format!("the join's input {path} is not a regular file")),
        Ok(_) if output_files::mark_of(Path::new(path)).is_none() => Err(format!(
            "the join's input {path} was not rendered by this farm (it has no {} mark)",
            output_files::MARK
        )),
        Ok(_) => Ok(()),
    }
}

/// Removes a split's chunk and audio files (after its join was put in place, or for a cleanup task): only files
/// the farm marked, never through a link, so a task naming any other file removes nothing.
pub async fn remove_inputs(task: &Task) {
    let inputs: Vec<String> = task.inputs.iter().take(MAX_TASK_INPUTS).map(|i| i.path.clone()).collect();
    let removed = tokio::task::spawn_blocking(move || {
        for path in inputs {
            if output_files::mark_of(Path::new(&path)).is_none() {
                if std::fs::symlink_metadata(&path).is_ok() {
                    tracing::warn!(file = %path, "a split's chunk file left alone: it is not the farm's");
                }
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(file = %path, "removed a split's chunk file"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %path, "cannot remove a split's chunk file: {e}"),
            }
        }
    });
    let _ = removed.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::{JobId, TaskInput, TaskKind};

    #[test]
    fn the_concat_list_gives_each_chunk_its_exact_duration() {
        let task = Task {
            parent: JobId(3),
            kind: TaskKind::Join,
            first: 0,
            last: 749,
            fps_num: 30000,
            fps_den: 1001,
            inputs: vec![
                TaskInput { path: "/r/.o.mkv.job3.chunk0.mkv".into(), frames: 300 },
                TaskInput { path: "/r/it's.mkv".into(), frames: 450 },
                TaskInput { path: "/r/.o.mkv.job3.audio.wav".into(), frames: 0 },
            ],
        };
        assert_eq!(
            concat_list(&task, "libx264"),
            "ffconcat version 1.0\nfile '/r/.o.mkv.job3.chunk0.mkv'\nduration 10.010000\nfile '/r/it'\\''s.mkv'\n\
             duration 15.015000\n"
        );
        assert_eq!(
            concat_list(&task, "ffv1"),
            "ffconcat version 1.0\nfile '/r/.o.mkv.job3.chunk0.mkv'\nduration 10.010000\nfile '/r/it'\\''s.mkv'\n\
             inpoint 0.033367\nduration 15.015000\n",
            "the second chunk starts a frame early, and its first frame is skipped"
        );
        let chunk = Task { kind: TaskKind::Chunk, first: 300, last: 749, ..task };
        assert_eq!(melt_properties(&chunk, "libx264"), ["in=300", "out=749", "an=1", "audio_off=1"]);
        assert_eq!(melt_properties(&chunk, "ffv1"), ["in=299", "out=749", "g=1", "an=1", "audio_off=1"]);
    }
}
