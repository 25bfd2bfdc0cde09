//! Caps on every field and list a client sends in a job spec or a reservation, checked when it arrives, and on the
//! poster frame a worker sends.
//!
//! Records are stored and listed for everyone: eleven submits with large `--consumer-arg` values made every
//! `job list` exceed the 16 MiB frame, and a 16 MiB person name in `Reserve` did the same to `worker list`, both
//! for good (the records were stored). Each cap here keeps one record far below a frame; a request over one is
//! refused with a line naming the field and the cap, before anything is stored.

use crate::error::{LimitError, SpecRefusal};
use crate::identity::MAX_NODE_NAME_LEN;
use crate::job::{JobSpec, MAX_SPLIT_CHUNKS};

/// A project or output path, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Jobs one `job delete` or `job prune` request deletes at most.
pub const MAX_DELETE_JOBS: usize = 10_000;
/// An encoder's name, in bytes.
pub const MAX_CODEC_BYTES: usize = 64;
/// Consumer properties (`--consumer-arg`) per job.
pub const MAX_CONSUMER_ARGS: usize = 64;
/// One consumer property, name and value together, in bytes.
pub const MAX_CONSUMER_ARG_BYTES: usize = 4096;
/// MLT services a job may name.
pub const MAX_SERVICES: usize = 512;
/// One service's name, in bytes.
pub const MAX_SERVICE_BYTES: usize = 128;
/// The person a worker is reserved for, in bytes.
pub const MAX_PERSON_BYTES: usize = 256;
/// A preset's name, in bytes.
pub const MAX_PRESET_NAME_BYTES: usize = 64;
/// A poster frame a worker sends with its result, in bytes (a 320-pixel-wide JPEG is 10 to 40 KiB): refused past
/// it when the message is decoded ([`crate::thumbnail::Thumbnail`]), dropped by the worker before it is sent.
pub const MAX_THUMBNAIL_BYTES: usize = 256 * 1024;

/// The first field of `spec` over its cap, or anything else it may not ask for, as a refusal for the client.
pub fn check_spec(spec: &JobSpec) -> Result<(), SpecRefusal> {
    bytes("the project path", &spec.project, MAX_PATH_BYTES)?;
    bytes("the output path", &spec.output, MAX_PATH_BYTES)?;
    bytes("the video encoder's name", &spec.encoding.vcodec, MAX_CODEC_BYTES)?;
    bytes("the audio encoder's name", &spec.encoding.acodec, MAX_CODEC_BYTES)?;
    count("consumer properties", spec.encoding.extra.len(), MAX_CONSUMER_ARGS)?;
    for (key, value) in &spec.encoding.extra {
        let len = key.len() + value.len();
        if len > MAX_CONSUMER_ARG_BYTES {
            let key = key.chars().take(40).collect();
            return Err(LimitError::PropertyTooLong { key, len, limit: MAX_CONSUMER_ARG_BYTES }.into());
        }
    }
    crate::consumer_props::check_all(&spec.encoding.extra)?;
    count("MLT services", spec.services.len(), MAX_SERVICES)?;
    for service in &spec.services {
        bytes("an MLT service's name", service, MAX_SERVICE_BYTES)?;
    }
    count("optional filters", spec.optional_filters.len(), MAX_SERVICES)?;
    for filter in &spec.optional_filters {
        bytes("an optional filter's name", filter, MAX_SERVICE_BYTES)?;
    }
    if let Some(chunks) = spec.split.as_ref().and_then(|s| s.chunks) {
        if chunks > MAX_SPLIT_CHUNKS {
            return Err(LimitError::TooManyChunks { chunks, limit: MAX_SPLIT_CHUNKS }.into());
        }
    }
    if let Some(like) = &spec.like {
        bytes("the --like worker's name", &like.worker, MAX_NODE_NAME_LEN)?;
    }
    if spec.task.is_some() {
        return Err(SpecRefusal::TaskSubmitted);
    }
    if let Some(preset) = &spec.preset {
        bytes("the preset's name", preset, MAX_PRESET_NAME_BYTES)?;
    }
    if let Some(ffmpeg) = spec.kind.ffmpeg() {
        if spec.split.is_some() {
            return Err(SpecRefusal::SplitFfmpegJob);
        }
        crate::ffmpeg_args::check_inputs(&ffmpeg.inputs, &spec.output)?;
        crate::ffmpeg_args::check(&ffmpeg.args)?;
    }
    Ok(())
}

/// A reservation's worker and person names, against their caps.
pub fn check_reservation(worker: &str, person: &str) -> Result<(), LimitError> {
    bytes("the worker's name", worker, MAX_NODE_NAME_LEN)?;
    bytes("the person's name", person, MAX_PERSON_BYTES)
}

/// A path a request names (`what`, e.g. the backup folder), against [`MAX_PATH_BYTES`].
pub fn check_path(what: &'static str, path: &str) -> Result<(), LimitError> {
    bytes(what, path, MAX_PATH_BYTES)
}

/// `text` (the field `what`) against its cap of `limit` bytes.
pub(crate) fn bytes(what: &'static str, text: &str, limit: usize) -> Result<(), LimitError> {
    if text.len() > limit {
        return Err(LimitError::TooLong { what, len: text.len(), limit });
    }
    Ok(())
}

/// `count` entries of the list `what` against its cap of `limit`.
pub(crate) fn count(what: &'static str, count: usize, limit: usize) -> Result<(), LimitError> {
    if count > limit {
        return Err(LimitError::TooMany { what, count, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{FfmpegArgRefusal, PropertyRefusal};

    fn spec() -> JobSpec {
        JobSpec { services: vec!["color".into()], ..JobSpec::new("/p/a.mlt", "/p/a.mp4") }
    }

    #[test]
    fn every_field_at_its_cap_passes_and_one_past_it_is_refused_by_name() {
        let mut at = spec();
        at.project = "p".repeat(MAX_PATH_BYTES);
        at.output = "o".repeat(MAX_PATH_BYTES);
        at.encoding.vcodec = "v".repeat(MAX_CODEC_BYTES);
        // Every property a job may set is short (see consumer_props), so the byte cap is met only by refused ones.
        at.encoding.extra =
            vec![("crf".into(), "2".repeat(crate::consumer_props::MAX_CONSUMER_VALUE_BYTES)); MAX_CONSUMER_ARGS];
        at.services = vec!["s".repeat(MAX_SERVICE_BYTES); MAX_SERVICES];
        check_spec(&at).unwrap();

        let past = |change: fn(&mut JobSpec)| {
            let mut spec = spec();
            change(&mut spec);
            check_spec(&spec).unwrap_err().to_string()
        };
        assert_eq!(
            past(|s| s.project = "p".repeat(4097)),
            "refused: the project path is 4097 bytes; the limit is 4096"
        );
        assert_eq!(past(|s| s.output = "o".repeat(4097)), "refused: the output path is 4097 bytes; the limit is 4096");
        assert_eq!(
            past(|s| s.encoding.acodec = "a".repeat(65)),
            "refused: the audio encoder's name is 65 bytes; the limit is 64"
        );
        assert_eq!(
            past(|s| s.encoding.extra = vec![("k".into(), "v".into()); 65]),
            "refused: the job names 65 consumer properties; the limit is 64"
        );
        assert_eq!(
            past(|s| s.encoding.extra = vec![("crf".into(), "2".repeat(4094))]),
            r#"refused: the consumer property "crf" is 4097 bytes; the limit is 4096"#
        );
        assert_eq!(
            past(|s| s.services = vec!["color".into(); 513]),
            "refused: the job names 513 MLT services; the limit is 512"
        );
        assert_eq!(
            past(|s| s.services = vec!["s".repeat(129)]),
            "refused: an MLT service's name is 129 bytes; the limit is 128"
        );
        assert_eq!(
            past(|s| s.optional_filters = vec!["f".into(); 513]),
            "refused: the job names 513 optional filters; the limit is 512"
        );
        assert_eq!(
            past(|s| {
                let request =
                    crate::job::SplitRequest { chunks: Some(65), force: false, frames: 1, fps_num: 25, fps_den: 1 };
                s.split = Some(Box::new(request))
            }),
            "refused: --split asks for 65 chunks; the limit is 64"
        );
    }

    #[test]
    fn an_ffmpeg_job_s_inputs_and_arguments_are_checked_with_the_spec() {
        let ffmpeg = |args: &[&str]| JobSpec {
            kind: crate::job::JobKind::Ffmpeg(Box::new(crate::job::FfmpegJob {
                inputs: vec!["/m/a.mov".into()],
                args: args.iter().map(|a| a.to_string()).collect(),
            })),
            ..JobSpec::new("/m/a.mov", "/p/a.mp4")
        };
        check_spec(&ffmpeg(&["-c:v", "libx264"])).unwrap();
        assert_eq!(
            check_spec(&ffmpeg(&["-i", "/etc/passwd"])).unwrap_err().to_string(),
            "refused: -i: inputs are given with --input"
        );
        let named = JobSpec { preset: Some("p".repeat(65)), ..spec() };
        assert_eq!(
            check_spec(&named).unwrap_err().to_string(),
            "refused: the preset's name is 65 bytes; the limit is 64"
        );
    }

    #[test]
    fn a_reservation_s_names_are_capped() {
        check_reservation(&"w".repeat(64), &"p".repeat(256)).unwrap();
        assert_eq!(
            check_reservation("w1", &"p".repeat(257)).unwrap_err().to_string(),
            "refused: the person's name is 257 bytes; the limit is 256"
        );
        assert_eq!(
            check_reservation(&"w".repeat(65), "alice").unwrap_err().to_string(),
            "refused: the worker's name is 65 bytes; the limit is 64"
        );
    }

    #[test]
    fn refusals_say_their_kind_and_field() {
        let refused = |change: fn(&mut JobSpec)| {
            let mut spec = spec();
            change(&mut spec);
            check_spec(&spec).unwrap_err()
        };
        let long_output = refused(|s| s.output = "o".repeat(MAX_PATH_BYTES + 1));
        assert!(matches!(
            long_output,
            SpecRefusal::Limit(LimitError::TooLong { what: "the output path", len: 4097, limit: MAX_PATH_BYTES })
        ));
        let many_services = refused(|s| s.services = vec!["color".into(); MAX_SERVICES + 1]);
        assert!(matches!(many_services, SpecRefusal::Limit(LimitError::TooMany { what: "MLT services", .. })));
        let long_property = refused(|s| s.encoding.extra = vec![("crf".into(), "2".repeat(MAX_CONSUMER_ARG_BYTES))]);
        assert!(
            matches!(long_property, SpecRefusal::Limit(LimitError::PropertyTooLong { ref key, .. }) if key == "crf")
        );
        let target = refused(|s| s.encoding.extra = vec![("target".into(), "/etc/passwd".into())]);
        assert!(matches!(target, SpecRefusal::Property(PropertyRefusal::NamesAFile { .. })));
        let ffmpeg = JobSpec {
            kind: crate::job::JobKind::Ffmpeg(Box::new(crate::job::FfmpegJob { inputs: Vec::new(), args: Vec::new() })),
            ..JobSpec::new("/m/a.mov", "/p/a.mp4")
        };
        assert_eq!(check_spec(&ffmpeg).unwrap_err(), SpecRefusal::Ffmpeg(FfmpegArgRefusal::NoInput));
        let split = crate::job::SplitRequest { chunks: Some(2), force: false, frames: 1, fps_num: 25, fps_den: 1 };
        let split_ffmpeg = JobSpec { split: Some(Box::new(split)), ..ffmpeg };
        assert_eq!(check_spec(&split_ffmpeg).unwrap_err(), SpecRefusal::SplitFfmpegJob);

        let person = check_reservation("w1", &"p".repeat(MAX_PERSON_BYTES + 1)).unwrap_err();
        assert!(matches!(person, LimitError::TooLong { what: "the person's name", .. }));
    }
}
