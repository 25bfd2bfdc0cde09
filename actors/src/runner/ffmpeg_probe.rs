//! What ffprobe says of an ffmpeg job's files: its inputs before it runs (their length is the job's progress total
//! and the output's expected length), and its output after (does it open, are its streams the ones asked for,
//! does it last as long as its inputs, or `-t`/`-to`, within one frame).

use crate::presets;
use distencode_wire::ffmpeg_args::Asked;
use distencode_wire::job::{RenderFacts, StreamDetails};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize, Default)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    nb_frames: Option<String>,
    duration: Option<String>,
}

#[derive(Deserialize)]
struct Format {
    duration: Option<String>,
    size: Option<String>,
}

/// The arguments that make ffprobe print what is read here, reading only files.
fn probe_args(file: &Path) -> Vec<String> {
    ["-v", "error", "-protocol_whitelist", "file,pipe", "-print_format", "json", "-show_format", "-show_streams"]
        .map(String::from)
        .into_iter()
        .chain([format!("file:{}", file.display())])
        .collect()
}

fn parse(stdout: &[u8]) -> Result<Probe, String> {
    serde_json::from_slice(stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))
}

fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).lines().next().unwrap_or("ffprobe failed").to_string()
}

/// What the inputs of a job hold, together.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// The longest input's length, in seconds.
    pub longest: f64,
    /// The shortest input's length, in seconds.
    pub shortest: f64,
    /// Whether any input has pictures.
    pub video: bool,
    /// Whether any input has sound.
    pub audio: bool,
}

/// Probes each input (blocking: run it off the actor's thread); an input ffprobe cannot open is refused by name.
pub fn probe_inputs(ffprobe: &Path, inputs: &[String]) -> Result<Inputs, String> {
    let mut all = Inputs { longest: 0.0, shortest: f64::INFINITY, video: false, audio: false };
    for input in inputs {
        let output = std::process::Command::new(ffprobe)
            .args(probe_args(Path::new(input)))
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", ffprobe.display()))?;
        if !output.status.success() {
            return Err(format!("the input {input} does not open: {}", first_line(&output.stderr)));
        }
        let probe = parse(&output.stdout)?;
        let seconds = duration(&probe).ok_or_else(|| format!("the input {input} has no known length"))?;
        all.longest = all.longest.max(seconds);
        all.shortest = all.shortest.min(seconds);
        all.video |= probe.streams.iter().any(|s| s.codec_type.as_deref() == Some("video"));
        all.audio |= probe.streams.iter().any(|s| s.codec_type.as_deref() == Some("audio"));
    }
    Ok(all)
}

/// A file's length: its container's, or its longest stream's.
fn duration(probe: &Probe) -> Option<f64> {
    let format = probe.format.as_ref().and_then(|f| f.duration.as_deref()?.parse::<f64>().ok());
    let streams = probe.streams.iter().filter_map(|s| s.duration.as_deref()?.parse::<f64>().ok()).reduce(f64::max);
    format.or(streams).filter(|d| d.is_finite() && *d >= 0.0)
}

/// What an ffmpeg job's output must be.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    /// Its length, in seconds.
    pub seconds: f64,
    /// A video stream, with the codec ffprobe must name when the encoder is known; `None`: no video stream.
    pub video: Option<Option<&'static str>>,
    /// An audio stream, likewise.
    pub audio: Option<Option<&'static str>>,
}

impl Expected {
    /// What `inputs` transcoded with `asked` (and the job's encoders `vcodec`, `acodec`; empty when not named) give.
    pub fn of(inputs: &Inputs, asked: &Asked, vcodec: &str, acodec: &str) -> Self {
        let codec = |encoder: &str| presets::codec_of(encoder);
        let video = (inputs.video && !asked.no_video && vcodec != "none").then(|| codec(vcodec));
        let audio = (inputs.audio && !asked.no_audio && acodec != "none").then(|| codec(acodec));
        Self { seconds: asked.expected_seconds(inputs.longest, inputs.shortest), video, audio }
    }
}

/// A rate as ffprobe gives it (`25/1`, `30000/1001`), in frames a second.
fn rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = text?.split_once('/')?;
    let (num, den) = (num.parse::<f64>().ok()?, den.parse::<f64>().ok()?);
    (num > 0.0 && den > 0.0).then(|| num / den)
}

/// Probes the output and checks it against `expected`.
pub async fn verify(ffprobe: &Path, file: &Path, expected: &Expected) -> Result<RenderFacts, String> {
    let output = tokio::process::Command::new(ffprobe)
        .args(probe_args(file))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", ffprobe.display()))?;
    if !output.status.success() {
        return Err(format!("the output does not open: {}", first_line(&output.stderr)));
    }
    check(&parse(&output.stdout)?, expected)
}

fn check(probe: &Probe, expected: &Expected) -> Result<RenderFacts, String> {
    let stream = |kind: &str| probe.streams.iter().find(|s| s.codec_type.as_deref() == Some(kind));
    let (video, audio) = (stream("video"), stream("audio"));
    for (kind, want, have) in [("video", expected.video, video), ("audio", expected.audio, audio)] {
        match (want, have) {
            (Some(_), None) => return Err(format!("the output has no {kind} stream, but its inputs have one")),
            (None, Some(_)) => return Err(format!("the output has a stream of {kind}, but none was asked for")),
            (Some(Some(codec)), Some(have)) if have.codec_name.as_deref() != Some(codec) => {
                return Err(format!(
                    "the output's {kind} codec is {}; {codec} was asked for",
                    have.codec_name.as_deref().unwrap_or("unknown")
                ))
            }
            _ => {}
        }
    }
    let seconds = duration(probe).ok_or("the output's length is unknown")?;
    let fps = video.and_then(|v| rate(v.avg_frame_rate.as_deref()).or_else(|| rate(v.r_frame_rate.as_deref())));
    let sample_rate = audio.and_then(|a| a.sample_rate.as_deref()?.parse::<f64>().ok()).filter(|r| *r > 0.0);
    // One frame: of the picture, or of the sound (an AAC frame and its priming) when there is no picture.
    let frame = match (fps, sample_rate) {
        (Some(fps), _) => 1.0 / fps,
        (None, Some(rate)) => 2048.0 / rate,
        (None, None) => 0.05,
    };
    if (seconds - expected.seconds).abs() > frame + 0.001 {
        return Err(format!(
            "the output lasts {seconds:.3} s; its inputs give {:.3} s (within one frame, {frame:.3} s)",
            expected.seconds
        ));
    }
    let frames = video
        .and_then(|v| v.nb_frames.as_deref()?.parse().ok())
        .or_else(|| fps.map(|fps| (seconds * fps).round() as u64))
        .unwrap_or(0);
    let size_bytes = probe.format.as_ref().and_then(|f| f.size.as_deref()?.parse().ok()).unwrap_or(0);
    Ok(RenderFacts {
        frames,
        duration_seconds: seconds,
        video_codec: video.and_then(|v| v.codec_name.clone()).unwrap_or_else(|| "none".into()),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        size_bytes,
        dropped_filters: Vec::new(),
        streams: StreamDetails {
            width: video.and_then(|v| v.width),
            height: video.and_then(|v| v.height),
            pix_fmt: video.and_then(|v| v.pix_fmt.clone()),
            frame_rate: video.and_then(|v| v.r_frame_rate.clone()),
            sample_rate: sample_rate.map(|r| r as u32),
            channels: audio.and_then(|a| a.channels),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    const PROXY: &str = r#"{"streams":[
        {"codec_type":"video","codec_name":"h264","width":960,"height":540,"pix_fmt":"yuv420p",
         "r_frame_rate":"25/1","avg_frame_rate":"25/1","nb_frames":"50","duration":"2.000000"},
        {"codec_type":"audio","codec_name":"aac","sample_rate":"48000","channels":2,"duration":"2.021333"}],
        "format":{"duration":"2.021333","size":"123456"}}"#;

    fn inputs(seconds: f64) -> Inputs {
        Inputs { longest: seconds, shortest: seconds, video: true, audio: true }
    }

    #[test]
    fn a_proxy_of_the_inputs_length_with_its_streams_passes_with_its_facts() {
        let expected = Expected::of(&inputs(2.0), &Asked::default(), "libx264", "aac");
        let facts = check(&probe(PROXY), &expected).unwrap();
        assert_eq!((facts.frames, facts.video_codec.as_str(), facts.audio_codec.as_deref()), (50, "h264", Some("aac")));
        assert_eq!((facts.streams.width, facts.streams.height), (Some(960), Some(540)));
        assert_eq!(facts.size_bytes, 123_456);
    }

    #[test]
    fn a_short_output_a_missing_stream_or_another_codec_is_refused() {
        let long = Expected::of(&inputs(2.5), &Asked::default(), "libx264", "aac");
        assert_eq!(
            check(&probe(PROXY), &long).unwrap_err(),
            "the output lasts 2.021 s; its inputs give 2.500 s (within one frame, 0.040 s)"
        );
        let cut = Asked { duration: Some(2.0), ..Asked::default() };
        assert!(check(&probe(PROXY), &Expected::of(&inputs(10.0), &cut, "libx264", "aac")).is_ok());
        let hevc = Expected::of(&inputs(2.0), &Asked::default(), "libx265", "aac");
        assert_eq!(check(&probe(PROXY), &hevc).unwrap_err(), "the output's video codec is h264; hevc was asked for");
        let silent = Expected::of(&inputs(2.0), &Asked { no_audio: true, ..Asked::default() }, "libx264", "aac");
        assert_eq!(
            check(&probe(PROXY), &silent).unwrap_err(),
            "the output has a stream of audio, but none was asked for"
        );
        let video_only = probe(&PROXY.replace("\"audio\"", "\"data\""));
        let expected = Expected::of(&inputs(2.0), &Asked::default(), "libx264", "aac");
        assert_eq!(
            check(&video_only, &expected).unwrap_err(),
            "the output has no audio stream, but its inputs have one"
        );
    }
}
