//! Which extra arguments an ffmpeg job may give ffmpeg (`job ffmpeg ... -- ARGS`), and what they ask for.
//!
//! The worker runs ffmpeg itself, with no shell: `-nostdin -y -hide_banner`, `-protocol_whitelist file,pipe` and
//! `-i` before each of the job's inputs, then these arguments, then the partial file it verifies. So the arguments
//! are output options of that one output, and must not name anything else: another input (`-i`, the `movie` and
//! `amovie` filter sources, `-filter_script`, `-attach`), another output (any word that is not an option's value,
//! `-dump_attachment`, `-vstats_file`, `-sdp_file`, `-passlogfile`), or a device or network format (`-f alsa`,
//! `-f rtp`, `-f tee`). ffmpeg's own options are read the way ffmpeg reads them: the few that take no value are
//! listed (from ffmpeg's option table, and their `-no` forms), every other option takes the next argument, so a
//! word left over is an output and is refused. Each refusal is one line naming the argument. The client checks
//! before it sends, the coordinator at submit, and the worker again before ffmpeg starts.

use crate::error::FfmpegArgRefusal;
use std::fmt::Write as _;

/// Extra arguments per job.
pub const MAX_FFMPEG_ARGS: usize = 256;
/// One extra argument, in bytes (a filter graph is the longest usual one).
pub const MAX_FFMPEG_ARG_BYTES: usize = 4096;
/// Inputs per job.
pub const MAX_FFMPEG_INPUTS: usize = 16;

/// ffmpeg's options that take no value (`OPT_BOOL` and the listing options); each also has a `-noNAME` form. A
/// name missing here would swallow the next argument as its value, so the list errs on the side of length: an
/// option wrongly listed here only makes its value a refused "second output".
const NO_VALUE: &[&str] = &[
    "y",
    "n",
    "ignore_unknown",
    "copy_unknown",
    "recast_media",
    "accurate_seek",
    "benchmark",
    "benchmark_all",
    "stdin",
    "dump",
    "hex",
    "re",
    "copyts",
    "start_at_zero",
    "shortest",
    "bitexact",
    "xerror",
    "copyinkf",
    "auto_conversion_filters",
    "stats",
    "debug_ts",
    "find_stream_info",
    "vn",
    "an",
    "sn",
    "dn",
    "psnr",
    "vstats",
    "qphist",
    "force_fps",
    "fix_sub_duration",
    "fix_sub_duration_heartbeat",
    "autorotate",
    "autoscale",
    "print_graphs",
    "hide_banner",
    "report",
    "L",
    "h",
    "?",
    "help",
    "version",
    "buildconf",
    "formats",
    "muxers",
    "demuxers",
    "devices",
    "codecs",
    "decoders",
    "encoders",
    "bsfs",
    "protocols",
    "filters",
    "pix_fmts",
    "layouts",
    "sample_fmts",
    "dispositions",
    "colors",
    "hwaccels",
];

/// Options refused outright, with why.
const REFUSED: &[(&str, &str)] = &[
    ("i", "inputs are given with --input"),
    ("filter_script", "reads a filter graph from a file the job does not list"),
    ("filter_complex_script", "reads a filter graph from a file the job does not list"),
    ("attach", "adds a file the job does not list"),
    ("dump_attachment", "writes a file beside the job's output"),
    ("vstats_file", "writes a file beside the job's output"),
    ("sdp_file", "writes a file beside the job's output"),
    ("passlogfile", "writes a file beside the job's output"),
    ("pass", "a pass of a two-pass encode needs files of the other pass"),
    ("fpre", "reads options from a file the job does not list"),
    ("progress", "the worker reads ffmpeg's progress itself"),
    ("stats_enc_pre", "writes a file beside the job's output"),
    ("stats_enc_post", "writes a file beside the job's output"),
    ("stats_mux_pre", "writes a file beside the job's output"),
    ("protocol_whitelist", "the worker sets which protocols ffmpeg may use"),
    ("protocol_blacklist", "the worker sets which protocols ffmpeg may use"),
];

/// `-f` formats refused: devices, network protocols, and muxers that write more than the one output.
const REFUSED_FORMATS: &[&str] = &[
    "lavfi",
    "alsa",
    "pulse",
    "oss",
    "sndio",
    "jack",
    "openal",
    "fbdev",
    "v4l2",
    "video4linux2",
    "x11grab",
    "xcbgrab",
    "kmsgrab",
    "dshow",
    "gdigrab",
    "vfwcap",
    "avfoundation",
    "audiotoolbox",
    "decklink",
    "iec61883",
    "dv1394",
    "libcdio",
    "libdc1394",
    "android_camera",
    "caca",
    "sdl",
    "sdl2",
    "opengl",
    "xv",
    "rtp",
    "rtp_mpegts",
    "rtsp",
    "sap",
    "rtmp",
    "srt",
    "udp",
    "tcp",
    "tee",
    "fifo",
    "fifo_test",
    "segment",
    "ssegment",
    "stream_segment",
    "hls",
    "dash",
    "smoothstreaming",
    "webm_chunk",
    "webm_dash_manifest",
    "image2",
    "image2pipe",
];

/// Filters refused in a filter graph: sources that read a file, and filters that load code or read commands.
const REFUSED_FILTERS: &[(&str, &str)] = &[
    ("movie", "reads a file the job does not list"),
    ("amovie", "reads a file the job does not list"),
    ("subtitles", "reads a file the job does not list"),
    ("ass", "reads a file the job does not list"),
    ("sendcmd", "reads commands from a file"),
    ("asendcmd", "reads commands from a file"),
    ("zmq", "takes commands from the network"),
    ("azmq", "takes commands from the network"),
    ("ladspa", "loads a plugin library"),
    ("lv2", "loads a plugin library"),
    ("frei0r", "loads a plugin library"),
    ("frei0r_src", "loads a plugin library"),
];

/// Options whose value is a filter graph.
const GRAPH_OPTIONS: &[&str] = &["vf", "af", "filter", "filter_complex", "lavfi"];

/// What the extra arguments ask of the output, as far as the worker's verification needs to know.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Asked {
    /// `-vn`: no video.
    pub no_video: bool,
    /// `-an`: no audio.
    pub no_audio: bool,
    /// `-shortest`: the output ends with its shortest input.
    pub shortest: bool,
    /// `-ss`, in seconds.
    pub start: Option<f64>,
    /// `-t`, in seconds.
    pub duration: Option<f64>,
    /// `-to`, in seconds.
    pub stop: Option<f64>,
    /// The video encoder asked for (`-c:v`, `-codec:v`, `-vcodec`).
    pub video_encoder: Option<String>,
    /// The audio encoder asked for (`-c:a`, `-codec:a`, `-acodec`).
    pub audio_encoder: Option<String>,
}

impl Asked {
    /// The output's length for inputs of `longest` and `shortest` seconds.
    pub fn expected_seconds(&self, longest: f64, shortest: f64) -> f64 {
        let full = if self.shortest { shortest } else { longest };
        let start = self.start.unwrap_or(0.0).max(0.0);
        let end = self.stop.map_or(full, |stop| stop.min(full));
        let length = (end - start).max(0.0);
        self.duration.map_or(length, |d| d.max(0.0).min(length))
    }
}

/// Checks the extra arguments and says what they ask for; the refusal is one line naming the argument.
pub fn check(args: &[String]) -> Result<Asked, FfmpegArgRefusal> {
    if args.len() > MAX_FFMPEG_ARGS {
        return Err(FfmpegArgRefusal::TooManyArgs { count: args.len(), limit: MAX_FFMPEG_ARGS });
    }
    if let Some(long) = args.iter().find(|a| a.len() > MAX_FFMPEG_ARG_BYTES) {
        let start = long.chars().take(40).collect();
        return Err(FfmpegArgRefusal::ArgTooLong { start, len: long.len(), limit: MAX_FFMPEG_ARG_BYTES });
    }
    let mut asked = Asked::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(option) = arg.strip_prefix('-').filter(|o| !o.is_empty()) else {
            return Err(FfmpegArgRefusal::SecondOutput { arg: arg.clone() });
        };
        // `-c:v:0` is `-c` for the first video stream.
        let (name, stream) = option.split_once(':').map_or((option, ""), |(n, s)| (n, s));
        if let Some(&(_, why)) = REFUSED.iter().find(|(refused, _)| *refused == name) {
            return Err(FfmpegArgRefusal::RefusedOption { arg: arg.clone(), why });
        }
        let bare = name.strip_prefix("no").filter(|b| NO_VALUE.contains(b));
        if NO_VALUE.contains(&name) || bare.is_some() {
            match name {
                "vn" => asked.no_video = true,
                "an" => asked.no_audio = true,
                "shortest" => asked.shortest = true,
                _ => {}
            }
            continue;
        }
        let Some(value) = rest.next() else {
            return Err(FfmpegArgRefusal::NoValue { arg: arg.clone() });
        };
        let time =
            || seconds(value).ok_or_else(|| FfmpegArgRefusal::NotATime { arg: arg.clone(), value: value.clone() });
        match name {
            "f" if REFUSED_FORMATS.contains(&value.to_ascii_lowercase().as_str()) => {
                return Err(FfmpegArgRefusal::RefusedFormat { arg: arg.clone(), format: value.clone() })
            }
            name if GRAPH_OPTIONS.contains(&name) => {
                if let Some((filter, why)) = refused_filter(value) {
                    return Err(FfmpegArgRefusal::RefusedFilter { arg: arg.clone(), filter, why });
                }
            }
            "ss" => asked.start = Some(time()?),
            "t" => asked.duration = Some(time()?),
            "to" => asked.stop = Some(time()?),
            "c" | "codec" if stream.starts_with('v') => asked.video_encoder = Some(value.clone()),
            "c" | "codec" if stream.starts_with('a') => asked.audio_encoder = Some(value.clone()),
            "vcodec" => asked.video_encoder = Some(value.clone()),
            "acodec" => asked.audio_encoder = Some(value.clone()),
            _ => {}
        }
    }
    Ok(asked)
}

/// A refused filter named in `graph`, with why. The graph is cut at every character that can end a filter's name
/// or begin one (separators, labels, quotes, escapes, blanks), and each piece's name (before `=` or `@`) is looked
/// up: a refused filter cannot hide from that, and a refused name inside a quoted argument is refused too.
fn refused_filter(graph: &str) -> Option<(&'static str, &'static str)> {
    graph
        .split(|c: char| ",;[]'\"\\".contains(c) || c.is_whitespace())
        .map(|piece| piece.split(['=', '@']).next().unwrap_or_default().to_ascii_lowercase())
        .find_map(|name| REFUSED_FILTERS.iter().find(|(refused, _)| *refused == name).copied())
}

/// An ffmpeg time: `[-][HH:]MM:SS[.m...]`, or seconds with an optional `s`, `ms` or `us` suffix.
pub fn seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, text) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
    let value = if text.contains(':') {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let mut total = 0.0;
        for part in &parts {
            total = total * 60.0 + number(part)?;
        }
        total
    } else if let Some(us) = text.strip_suffix("us") {
        number(us)? / 1_000_000.0
    } else if let Some(ms) = text.strip_suffix("ms") {
        number(ms)? / 1000.0
    } else {
        number(text.strip_suffix('s').unwrap_or(text))?
    };
    Some(if negative { -value } else { value })
}

fn number(text: &str) -> Option<f64> {
    let valid = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    valid.then(|| text.parse::<f64>().ok()).flatten().filter(|v| v.is_finite())
}

/// The job's inputs against their caps: a count, absolute paths, no two the same, none the output.
pub fn check_inputs(inputs: &[String], output: &str) -> Result<(), FfmpegArgRefusal> {
    if inputs.is_empty() {
        return Err(FfmpegArgRefusal::NoInput);
    }
    crate::limits::count("inputs", inputs.len(), MAX_FFMPEG_INPUTS)?;
    for (i, input) in inputs.iter().enumerate() {
        crate::limits::bytes("an input path", input, crate::limits::MAX_PATH_BYTES)?;
        if !input.starts_with('/') {
            return Err(FfmpegArgRefusal::InputNotAbsolute { input: input.clone() });
        }
        if input == output {
            return Err(FfmpegArgRefusal::OutputIsInput { output: output.to_string() });
        }
        if inputs[..i].contains(input) {
            return Err(FfmpegArgRefusal::InputTwice { input: input.clone() });
        }
    }
    Ok(())
}

/// The command line a worker runs, without the program: fixed options, each input behind its whitelist, the
/// extra arguments, `-progress pipe:1`, then `output`.
pub fn command_line(inputs: &[String], args: &[String], output: &str) -> Vec<String> {
    let mut line: Vec<String> = ["-nostdin", "-y", "-hide_banner", "-nostats"].map(String::from).to_vec();
    for input in inputs {
        line.extend(["-protocol_whitelist", "file,pipe", "-i"].map(String::from));
        // A path beginning with a protocol-like prefix (`a:b`) would be read as that protocol: `file:` says it is
        // a file, whatever its name.
        line.push(format!("file:{input}"));
    }
    line.extend(args.iter().cloned());
    line.extend(["-progress", "pipe:1"].map(String::from));
    line.push(format!("file:{output}"));
    line
}

/// The command line as one readable line for the job's log.
pub fn shown(program: &str, line: &[String]) -> String {
    let mut text = program.to_string();
    for arg in line {
        let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,+%".contains(c));
        if plain {
            let _ = write!(text, " {arg}");
        } else {
            let _ = write!(text, " '{}'", arg.replace('\'', "'\\''"));
        }
    }
    text
}

#[cfg(test)]
mod tests;
