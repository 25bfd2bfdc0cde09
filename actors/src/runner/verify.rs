//! After melt: is the file what the project asked for? melt's exit status alone says little (it exits 0 for missing
//! media, unknown services and unknown codecs), so its output is scanned for fatal messages and the file is probed.

use distencode_wire::job::RenderFacts;
use serde::Deserialize;
use std::path::Path;
use tokio::process::Command;

/// Messages melt 7.x prints for problems it then renders through anyway (it exits 0 all the same). Only messages
/// that mean a service did not load or the consumer could not write are listed; anything else (ffmpeg's decoder
/// chatter above all) is left to verification of streams and frames, which does not have to guess. Each pattern is
/// tested against the real message it must match and a real harmless one it must not (see the tests below).
pub const FATAL_MESSAGES: &[&str] = &[
    // producer_xml could not load a producer, chain, link, filter or transition.
    "[producer_xml] failed to load",
    // A LADSPA/LV2/VST2 plugin behind a filter or producer did not load.
    "failed to load plugin",
    // The `melt` producer could not load one of its arguments.
    "Failed to load \"",
    // A chain could not load its normalizing filters.
    "Failed to load normalizers",
    // The avformat consumer does not know a codec or format and leaves it out.
    "unrecognised - ignoring",
    // The avformat consumer could not open the file, write its header or allocate a stream.
    "[consumer avformat] Could not",
    // The avformat consumer could not write a frame or packet.
    "error writing",
    // The XML could not be parsed.
    "[producer_xml] parse fatal",
];

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
        dropped_filters: Vec::new(),
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

    /// Each pattern, a real line melt 7.12 or ffmpeg printed that it must match, and a real harmless line that
    /// looks alike and must not match.
    const REAL_MESSAGES: &[(&str, &str, &str)] = &[
        (
            "[producer_xml] failed to load",
            "[producer_xml] failed to load filter \"frei0r.alpha0ps_alphaspot\"",
            "[producer avformat] audio: total_streams 1 max_stream 1 total_channels 2 max_channels 2",
        ),
        ("failed to load plugin", "[filter ladspa] failed to load plugin 1408", "No LADSPA plugins were found!"),
        (
            "Failed to load \"",
            "Failed to load \"/media/missing.mp4\"",
            "[filter gpsgraphic] Failed to load background image: /home/u/map.png",
        ),
        (
            "Failed to load normalizers",
            "Failed to load normalizers from /usr/share/mlt-7/chain_normalizers.ini",
            "[filter gpsgraphic] Failed to load background image: /home/u/map.png",
        ),
        (
            "unrecognised - ignoring",
            "[consumer avformat] audio codec nosuchaudio unrecognised - ignoring",
            "[consumer avformat] audio codec aac chosen",
        ),
        (
            "[consumer avformat] Could not",
            "[consumer avformat] Could not open '/nonexistent/dir/o.mp4'",
            "[mp3float @ 0x7f97b400cd00] Could not update timestamps for skipped samples.",
        ),
        (
            "error writing",
            "[consumer avformat] error writing video frame: -28",
            "[mp4 @ 0x7f97c0000f40] Encoder did not produce proper pts, making some up.",
        ),
        (
            "[producer_xml] parse fatal",
            "[producer_xml] parse fatal: Premature end of data in tag mlt line 3\trow: 4\tcol: 1",
            "[mp4 @ 0x7f97c0000f40] Timestamps are unset in a packet for stream 1. This is deprecated and will stop \
             working in the future. Fix your code to set the timestamps properly",
        ),
    ];

    #[test]
    fn each_pattern_matches_its_real_message_and_not_a_harmless_one() {
        assert_eq!(REAL_MESSAGES.len(), FATAL_MESSAGES.len(), "every pattern has its messages");
        for (pattern, fatal, harmless) in REAL_MESSAGES {
            assert!(FATAL_MESSAGES.contains(pattern), "{pattern} is a listed pattern");
            assert!(fatal.contains(pattern), "{fatal:?} is an example of {pattern}");
            assert!(fatal_message(fatal).is_some(), "{fatal:?} is fatal");
            assert_eq!(fatal_message(harmless), None, "{harmless:?} is harmless");
        }
    }

    #[test]
    fn ffmpeg_decoder_chatter_is_not_fatal() {
        // A 600-frame Kdenlive project with MP3 music failed on this line before.
        let harmless = [
            "[mp3float @ 0x7f0b4800cd00] Could not update timestamps for skipped samples.",
            "[mp4 @ 0x7f97c0000f40] Encoder did not produce proper pts, making some up.",
            "[h264 @ 0x5581] Could not find ref with POC 12",
            "QStandardPaths: XDG_RUNTIME_DIR not set, defaulting to '/tmp/runtime-root'",
            "Check your LADSPA_PATH environment variable.",
            "Current Frame:          3, percentage:          6",
        ];
        for line in harmless {
            assert_eq!(fatal_message(line), None, "{line}");
        }
    }
}
