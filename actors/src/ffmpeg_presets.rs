//! Presets of ffmpeg jobs (`job ffmpeg --preset NAME`): proxy clips as Kdenlive and Shotcut make them.
//!
//! Editors cut with small, quickly decoded copies of the camera footage and swap the originals back in to export.
//! Kdenlive's proxy profiles and Shotcut's proxy setting both scale to a few hundred lines, keep the frame rate and
//! the sound, and encode every frame as a key frame (`-g 1 -bf 0`, or MJPEG) so that scrubbing is instant. These
//! presets are those settings as ffmpeg output options; a job's extra arguments come after them, so one of them
//! overrides a preset's value. The presets are data here; the client expands one into the job's arguments and
//! names its encoders as the job's needs, so capability matching sends the job only to workers that have them.

/// One named set of ffmpeg output options: a proxy of `height` lines (the width follows the picture's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FfmpegPreset {
    /// What users type (`job ffmpeg --preset NAME`), its group in listings, and one line for people.
    pub name: &'static str,
    pub family: &'static str,
    pub description: &'static str,
    /// The output's extension, without the dot (a batch names its outputs with it).
    pub extension: &'static str,
    /// The picture's height; its width keeps the aspect ratio, rounded to an even number.
    pub height: u32,
    /// The encoders: `-c:v` and `-c:a`.
    pub vcodec: &'static str,
    pub acodec: &'static str,
    /// Further output options, in order, after the scale and the encoders.
    pub options: &'static [&'static str],
}

/// What Kdenlive's and Shotcut's H.264 proxies set: fast, every frame a key frame, 8-bit 4:2:0, AAC at 128 kb/s,
/// the index at the front.
const H264_PROXY: &[&str] = &[
    "-preset",
    "veryfast",
    "-crf",
    "23",
    "-g",
    "1",
    "-bf",
    "0",
    "-pix_fmt",
    "yuv420p",
    "-b:a",
    "128k",
    "-movflags",
    "+faststart",
];

/// Every built-in ffmpeg preset.
pub const FFMPEG_PRESETS: &[FfmpegPreset] = &[
    FfmpegPreset {
        name: "proxy-540p",
        family: "Proxy",
        description:
            "540-line H.264 proxy, every frame a key frame, AAC, in MP4 (Kdenlive's and Shotcut's H.264 proxies)",
        extension: "mp4",
        height: 540,
        vcodec: "libx264",
        acodec: "aac",
        options: H264_PROXY,
    },
    FfmpegPreset {
        name: "proxy-720p",
        family: "Proxy",
        description: "720-line H.264 proxy, every frame a key frame, AAC, in MP4",
        extension: "mp4",
        height: 720,
        vcodec: "libx264",
        acodec: "aac",
        options: H264_PROXY,
    },
    FfmpegPreset {
        name: "proxy-540p-mjpeg",
        family: "Proxy",
        description: "540-line MJPEG proxy (quality 5) with PCM sound, in MOV (Kdenlive's MJPEG proxy)",
        extension: "mov",
        height: 540,
        vcodec: "mjpeg",
        acodec: "pcm_s16le",
        options: &["-q:v", "5", "-pix_fmt", "yuvj422p"],
    },
];

/// The built-in ffmpeg preset called `name`.
pub fn find(name: &str) -> Option<&'static FfmpegPreset> {
    FFMPEG_PRESETS.iter().find(|p| p.name == name)
}

impl FfmpegPreset {
    /// The encoders a worker needs for it.
    pub fn encoders(&self) -> Vec<&'static str> {
        vec![self.vcodec, self.acodec]
    }

    /// Its ffmpeg output options: the scale, the encoders, then the rest.
    pub fn args(&self) -> Vec<String> {
        let scale = format!("scale=-2:{}", self.height);
        let head = ["-vf", &scale, "-c:v", self.vcodec, "-c:a", self.acodec];
        head.iter().chain(self.options).map(|a| a.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_passes_the_argument_check_and_names_the_encoders_it_uses() {
        for preset in FFMPEG_PRESETS {
            let asked =
                distencode_wire::ffmpeg_args::check(&preset.args()).unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            assert_eq!(asked.video_encoder.as_deref(), Some(preset.vcodec), "{}", preset.name);
            assert_eq!(asked.audio_encoder.as_deref(), Some(preset.acodec), "{}", preset.name);
            assert!(crate::presets::codec_of(preset.vcodec).is_some(), "{}", preset.name);
            assert!(crate::presets::find(preset.name).is_none(), "{} is also an export preset", preset.name);
        }
        assert_eq!(find("proxy-540p").map(|p| p.extension), Some("mp4"));
        assert_eq!(find("proxy-720p").unwrap().args()[..4], ["-vf", "scale=-2:720", "-c:v", "libx264"]);
        assert_eq!(find("proxy-1080p"), None);
    }
}
