//! What a submit asks for, checked and turned into a [`JobSpec`]: the same checks and the same one-line refusals
//! for `job submit` (which reads the project on the user's machine) and the web's submit (on the coordinator's).

use distencode_mlt as mlt;
use distencode_wire::job::{Encoding, JobSpec, MeltLog};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A submit's settings, as `job submit`'s flags and the web's submit form and JSON name them.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SubmitRequest {
    /// The project as the workers see it (absolute).
    pub project: String,
    /// Where the file goes (absolute); empty: beside the project, same name, `.mp4`.
    pub output: Option<String>,
    pub vcodec: String,
    pub acodec: String,
    /// Further consumer properties, each `KEY=VALUE`.
    pub consumer_args: Vec<String>,
    pub priority: i32,
    pub melt_log: MeltLog,
    /// Render without the filters a worker lacks (never producers or transitions).
    pub allow_missing_filters: bool,
}

impl Default for SubmitRequest {
    fn default() -> Self {
        let encoding = Encoding::default();
        SubmitRequest {
            project: String::new(),
            output: None,
            vcodec: encoding.vcodec,
            acodec: encoding.acodec,
            consumer_args: Vec::new(),
            priority: 0,
            melt_log: MeltLog::Normal,
            allow_missing_filters: false,
        }
    }
}

/// A checked submit: the spec, and where each required filter sits in the project (to explain a refusal).
pub struct Prepared {
    pub spec: JobSpec,
    pub filters: Vec<(String, String)>,
}

/// Where the project is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckHere {
    /// It must be readable here (`job submit` reads the user's own file).
    Always,
    /// Here when this machine sees the path; otherwise the first worker offered the job checks it.
    WhenVisible,
}

/// Reads and checks the project (when `check` says so) and builds what the coordinator is sent. `project` and
/// `output` are absolute paths. Refusals are the one line the user reads.
pub fn prepare(
    project: &Path,
    output: Option<&Path>,
    request: &SubmitRequest,
    check: CheckHere,
) -> Result<Prepared, String> {
    if !project.is_absolute() {
        return Err(format!("the project path {} is not absolute", project.display()));
    }
    let output: PathBuf = match output {
        Some(output) if !output.is_absolute() => {
            return Err(format!("the output path {} is not absolute", output.display()))
        }
        Some(output) => output.to_path_buf(),
        None => project.with_extension("mp4"),
    };
    if output == project {
        return Err(format!("the output {} would overwrite the project", output.display()));
    }
    let extra = request
        .consumer_args
        .iter()
        .map(|arg| {
            arg.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--consumer-arg {arg:?} is not KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut spec = JobSpec {
        project: project.display().to_string(),
        output: output.display().to_string(),
        encoding: Encoding { vcodec: request.vcodec.clone(), acodec: request.acodec.clone(), extra },
        priority: request.priority,
        services: Vec::new(),
        melt_log: request.melt_log,
        optional_filters: Vec::new(),
    };
    if check == CheckHere::WhenVisible && !project.exists() {
        return Ok(Prepared { spec, filters: Vec::new() });
    }
    let parsed = mlt::read_project(project).map_err(|e| e.to_string())?;
    mlt::check_files(&parsed).map_err(|refusal| format!("{}: {refusal}", project.display()))?;
    mlt::check_output_folder(&output)?;
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
    Ok(Prepared { spec, filters })
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
