//! What melt and an ffmpeg job may read on a worker: everything the worker's user may, except the worker's own
//! secrets (its certificates and key, and any other folder of `MediaPolicy::forbidden` but the work dir, which
//! melt needs as its TMPDIR). The kernel enforces it with Landlock, so a project or an ffmpeg argument that the
//! checks (`mlt::check_media`) let through by mistake still cannot turn the worker's key into pixels.
//!
//! Landlock only allows, never denies: the ruleset allows reading beneath every entry of `/`, except that on the
//! way to a secret folder it descends and allows that folder's siblings instead, level by level, so the secret
//! itself (and its parents' listings) stay outside every allowed hierarchy. Entries that are links are skipped:
//! Landlock judges the file a link leads to by where that file is, so a link to a secret stays closed while a link
//! to anything else works through the target's own rule. A bind mount or a second mount that shows a secret under
//! another path makes that path a secret too (`mounts`). Writing is not restricted here (the output and work
//! folders are checked before melt starts, `output_policy`). Where the kernel has no Landlock, the ruleset is
//! empty and the child runs as before; [`status`] says which, for the worker's log and `doctor`.

use super::process;
use landlock::{AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI};
use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The Landlock version whose read rights are used (reading files and listing folders: the first version's).
const READ_ABI: ABI = ABI::V1;

/// Entries read from one folder on the way to a secret at most; past it the rest of that folder stays closed.
const MAX_ENTRIES_PER_FOLDER: usize = 65_536;

/// The folders and files a job may never read: `forbidden` without the work dir (melt's TMPDIR), resolved, and
/// every other path mounts give them ([`mounts::aliases`]).
pub fn secrets(forbidden: &[PathBuf], work_dir: &Path) -> Vec<PathBuf> {
    let work_dir = std::fs::canonicalize(work_dir).unwrap_or_else(|_| work_dir.to_path_buf());
    let resolved: Vec<PathBuf> = forbidden
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| *p != work_dir && p.parent().is_some())
        .collect();
    let mounts = mounts::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
    let mut all = resolved.clone();
    for secret in &resolved {
        all.extend(mounts::aliases(secret, &mounts).into_iter().filter(|a| a.parent().is_some()));
    }
    all
}

/// Has `command`'s child restrict itself to reading outside `secrets` before it runs. Fails only where the kernel
/// has Landlock and the ruleset could not be made; without Landlock the child runs unconfined.
pub fn confine(command: &mut Command, secrets: &[PathBuf]) -> Result<(), String> {
    if secrets.is_empty() {
        return Ok(());
    }
    if let Some(ruleset) = read_ruleset(secrets)? {
        process::restrict_with(command, ruleset);
    }
    Ok(())
}

/// Whether this kernel confines the children (for the worker's start line and `doctor`).
pub fn status() -> Result<(), String> {
    match Ruleset::default().handle_access(AccessFs::from_read(READ_ABI)).and_then(|r| r.create()) {
        Ok(created) => match Option::<OwnedFd>::from(created) {
            Some(_) => Ok(()),
            None => Err("this kernel has no Landlock: melt and ffmpeg jobs can read whatever the worker's user can \
                         (protect the certificates with the unit's InaccessiblePaths=)"
                .into()),
        },
        Err(e) => Err(format!("Landlock refused a ruleset: {e}")),
    }
}

/// The ruleset's descriptor, `None` where the kernel has no Landlock.
fn read_ruleset(secrets: &[PathBuf]) -> Result<Option<OwnedFd>, String> {
    let read = AccessFs::from_read(READ_ABI);
    let file_read = read & AccessFs::from_file(READ_ABI);
    let cannot = |e: &dyn std::fmt::Display| format!("cannot confine the render (Landlock): {e}");
    let mut ruleset = Ruleset::default().handle_access(read).and_then(|r| r.create()).map_err(|e| cannot(&e))?;
    for (path, is_dir) in readable(secrets) {
        // An entry that went away, or cannot be opened even as a path, is simply not allowed.
        let Ok(fd) = PathFd::new(&path) else {
            continue;
        };
        let access = if is_dir { read } else { file_read };
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access)).map_err(|e| cannot(&e))?;
    }
    Ok(ruleset.into())
}

/// What may be read: each path with whether it is a folder. `/` whole when there is no secret.
fn readable(secrets: &[PathBuf]) -> Vec<(PathBuf, bool)> {
    let secrets: BTreeSet<&Path> = secrets.iter().map(PathBuf::as_path).collect();
    let on_the_way: BTreeSet<&Path> = secrets.iter().flat_map(|s| s.ancestors().skip(1)).collect();
    let mut allowed = Vec::new();
    let mut folders = vec![PathBuf::from("/")];
    while let Some(folder) = folders.pop() {
        if !on_the_way.contains(folder.as_path()) {
            allowed.push((folder, true));
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten().take(MAX_ENTRIES_PER_FOLDER) {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if secrets.contains(path.as_path()) || kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                folders.push(path);
            } else {
                allowed.push((path, false));
            }
        }
    }
    allowed
}

mod mounts;

#[cfg(test)]
mod tests;
