//! The worker's side of path mapping ([`distencode_wire::path_map`]): an offer's paths made this machine's before
//! anything is checked, and the project rendered from a copy whose references are mapped too.
//!
//! The user's project file is never changed: the copy is written into the worker's own folder and removed when the
//! render ends. A reference that no rule maps and that this machine cannot see is refused with the rule table, so the
//! person reading the refusal sees which rule is missing.

use distencode_mlt::{self as mlt, Refusal};
use distencode_wire::job::MeltJob;
use distencode_wire::path_map::{self, PathRule, MAX_PATH_RULES};
use std::path::{Path, PathBuf};

/// The folder of the worker's own folder that holds the projects' mapped copies.
const COPIES: &str = "mapped-projects";

/// Maps the offer's paths with its rules: the project, the output, an ffmpeg job's inputs and a join's inputs.
pub fn map_offer(job: &mut MeltJob) -> Result<(), String> {
    if job.path_map.len() > MAX_PATH_RULES {
        return Err(format!("the offer carries {} path rules, more than {MAX_PATH_RULES}", job.path_map.len()));
    }
    let rules = job.path_map.clone();
    let map = |text: &mut String| {
        if let Some(mapped) = path_map::map(&rules, text) {
            *text = mapped;
        }
    };
    let spec = &mut job.spec;
    map(&mut spec.project);
    map(&mut spec.output);
    if let distencode_wire::job::JobKind::Ffmpeg(ffmpeg) = &mut spec.kind {
        ffmpeg.inputs.iter_mut().for_each(map);
    }
    if let Some(task) = spec.task.as_mut() {
        task.inputs.iter_mut().for_each(|input| map(&mut input.path));
    }
    Ok(())
}

/// Whether the project needs a mapped copy: the offer has rules, or the project was submitted as a Windows path
/// (`windows`: its relative paths may hold `\`).
pub fn needs_copy(rules: &[PathRule], windows: bool) -> bool {
    !rules.is_empty() || windows
}

/// Removes the mapped copies a worker killed mid-render left behind (at its start, before it takes an offer);
/// returns how many.
pub fn remove_stale_copies(work_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(work_dir.join(COPIES)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".mlt"))
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

/// A project's mapped copy in the worker's folder; removed when dropped.
#[derive(Debug)]
pub struct ProjectCopy {
    path: PathBuf,
}

impl ProjectCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProjectCopy {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let remove = move || {
            let _ = std::fs::remove_file(&path);
        };
        // Off the actor's thread when there is a runtime to take it.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

/// Writes the mapped copy of `project` (parsed from `text`, read from its mapped path) for this attempt of `job`,
/// and parses it as the project melt renders.
pub fn copy_project(
    work_dir: &Path,
    job: &MeltJob,
    text: &str,
    project: &mlt::Project,
    windows: bool,
) -> Result<(ProjectCopy, mlt::Project), String> {
    let rules = &job.path_map;
    let root = project.root.display().to_string();
    let mapping = mlt::Mapping {
        absolute: &|path: &str| path_map::map(rules, path),
        windows_separators: windows,
        root: path_map::map(rules, &root).unwrap_or(root),
    };
    let copy = mlt::map_references(text, &project.path, &mapping).map_err(|e| e.to_string())?;
    let folder = work_dir.join(COPIES);
    std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let path = folder.join(format!("job-{}-attempt-{}.mlt", job.id, job.attempt));
    std::fs::write(&path, copy.xml.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let copy_file = ProjectCopy { path };
    let parsed = mlt::parse_project(&copy.xml, copy_file.path()).map_err(|e| e.to_string())?;
    tracing::info!(job = %job.id, attempt = job.attempt, mapped = copy.changed, "rendering a copy of the project with its paths mapped");
    Ok((copy_file, parsed))
}

/// A refusal of files, with the rules this worker has when a missing file or root might be theirs to map.
pub fn explain(refusal: &Refusal, rules: &[PathRule]) -> String {
    let files_missing = !refusal.missing_files.is_empty() || refusal.missing_root.is_some();
    if !files_missing {
        return refusal.to_string();
    }
    let foreign = refusal.missing_files.iter().any(|r| path_map::is_foreign(&r.path.display().to_string()))
        || refusal.missing_root.as_ref().is_some_and(|root| path_map::is_foreign(&root.root.display().to_string()));
    with_rules(refusal.to_string(), foreign, rules)
}

/// A project file this worker cannot find or read, with its rules as [`explain`] gives them.
pub fn explain_project(error: &mlt::ProjectError, project: &str, rules: &[PathRule]) -> String {
    with_rules(error.to_string(), path_map::is_foreign(project), rules)
}

/// `reason`, followed by the worker's rule table when a path it names is written the Windows way or this worker
/// has rules: a rule may be what is missing.
fn with_rules(reason: String, foreign: bool, rules: &[PathRule]) -> String {
    if foreign || !rules.is_empty() {
        format!("{reason}; {}", path_map::table(rules))
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::{FfmpegJob, JobId, JobKind, JobSpec, Task, TaskInput, TaskKind};

    fn rule(from: &str, to: &str) -> PathRule {
        PathRule { from: from.into(), to: to.into() }
    }

    #[test]
    fn an_offer_s_paths_are_mapped_and_its_rules_capped() {
        let mut spec = JobSpec::new("D:\\Projects\\film.mlt", "D:\\Projects\\out\\film.mp4");
        spec.kind = JobKind::Ffmpeg(Box::new(FfmpegJob {
            inputs: vec!["D:\\Projects\\a.mov".into(), "/local/b.mov".into()],
            args: Vec::new(),
        }));
        let mut job = MeltJob { id: JobId(1), attempt: 1, spec, path_map: vec![rule("D:\\Projects", "/mnt/p")] };
        map_offer(&mut job).unwrap();
        assert_eq!(job.spec.project, "/mnt/p/film.mlt");
        assert_eq!(job.spec.output, "/mnt/p/out/film.mp4");
        assert_eq!(job.spec.kind.ffmpeg().unwrap().inputs, ["/mnt/p/a.mov", "/local/b.mov"]);
        let mut join = JobSpec::new("D:\\Projects\\film.mlt", "D:\\Projects\\film.mp4");
        join.task = Some(Box::new(Task {
            parent: JobId(1),
            kind: TaskKind::Join,
            first: 0,
            last: 9,
            fps_num: 25,
            fps_den: 1,
            inputs: vec![TaskInput { path: "D:\\Projects\\.film.mp4.job1.chunk0.mp4".into(), frames: 10 }],
        }));
        let mut joining = MeltJob { id: JobId(2), attempt: 1, spec: join, path_map: job.path_map.clone() };
        map_offer(&mut joining).unwrap();
        assert_eq!(joining.spec.task.unwrap().inputs[0].path, "/mnt/p/.film.mp4.job1.chunk0.mp4");
        job.path_map = vec![rule("/a", "/b"); MAX_PATH_RULES + 1];
        assert_eq!(map_offer(&mut job).unwrap_err(), "the offer carries 257 path rules, more than 256");
    }

    #[test]
    fn copies_left_by_a_killed_worker_are_removed_at_start() {
        let work = tempfile::tempdir().unwrap();
        assert_eq!(remove_stale_copies(work.path()), 0, "no folder yet");
        let copies = work.path().join(COPIES);
        std::fs::create_dir_all(&copies).unwrap();
        std::fs::write(copies.join("job-3-attempt-1.mlt"), "<mlt/>").unwrap();
        std::fs::write(copies.join("job-4-attempt-2.mlt"), "<mlt/>").unwrap();
        assert_eq!(remove_stale_copies(work.path()), 2);
        assert_eq!(std::fs::read_dir(&copies).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_file_is_explained_with_the_rules() {
        let missing = mlt::FileRef {
            path: "D:\\Other\\a.mp4".into(),
            origin: "producer \"a\" property resource".into(),
            ..Default::default()
        };
        let refusal = Refusal { missing_files: vec![missing], ..Default::default() };
        assert_eq!(
            explain(&refusal, &[rule("D:\\Projects", "/mnt/p")]),
            "missing media: D:\\Other\\a.mp4 (producer \"a\" property resource); the path rules for this worker: \
             D:\\Projects → /mnt/p"
        );
        assert_eq!(
            explain(&refusal, &[]),
            "missing media: D:\\Other\\a.mp4 (producer \"a\" property resource); no path rule applies to this worker"
        );
        let services = Refusal { missing_services: vec!["frei0r.x".into()], ..Default::default() };
        assert_eq!(explain(&services, &[rule("/a", "/b")]), "unknown services: frei0r.x");
    }
}
