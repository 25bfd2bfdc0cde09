//! After melt: is the file what the project asked for? melt's exit status alone says little (it exits 0 for missing
//! media, unknown services and unknown codecs), so its output is scanned for fatal messages and the file is probed.

use distencode_wire::job::RenderFacts;
use serde::Deserialize;
use std::path::Path;
use tokio::process::Command;

/// Messages melt prints for problems it then renders through anyway.
pub const FATAL_MESSAGES: &[&str] =
    &["failed to load", "Failed to load", "unrecognised - ignoring", "Could not", "error writing", "parse fatal"];

/// The first fatal message in melt's output, if any.
pub fn fatal_message(line: &str) -> Option<&'static str> {
    FATAL_MESSAGES.iter().copied().find(|m| line.contains(m))
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    nb_frames: Option<String>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
    size: Option<String>,
}

/// Probes `file` with ffprobe and checks it against what the project should give.
pub async fn verify_output(
    ffprobe: &Path,
    file: &Path,
    expected_frames: u64,
    expect_audio: bool,
) -> Result<RenderFacts, String> {
    let output = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,nb_frames:format=duration,size",
            "-of",
            "json",
        ])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", ffprobe.display()))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        return Err(format!("the output does not open: {}", text.lines().next().unwrap_or("ffprobe failed")));
    }
    let probe: Probe = serde_json::from_slice(&output.stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))?;
    facts_from_probe(probe, expected_frames, expect_audio)
}

fn facts_from_probe(probe: Probe, expected_frames: u64, expect_audio: bool) -> Result<RenderFacts, String> {
    let stream = |kind: &str| probe.streams.iter().find(|s| s.codec_type.as_deref() == Some(kind));
    let video = stream("video").ok_or("the output has no video stream")?;
    let audio = stream("audio");
    if expect_audio && audio.is_none() {
        return Err("the output has no audio stream, but the project has audio (unknown audio codec?)".into());
    }
    let frames: u64 =
        video.nb_frames.as_deref().and_then(|n| n.parse().ok()).ok_or("the output's frame count is unknown")?;
    if frames != expected_frames {
        return Err(format!("the output has {frames} frames, the project has {expected_frames}"));
    }
    let format = probe.format.as_ref();
    Ok(RenderFacts {
        frames,
        duration_seconds: format.and_then(|f| f.duration.as_deref()?.parse().ok()).unwrap_or(0.0),
        video_codec: video.codec_name.clone().unwrap_or_default(),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        size_bytes: format.and_then(|f| f.size.as_deref()?.parse().ok()).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    const GOOD: &str = r#"{"streams":[{"codec_name":"h264","codec_type":"video","nb_frames":"50"},
        {"codec_name":"aac","codec_type":"audio","nb_frames":"95"}],"format":{"duration":"2.006000","size":"37355"}}"#;

    #[test]
    fn accepts_the_expected_file() {
        let facts = facts_from_probe(probe(GOOD), 50, true).unwrap();
        assert_eq!(facts.frames, 50);
        assert_eq!(facts.video_codec, "h264");
        assert_eq!(facts.audio_codec.as_deref(), Some("aac"));
        assert_eq!(facts.size_bytes, 37355);
    }

    #[test]
    fn refuses_a_short_file() {
        assert_eq!(
            facts_from_probe(probe(GOOD), 75, true).unwrap_err(),
            "the output has 50 frames, the project has 75"
        );
    }

    #[test]
    fn refuses_missing_streams() {
        let video_only = r#"{"streams":[{"codec_name":"h264","codec_type":"video","nb_frames":"50"}],"format":{}}"#;
        assert!(facts_from_probe(probe(video_only), 50, true).unwrap_err().contains("no audio stream"));
        assert!(facts_from_probe(probe(video_only), 50, false).is_ok());
        assert_eq!(
            facts_from_probe(probe(r#"{"streams":[]}"#), 50, false).unwrap_err(),
            "the output has no video stream"
        );
    }

    #[test]
    fn spots_fatal_messages() {
        assert_eq!(fatal_message("[producer avformat] Failed to load \"/x.mp4\""), Some("Failed to load"));
        assert_eq!(
            fatal_message("[consumer avformat] audio codec nosuch unrecognised - ignoring"),
            Some("unrecognised - ignoring")
        );
        assert_eq!(fatal_message("Current Frame: 3, percentage: 6"), None);
    }
}
