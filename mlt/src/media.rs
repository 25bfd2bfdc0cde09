//! Where a project's files may be, on the machine that renders it. A project names files by path, and melt reads
//! whatever it names: a `pango` or `qtext` producer turned the worker's own TLS key into pixels, and
//! `resource=http://...` made melt fetch an address of the client's choosing. So before melt starts, every file a
//! project references is resolved (symlinks followed) and must lie outside the worker's own folders and outside
//! `/proc`, `/sys` and `/dev`, be a regular file or a folder (not a device, a named pipe or a socket), and, when
//! media roots are configured, lie under one of them. Network URLs and protocols other than files are refused
//! unless the worker allows them.

use std::path::{Path, PathBuf};

use super::{FileRef, FileRole, Project};

/// Folders no project may read from, whatever the media roots say.
pub const SYSTEM_FORBIDDEN: &[&str] = &["/proc", "/sys", "/dev"];

/// What a worker lets a project read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaPolicy {
    /// Folders every referenced file must lie under; empty: anywhere but the forbidden folders.
    pub roots: Vec<PathBuf>,
    /// The worker's own folders (certificates, work dir): never readable by a job.
    pub forbidden: Vec<PathBuf>,
    /// Whether network URLs (`http://…`) and non-file protocols may be read.
    pub allow_network: bool,
}

/// Every file of `project` this policy refuses, each as `PATH (WHERE): WHY`, joined by `; `.
pub fn check_media(project: &Project, policy: &MediaPolicy) -> Result<(), String> {
    check_references(&project.references, policy)
}

/// The same check for files named outside a project (an ffmpeg job's inputs), each as `PATH (input): WHY`.
pub fn check_media_files(paths: &[PathBuf], policy: &MediaPolicy) -> Result<(), String> {
    let references: Vec<FileRef> = paths
        .iter()
        .map(|path| FileRef { path: path.clone(), origin: "input".into(), role: FileRole::Media, ..FileRef::default() })
        .collect();
    check_references(&references, policy)
}

fn check_references(references: &[FileRef], policy: &MediaPolicy) -> Result<(), String> {
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let forbidden: Vec<PathBuf> =
        SYSTEM_FORBIDDEN.iter().map(PathBuf::from).chain(policy.forbidden.iter().map(|p| resolve(p))).collect();
    let roots: Vec<PathBuf> = policy.roots.iter().map(|p| resolve(p)).collect();
    let mut problems = Vec::new();
    for r in references {
        if let Some(why) = refusal(r, policy, &forbidden, &roots) {
            problems.push(format!("{} ({}): {why}", r.path.display().to_string().replace(['\n', '\r'], " "), r.origin));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("refused media: {}", problems.join("; ")))
    }
}

fn refusal(r: &FileRef, policy: &MediaPolicy, forbidden: &[PathBuf], roots: &[PathBuf]) -> Option<String> {
    if r.role == FileRole::Network {
        return (!policy.allow_network)
            .then(|| "a network URL or a protocol other than a file; this worker does not allow them".to_string());
    }
    // A file that does not exist is reported by the file check; its folder still must not be a forbidden one.
    let real = std::fs::canonicalize(&r.path).ok();
    let path = real.as_deref().unwrap_or(&r.path);
    if let Some(folder) = forbidden.iter().find(|f| path.starts_with(f)) {
        return Some(format!("{} is a folder no job may read", folder.display()));
    }
    if let Some(meta) = real.as_ref().and_then(|p| std::fs::metadata(p).ok()) {
        let kind = meta.file_type();
        if !kind.is_file() && !kind.is_dir() {
            return Some("not a regular file (a device, a named pipe or a socket)".into());
        }
    }
    if !roots.is_empty() && !roots.iter().any(|root| path.starts_with(root)) {
        let list: Vec<String> = roots.iter().map(|p| p.display().to_string()).collect();
        return Some(format!("outside this worker's media roots ({})", list.join(", ")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(refs: &[(&Path, FileRole)]) -> Project {
        let mut p = Project::empty_for_tests();
        p.references = refs
            .iter()
            .map(|(path, role)| FileRef {
                path: path.to_path_buf(),
                origin: "producer \"x\" property resource".into(),
                role: *role,
                ..FileRef::default()
            })
            .collect();
        p
    }

    #[test]
    fn the_workers_own_folders_and_the_system_ones_are_refused_also_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        let key = certs.join("w1.key");
        std::fs::write(&key, "secret").unwrap();
        let link = dir.path().join("innocent.txt");
        std::os::unix::fs::symlink(&key, &link).unwrap();
        let policy = MediaPolicy { forbidden: vec![certs.clone()], ..MediaPolicy::default() };
        let real = std::fs::canonicalize(&certs).unwrap();
        for path in [&key, &link] {
            assert_eq!(
                check_media(&project(&[(path, FileRole::Media)]), &policy),
                Err(format!(
                    "refused media: {} (producer \"x\" property resource): {} is a folder no job may read",
                    path.display(),
                    real.display()
                ))
            );
        }
        for system in ["/proc/self/environ", "/sys/kernel/notes", "/dev/zero"] {
            let err = check_media(&project(&[(Path::new(system), FileRole::Media)]), &policy).unwrap_err();
            assert!(err.ends_with("is a folder no job may read"), "{err}");
        }
    }

    #[test]
    fn fifos_sockets_urls_and_files_outside_the_roots_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.mp4");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let socket = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let policy = MediaPolicy::default();
        for path in [&fifo, &socket] {
            let err = check_media(&project(&[(path, FileRole::Media)]), &policy).unwrap_err();
            assert!(err.ends_with("not a regular file (a device, a named pipe or a socket)"), "{err}");
        }
        assert!(check_media_files(std::slice::from_ref(&fifo), &policy)
            .unwrap_err()
            .ends_with("(input): not a regular file (a device, a named pipe or a socket)"));
        let url = project(&[(Path::new("http://127.0.0.1:9/x.mp4"), FileRole::Network)]);
        assert!(check_media(&url, &policy).unwrap_err().ends_with("this worker does not allow them"));
        assert_eq!(check_media(&url, &MediaPolicy { allow_network: true, ..MediaPolicy::default() }), Ok(()));

        let media = dir.path().join("media");
        std::fs::create_dir(&media).unwrap();
        let inside = media.join("a.mp4");
        std::fs::write(&inside, "x").unwrap();
        let outside = dir.path().join("b.mp4");
        std::fs::write(&outside, "x").unwrap();
        let rooted = MediaPolicy { roots: vec![media.clone()], ..MediaPolicy::default() };
        assert_eq!(check_media(&project(&[(&inside, FileRole::Media)]), &rooted), Ok(()));
        let err = check_media(&project(&[(&outside, FileRole::Media)]), &rooted).unwrap_err();
        assert!(err.contains("outside this worker's media roots"), "{err}");
        // A link inside the root that leads out of it is followed.
        let escape = media.join("escape.mp4");
        std::os::unix::fs::symlink(&outside, &escape).unwrap();
        assert!(check_media(&project(&[(&escape, FileRole::Media)]), &rooted).is_err());
    }
}
