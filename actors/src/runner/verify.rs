//! After melt: is the file what the project asked for? melt's exit status alone says little (it exits 0 for missing
//! media, unknown services and unknown codecs), so its output is scanned for fatal messages and the file is probed.

use super::mp4_index;
use crate::presets;
use distencode_wire::job::{Encoding, RenderFacts, StreamDetails};
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

/// What ffprobe says of a file.
#[derive(Deserialize)]
pub(super) struct Probe {
    #[serde(default)]
    pub streams: Vec<ProbeStream>,
    pub format: Option<ProbeFormat>,
}

/// What ffprobe says of one stream.
#[derive(Deserialize)]
pub(super) struct ProbeStream {
    pub codec_type: Option<String>,
    pub codec_name: Option<String>,
    pub nb_frames: Option<String>,
    pub pix_fmt: Option<String>,
    pub sample_rate: Option<String>,
    pub duration: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub r_frame_rate: Option<String>,
    pub channels: Option<u32>,
    pub field_order: Option<String>,
    pub nb_read_packets: Option<String>,
}

/// The entries of a probe.
pub(super) const PROBE_ENTRIES: &str = "stream=codec_type,codec_name,nb_frames,pix_fmt,sample_rate,duration,width,\
                                        height,r_frame_rate,channels,field_order:format=duration,size";

/// What a rendered file must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The project's length in frames.
    pub frames: u64,
    /// The project's length in seconds.
    pub seconds: f64,
    /// The picture, or `None` for an audio-only format (then no video stream may be there).
    pub video: Option<ExpectedStream>,
    /// The sound, when there must be some.
    pub audio: Option<ExpectedStream>,
    /// The picture's width and height: the project profile's, or what the job's `width` and `height` scale it to.
    /// `None` when the profile gives no size (a profile named only by preset) or there is no picture.
    pub size: Option<(u32, u32)>,
    /// The frame rate (num, den) the video stream must have; `None` where the format keeps none (GIF, images).
    pub frame_rate: Option<(u32, u32)>,
    /// The scan the video must have.
    pub field_order: FieldOrder,
    /// Only ffprobe can tell (the job asks for a colour range: full-range pictures are `yuvj...` to ffprobe).
    pub needs_ffprobe: bool,
}

/// What an output's field order must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    /// Not interlaced: the profile is progressive and the job asked for nothing else.
    Progressive,
    /// The one ffprobe must report, `tt` or `bb`: the job asked for interlaced output (`progressive=0`, and
    /// `top_field_first=1` for `tt`; melt's default is the bottom field first).
    Asked(&'static str),
    /// Not checked: the profile does not say it is progressive, and the job asked for nothing.
    Unchecked,
}

/// One stream a file must have.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedStream {
    /// The codec ffprobe must name, where the encoder's codec is known.
    pub codec: Option<String>,
    /// The pixel format ffprobe must name, where the job asked for one.
    pub pix_fmt: Option<String>,
}

impl Expected {
    /// What a render of `frames` frames at `fps_num/fps_den` with `encoding` must give; `has_audio` says whether
    /// the project makes any sound.
    pub fn for_render(encoding: &Encoding, frames: u64, fps_num: u32, fps_den: u32, has_audio: bool) -> Self {
        let seconds = if fps_num == 0 { 0.0 } else { frames as f64 * f64::from(fps_den) / f64::from(fps_num) };
        let asked = |key: &str| encoding.extra.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let video = (encoding.vcodec != "none").then(|| ExpectedStream {
            codec: presets::codec_of(&encoding.vcodec).map(String::from),
            pix_fmt: asked("pix_fmt").map(|p| presets::probed_pix_fmt(&encoding.vcodec, p)),
        });
        // An audio-only format always has its sound (silence, for a project without any).
        let wants_audio = encoding.acodec != "none" && (has_audio || video.is_none());
        let audio = wants_audio
            .then(|| ExpectedStream { codec: presets::codec_of(&encoding.acodec).map(String::from), pix_fmt: None });
        let field_order = match asked("progressive") {
            Some("0") => FieldOrder::Asked(if asked("top_field_first") == Some("1") { "tt" } else { "bb" }),
            Some("1") => FieldOrder::Progressive,
            _ => FieldOrder::Unchecked,
        };
        let needs_ffprobe = asked("color_range").is_some();
        Self { frames, seconds, video, audio, size: None, frame_rate: None, field_order, needs_ffprobe }
    }

    /// The picture the project's profile gives, and its frame rate, must be the output's (unless the job's
    /// encoding scales it with `width` and `height`).
    pub fn with_profile(
        mut self,
        encoding: &Encoding,
        picture: Option<distencode_mlt::Picture>,
        rate: (u32, u32),
    ) -> Self {
        let Some(video) = &self.video else { return self };
        let asked = |key: &str| encoding.extra.iter().rev().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok());
        self.size = match (asked("width"), asked("height")) {
            (Some(width), Some(height)) => Some((width, height)),
            _ => picture.map(|p| (p.width, p.height)),
        };
        // GIF keeps each frame's delay in hundredths of a second, not a rate.
        self.frame_rate = (video.codec.as_deref() != Some("gif")).then_some(rate);
        if self.field_order == FieldOrder::Unchecked && picture.is_some_and(|p| p.progressive == Some(true)) {
            self.field_order = FieldOrder::Progressive;
        }
        self
    }
}

/// Samples per frame of an audio codec, plus the priming samples its encoder adds at the start (which ffprobe
/// counts in the duration): the most an exact render's duration may differ from the project's.
fn audio_slack_samples(codec: &str) -> u32 {
    match codec {
        "aac" => 1024 + 1024,
        // LAME's encoder delay and padding.
        "mp3" => 1152 + 1105,
        // Opus's pre-skip at 48 kHz.
        "opus" => 960 + 312,
        "ac3" => 1536 + 256,
        "mp2" => 1152,
        "vorbis" => 2048,
        "flac" => 4608,
        pcm if pcm.starts_with("pcm_") => 1,
        _ => 4608,
    }
}

/// What ffprobe says of the container.
#[derive(Deserialize)]
pub(super) struct ProbeFormat {
    pub duration: Option<String>,
    pub size: Option<String>,
}

/// Probes `file` with ffprobe and checks it against what the render should give.
pub async fn verify_output(ffprobe: &Path, file: &Path, expected: &Expected) -> Result<RenderFacts, String> {
    if let Some(facts) = in_process(file, expected).await {
        return Ok(facts);
    }
    // Containers without a frame count in their header: the packets are counted in the same run.
    let counted = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PACKETS_COUNTED.contains(&e.to_ascii_lowercase().as_str()));
    let stdout = if counted {
        let entries = PROBE_ENTRIES.replacen("field_order", "field_order,nb_read_packets", 1);
        run_ffprobe(ffprobe, file, &["-count_packets", "-show_entries", &entries]).await?
    } else {
        run_ffprobe(ffprobe, file, &["-show_entries", PROBE_ENTRIES]).await?
    };
    let mut probe: Probe = serde_json::from_slice(&stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))?;
    let video = probe.streams.iter_mut().find(|s| s.codec_type.as_deref() == Some("video"));
    if let Some(video) = video.filter(|v| v.nb_frames.is_none() && expected.video.is_some()) {
        if let Some(packets) = video.nb_read_packets.take() {
            video.nb_frames = Some(packets);
            return facts_from_probe(probe, expected);
        }
        // WebM, Matroska and some MOV files carry no frame count: count the video packets instead (a demux, no
        // decode; a packet is one frame, VP9's hidden frames travel in the same packet as the frame they precede).
        video.nb_frames = Some(count_video_packets(ffprobe, file).await?.to_string());
    }
    facts_from_probe(probe, expected)
}

/// Extensions of containers that keep no frame count (Matroska, WebM, MPEG program and transport streams).
const PACKETS_COUNTED: &[&str] = &["mkv", "webm", "mpg", "mpeg", "vob", "ts"];

/// The verdict on `file` read in process ([`mp4_index`]), when that settles it: a video render whose `moov` passes
/// every check. Anything else (another container, a file that does not read, a check that fails, a field order
/// or colour range only ffprobe can tell) is left to ffprobe, whose answer is the one a refusal gives.
async fn in_process(file: &Path, expected: &Expected) -> Option<RenderFacts> {
    expected.video.as_ref()?;
    if matches!(expected.field_order, FieldOrder::Asked(_)) || expected.needs_ffprobe {
        return None;
    }
    let path = file.to_path_buf();
    let movie = tokio::task::spawn_blocking(move || mp4_index::read(&path)).await.ok()??;
    facts_from_probe(movie.as_probe(), expected).ok()
}

/// Runs ffprobe quietly on `file` with `args`, JSON out; a file it cannot open is an error naming ffprobe's reason.
pub(super) async fn run_ffprobe(ffprobe: &Path, file: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new(ffprobe)
        .args(["-v", "error"])
        .args(args)
        .args(["-of", "json"])
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
    Ok(output.stdout)
}

#[derive(Deserialize)]
struct PacketCount {
    #[serde(default)]
    streams: Vec<PacketCountStream>,
}

#[derive(Deserialize)]
struct PacketCountStream {
    nb_read_packets: Option<String>,
}

/// How many packets the first video stream of `file` holds, read to its end.
async fn count_video_packets(ffprobe: &Path, file: &Path) -> Result<u64, String> {
    let args = ["-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets"];
    let stdout = run_ffprobe(ffprobe, file, &args).await?;
    let counted: PacketCount =
        serde_json::from_slice(&stdout).map_err(|e| format!("unreadable ffprobe output: {e}"))?;
    counted
        .streams
        .first()
        .and_then(|s| s.nb_read_packets.as_deref()?.parse().ok())
        .ok_or_else(|| "the output's video packets could not be counted".to_string())
}

fn facts_from_probe(probe: Probe, expected: &Expected) -> Result<RenderFacts, String> {
    let stream = |kind: &str| probe.streams.iter().find(|s| s.codec_type.as_deref() == Some(kind));
    let audio = stream("audio");
    if expected.audio.is_some() && audio.is_none() {
        return Err("the output has no audio stream, but the project has audio (unknown audio codec?)".into());
    }
    if let (Some(want), Some(audio)) = (&expected.audio, audio) {
        check_codec("audio", want, audio)?;
    }
    let format = probe.format.as_ref();
    let format_duration = format.and_then(|f| f.duration.as_deref()?.parse::<f64>().ok());
    let frames = match &expected.video {
        Some(want) => {
            let video = stream("video").ok_or("the output has no video stream")?;
            let frames: u64 =
                video.nb_frames.as_deref().and_then(|n| n.parse().ok()).ok_or("the output's frame count is unknown")?;
            if frames != expected.frames {
                return Err(format!("the output has {frames} frames, the project has {}", expected.frames));
            }
            check_codec("video", want, video)?;
            super::picture_checks::check_picture(expected, video)?;
            frames
        }
        None => {
            if stream("video").is_some() {
                return Err("the output has a video stream, but its format is audio only".into());
            }
            let audio = audio.ok_or("the output has no audio stream")?;
            check_audio_length(audio, format_duration, expected)?;
            expected.frames
        }
    };
    let codec = |s: Option<&ProbeStream>| s.and_then(|s| s.codec_name.clone());
    Ok(RenderFacts {
        frames,
        duration_seconds: format_duration.unwrap_or(0.0),
        video_codec: codec(stream("video")).unwrap_or_else(|| "none".into()),
        audio_codec: codec(audio),
        size_bytes: format.and_then(|f| f.size.as_deref()?.parse().ok()).unwrap_or(0),
        dropped_filters: Vec::new(),
        streams: StreamDetails {
            width: stream("video").and_then(|s| s.width),
            height: stream("video").and_then(|s| s.height),
            pix_fmt: stream("video").and_then(|s| s.pix_fmt.clone()),
            frame_rate: stream("video").and_then(|s| s.r_frame_rate.clone()),
            sample_rate: audio.and_then(|s| s.sample_rate.as_deref()?.parse().ok()),
            channels: audio.and_then(|s| s.channels),
        },
    })
}

/// The stream's codec and pixel format are the ones asked for.
pub(super) fn check_codec(kind: &str, want: &ExpectedStream, got: &ProbeStream) -> Result<(), String> {
    let name = got.codec_name.as_deref().unwrap_or("unknown");
    if let Some(codec) = want.codec.as_deref().filter(|c| *c != name) {
        return Err(format!("the output's {kind} codec is {name}, the job asked for {codec}"));
    }
    let pix_fmt = got.pix_fmt.as_deref().unwrap_or("unknown");
    if let Some(asked) = want.pix_fmt.as_deref().filter(|p| *p != pix_fmt) {
        return Err(format!("the output's pixel format is {pix_fmt}, the job asked for {asked}"));
    }
    Ok(())
}

/// An audio-only file lasts as long as the project, within one audio frame of its codec (and its priming).
fn check_audio_length(audio: &ProbeStream, format_duration: Option<f64>, expected: &Expected) -> Result<(), String> {
    let seconds = audio
        .duration
        .as_deref()
        .and_then(|d| d.parse::<f64>().ok())
        .or(format_duration)
        .ok_or("the output's duration is unknown")?;
    let rate: f64 = audio.sample_rate.as_deref().and_then(|r| r.parse().ok()).filter(|r| *r > 0.0).unwrap_or(48000.0);
    let codec = audio.codec_name.as_deref().unwrap_or("");
    let slack = f64::from(audio_slack_samples(codec)) / rate;
    if (seconds - expected.seconds).abs() > slack {
        return Err(format!(
            "the output lasts {seconds:.3} s, the project {:.3} s (at most {slack:.3} s apart for {codec})",
            expected.seconds
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    fn video(frames: u64, audio: bool) -> Expected {
        Expected::for_render(&Encoding::default(), frames, 25, 1, audio)
    }

    const GOOD: &str = r#"{"streams":[{"codec_name":"h264","codec_type":"video","nb_frames":"50"},
        {"codec_name":"aac","codec_type":"audio","nb_frames":"95"}],"format":{"duration":"2.006000","size":"37355"}}"#;

    #[test]
    fn accepts_the_expected_file() {
        let facts = facts_from_probe(probe(GOOD), &video(50, true)).unwrap();
        assert_eq!(facts.frames, 50);
        assert_eq!(facts.video_codec, "h264");
        assert_eq!(facts.audio_codec.as_deref(), Some("aac"));
        assert_eq!(facts.size_bytes, 37355);
    }

    #[test]
    fn refuses_a_short_file() {
        assert_eq!(
            facts_from_probe(probe(GOOD), &video(75, true)).unwrap_err(),
            "the output has 50 frames, the project has 75"
        );
    }

    #[test]
    fn refuses_missing_streams() {
        let video_only = r#"{"streams":[{"codec_name":"h264","codec_type":"video","nb_frames":"50"}],"format":{}}"#;
        assert!(facts_from_probe(probe(video_only), &video(50, true)).unwrap_err().contains("no audio stream"));
        assert!(facts_from_probe(probe(video_only), &video(50, false)).is_ok());
        assert_eq!(
            facts_from_probe(probe(r#"{"streams":[]}"#), &video(50, false)).unwrap_err(),
            "the output has no video stream"
        );
    }

    fn preset(name: &str, frames: u64) -> Expected {
        Expected::for_render(&presets::find(name).unwrap().encoding(), frames, 25, 1, true)
    }

    #[test]
    fn audio_only_lasts_the_project_within_one_audio_frame() {
        let mp3 = |duration: &str| {
            probe(&format!(
                r#"{{"streams":[{{"codec_name":"mp3","codec_type":"audio","sample_rate":"48000","duration":"{duration}"}}],
                "format":{{"duration":"{duration}","size":"1000"}}}}"#
            ))
        };
        // LAME's delay and padding: a 1 s project gives 1.032 s.
        let facts = facts_from_probe(mp3("1.032000"), &preset("mp3", 25)).unwrap();
        assert_eq!((facts.frames, facts.video_codec.as_str(), facts.audio_codec.as_deref()), (25, "none", Some("mp3")));
        assert_eq!(
            facts_from_probe(mp3("0.900000"), &preset("mp3", 25)).unwrap_err(),
            "the output lasts 0.900 s, the project 1.000 s (at most 0.047 s apart for mp3)"
        );
        assert!(facts_from_probe(mp3("1.200000"), &preset("mp3", 25)).is_err(), "too long as well");
        let wav = r#"{"streams":[{"codec_name":"pcm_s16le","codec_type":"audio","sample_rate":"48000","duration":"0.960000"}],"format":{}}"#;
        assert!(facts_from_probe(probe(wav), &preset("wav", 25)).unwrap_err().contains("lasts 0.960 s"));
        let with_picture = r#"{"streams":[{"codec_name":"png","codec_type":"video"},{"codec_name":"mp3","codec_type":"audio","duration":"1.0"}]}"#;
        assert_eq!(
            facts_from_probe(probe(with_picture), &preset("mp3", 25)).unwrap_err(),
            "the output has a video stream, but its format is audio only"
        );
        let silent =
            r#"{"streams":[{"codec_name":"flac","codec_type":"audio","sample_rate":"48000","duration":"1.056"}]}"#;
        let no_sound = Expected::for_render(&presets::find("flac").unwrap().encoding(), 25, 25, 1, false);
        assert!(no_sound.audio.is_some(), "an audio-only format always has its sound");
        assert!(facts_from_probe(probe(silent), &no_sound).is_ok());
    }

    #[test]
    fn codec_and_pixel_format_are_the_ones_asked_for() {
        let prores = |pix_fmt: &str, codec: &str| {
            probe(&format!(
                r#"{{"streams":[{{"codec_name":"{codec}","codec_type":"video","nb_frames":"25","pix_fmt":"{pix_fmt}"}},
                {{"codec_name":"pcm_s16le","codec_type":"audio"}}]}}"#
            ))
        };
        assert!(facts_from_probe(prores("yuva444p12le", "prores"), &preset("prores-4444", 25)).is_ok());
        assert_eq!(
            facts_from_probe(prores("yuv422p10le", "prores"), &preset("prores-4444", 25)).unwrap_err(),
            "the output's pixel format is yuv422p10le, the job asked for yuva444p12le"
        );
        assert_eq!(
            facts_from_probe(prores("yuv422p10le", "dnxhd"), &preset("prores-422", 25)).unwrap_err(),
            "the output's video codec is dnxhd, the job asked for prores"
        );
        let gif = r#"{"streams":[{"codec_name":"gif","codec_type":"video","nb_frames":"25","pix_fmt":"bgra"}]}"#;
        assert!(facts_from_probe(probe(gif), &preset("gif", 25)).is_ok(), "a silent format expects no sound");
    }

    /// A real WebM (no frame count in its header) is counted by its packets; cut short, it is refused.
    #[tokio::test]
    async fn webm_is_counted_by_packets_and_a_truncated_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clip.webm");
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2"])
            .args(["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-an"])
            .arg(&file)
            .status()
            .unwrap();
        assert!(made.success());
        let expected = Expected::for_render(&presets::find("vp9-webm").unwrap().encoding(), 50, 25, 1, false);
        let ffprobe = Path::new("ffprobe");
        let facts = verify_output(ffprobe, &file, &expected).await.unwrap();
        assert_eq!((facts.frames, facts.video_codec.as_str()), (50, "vp9"));
        let bytes = std::fs::read(&file).unwrap();
        let cut = dir.path().join("cut.webm");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let refused = verify_output(ffprobe, &cut, &expected).await.unwrap_err();
        assert!(
            refused.starts_with("the output has ") && refused.ends_with(" frames, the project has 50"),
            "{refused}"
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
