//! What a submit asks for, checked and turned into a [`JobSpec`]: the same checks and the same one-line refusals
//! for `job submit` (which reads the project on the user's machine) and the web's submit (on the coordinator's).

use distencode_actors::presets;
use distencode_actors::runner::{output_policy, sequence};
use distencode_mlt as mlt;
use distencode_wire::job::{Encoding, JobSpec, MeltLog, SplitRequest};
use distencode_wire::path_map;
use distencode_wire::preset::PresetView;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A submit's settings, as `job submit`'s flags and the web's submit form and JSON name them.
#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SubmitRequest {
    /// The project as the workers see it (absolute).
    pub project: String,
    /// Where the file goes (absolute); none: beside the project, same name, the preset's extension or `.mp4`.
    /// Without a preset, its extension picks the format.
    pub output: Option<String>,
    /// An export preset (`distencode presets` lists them); `vcodec`, `acodec` and `consumer_args` override it.
    pub preset: Option<String>,
    /// Video and audio encoder; none: the preset's.
    pub vcodec: Option<String>,
    pub acodec: Option<String>,
    /// Further consumer properties, each `KEY=VALUE`; each replaces the preset's value.
    pub consumer_args: Vec<String>,
    pub priority: i32,
    pub melt_log: MeltLog,
    /// Render without the filters a worker lacks (never producers or transitions).
    pub allow_missing_filters: bool,
    /// Render on many workers at once: `auto`, or a number of chunks (2 or more).
    pub split: Option<String>,
    /// Split even a project with a filter that keeps state across frames.
    pub split_force: bool,
    /// Replace an existing file at the output, if this farm rendered it (any other file is refused even so).
    pub overwrite: bool,
}

/// A checked submit: the spec, and where each required filter sits in the project (to explain a refusal).
#[derive(Debug)]
pub struct Prepared {
    pub spec: JobSpec,
    pub filters: Vec<(String, String)>,
    /// References written as Windows paths, which this machine cannot open: the workers check them, after mapping
    /// them with the coordinator's path rules.
    pub unchecked: Vec<String>,
}

/// Where the project is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckHere {
    /// It must be readable here (`job submit` reads the user's own file).
    Always,
    /// Here when this machine sees the path; otherwise the first worker offered the job checks it.
    WhenVisible,
}

/// `auto` or a number of chunks (2 or more), as `--split` takes it.
pub fn parse_split(text: &str) -> Result<Option<u32>, String> {
    if text == "auto" {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(n) if n >= 2 => Ok(Some(n)),
        _ => Err(format!("{text:?} is neither auto nor a number of chunks (2 or more)")),
    }
}

/// The preset named (built in, or one of the coordinator's `house` presets), or the one the output's extension
/// picks, and the output path.
fn preset_and_output(
    project: &Path,
    request: &SubmitRequest,
    house: &[PresetView],
) -> Result<(PresetView, PathBuf), String> {
    let named = match request.preset.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(name) => Some(
            presets::find(name)
                .map(|p| p.view())
                .or_else(|| house.iter().find(|p| p.name == name).cloned())
                .ok_or_else(|| format!("no preset {name:?} (distencode presets lists them)"))?,
        ),
        None => None,
    };
    let output = match request.output.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(output) if !Path::new(output).is_absolute() && !path_map::is_foreign(output) => {
            return Err(format!("the output path {output} is not absolute"))
        }
        Some(output) => PathBuf::from(output),
        None => default_output(project, named.as_ref().map_or("mp4", |p| p.extension.as_str())),
    };
    let preset = match named {
        Some(preset) => preset,
        None => presets::for_output(&output).map(|p| p.view()).ok_or_else(|| {
            format!(
                "{}: no format is known for this extension; name one with --preset (distencode presets lists them)",
                output.display()
            )
        })?,
    };
    if output == project {
        return Err(format!("the output {} would overwrite the project", output.display()));
    }
    sequence::Pattern::for_output(&output)?;
    Ok((preset, output))
}

/// Where a render goes without `--output`: beside the project, named like it, with `extension`; an image sequence
/// as `NAME-%05d.EXT`.
fn default_output(project: &Path, extension: &str) -> PathBuf {
    let file = project.with_extension(extension);
    if !sequence::is_sequence(&file) {
        return file;
    }
    let stem = project.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    project.with_file_name(format!("{stem}-%05d.{extension}"))
}

/// The preset's encoding with the request's encoders and consumer properties over it, through the allowlist.
fn encoding(preset: &PresetView, request: &SubmitRequest) -> Result<Encoding, String> {
    let mut encoding = preset.encoding();
    for arg in &request.consumer_args {
        let (key, value) = arg
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("--consumer-arg {arg:?} is not KEY=VALUE"))?;
        encoding.extra.retain(|(k, _)| k != key);
        encoding.extra.push((key.to_string(), value.to_string()));
    }
    if let Some(vcodec) = request.vcodec.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        encoding.vcodec = vcodec.to_string();
    }
    if let Some(acodec) = request.acodec.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        encoding.acodec = acodec.to_string();
    }
    distencode_wire::consumer_props::check_all(&encoding.extra).map_err(|e| e.to_string())?;
    Ok(encoding)
}

/// Reads and checks the project (when `check` says so) and builds what the coordinator is sent. `project` is an
/// absolute path. Refusals are the one line the user reads.
/// `house` are the coordinator's house presets (`[[preset]]`), which `request.preset` may name.
pub fn prepare(
    project: &Path,
    request: &SubmitRequest,
    house: &[PresetView],
    check: CheckHere,
) -> Result<Prepared, String> {
    // A Windows path is absolute too, where it is forwarded unread: the workers' path rules map it.
    let forwarded_windows_path =
        check == CheckHere::WhenVisible && path_map::is_foreign(&project.display().to_string());
    if !(project.is_absolute() || forwarded_windows_path) {
        return Err(format!("the project path {} is not absolute", project.display()));
    }
    let (preset, output) = preset_and_output(project, request, house)?;
    let chunks = match request.split.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(split) => Some(parse_split(split)?),
        None => None,
    };
    if chunks.is_some() && sequence::is_sequence(&output) {
        return Err(format!("{}: an image sequence is rendered whole, not split", output.display()));
    }
    let mut spec = JobSpec {
        encoding: encoding(&preset, request)?,
        priority: request.priority,
        melt_log: request.melt_log,
        overwrite: request.overwrite,
        preset: Some(preset.name.to_string()),
        ..JobSpec::new(project.display().to_string(), output.display().to_string())
    };
    if check == CheckHere::WhenVisible && !project.exists() {
        if chunks.is_some() {
            return Err(format!(
                "{}: a split render needs the project readable on the coordinator, to plan its chunks",
                project.display()
            ));
        }
        return Ok(Prepared { spec, filters: Vec::new(), unchecked: Vec::new() });
    }
    let parsed = mlt::read_project(project).map_err(|e| e.to_string())?;
    // What every worker refuses whatever its settings (a file under /proc, /sys or /dev, a device, a pipe, a
    // socket) is refused here at once, before opening anything (a pipe nobody writes to would not open); media
    // roots and network URLs are each worker's to decide.
    let anywhere = mlt::MediaPolicy { allow_network: true, ..mlt::MediaPolicy::default() };
    mlt::check_media(&parsed, &anywhere).map_err(|refused| format!("{}: {refused}", project.display()))?;
    // A Windows path cannot be opened here: the workers map it with the coordinator's path rules, then check it.
    let mut local = parsed.clone();
    let (foreign, here): (Vec<_>, Vec<_>) = std::mem::take(&mut local.references)
        .into_iter()
        .partition(|r| path_map::is_foreign(&r.path.display().to_string()));
    local.references = here;
    mlt::check_files(&local).map_err(|refusal| format!("{}: {refusal}", project.display()))?;
    let unchecked = foreign.iter().map(|r| r.path.display().to_string()).collect();
    // An output written as a Windows path is the workers' to check, once mapped.
    if !path_map::is_foreign(&output.display().to_string()) {
        mlt::check_output_folder(&output)?;
        // Each worker checks again with its own output roots; this answers at once for what every worker refuses.
        let own_files: Vec<PathBuf> =
            std::iter::once(project.to_path_buf()).chain(parsed.references.iter().map(|r| r.path.clone())).collect();
        let resolved = output_policy::resolve(&output)?;
        output_policy::check_target(None, &output, &resolved, request.overwrite, &own_files)?;
    }
    // Only filters may be left out; producers, transitions, links and consumers stay required.
    let optional_filters: Vec<String> =
        if request.allow_missing_filters { parsed.filter_only_services().into_iter().collect() } else { Vec::new() };
    spec.services = parsed.services.iter().filter(|s| !optional_filters.contains(s)).cloned().collect();
    let filters = parsed
        .filter_places
        .keys()
        .filter(|name| !optional_filters.contains(name))
        .filter_map(|name| Some((name.clone(), parsed.filter_place(name)?)))
        .collect();
    spec.optional_filters = optional_filters;
    spec.split = chunks.map(|chunks| {
        Box::new(SplitRequest {
            chunks,
            force: request.split_force,
            frames: parsed.length_frames,
            fps_num: parsed.fps_num,
            fps_den: parsed.fps_den,
        })
    });
    Ok(Prepared { spec, filters, unchecked })
}

/// A refusal naming filters the pool lacks, with where each sits in the project and the way forward.
pub fn explain_filters(text: &str, filters: &[(String, String)]) -> String {
    let named: Vec<String> = filters
        .iter()
        .filter(|(name, _)| text.contains(&format!(" {name}")))
        .map(|(name, place)| format!("{name} is the {place}"))
        .collect();
    if named.is_empty() {
        return text.to_string();
    }
    format!(
        "{text}; {}; submit with --allow-missing-filters to render without the filters a worker lacks",
        named.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(project: &str, output: Option<&str>) -> SubmitRequest {
        SubmitRequest { project: project.into(), output: output.map(String::from), ..SubmitRequest::default() }
    }

    #[test]
    fn a_windows_path_is_forwarded_unread_for_the_workers_rules_to_map() {
        let windows = request("D:\\Projects\\film.kdenlive", Some("D:\\Projects\\out\\film.mp4"));
        let prepared = prepare(Path::new(&windows.project), &windows, &[], CheckHere::WhenVisible).unwrap();
        assert_eq!(prepared.spec.project, "D:\\Projects\\film.kdenlive");
        assert_eq!(prepared.spec.output, "D:\\Projects\\out\\film.mp4");
        let beside = request("D:\\Projects\\film.kdenlive", None);
        let prepared = prepare(Path::new(&beside.project), &beside, &[], CheckHere::WhenVisible).unwrap();
        assert_eq!(prepared.spec.output, "D:\\Projects\\film.mp4");
        // Read here, it must be this machine's path; and a relative path is refused either way.
        let refused = prepare(Path::new(&windows.project), &windows, &[], CheckHere::Always).unwrap_err();
        assert_eq!(refused, "the project path D:\\Projects\\film.kdenlive is not absolute");
        let relative = request("film.mlt", None);
        let refused = prepare(Path::new("film.mlt"), &relative, &[], CheckHere::WhenVisible).unwrap_err();
        assert_eq!(refused, "the project path film.mlt is not absolute");
        let output = request("/srv/film.mlt", Some("out.mp4"));
        let refused = prepare(Path::new("/srv/film.mlt"), &output, &[], CheckHere::WhenVisible).unwrap_err();
        assert_eq!(refused, "the output path out.mp4 is not absolute");
    }
}
