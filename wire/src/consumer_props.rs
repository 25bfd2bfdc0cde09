//! Which melt consumer properties a job may set (`job submit --consumer-arg KEY=VALUE`, and those a preset adds).
//!
//! melt's avformat consumer has some 1,800 properties, and several of them name a file or a destination:
//! `target=FILE` made melt write straight into FILE, skipping the partial file, the verification and the commit.
//! Others read files (`vpre`, `properties`, `mlt_profile`), write them (`passlogfile`, `stats`, a muxer's segment
//! or playlist names) or reach the network. So only properties known to be encoding settings are allowed, each
//! value checked by its kind, and everything else is refused naming the property. The client checks before it
//! sends, the coordinator at submit, and the worker again before melt starts.

use crate::error::PropertyRefusal;

/// What a property's value may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A number, possibly signed or with a decimal point, or a bitrate with a `k`/`M` suffix (`6000k`).
    Number,
    /// A fraction or ratio (`16:9`, `30000/1001`) or a size (`1920x1080`).
    Ratio,
    /// A word: letters, digits and `_ - + . ,` (an encoder preset, a pixel format, `+faststart`).
    Word,
    /// A container format, from [`FORMATS`].
    Format,
}

/// The properties allowed, by name, with the kind of value each takes.
const ALLOWED: &[(&str, Kind)] = &[
    // Video rate control and structure.
    ("vb", Kind::Number),
    ("b", Kind::Number),
    ("minrate", Kind::Number),
    ("maxrate", Kind::Number),
    ("bufsize", Kind::Number),
    ("crf", Kind::Number),
    ("qscale", Kind::Number),
    ("qp", Kind::Number),
    ("qmin", Kind::Number),
    ("qmax", Kind::Number),
    ("cq", Kind::Number),
    ("g", Kind::Number),
    ("keyint_min", Kind::Number),
    ("bf", Kind::Number),
    ("sc_threshold", Kind::Number),
    ("rc_lookahead", Kind::Number),
    ("trellis", Kind::Number),
    ("coder", Kind::Word),
    ("preset", Kind::Word),
    ("tune", Kind::Word),
    ("vprofile", Kind::Word),
    ("level", Kind::Word),
    ("pix_fmt", Kind::Word),
    ("vtag", Kind::Word),
    ("row-mt", Kind::Number),
    ("cpu-used", Kind::Number),
    ("deadline", Kind::Word),
    ("tile-columns", Kind::Number),
    ("tile-rows", Kind::Number),
    ("threads", Kind::Number),
    ("flags", Kind::Word),
    ("movflags", Kind::Word),
    // Picture.
    ("width", Kind::Number),
    ("height", Kind::Number),
    ("s", Kind::Ratio),
    ("aspect", Kind::Ratio),
    ("r", Kind::Ratio),
    ("frame_rate_num", Kind::Number),
    ("frame_rate_den", Kind::Number),
    ("progressive", Kind::Number),
    ("top_field_first", Kind::Number),
    ("deinterlacer", Kind::Word),
    ("deinterlace_method", Kind::Word),
    ("rescale", Kind::Word),
    ("colorspace", Kind::Number),
    ("color_range", Kind::Word),
    ("color_trc", Kind::Word),
    ("color_primaries", Kind::Word),
    ("mlt_image_format", Kind::Word),
    // Audio.
    ("ab", Kind::Number),
    ("ac", Kind::Number),
    ("ar", Kind::Number),
    ("channels", Kind::Number),
    ("frequency", Kind::Number),
    ("aq", Kind::Number),
    ("sample_fmt", Kind::Word),
    ("mlt_audio_format", Kind::Word),
    ("alang", Kind::Word),
    // Streams and container.
    ("an", Kind::Number),
    ("vn", Kind::Number),
    ("audio_off", Kind::Number),
    ("video_off", Kind::Number),
    ("f", Kind::Format),
    ("real_time", Kind::Number),
    ("in", Kind::Number),
    ("out", Kind::Number),
];

/// Container formats `f` may name: muxers that write the one output file and nothing else (no segments, no
/// playlists, no second output as `tee`, `segment`, `hls` or `dash` would).
const FORMATS: &[&str] = &[
    "mp4",
    "mov",
    "ipod",
    "matroska",
    "webm",
    "avi",
    "mpeg",
    "dvd",
    "vob",
    "mpegts",
    "mxf",
    "mxf_opatom",
    "gif",
    "apng",
    "wav",
    "flac",
    "mp3",
    "ogg",
    "opus",
    "adts",
    "aiff",
    "dv",
    "nut",
];

/// Properties refused with a reason of their own: they name a file, a destination or a preset file read from disk.
const DESTINATIONS: &[&str] = &[
    "target",
    "resource",
    "pass",
    "passlogfile",
    "pass_log",
    "stats",
    "mlt_profile",
    "profile",
    "properties",
    "vpre",
    "apre",
    "fpre",
    "spre",
    "redirect",
];

/// Longest value a property may have, in bytes (the job spec's own cap is larger: this is what a setting needs).
pub const MAX_CONSUMER_VALUE_BYTES: usize = 64;

/// Checks one `key=value` consumer property: `Err` is the refusal, naming the property.
pub fn check(key: &str, value: &str) -> Result<(), PropertyRefusal> {
    let shown: String = key.chars().take(40).collect();
    if key == "vcodec" || key == "acodec" {
        let flag = if key == "vcodec" { "--vcodec" } else { "--acodec" };
        return Err(PropertyRefusal::SetWithFlag { key: shown, flag });
    }
    if DESTINATIONS.contains(&key) || key.contains(['/', '\\']) {
        return Err(PropertyRefusal::NamesAFile { key: shown });
    }
    let Some(kind) = ALLOWED.iter().find(|(name, _)| *name == key).map(|(_, kind)| *kind) else {
        return Err(PropertyRefusal::NotAllowed { key: shown });
    };
    if value.len() > MAX_CONSUMER_VALUE_BYTES {
        return Err(PropertyRefusal::ValueTooLong { key: shown, len: value.len(), limit: MAX_CONSUMER_VALUE_BYTES });
    }
    let fits = match kind {
        Kind::Number => number(value),
        Kind::Ratio => {
            let parts: Vec<&str> = value.split([':', '/', 'x']).collect();
            (1..=2).contains(&parts.len()) && parts.iter().all(|p| number(p))
        }
        Kind::Word => {
            !value.is_empty()
                && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | ','))
        }
        Kind::Format => FORMATS.contains(&value),
    };
    if !fits {
        let expected = match kind {
            Kind::Number => "a number",
            Kind::Ratio => "a number, a ratio like 16:9 or a size like 1920x1080",
            Kind::Word => "a word of letters, digits and _ - + . ,",
            Kind::Format => "one of the single-file formats mp4, mov, matroska, webm, mpeg, mxf, ...",
        };
        return Err(PropertyRefusal::BadValue { key: shown, value: value.chars().take(40).collect(), expected });
    }
    Ok(())
}

/// Checks every property of a job: the first refusal.
pub fn check_all(properties: &[(String, String)]) -> Result<(), PropertyRefusal> {
    properties.iter().try_for_each(|(key, value)| check(key, value))
}

/// `12`, `-1`, `0.5`, `6000k`, `2M`.
fn number(value: &str) -> bool {
    let digits = value.strip_suffix(['k', 'K', 'm', 'M']).unwrap_or(value);
    let digits = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits != "."
}

/// The properties allowed, for the refusal of one that is not.
pub(crate) fn allowed_names() -> String {
    ALLOWED.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_settings_pass() {
        for (key, value) in [
            ("crf", "20"),
            ("vb", "6000k"),
            ("preset", "veryfast"),
            ("pix_fmt", "yuv422p10le"),
            ("aspect", "16:9"),
            ("r", "30000/1001"),
            ("s", "1920x1080"),
            ("movflags", "+faststart"),
            ("f", "webm"),
            ("real_time", "-2"),
            ("row-mt", "1"),
        ] {
            assert_eq!(check(key, value), Ok(()), "{key}={value}");
        }
    }

    #[test]
    fn properties_naming_files_or_destinations_are_refused_naming_them() {
        for key in DESTINATIONS.iter().copied().chain(["a/b", "..\\x"]) {
            assert_eq!(
                check(key, "/etc/passwd").unwrap_err().to_string(),
                format!(
                    "refused: the consumer property {key:?} names a file or a destination; the farm writes the \
                     output itself"
                ),
            );
        }
        assert_eq!(
            check("vcodec", "libx265").unwrap_err().to_string(),
            "refused: the consumer property \"vcodec\" is set with --vcodec, not --consumer-arg"
        );
    }

    #[test]
    fn unknown_properties_and_bad_values_are_refused() {
        let unknown = check("hls_segment_filename", "/tmp/x%d.ts").unwrap_err().to_string();
        assert!(unknown.starts_with("refused: the consumer property \"hls_segment_filename\" is not an encoding setting the farm allows (allowed: vb, b, "), "{unknown}");
        assert_eq!(
            check("crf", "20 target=/etc/passwd").unwrap_err().to_string(),
            "refused: the consumer property \"crf\" has the value \"20 target=/etc/passwd\"; it takes a number"
        );
        assert!(check("f", "tee").unwrap_err().to_string().contains("single-file formats"));
        assert!(check("f", "segment").is_err());
        assert!(check("preset", "../../x").is_err());
        assert!(check("aspect", "16:9:1").is_err());
        assert!(check("crf", ".").is_err());
        assert!(check("crf", "").is_err());
        assert!(check("preset", &"a".repeat(65)).unwrap_err().to_string().contains("the limit is 64"));
        assert_eq!(
            check_all(&[("crf".into(), "20".into()), ("target".into(), "x".into())]).unwrap_err(),
            check("target", "x").unwrap_err()
        );
    }

    #[test]
    fn each_refusal_says_its_kind() {
        assert!(matches!(check("acodec", "aac"), Err(PropertyRefusal::SetWithFlag { flag: "--acodec", .. })));
        assert!(matches!(check("target", "x"), Err(PropertyRefusal::NamesAFile { ref key }) if key == "target"));
        assert!(matches!(check("hls_time", "2"), Err(PropertyRefusal::NotAllowed { .. })));
        assert!(matches!(
            check("preset", &"a".repeat(MAX_CONSUMER_VALUE_BYTES + 1)),
            Err(PropertyRefusal::ValueTooLong { len: 65, limit: MAX_CONSUMER_VALUE_BYTES, .. })
        ));
        assert!(matches!(check("f", "tee"), Err(PropertyRefusal::BadValue { ref value, .. }) if value == "tee"));
        let long_name = "k".repeat(100);
        assert!(matches!(check(&long_name, "1"), Err(PropertyRefusal::NotAllowed { ref key }) if key.len() == 40));
    }
}
