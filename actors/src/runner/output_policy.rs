//! Where a render may put its file: the output rule, checked by the worker before melt starts (and by the client
//! before it submits, for an early answer).
//!
//! An `--output` used to replace whatever it named. Now, with every path compared after resolving links (the
//! folder is canonicalised, then the file name joined to it):
//! - the output lies under one of the worker's output roots (`--output-root`, repeatable); with none configured,
//!   anywhere the worker may write, except the protected folders;
//! - never inside a protected folder: the worker's own (certificates, work dir) and the system's ([`SYSTEM`]);
//! - never over the job's project or any file it references;
//! - never over an existing file, unless the job was submitted with `--overwrite`, and then only over a regular file
//!   this farm put in place (it carries the mark [`output_files::MARK`]); a link there is refused either way. The
//!   job's own earlier render (the same job rendered again, its mark names the job) may always be replaced.
//!
//! - an image sequence (`film-%05d.png`) is held to the same rule file by file: every file of its name already in
//!   the folder.
//!
//! Each refusal is one line naming the output and the cause.

use super::output_files;
use super::sequence::Pattern;
use distencode_wire::job::JobId;
use std::io;
use std::path::{Path, PathBuf};

/// Folders of the system that no output may lie in, whatever the roots say.
pub const SYSTEM: &[&str] =
    &["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr"];

/// What a worker allows as outputs.
#[derive(Clone, Debug, Default)]
pub struct OutputRules {
    /// Outputs must lie under one of these (resolved); empty allows anywhere outside `protected`.
    pub roots: Vec<PathBuf>,
    /// The worker's own folders (resolved): its certificates, its work dir.
    pub protected: Vec<PathBuf>,
}

impl OutputRules {
    /// Rules with these roots and own folders, each resolved now (a folder that does not exist is kept as given).
    pub fn new(roots: &[PathBuf], own: &[PathBuf]) -> Self {
        let resolve = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        Self { roots: roots.iter().map(resolve).collect(), protected: own.iter().map(resolve).collect() }
    }
}

/// `output` with its folder's links resolved; refuses a name that is not a plain file name.
pub fn resolve(output: &Path) -> Result<PathBuf, String> {
    let name = match output.file_name() {
        Some(name) if output.components().next_back().is_some_and(|c| matches!(c, std::path::Component::Normal(_))) => {
            name
        }
        _ => return Err(format!("the output {} names no file", output.display())),
    };
    let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder)
        .map_err(|e| format!("the output folder {} cannot be used: {e}", folder.display()))?;
    Ok(folder.join(name))
}

/// Checks `output` against this worker's own rules (its roots, its folders: another worker may allow it); returns
/// where the render goes (the folder resolved).
pub fn check_here(rules: &OutputRules, output: &Path) -> Result<PathBuf, String> {
    let resolved = resolve(output)?;
    let shown = output.display();
    if !rules.roots.is_empty() && !rules.roots.iter().any(|root| resolved.starts_with(root)) {
        let roots: Vec<String> = rules.roots.iter().map(|r| r.display().to_string()).collect();
        return Err(format!("the output {shown} is outside this worker's output roots ({})", roots.join(", ")));
    }
    if let Some(own) = rules.protected.iter().find(|own| resolved.starts_with(own)) {
        return Err(format!("the output {shown} is inside this worker's own folder {}", own.display()));
    }
    Ok(resolved)
}

/// Checks `output` (as given) and where it resolved to against the system's folders, the job's own files and what
/// is already there. Blocking file access.
pub fn check_target(
    job: Option<JobId>,
    output: &Path,
    resolved: &Path,
    overwrite: bool,
    project_files: &[PathBuf],
) -> Result<(), String> {
    let shown = output.display();
    if let Some(system) = SYSTEM.iter().find(|system| resolved.starts_with(system)) {
        return Err(format!("the output {shown} is inside the system folder {system}"));
    }
    for file in project_files {
        if std::fs::canonicalize(file).is_ok_and(|file| file == resolved) {
            return Err(format!("the output {shown} is a file of the job itself ({})", file.display()));
        }
    }
    // An image sequence's files are each held to the rule of a file.
    if let Some(pattern) = Pattern::for_output(resolved)? {
        let folder = resolved.parent().unwrap_or(Path::new("/"));
        let files = pattern
            .files_in(folder)
            .map_err(|e| format!("the output folder {} cannot be listed: {e}", folder.display()))?;
        return files
            .iter()
            .try_for_each(|(_, file)| check_existing(job, &file.display().to_string(), file, overwrite));
    }
    check_existing(job, &shown.to_string(), resolved, overwrite)
}

/// What is at `target` (called `shown`) may be replaced by this render.
fn check_existing(job: Option<JobId>, shown: &str, target: &Path, overwrite: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("the output {shown} cannot be looked at: {e}")),
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(format!("the output {shown} is a symbolic link: a render never writes through a link"))
        }
        Ok(meta) if !meta.file_type().is_file() => Err(format!("the output {shown} exists and is not a regular file")),
        Ok(_) => match output_files::mark_of(target) {
            Some(marked) if Some(marked) == job.map(|j| j.0) || overwrite => Ok(()),
            _ if !overwrite => Err(format!(
                "the output {shown} already exists: submit with --overwrite to replace a file this farm rendered"
            )),
            _ => Err(format!(
                "the output {shown} was not rendered by this farm (it has no {} mark): refused even with --overwrite",
                output_files::MARK
            )),
        },
    }
}
