//! `distencode job ffmpeg`: the jobs it submits, checked here before anything is sent.
//!
//! One job, or a batch (`--each 'footage/*.MOV' --output-dir proxies/`) of one job per file. Each job's inputs must
//! be files here (the user's own machine sees what the workers see, as `job submit` assumes), its extra arguments
//! pass [`ffmpeg_args::check`], and its output folder and file are checked as a render's are. A preset's options
//! come first and the user's after them; the encoders they name are the job's needs.

use crate::cli::FfmpegOptions;
use anyhow::{anyhow, bail, Result};
use distencode_actors::ffmpeg_presets::{self, FfmpegPreset};
use distencode_actors::runner::output_policy;
use distencode_wire::ffmpeg_args;
use distencode_wire::job::{Encoding, FfmpegJob, JobKind, JobSpec};
use std::path::{Path, PathBuf};

/// The most jobs one `--each` submits.
pub const MAX_BATCH: usize = 1000;

/// The specs `options` asks for, in order; `absolute` makes a path absolute against the current folder.
pub fn prepare(options: &FfmpegOptions, absolute: impl Fn(&Path) -> Result<PathBuf>) -> Result<Vec<JobSpec>> {
    let preset = match options.preset.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(name) => Some(
            ffmpeg_presets::find(name)
                .ok_or_else(|| anyhow!("no ffmpeg preset {name:?} (distencode presets lists them)"))?,
        ),
        None => None,
    };
    let mut args: Vec<String> = preset.map(FfmpegPreset::args).unwrap_or_default();
    args.extend(options.args.iter().cloned());
    let asked = ffmpeg_args::check(&args)?;
    let encoding = Encoding {
        vcodec: encoder(asked.video_encoder.as_deref(), asked.no_video),
        acodec: encoder(asked.audio_encoder.as_deref(), asked.no_audio),
        extra: Vec::new(),
    };
    let jobs: Vec<(Vec<PathBuf>, PathBuf)> = match (&options.each, &options.output_dir) {
        (Some(pattern), Some(dir)) => {
            let dir = absolute(dir)?;
            matching(&absolute(Path::new(pattern))?)?
                .into_iter()
                .map(|input| {
                    let output = batch_output(&input, &dir, preset);
                    (vec![input], output)
                })
                .collect()
        }
        _ => {
            let output = options.output.as_deref().ok_or_else(|| anyhow!("job ffmpeg needs --output (or --each)"))?;
            let inputs = options.inputs.iter().map(|i| absolute(i)).collect::<Result<Vec<_>>>()?;
            vec![(inputs, absolute(output)?)]
        }
    };
    jobs.into_iter()
        .map(|(inputs, output)| {
            let spec = JobSpec {
                encoding: encoding.clone(),
                priority: options.priority,
                overwrite: options.overwrite,
                kind: JobKind::Ffmpeg(Box::new(FfmpegJob {
                    inputs: inputs.iter().map(|i| i.display().to_string()).collect(),
                    args: args.clone(),
                })),
                preset: preset.map(|p| p.name.to_string()),
                ..JobSpec::new(
                    inputs.first().map(|i| i.display().to_string()).unwrap_or_default(),
                    output.display().to_string(),
                )
            };
            check_here(&spec, &inputs, &output).map(|()| spec)
        })
        .collect()
}

/// The encoder a job needs for an asked one: none for `copy`, for a stream turned off, or when none is named.
fn encoder(asked: Option<&str>, off: bool) -> String {
    match asked {
        _ if off => "none".into(),
        Some("copy") | None => String::new(),
        Some(name) => name.to_string(),
    }
}

/// A batch's output for `input`: its name in `dir`, with the preset's extension (or its own without a preset).
fn batch_output(input: &Path, dir: &Path, preset: Option<&FfmpegPreset>) -> PathBuf {
    let stem = input.file_stem().unwrap_or_default();
    let extension = match preset {
        Some(preset) => std::ffi::OsStr::new(preset.extension),
        None => input.extension().unwrap_or_default(),
    };
    let mut name = stem.to_owned();
    if !extension.is_empty() {
        name.push(".");
        name.push(extension);
    }
    dir.join(name)
}

/// What holds here before the job is sent: its inputs and arguments pass, each input is a file, and the output
/// may be written (the same checks as a render's; each worker checks again with its own rules).
fn check_here(spec: &JobSpec, inputs: &[PathBuf], output: &Path) -> Result<()> {
    distencode_wire::limits::check_spec(spec)?;
    if let Some(missing) = inputs.iter().find(|i| !i.is_file()) {
        bail!("the input {} is not a file", missing.display());
    }
    distencode_mlt::check_output_folder(output).map_err(|e| anyhow!(e))?;
    let resolved = output_policy::resolve(output).map_err(|e| anyhow!(e))?;
    output_policy::check_target(None, output, &resolved, spec.overwrite, inputs).map_err(|e| anyhow!(e))
}

/// The regular files matching `pattern` (absolute; `*` and `?` in its last part only), sorted by name.
fn matching(pattern: &Path) -> Result<Vec<PathBuf>> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name().and_then(|n| n.to_str())) else {
        bail!("--each {}: not a folder and a file name pattern", pattern.display());
    };
    if dir.to_str().is_some_and(|d| d.contains(['*', '?'])) {
        bail!("--each {}: only the file name may hold * or ?", pattern.display());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow!("--each {}: {e}", pattern.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name.as_bytes(), n.as_bytes())))
        .map(|e| e.path())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("--each {}: no file matches", pattern.display());
    }
    if files.len() > MAX_BATCH {
        bail!("--each {}: {} files match; one batch submits at most {MAX_BATCH}", pattern.display(), files.len());
    }
    Ok(files)
}

/// Whether `name` matches `pattern`, where `*` is any run of bytes and `?` one byte (a hidden file needs its dot).
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_a_shell_does_in_one_folder() {
        assert!(wildcard(b"*.MOV", b"C0001.MOV"));
        assert!(!wildcard(b"*.MOV", b"C0001.mov"));
        assert!(wildcard(b"C?00*", b"C1001.MOV"));
        assert!(wildcard(b"*", b"a"));
        assert!(!wildcard(b"*", b".hidden"));
        assert!(wildcard(b"a*b*c", b"axxbyyc"));
        assert!(!wildcard(b"a*b*c", b"axxbyy"));
    }

    #[test]
    fn a_batch_names_each_output_after_its_input_with_the_preset_s_extension() {
        let proxy = ffmpeg_presets::find("proxy-540p");
        assert_eq!(batch_output(Path::new("/f/C0001.MOV"), Path::new("/p"), proxy), PathBuf::from("/p/C0001.mp4"));
        assert_eq!(batch_output(Path::new("/f/a.b.mkv"), Path::new("/p"), None), PathBuf::from("/p/a.b.mkv"));
        assert_eq!(encoder(Some("copy"), false), "");
        assert_eq!(encoder(Some("aac"), true), "none");
    }
}
