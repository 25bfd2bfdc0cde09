//! The files a render writes, made so that nobody can point them elsewhere.
//!
//! Partial files used to have predictable names beside the output (`.NAME.job<N>-<A>.partial.mp4`), and a symlink
//! planted at that name was followed: melt's output and log landed in the link's target. Now each attempt writes
//! into a fresh private folder beside the output (mode 0700, a random name starting with
//! `.NAME.job<N>-<A>.partial.`, so only the worker's own user can put anything in it); in it the worker creates the
//! render's file and its log itself with `O_CREAT|O_EXCL|O_NOFOLLOW` before melt starts, and remembers the file's
//! device and inode. Before the file is put in place it must still be that file (a regular file, same device and
//! inode), it is marked as this farm's (the extended attribute [`MARK`], read by the `--overwrite` rule in
//! [`super::output_policy`]), and it is renamed with `RENAME_NOREPLACE` unless it may replace what is there, so the rename
//! never replaces a file that appeared meanwhile (a rename never follows a link at its destination).
//!
//! An image sequence (see [`super::sequence`]) has no one file to create: melt makes its numbered files in the
//! private folder, and they are checked one by one when they are moved into place.

use super::sequence::{self, Pattern};
use distencode_wire::job::{JobId, JobSpec, TaskKind};
use rustix::fs::{RenameFlags, XattrFlags, CWD};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The extended attribute set on every file this farm put in place; its value is the job's id.
pub const MARK: &str = "user.distencode.job";

/// The longest mark value read back (a job id in decimal).
const MARK_BYTES: usize = 32;

/// One attempt's private folder and the two files in it.
#[derive(Debug)]
pub struct Partial {
    /// The private folder beside the output (0700, random name).
    pub folder: PathBuf,
    /// The render's file, named like the output (melt picks the container from the extension); for an image
    /// sequence, its pattern, which melt's files follow.
    pub media: PathBuf,
    /// melt's log for this attempt.
    pub log: PathBuf,
    /// The media file's device and inode as created: it must still be that file when it is put in place.
    identity: (u64, u64),
    /// The output is an image sequence of this pattern: there is no one media file.
    sequence: Option<Pattern>,
}

/// Opens a new file that must not exist yet, never through a link.
fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// The job a file put in place is marked with: a join's file is its split job's (the user's output), any other
/// render's its own.
pub fn owner(id: JobId, spec: &JobSpec) -> JobId {
    match spec.task.as_deref() {
        Some(task) if task.kind == TaskKind::Join => task.parent,
        _ => id,
    }
}

/// The name every private folder of this attempt starts with.
pub fn folder_prefix(output: &Path, job: JobId, attempt: u32) -> String {
    format!(".{}.job{job}-{attempt}.partial.", folder_name_part(output))
}

/// The output's file name as the private folders' names hold it: without `%`, which ffmpeg would read as a frame
/// number anywhere in an image sequence's path.
fn folder_name_part(output: &Path) -> String {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    name.replace('%', "#")
}

impl Partial {
    /// Makes the private folder beside `output` and both files in it; returns the log file open for writing.
    /// Blocking file access: call it off an actor's thread.
    pub fn create(output: &Path, job: JobId, attempt: u32) -> io::Result<(Partial, File)> {
        let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = output.file_name().ok_or_else(|| io::Error::other("the output names no file"))?;
        let sequence = Pattern::for_output(output).map_err(io::Error::other)?;
        let folder = tempfile::Builder::new()
            .prefix(&folder_prefix(output, job, attempt))
            .rand_bytes(10)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(parent)?
            .keep();
        let made = (|| {
            let media = folder.join(name);
            // melt makes a sequence's files itself; the folder stands for them.
            let meta = match sequence {
                Some(_) => std::fs::symlink_metadata(&folder)?,
                None => create_new(&media)?.metadata()?,
            };
            let mut log_name = name.to_owned();
            log_name.push(".log");
            let log = folder.join(log_name);
            let log_file = create_new(&log)?;
            let identity = (meta.dev(), meta.ino());
            Ok((Partial { folder: folder.clone(), media, log, identity, sequence: sequence.clone() }, log_file))
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&folder);
        }
        made
    }

    /// The render's file is still the one created for it: a regular file with the same device and inode.
    pub fn check_unchanged(&self) -> Result<(), String> {
        let (path, kind_ok): (&Path, fn(&std::fs::Metadata) -> bool) = match self.sequence {
            Some(_) => (&self.folder, |m| m.file_type().is_dir()),
            None => (&self.media, |m| m.file_type().is_file()),
        };
        let replaced = || format!("the partial file {} was replaced while rendering: refused", path.display());
        let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", replaced()))?;
        if !kind_ok(&meta) || (meta.dev(), meta.ino()) != self.identity {
            return Err(replaced());
        }
        Ok(())
    }

    /// Puts the verified render at `output`. An existing file there is replaced only if it is a regular file this
    /// farm rendered, and then only when `overwrite` or when it is this job's own (an earlier attempt's); anything
    /// else at `output` (even one that appeared since the check) stays, and the render fails. Blocking file access.
    /// An image sequence of `frames` files moves file by file ([`sequence::put_in_place`]).
    pub fn put_media_in_place(&self, job: JobId, output: &Path, overwrite: bool, frames: u64) -> Result<(), String> {
        self.check_unchanged()?;
        if self.sequence.is_some() {
            return sequence::put_in_place(&self.folder, output, job, overwrite, frames);
        }
        mark(&self.media, job).map_err(|e| format!("cannot mark {} as this farm's: {e}", self.media.display()))?;
        let replace = match mark_of(output) {
            Some(marked) => overwrite || marked == job.0,
            None => false,
        };
        place(&self.media, output, replace)
    }

    /// Puts the log at `destination`: over an earlier log only if that one is this farm's (a failed job's log, a
    /// render done again); a file of anyone else there stays, and this log is dropped with a warning.
    pub fn put_log_in_place(&self, job: JobId, destination: &Path) {
        let placed = mark(&self.log, job)
            .map_err(|e| e.to_string())
            .and_then(|()| place(&self.log, destination, mark_of(destination).is_some()));
        if let Err(e) = placed {
            tracing::warn!(%job, "the log stays out of {}: {e}", destination.display());
        }
        self.remove();
    }

    /// Removes the private folder and whatever is in it.
    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.folder) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {}: {e}", self.folder.display());
            }
        }
    }
}

/// Renames `from` to `to`: never over an existing file unless `replace`, and then never over anything but a
/// regular file (a link or a folder at `to` is refused).
pub(super) fn place(from: &Path, to: &Path, replace: bool) -> Result<(), String> {
    let flags = if replace { RenameFlags::empty() } else { RenameFlags::NOREPLACE };
    if replace {
        match std::fs::symlink_metadata(to) {
            Ok(meta) if !meta.file_type().is_file() => {
                return Err(format!("{} is not a regular file: refused", to.display()));
            }
            _ => {}
        }
    }
    match rustix::fs::renameat_with(CWD, from, CWD, to, flags) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::EXIST) => Err(format!(
            "{} appeared while rendering: it is left alone (submit with --overwrite to replace it)",
            to.display()
        )),
        Err(e) => Err(format!("cannot move the result to {}: {e}", to.display())),
    }
}

/// Marks `path` (never through a link) as put there by this farm for `job`.
pub fn mark(path: &Path, job: JobId) -> io::Result<()> {
    Ok(rustix::fs::lsetxattr(path, MARK, job.to_string().as_bytes(), XattrFlags::empty())?)
}

/// The job whose render `path` is, if it is a regular file (not a link) carrying this farm's mark.
pub fn mark_of(path: &Path) -> Option<u64> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let mut value = [0u8; MARK_BYTES];
    let n = rustix::fs::lgetxattr(path, MARK, &mut value[..]).ok()?;
    std::str::from_utf8(&value[..n]).ok()?.parse().ok()
}

/// Removes what earlier attempts of this job left beside the output (a worker killed mid-render cannot clean up):
/// private folders and, from releases before them, partial files. Links are removed, never followed.
pub fn remove_earlier_partials(output: &Path, job: JobId, attempt: u32) {
    let (Some(folder), Some(_)) = (output.parent(), output.file_name()) else { return };
    let prefix = format!(".{}.job{job}-", folder_name_part(output));
    let ours = folder_prefix(output, job, attempt);
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.starts_with(&prefix) || !file.contains(".partial.") || file.starts_with(&ours) {
            continue;
        }
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}
