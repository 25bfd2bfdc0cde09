//! Decides whether this machine can render a project, listing every reason it
//! cannot at once (every missing or unreadable file, every unknown service)
//! so a user fixes them in one go rather than one per attempt.
//!
//! Files are opened on a thread of their own with a deadline each: a file on a
//! hung network share, or a named pipe nobody writes to, blocks `open` for ever,
//! and would otherwise hold a client, or a worker's only slot, with it. The files
//! after one that does not answer stay unchecked (that thread is blocked on it).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::renames::renamed_note;
use super::services::{ServiceKind, ServiceSet};
use super::{FileRef, FileRole, Project};

/// Every reason a machine cannot render a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub missing_files: Vec<FileRef>,
    /// A file that exists but cannot be opened, with the reason.
    pub unreadable_files: Vec<(FileRef, String)>,
    /// Services this melt lacks, sorted.
    pub missing_services: Vec<String>,
    /// For a missing service: where it sits (a filter's clip or track) and the name this melt has it under.
    pub service_notes: BTreeMap<String, String>,
    /// The project's root folder when it does not exist here and relative paths need it.
    pub missing_root: Option<Box<MissingRoot>>,
}

/// A `root` folder that does not exist on this machine, and the relative paths that need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingRoot {
    /// The project's root, as resolved (`<mlt root="...">`, else the project's folder).
    pub root: PathBuf,
    /// The files named relative to it.
    pub files: Vec<FileRef>,
}

impl Refusal {
    fn into_result(self) -> Result<(), Refusal> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.missing_files.is_empty()
            && self.unreadable_files.is_empty()
            && self.missing_services.is_empty()
            && self.missing_root.is_none()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(missing) = &self.missing_root {
            let list: Vec<String> = missing
                .files
                .iter()
                .map(|r| format!("{} ({})", one_line(r.relative.as_deref().unwrap_or_default()), r.origin))
                .collect();
            parts.push(format!(
                "the project's root folder {} does not exist here, and these paths are relative to it: {}",
                one_line(&missing.root.display().to_string()),
                list.join(", ")
            ));
        }
        let (analyses, media): (Vec<&FileRef>, Vec<&FileRef>) =
            self.missing_files.iter().partition(|r| r.role == FileRole::StabilisationAnalysis);
        let list = |refs: &[&FileRef]| {
            let each: Vec<String> =
                refs.iter().map(|r| format!("{} ({})", one_line(&r.path.display().to_string()), r.origin)).collect();
            each.join(", ")
        };
        if !media.is_empty() {
            parts.push(format!("missing media: {}", list(&media)));
        }
        if !analyses.is_empty() {
            parts.push(format!(
                "missing stabilisation analysis: {} (the vidstab filter reads the motion analysis the editor writes \
                 when it analyses the clip: Shotcut's Stabilize filter \"Analyze\", Kdenlive's stabilise job; run it \
                 again where this file is to be, or remove the filter)",
                list(&analyses)
            ));
        }
        if !self.unreadable_files.is_empty() {
            let list: Vec<String> = self
                .unreadable_files
                .iter()
                .map(|(r, why)| {
                    format!("{} ({}: {})", one_line(&r.path.display().to_string()), r.origin, one_line(why))
                })
                .collect();
            parts.push(format!("unreadable media: {}", list.join(", ")));
        }
        if !self.missing_services.is_empty() {
            let each: Vec<String> = self
                .missing_services
                .iter()
                .map(|name| match self.service_notes.get(name) {
                    Some(note) => format!("{name} ({note})"),
                    None => name.clone(),
                })
                .collect();
            parts.push(format!("unknown services: {}", each.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Refusal {}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Every reason this machine cannot render the project, all of them, not just the first.
pub fn check_on_this_machine(project: &Project, available: &ServiceSet) -> Result<(), Refusal> {
    let mut refusal = file_problems(project);
    let mut missing: Vec<String> = project
        .services_by_kind
        .iter()
        .flat_map(|(kind, names)| names.iter().filter(|n| !available.contains_kind(*kind, n)).cloned())
        .collect();
    missing.sort();
    missing.dedup();
    refusal.service_notes =
        missing.iter().filter_map(|name| Some((name.clone(), service_note(project, available, name)?))).collect();
    refusal.missing_services = missing;
    refusal.into_result()
}

/// Where a missing service sits and, if this melt has it under another name, that name.
fn service_note(project: &Project, available: &ServiceSet, name: &str) -> Option<String> {
    let kinds: Vec<ServiceKind> =
        project.services_by_kind.iter().filter(|(_, names)| names.contains(name)).map(|(kind, _)| *kind).collect();
    let renamed = renamed_note(name, |other| kinds.iter().any(|kind| available.contains_kind(*kind, other)))
        .map(|n| n.replacen("it has", "this melt has", 1));
    let notes: Vec<String> = project.filter_place(name).into_iter().chain(renamed).collect();
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// The job's optional filters (`job submit --allow-missing-filters`) that this melt lacks: the render drops them.
pub fn filters_to_drop(project: &Project, available: &ServiceSet, optional: &[String]) -> Vec<String> {
    let used = project.services_by_kind.get(&ServiceKind::Filter);
    optional
        .iter()
        .filter(|name| used.is_some_and(|u| u.contains(*name)) && !available.contains_kind(ServiceKind::Filter, name))
        .cloned()
        .collect()
}

/// Every file of the project this machine cannot open (services unchecked),
/// for a client that has no melt of its own.
pub fn check_files(project: &Project) -> Result<(), Refusal> {
    file_problems(project).into_result()
}

/// How long opening one of the project's files may take before it counts as unreadable.
pub const OPEN_DEADLINE: Duration = Duration::from_secs(10);

/// Opens every referenced file in turn on a checking thread. A file that does not answer within
/// [`OPEN_DEADLINE`] is reported as such and the files after it are left unchecked (the thread stays blocked on
/// it, and nothing else does).
fn file_problems(project: &Project) -> Refusal {
    file_problems_within(project, OPEN_DEADLINE)
}

fn file_problems_within(project: &Project, deadline: Duration) -> Refusal {
    let mut refusal = Refusal::default();
    let (results, opened) = mpsc::channel();
    let (references, root) = (project.references.clone(), project.root.clone());
    let checker = std::thread::Builder::new().name("file-check".into()).spawn(move || {
        let mut root_exists = None;
        for r in &references {
            if results.send(open_under(r, &root, &mut root_exists)).is_err() {
                return;
            }
        }
    });
    if checker.is_err() {
        // No thread to be had: check here, without the deadline, rather than not at all.
        let mut root_exists = None;
        for r in &project.references {
            note(&mut refusal, r, &project.root, open_under(r, &project.root, &mut root_exists));
        }
        return refusal;
    }
    for r in &project.references {
        let why = match opened.recv_timeout(deadline) {
            Ok(result) => {
                note(&mut refusal, r, &project.root, result);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => "could not be checked (the checking thread stopped)".into(),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                format!("did not open within {deadline:?} (on a network share that does not answer, or a named pipe?)")
            }
        };
        refusal.unreadable_files.push((r.clone(), why));
        break;
    }
    refusal
}

/// How opening one referenced file went.
enum Opened {
    Yes,
    No(std::io::Error),
    /// The path is relative and the root it needs does not exist.
    RootMissing,
}

/// Opens `r`, unless it is relative to a `root` that does not exist (`root_exists` remembers, once looked at).
fn open_under(r: &FileRef, root: &std::path::Path, root_exists: &mut Option<bool>) -> Opened {
    if r.role == FileRole::Network {
        return Opened::Yes;
    }
    if r.relative.is_some() && !*root_exists.get_or_insert_with(|| root.is_dir()) {
        return Opened::RootMissing;
    }
    match open(r) {
        Ok(()) => Opened::Yes,
        Err(e) => Opened::No(e),
    }
}

/// Opens one referenced file (or lists one folder) as melt would need to.
fn open(r: &FileRef) -> std::io::Result<()> {
    if r.folder {
        return std::fs::read_dir(&r.path).map(|_| ());
    }
    File::open(&r.path).and_then(|f| f.metadata()).and_then(|m| {
        if m.is_dir() {
            Err(std::io::Error::other("is a folder, not a file"))
        } else {
            Ok(())
        }
    })
}

fn note(refusal: &mut Refusal, r: &FileRef, root: &std::path::Path, opened: Opened) {
    match opened {
        Opened::Yes => {}
        Opened::RootMissing => refusal
            .missing_root
            .get_or_insert_with(|| Box::new(MissingRoot { root: root.to_path_buf(), files: Vec::new() }))
            .files
            .push(r.clone()),
        Opened::No(e) if e.kind() == std::io::ErrorKind::NotFound => refusal.missing_files.push(r.clone()),
        Opened::No(e) => refusal.unreadable_files.push((r.clone(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fref(path: &str, origin: &str) -> FileRef {
        FileRef { path: PathBuf::from(path), origin: origin.into(), ..FileRef::default() }
    }

    #[test]
    fn display_is_one_line() {
        let r = Refusal {
            missing_files: vec![
                fref("/a/b.mp4", "producer \"clip1\" property resource"),
                fref("/c d.wav", "chain \"x\" property resource"),
            ],
            unreadable_files: vec![(fref("/e", "filter at line 3 property av.file"), "Permission denied".into())],
            missing_services: vec!["bar".into(), "foo".into()],
            missing_root: None,
            ..Refusal::default()
        };
        assert_eq!(
            r.to_string(),
            "missing media: /a/b.mp4 (producer \"clip1\" property resource), /c d.wav (chain \"x\" property resource); \
             unreadable media: /e (filter at line 3 property av.file: Permission denied); unknown services: bar, foo"
        );
        let only = Refusal { missing_services: vec!["foo".into()], ..Refusal::default() };
        assert_eq!(only.to_string(), "unknown services: foo");
    }

    #[test]
    fn lists_every_problem() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("present.mp4");
        std::fs::write(&present, b"x").unwrap();
        let mut project = Project::empty_for_tests();
        project.references = vec![
            FileRef { path: present.clone(), origin: "p1".into(), ..FileRef::default() },
            FileRef { path: dir.path().join("gone1.mp4"), origin: "p2".into(), ..FileRef::default() },
            FileRef { path: dir.path().join("gone 2.wav"), origin: "p3".into(), ..FileRef::default() },
            FileRef { path: dir.path().to_path_buf(), origin: "p4".into(), folder: true, ..FileRef::default() },
            FileRef { path: dir.path().join("nodir"), origin: "p5".into(), folder: true, ..FileRef::default() },
            FileRef { path: dir.path().to_path_buf(), origin: "p6".into(), ..FileRef::default() },
        ];
        project
            .services_by_kind
            .entry(ServiceKind::Producer)
            .or_default()
            .extend(["color".to_string(), "foo".to_string()]);
        project
            .services_by_kind
            .entry(ServiceKind::Filter)
            .or_default()
            .extend(["bar".to_string(), "color".to_string()]);
        let mut available = ServiceSet::new();
        available.insert(ServiceKind::Producer, "color");
        let refusal = check_on_this_machine(&project, &available).unwrap_err();
        let missing: Vec<&str> = refusal.missing_files.iter().map(|r| r.origin.as_str()).collect();
        assert_eq!(missing, ["p2", "p3", "p5"]);
        assert_eq!(refusal.unreadable_files.len(), 1);
        assert_eq!(refusal.unreadable_files[0].0.origin, "p6");
        // "color" exists as a producer but not as a filter.
        assert_eq!(refusal.missing_services, ["bar", "color", "foo"]);
        let files_only = check_files(&project).unwrap_err();
        assert_eq!(files_only.missing_files, refusal.missing_files);
        assert!(files_only.missing_services.is_empty());

        project.references.truncate(1);
        project.services_by_kind.clear();
        assert_eq!(check_on_this_machine(&project, &available), Ok(()));
    }

    #[test]
    fn a_file_that_never_opens_is_reported_after_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let before = dir.path().join("before.mp4");
        std::fs::write(&before, b"x").unwrap();
        // Opening a named pipe for reading waits for a writer, which never comes.
        let pipe = dir.path().join("pipe.mp4");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success());
        let mut project = Project::empty_for_tests();
        project.references = vec![
            FileRef { path: dir.path().join("gone.mp4"), origin: "p1".into(), ..FileRef::default() },
            FileRef { path: pipe.clone(), origin: "p2".into(), ..FileRef::default() },
            FileRef { path: dir.path().join("after.mp4"), origin: "p3".into(), ..FileRef::default() },
        ];
        // On a thread, so that a check that never returns fails the test instead of hanging it.
        let (done, checked) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(file_problems_within(&project, Duration::from_secs(2)));
        });
        let refusal = checked.recv_timeout(Duration::from_secs(60)).expect("the check returned");
        assert_eq!(refusal.missing_files.iter().map(|r| r.origin.as_str()).collect::<Vec<_>>(), ["p1"]);
        assert_eq!(refusal.unreadable_files.len(), 1, "{refusal}");
        let (file, why) = &refusal.unreadable_files[0];
        assert_eq!(file.path, pipe);
        assert_eq!(why, "did not open within 2s (on a network share that does not answer, or a named pipe?)");
        // Unblock the checker thread, so the test leaves nothing behind.
        let _ = std::fs::OpenOptions::new().write(true).open(&pipe);
    }
}
