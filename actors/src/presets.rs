//! Export presets: named formats like the editors' own export lists (Shotcut, Kdenlive), as data.
//!
//! A preset is a container (by the output's extension, or an explicit `f=`), a video and an audio encoder and the
//! melt consumer properties that make the format; nothing here runs anything. The client turns a preset into a job's
//! [`Encoding`], so a preset's encoders are the job's needs and capability matching sends the job only to workers
//! whose melt has them. The worker's verification reads the same tables to know what codec and pixel format the
//! file must have. An output extension without `--preset` picks its default here; an extension with none is refused.

use distencode_wire::job::Encoding;

/// One named export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// What users type: `job submit --preset NAME`.
    pub name: &'static str,
    /// The group it belongs to in listings (H.264, ProRes, audio...).
    pub family: &'static str,
    /// One line for people.
    pub description: &'static str,
    /// The output file's extension, without the dot: it names the container for melt's avformat consumer.
    pub extension: &'static str,
    /// Video encoder, or `none` for an audio-only format.
    pub vcodec: &'static str,
    /// Audio encoder, or `none` for a silent format.
    pub acodec: &'static str,
    /// Further consumer properties, passed to melt as `key=value`.
    pub properties: &'static [(&'static str, &'static str)],
}

/// Audio-only presets turn the video off this way (and `vcodec=none`, so no video encoder is needed).
const NO_VIDEO: (&str, &str) = ("vn", "1");
/// Silent presets turn the audio off this way.
const NO_AUDIO: (&str, &str) = ("an", "1");

/// Every built-in preset.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "h264-mp4",
        family: "H.264",
        description: "H.264 (libx264 defaults) and AAC in MP4",
        extension: "mp4",
        vcodec: "libx264",
        acodec: "aac",
        properties: &[],
    },
    Preset {
        name: "hevc-mp4",
        family: "HEVC",
        description: "HEVC (libx265, CRF 26, tagged hvc1 for Apple players) and AAC in MP4",
        extension: "mp4",
        vcodec: "libx265",
        acodec: "aac",
        properties: &[("crf", "26"), ("vtag", "hvc1"), ("pix_fmt", "yuv420p")],
    },
    Preset {
        name: "prores-422",
        family: "ProRes",
        description: "ProRes 422, 10-bit, and PCM in MOV",
        extension: "mov",
        vcodec: "prores_ks",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "2"), ("pix_fmt", "yuv422p10le")],
    },
    Preset {
        name: "prores-422-hq",
        family: "ProRes",
        description: "ProRes 422 HQ, 10-bit, and PCM in MOV",
        extension: "mov",
        vcodec: "prores_ks",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "3"), ("pix_fmt", "yuv422p10le")],
    },
    Preset {
        name: "prores-4444",
        family: "ProRes",
        description: "ProRes 4444 with alpha, and PCM in MOV",
        extension: "mov",
        vcodec: "prores_ks",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "4"), ("pix_fmt", "yuva444p10le")],
    },
    Preset {
        name: "dnxhr-lb",
        family: "DNxHR",
        description: "DNxHR LB (low bandwidth), 8-bit 4:2:2, and PCM in MOV",
        extension: "mov",
        vcodec: "dnxhd",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "dnxhr_lb"), ("pix_fmt", "yuv422p")],
    },
    Preset {
        name: "dnxhr-sq",
        family: "DNxHR",
        description: "DNxHR SQ (standard quality), 8-bit 4:2:2, and PCM in MOV",
        extension: "mov",
        vcodec: "dnxhd",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "dnxhr_sq"), ("pix_fmt", "yuv422p")],
    },
    Preset {
        name: "dnxhr-hq",
        family: "DNxHR",
        description: "DNxHR HQ (high quality), 8-bit 4:2:2, and PCM in MOV",
        extension: "mov",
        vcodec: "dnxhd",
        acodec: "pcm_s16le",
        properties: &[("vprofile", "dnxhr_hq"), ("pix_fmt", "yuv422p")],
    },
    Preset {
        name: "vp9-webm",
        family: "VP9",
        description: "VP9 (constant quality, CRF 32) and Opus in WebM",
        extension: "webm",
        vcodec: "libvpx-vp9",
        acodec: "libopus",
        properties: &[("crf", "32"), ("vb", "0"), ("row-mt", "1")],
    },
    Preset {
        name: "av1-mkv",
        family: "AV1",
        description: "AV1 (SVT-AV1, CRF 35) and Opus in Matroska",
        extension: "mkv",
        vcodec: "libsvtav1",
        acodec: "libopus",
        properties: &[("crf", "35"), ("preset", "8")],
    },
    Preset {
        name: "av1-mp4",
        family: "AV1",
        description: "AV1 (SVT-AV1, CRF 35) and AAC in MP4",
        extension: "mp4",
        vcodec: "libsvtav1",
        acodec: "aac",
        properties: &[("crf", "35"), ("preset", "8")],
    },
    Preset {
        name: "av1-aom-mkv",
        family: "AV1",
        description: "AV1 (libaom, CRF 35, fastest settings) and Opus in Matroska",
        extension: "mkv",
        vcodec: "libaom-av1",
        acodec: "libopus",
        properties: &[("crf", "35"), ("cpu-used", "8"), ("row-mt", "1")],
    },
    Preset {
        name: "ffv1-mkv",
        family: "FFV1",
        description: "FFV1 version 3 (lossless) and FLAC in Matroska",
        extension: "mkv",
        vcodec: "ffv1",
        acodec: "flac",
        properties: &[("level", "3")],
    },
    Preset {
        name: "dvd",
        family: "MPEG-2",
        description: "MPEG-2 video and AC-3 in a DVD program stream",
        extension: "mpg",
        vcodec: "mpeg2video",
        acodec: "ac3",
        properties: &[("f", "dvd"), ("vb", "6000k"), ("ab", "192k")],
    },
    Preset {
        name: "gif",
        family: "GIF",
        description: "Animated GIF, no sound",
        extension: "gif",
        vcodec: "gif",
        acodec: "none",
        properties: &[NO_AUDIO],
    },
    // === Image sequences ===
    // One file per frame, numbered from 1 (`film-%05d.png`: see `runner::sequence`); no sound.
    Preset {
        name: "png-sequence",
        family: "Image sequence",
        description: "PNG image sequence (lossless, 8-bit RGB), one file per frame",
        extension: "png",
        vcodec: "png",
        acodec: "none",
        properties: &[NO_AUDIO],
    },
    Preset {
        name: "jpeg-sequence",
        family: "Image sequence",
        description: "JPEG image sequence (quality 2), one file per frame",
        extension: "jpg",
        vcodec: "mjpeg",
        acodec: "none",
        properties: &[NO_AUDIO, ("qscale", "2")],
    },
    Preset {
        name: "tiff-sequence",
        family: "Image sequence",
        description: "TIFF image sequence (uncompressed 8-bit RGB), one file per frame",
        extension: "tif",
        vcodec: "tiff",
        acodec: "none",
        properties: &[NO_AUDIO],
    },
    // === Audio only ===
    Preset {
        name: "wav",
        family: "Audio",
        description: "WAV, 16-bit PCM",
        extension: "wav",
        vcodec: "none",
        acodec: "pcm_s16le",
        properties: &[NO_VIDEO],
    },
    Preset {
        name: "wav-24",
        family: "Audio",
        description: "WAV, 24-bit PCM",
        extension: "wav",
        vcodec: "none",
        acodec: "pcm_s24le",
        properties: &[NO_VIDEO],
    },
    Preset {
        name: "flac",
        family: "Audio",
        description: "FLAC (lossless)",
        extension: "flac",
        vcodec: "none",
        acodec: "flac",
        properties: &[NO_VIDEO],
    },
    Preset {
        name: "mp3",
        family: "Audio",
        description: "MP3, 192 kb/s (LAME)",
        extension: "mp3",
        vcodec: "none",
        acodec: "libmp3lame",
        properties: &[NO_VIDEO, ("ab", "192k")],
    },
    Preset {
        name: "aac",
        family: "Audio",
        description: "AAC, 192 kb/s, in M4A",
        extension: "m4a",
        vcodec: "none",
        acodec: "aac",
        properties: &[NO_VIDEO, ("ab", "192k")],
    },
    Preset {
        name: "opus",
        family: "Audio",
        description: "Opus, 128 kb/s, in Ogg",
        extension: "opus",
        vcodec: "none",
        acodec: "libopus",
        properties: &[NO_VIDEO, ("ab", "128k")],
    },
];

/// The preset an output extension gets without `--preset` (lower case, no dot).
pub const DEFAULT_FOR_EXTENSION: &[(&str, &str)] = &[
    ("mp4", "h264-mp4"),
    ("m4v", "h264-mp4"),
    ("mov", "prores-422"),
    ("webm", "vp9-webm"),
    ("mkv", "ffv1-mkv"),
    ("mpg", "dvd"),
    ("vob", "dvd"),
    ("gif", "gif"),
    ("png", "png-sequence"),
    ("jpg", "jpeg-sequence"),
    ("jpeg", "jpeg-sequence"),
    ("tif", "tiff-sequence"),
    ("tiff", "tiff-sequence"),
    ("wav", "wav"),
    ("flac", "flac"),
    ("mp3", "mp3"),
    ("m4a", "aac"),
    ("opus", "opus"),
];

/// The built-in preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The default preset for an output file named `file` (by its extension, case aside).
pub fn for_output(file: &std::path::Path) -> Option<&'static Preset> {
    let extension = file.extension()?.to_str()?.to_ascii_lowercase();
    let (_, name) = DEFAULT_FOR_EXTENSION.iter().find(|(ext, _)| *ext == extension)?;
    find(name)
}

impl Preset {
    /// The job encoding it makes.
    pub fn encoding(&self) -> Encoding {
        Encoding {
            vcodec: self.vcodec.into(),
            acodec: self.acodec.into(),
            extra: self.properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// The encoders a worker needs for it.
    pub fn encoders(&self) -> Vec<&'static str> {
        [self.vcodec, self.acodec].into_iter().filter(|e| *e != "none").collect()
    }

    /// Whether its files have no picture.
    pub fn audio_only(&self) -> bool {
        self.vcodec == "none"
    }
}

/// The codec ffprobe names for what an encoder writes: verification checks the file's codec against it.
pub const ENCODER_CODECS: &[(&str, &str)] = &[
    ("libx264", "h264"),
    ("libx264rgb", "h264"),
    ("h264_nvenc", "h264"),
    ("h264_vaapi", "h264"),
    ("libx265", "hevc"),
    ("hevc_nvenc", "hevc"),
    ("hevc_vaapi", "hevc"),
    ("prores", "prores"),
    ("prores_ks", "prores"),
    ("prores_aw", "prores"),
    ("dnxhd", "dnxhd"),
    ("libvpx", "vp8"),
    ("libvpx-vp9", "vp9"),
    ("libsvtav1", "av1"),
    ("libaom-av1", "av1"),
    ("librav1e", "av1"),
    ("ffv1", "ffv1"),
    ("mpeg2video", "mpeg2video"),
    ("mpeg4", "mpeg4"),
    ("mjpeg", "mjpeg"),
    ("gif", "gif"),
    ("png", "png"),
    ("tiff", "tiff"),
    ("aac", "aac"),
    ("libfdk_aac", "aac"),
    ("libmp3lame", "mp3"),
    ("mp2", "mp2"),
    ("ac3", "ac3"),
    ("libopus", "opus"),
    ("opus", "opus"),
    ("libvorbis", "vorbis"),
    ("flac", "flac"),
    ("pcm_s16le", "pcm_s16le"),
    ("pcm_s24le", "pcm_s24le"),
    ("pcm_s32le", "pcm_s32le"),
    ("pcm_f32le", "pcm_f32le"),
];

/// The codec ffprobe reports for a file `encoder` wrote, where known.
pub fn codec_of(encoder: &str) -> Option<&'static str> {
    ENCODER_CODECS.iter().find(|(e, _)| *e == encoder).map(|(_, codec)| *codec)
}

/// The pixel format ffprobe reports for a file encoded with `encoder` asked for `pix_fmt`: ProRes 4444 is decoded
/// at 12 bits whatever its encoder was given.
pub fn probed_pix_fmt(encoder: &str, pix_fmt: &str) -> String {
    match (codec_of(encoder), pix_fmt) {
        (Some("prores"), "yuva444p10le") => "yuva444p12le".into(),
        (Some("prores"), "yuv444p10le") => "yuv444p12le".into(),
        _ => pix_fmt.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_of_the_editors_export_lists_is_there() {
        let families =
            ["H.264", "HEVC", "ProRes", "DNxHR", "VP9", "AV1", "FFV1", "MPEG-2", "GIF", "Image sequence", "Audio"];
        for family in families {
            assert!(PRESETS.iter().any(|p| p.family == family), "{family}");
        }
        let audio: Vec<&str> = PRESETS.iter().filter(|p| p.audio_only()).map(|p| p.acodec).collect();
        assert_eq!(audio, ["pcm_s16le", "pcm_s24le", "flac", "libmp3lame", "aac", "libopus"]);
    }

    #[test]
    fn names_are_unique_and_every_default_names_a_preset_of_its_extension() {
        for (i, preset) in PRESETS.iter().enumerate() {
            assert!(PRESETS[..i].iter().all(|p| p.name != preset.name), "{} twice", preset.name);
            assert!(codec_of(preset.vcodec).is_some() || preset.vcodec == "none", "{}", preset.name);
            assert!(codec_of(preset.acodec).is_some() || preset.acodec == "none", "{}", preset.name);
        }
        for (extension, name) in DEFAULT_FOR_EXTENSION {
            let preset = find(name).unwrap_or_else(|| panic!("{name}"));
            let same_container =
                preset.extension == *extension || matches!(*extension, "m4v" | "vob" | "jpeg" | "tiff");
            assert!(same_container, "{extension} -> {name}");
        }
    }

    #[test]
    fn every_preset_passes_the_consumer_property_allowlist() {
        for preset in PRESETS {
            let encoding = preset.encoding();
            assert_eq!(distencode_wire::consumer_props::check_all(&encoding.extra), Ok(()), "{}", preset.name);
        }
    }

    #[test]
    fn an_output_extension_picks_its_default_and_an_unknown_one_picks_none() {
        let pick = |file: &str| for_output(std::path::Path::new(file)).map(|p| p.name);
        assert_eq!(pick("/r/film.MOV"), Some("prores-422"));
        assert_eq!(pick("/r/film.webm"), Some("vp9-webm"));
        assert_eq!(pick("/r/mix.wav"), Some("wav"));
        assert_eq!(pick("/r/film.mp4"), Some("h264-mp4"));
        assert_eq!(pick("/r/film.xyz"), None);
        assert_eq!(pick("/r/film"), None);
    }

    #[test]
    fn a_preset_makes_the_encoding_and_needs_its_encoders() {
        let prores = find("prores-4444").unwrap();
        let encoding = prores.encoding();
        assert_eq!((encoding.vcodec.as_str(), encoding.acodec.as_str()), ("prores_ks", "pcm_s16le"));
        assert!(encoding.extra.contains(&("pix_fmt".into(), "yuva444p10le".into())));
        assert_eq!(prores.encoders(), ["prores_ks", "pcm_s16le"]);
        assert_eq!(find("wav").unwrap().encoders(), ["pcm_s16le"]);
        assert_eq!(find("gif").unwrap().encoders(), ["gif"]);
        assert_eq!(probed_pix_fmt("prores_ks", "yuva444p10le"), "yuva444p12le");
        assert_eq!(probed_pix_fmt("dnxhd", "yuv422p"), "yuv422p");
    }
}
